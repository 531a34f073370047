/**
 * A binary min-heap: `PriorityQueue` keeps its items in one, and the in-process job queue
 * its pending jobs (by ready time, then send order). `compare(a, b) < 0` means `a` leaves
 * first; items that compare equal leave in no particular order.
 */
export class MinHeap<T> {
  #items: T[] = []
  readonly #compare: (a: T, b: T) => number

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#items.length
  }

  /** The item that `pop()` would return, left in place. */
  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    const items = this.#items
    // Sift up through a hole: parents move down, the item is written once.
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.#compare(item, items[parent] as T) >= 0) break
      items[i] = items[parent] as T
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop() as T
    const n = items.length
    if (n === 0) return top
    // Sift `last` down from the root through a hole.
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && this.#compare(items[r] as T, items[l] as T) < 0 ? r : l
      if (this.#compare(items[c] as T, last) >= 0) break
      items[i] = items[c] as T
      i = c
    }
    items[i] = last
    return top
  }

  /** Removes and returns every item, in no particular order. */
  drain(): T[] {
    const items = this.#items
    this.#items = []
    return items
  }
}
