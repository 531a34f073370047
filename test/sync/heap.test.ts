import { expect, test } from 'vitest'
import { MinHeap } from '../../src/sync/heap.ts'

test('MinHeap pops in order under random pushes and pops (against a sorted array)', () => {
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const heap = new MinHeap<number>((a, b) => a - b)
  const model: number[] = []
  for (let step = 0; step < 5_000; step++) {
    if (random() < 0.6) {
      const value = Math.floor(random() * 100)
      heap.push(value)
      model.push(value)
      model.sort((a, b) => a - b)
    } else {
      expect(heap.pop()).toBe(model.shift())
    }
    expect(heap.size).toBe(model.length)
    expect(heap.peek()).toBe(model[0])
  }
})
