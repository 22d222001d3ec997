// Types for ring.js: a single-producer single-consumer ring buffer over a
// SharedArrayBuffer, with the byte layout documented at the top of ring.js and
// of crates/wasmbridge-guest/src/ring.rs.

/** What a ring holds: interleaved f32 samples or bytes. */
export type RingKind = 'f32' | 'u8';

export interface RingOptions {
  /** Default `'f32'`. */
  kind?: RingKind;
  /** Elements per frame (interleaved audio channels), default 1. Push and pop move whole frames. */
  channels?: number;
}

/** Byte offsets and constants of the layout (same names as the `pub const`s of ring.rs). */
export declare const LAYOUT: Readonly<{
  LINE_BYTES: 64;
  HEADER_BYTES: 192;
  WRITE_OFFSET: 0;
  MAGIC_OFFSET: 4;
  VERSION_OFFSET: 8;
  CAPACITY_OFFSET: 12;
  ELEMENT_BYTES_OFFSET: 16;
  KIND_OFFSET: 20;
  CHANNELS_OFFSET: 24;
  READ_OFFSET: 64;
  OVERRUNS_OFFSET: 128;
  OVERRUN_ITEMS_OFFSET: 132;
  UNDERRUNS_OFFSET: 136;
  UNDERRUN_ITEMS_OFFSET: 140;
  DATA_OFFSET: 192;
  MAGIC: 0x47524257;
  VERSION: 1;
  KIND_U8: 1;
  KIND_F32: 2;
  MAX_CAPACITY: 0x10000000;
}>;

export declare class RingBuffer {
  /**
   * Allocates a SharedArrayBuffer holding a new, empty ring of `capacity`
   * elements (a power of two, at most 2^28). Throws RangeError on a bad shape,
   * TypeError when SharedArrayBuffer is unavailable (no cross-origin isolation).
   */
  static create(capacity: number, options?: RingOptions): RingBuffer;
  /** Attaches to an existing ring (made in JS or Rust), checking its header; throws TypeError / RangeError otherwise. */
  static from(buffer: SharedArrayBuffer): RingBuffer;
  /** Bytes a ring of `capacity` elements occupies, header included. */
  static byteLength(capacity: number, kind?: RingKind): number;
  /** Same as `RingBuffer.from(buffer)`. */
  constructor(buffer: SharedArrayBuffer);

  /** The ring's memory; post it to the other side. */
  readonly buffer: SharedArrayBuffer;
  readonly kind: RingKind;
  /** Capacity in elements. */
  readonly capacity: number;
  /** Elements per frame. */
  readonly channels: number;
  /** Elements the consumer can read now. */
  readonly available: number;
  /** Elements the producer can write now. */
  readonly free: number;
  /** Pushes that could not write every whole frame they were given (u32, wraps). */
  readonly overruns: number;
  /** Elements those pushes dropped (u32, wraps). */
  readonly overrunItems: number;
  /** Pops that got fewer whole frames than they asked for (u32, wraps). */
  readonly underruns: number;
  /** Elements those pops went short (u32, wraps). */
  readonly underrunItems: number;

  /**
   * Producer side: writes as many whole frames of `src[0..length)` as fit and
   * returns the number of elements written; counts an overrun when not all fit.
   */
  push(src: ArrayLike<number>, length?: number): number;
  /**
   * Consumer side: reads as many whole frames as are available into
   * `dst[0..length)` and returns the number of elements read; counts an
   * underrun when fewer than asked. Allocation-free, safe in an AudioWorklet.
   */
  pop(dst: Float32Array | Uint8Array | number[], length?: number): number;
}
