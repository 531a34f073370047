/**
 * A binary min-heap: the in-process queue keeps every pending job in one, ordered by when it
 * becomes ready and then by send order, so ready jobs leave in FIFO order.
 */
export class MinHeap<T> {
  readonly #items: T[] = []
  readonly #before: (a: T, b: T) => boolean

  /** `before(a, b)`: `a` must leave before `b`. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before
  }

  get size(): number {
    return this.#items.length
  }

  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    const items = this.#items
    // Sift up through a hole: parents move down, the item is written once.
    let i = items.length
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = items[parent]!
      if (!this.#before(item, above)) break
      items[i] = above
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    // Sift `last` down from the root through a hole.
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= items.length) break
      const right = child + 1
      if (right < items.length && this.#before(items[right]!, items[child]!)) child = right
      if (!this.#before(items[child]!, last)) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }

  /** Removes and returns every item, in no particular order. */
  drain(): T[] {
    return this.#items.splice(0)
  }
}
