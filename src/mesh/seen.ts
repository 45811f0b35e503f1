/**
 * A bounded set of recently seen ids (keys refused admission): when full, the oldest id is
 * forgotten, so memory stays bounded whatever peers send. (Broadcasts are remembered per author
 * session instead: seen-broadcasts.ts.)
 */
export class SeenSet {
  /** id -> a tag the caller keeps with it (a digest of the content, to spot altered copies). */
  private readonly ids = new Map<string, string>()

  constructor (private readonly capacity: number) {}

  has (id: string): boolean {
    return this.ids.has(id)
  }

  tag (id: string): string | undefined {
    return this.ids.get(id)
  }

  add (id: string, tag = ''): void {
    if (this.ids.has(id)) return
    this.ids.set(id, tag)
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next()
      if (oldest.done !== true) this.ids.delete(oldest.value)
    }
  }

  get size (): number {
    return this.ids.size
  }
}
