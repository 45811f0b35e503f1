/** A min-heap of timed events; ties run in insertion order so runs are deterministic. */
export class EventQueue<T> {
  private heap: Array<{ atMs: number, seq: number, item: T }> = []
  private seq = 0

  get size (): number {
    return this.heap.length
  }

  push (atMs: number, item: T): void {
    this.heap.push({ atMs, seq: this.seq++, item })
    let i = this.heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  peekTime (): number | null {
    return this.heap[0]?.atMs ?? null
  }

  pop (): { atMs: number, item: T } | null {
    const top = this.heap[0]
    if (top === undefined) return null
    const last = this.heap.pop() as { atMs: number, seq: number, item: T }
    if (this.heap.length > 0) {
      this.heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < this.heap.length && this.less(l, m)) m = l
        if (r < this.heap.length && this.less(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return { atMs: top.atMs, item: top.item }
  }

  private less (i: number, j: number): boolean {
    const a = this.heap[i] as { atMs: number, seq: number }
    const b = this.heap[j] as { atMs: number, seq: number }
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
  }

  private swap (i: number, j: number): void {
    const t = this.heap[i] as { atMs: number, seq: number, item: T }
    this.heap[i] = this.heap[j] as { atMs: number, seq: number, item: T }
    this.heap[j] = t
  }
}
