/**
 * Hand-written declarations for the parts of protomux 3.12 that watchmesh uses.
 */
declare module 'protomux' {
  namespace Protomux {
    /** The compact-encoding codec shape (compact-encoding does not export it). */
    interface Encoding<T> {
      preencode (state: { start: number, end: number, buffer: Uint8Array | null }, value: T): void
      encode (state: { start: number, end: number, buffer: Uint8Array | null }, value: T): void
      decode (state: { start: number, end: number, buffer: Uint8Array | null }): T
    }

    interface Message<T> {
      /** Queues one frame; false when the stream wants the writer to wait (backpressure). */
      send (value: T): boolean
    }

    interface MessageOptions<T> {
      encoding?: Encoding<T>
      onmessage?: (value: T, channel: Channel<unknown>) => void
    }

    interface Channel<H> {
      readonly opened: boolean
      readonly closed: boolean
      readonly destroyed: boolean
      /** Sends the open frame carrying our handshake. */
      open (handshake?: H): void
      close (): void
      cork (): void
      uncork (): void
      addMessage<T> (opts: MessageOptions<T>): Message<T>
    }

    interface ChannelOptions<H> {
      protocol: string
      id?: Uint8Array | null
      unique?: boolean
      handshake?: Encoding<H>
      /** Runs when both sides have opened; gets the remote handshake. */
      onopen?: (handshake: H, channel: Channel<H>) => void
      onclose?: (isRemote: boolean, channel: Channel<H>) => void
      ondestroy?: (channel: Channel<H>) => void
    }
  }

  class Protomux {
    static from (stream: unknown): Protomux
    /** null when the stream is already destroyed, or a unique channel is already open. */
    createChannel<H> (opts: Protomux.ChannelOptions<H>): Protomux.Channel<H> | null
    /** Holds a remote open of `protocol` until `notify` resolves, instead of refusing it at once when no channel of ours is there. */
    pair (opts: { protocol: string, id?: Uint8Array | null }, notify: (id: Uint8Array | null) => Promise<void> | void): void
  }

  export = Protomux
}
