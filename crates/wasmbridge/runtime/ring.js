// A single-producer single-consumer ring buffer over a SharedArrayBuffer, for
// moving audio (interleaved f32) or bytes between threads without locks. Its
// Rust twin, with the same layout and the same algorithm, is
// crates/wasmbridge-guest/src/ring.rs (`channel` natively, `SharedRing` in a
// wasm guest); js/test/ring.test.mjs checks that both agree byte for byte.
//
// Layout: u32 fields in the platform's byte order (little-endian wherever wasm
// and JS run). A header of three 64-byte lines, then the data.
//
//   byte  size line field           written by  meaning
//      0     4    0 write           producer    free-running write index, in elements, wraps at 2^32
//      4     4    0 magic           creator     MAGIC = 0x47524257 (the bytes "WBRG")
//      8     4    0 version         creator     VERSION = 1
//     12     4    0 capacity        creator     data capacity in elements: a power of two, 1..=2^28
//     16     4    0 element_bytes   creator     1 (u8) or 4 (f32)
//     20     4    0 kind            creator     KIND_U8 = 1 or KIND_F32 = 2
//     24     4    0 channels        creator     elements per frame (interleaved audio channels), 1..=capacity
//     28    36    0 reserved        -           zero
//     64     4    1 read            consumer    free-running read index, in elements, wraps at 2^32
//     68    60    1 reserved        -           zero
//    128     4    2 overruns        producer    pushes that could not write every whole frame they were given
//    132     4    2 overrun_items   producer    elements those pushes dropped (rejected, never written)
//    136     4    2 underruns       consumer    pops that got fewer whole frames than they asked for
//    140     4    2 underrun_items  consumer    elements those pops went short
//    144    48    2 reserved        -           zero
//    192  capacity × element_bytes  data        slot of element i is i mod capacity
//
// Protocol: available = write − read (mod 2^32), free = capacity − available;
// no slot is kept empty. The producer only stores `write` (after copying the
// data in), the consumer only `read` (after copying it out); both only ever use
// Atomics.load / Atomics.store (sequentially consistent, so at least
// release/acquire), never wait or notify, so either side may run in an
// AudioWorklet. Each counter is written by its own side alone (load + store)
// and wraps at 2^32. Both sides move whole frames only: a request is rounded
// down to a multiple of `channels`; a trailing partial frame is neither moved
// nor counted. push() and pop() allocate nothing: they copy with at most two
// index loops, split at the end of the data (no subarray(), which allocates).

/** Byte offsets and constants of the layout; the names are those of ring.rs. */
export const LAYOUT = Object.freeze({
  LINE_BYTES: 64,
  HEADER_BYTES: 192,
  WRITE_OFFSET: 0,
  MAGIC_OFFSET: 4,
  VERSION_OFFSET: 8,
  CAPACITY_OFFSET: 12,
  ELEMENT_BYTES_OFFSET: 16,
  KIND_OFFSET: 20,
  CHANNELS_OFFSET: 24,
  READ_OFFSET: 64,
  OVERRUNS_OFFSET: 128,
  OVERRUN_ITEMS_OFFSET: 132,
  UNDERRUNS_OFFSET: 136,
  UNDERRUN_ITEMS_OFFSET: 140,
  DATA_OFFSET: 192,
  MAGIC: 0x47524257,
  VERSION: 1,
  KIND_U8: 1,
  KIND_F32: 2,
  MAX_CAPACITY: 0x10000000,
});

// Header word indices (byte offset / 4).
const WRITE = LAYOUT.WRITE_OFFSET >> 2;
const READ = LAYOUT.READ_OFFSET >> 2;
const OVERRUNS = LAYOUT.OVERRUNS_OFFSET >> 2;
const OVERRUN_ITEMS = LAYOUT.OVERRUN_ITEMS_OFFSET >> 2;
const UNDERRUNS = LAYOUT.UNDERRUNS_OFFSET >> 2;
const UNDERRUN_ITEMS = LAYOUT.UNDERRUN_ITEMS_OFFSET >> 2;
const HEADER_WORDS = LAYOUT.HEADER_BYTES >> 2;

/** @typedef {'f32' | 'u8'} RingKind */

/** @type {Record<RingKind, {code: number, bytes: number}>} */
const KINDS = { f32: { code: LAYOUT.KIND_F32, bytes: 4 }, u8: { code: LAYOUT.KIND_U8, bytes: 1 } };

/**
 * @param {number} capacity
 * @param {number} channels
 */
function checkShape(capacity, channels) {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > LAYOUT.MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two in 1..${LAYOUT.MAX_CAPACITY} elements, got ${capacity}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > capacity) {
    throw new RangeError(`ring channels must be in 1..capacity (${capacity}), got ${channels}`);
  }
}

/**
 * @param {unknown} kind
 * @returns {{code: number, bytes: number}}
 */
function kindInfo(kind) {
  if (kind !== 'f32' && kind !== 'u8') throw new TypeError(`ring kind must be 'f32' or 'u8', got ${String(kind)}`);
  return KINDS[kind];
}

export class RingBuffer {
  /**
   * Allocates a SharedArrayBuffer holding a new, empty ring of `capacity`
   * elements (a power of two), moved in frames of `channels` elements.
   * @param {number} capacity
   * @param {{kind?: RingKind, channels?: number}} [options]
   * @returns {RingBuffer}
   */
  static create(capacity, { kind = 'f32', channels = 1 } = {}) {
    const info = kindInfo(kind);
    checkShape(capacity, channels);
    if (typeof SharedArrayBuffer !== 'function') {
      throw new TypeError('SharedArrayBuffer is unavailable: the page must be cross-origin isolated (COOP/COEP)');
    }
    const buffer = new SharedArrayBuffer(RingBuffer.byteLength(capacity, kind));
    const header = new Uint32Array(buffer, 0, HEADER_WORDS);
    Atomics.store(header, LAYOUT.MAGIC_OFFSET >> 2, LAYOUT.MAGIC);
    Atomics.store(header, LAYOUT.VERSION_OFFSET >> 2, LAYOUT.VERSION);
    Atomics.store(header, LAYOUT.CAPACITY_OFFSET >> 2, capacity);
    Atomics.store(header, LAYOUT.ELEMENT_BYTES_OFFSET >> 2, info.bytes);
    Atomics.store(header, LAYOUT.KIND_OFFSET >> 2, info.code);
    Atomics.store(header, LAYOUT.CHANNELS_OFFSET >> 2, channels);
    return new RingBuffer(buffer);
  }

  /**
   * Attaches to a ring made by `create` (on any thread) or by Rust, checking
   * its header. Throws TypeError / RangeError when it is not a valid ring.
   * @param {SharedArrayBuffer} buffer
   * @returns {RingBuffer}
   */
  static from(buffer) {
    return new RingBuffer(buffer);
  }

  /**
   * Bytes a ring of `capacity` elements occupies, header included.
   * @param {number} capacity
   * @param {RingKind} [kind]
   */
  static byteLength(capacity, kind = 'f32') {
    return LAYOUT.DATA_OFFSET + capacity * kindInfo(kind).bytes;
  }

  /**
   * Prefer `RingBuffer.create` / `RingBuffer.from`; this is `from`.
   * @param {SharedArrayBuffer} buffer
   */
  constructor(buffer) {
    const length = buffer?.byteLength;
    if (typeof length !== 'number' || length < LAYOUT.DATA_OFFSET) {
      throw new TypeError(`not a ring: a SharedArrayBuffer of at least ${LAYOUT.DATA_OFFSET} bytes is needed`);
    }
    const header = new Uint32Array(buffer, 0, HEADER_WORDS);
    const magic = Atomics.load(header, LAYOUT.MAGIC_OFFSET >> 2);
    if (magic !== LAYOUT.MAGIC) throw new TypeError(`not a wasmbridge ring: magic 0x${magic.toString(16)}`);
    const version = Atomics.load(header, LAYOUT.VERSION_OFFSET >> 2);
    if (version !== LAYOUT.VERSION) throw new TypeError(`ring layout version ${version}, expected ${LAYOUT.VERSION}`);
    const code = Atomics.load(header, LAYOUT.KIND_OFFSET >> 2);
    const bytes = Atomics.load(header, LAYOUT.ELEMENT_BYTES_OFFSET >> 2);
    /** @type {RingKind} */
    const kind = code === LAYOUT.KIND_F32 ? 'f32' : 'u8';
    if ((code !== LAYOUT.KIND_F32 && code !== LAYOUT.KIND_U8) || bytes !== KINDS[kind].bytes) {
      throw new TypeError(`ring kind ${code} with ${bytes}-byte elements is not f32 (2, 4) or u8 (1, 1)`);
    }
    const capacity = Atomics.load(header, LAYOUT.CAPACITY_OFFSET >> 2);
    const channels = Atomics.load(header, LAYOUT.CHANNELS_OFFSET >> 2);
    checkShape(capacity, channels);
    const needed = RingBuffer.byteLength(capacity, kind);
    if (length < needed) throw new RangeError(`ring needs ${needed} bytes, the buffer has ${length}`);

    /** The SharedArrayBuffer: post it to the other side, which calls `RingBuffer.from`. */
    this.buffer = buffer;
    /** @type {RingKind} */
    this.kind = kind;
    /** Capacity in elements (a power of two). */
    this.capacity = capacity;
    /** Elements per frame. */
    this.channels = channels;
    /** @private */
    this._mask = capacity - 1;
    /** @private */
    this._header = header;
    /** @private @type {Float32Array | Uint8Array} */
    this._data = kind === 'f32'
      ? new Float32Array(buffer, LAYOUT.DATA_OFFSET, capacity)
      : new Uint8Array(buffer, LAYOUT.DATA_OFFSET, capacity);
  }

  /** Elements the consumer can read now. */
  get available() {
    const n = (Atomics.load(this._header, WRITE) - Atomics.load(this._header, READ)) >>> 0;
    return n < this.capacity ? n : this.capacity;
  }

  /** Elements the producer can write now. */
  get free() {
    return this.capacity - this.available;
  }

  /** Pushes that could not write every whole frame they were given. */
  get overruns() {
    return Atomics.load(this._header, OVERRUNS);
  }

  /** Elements those pushes dropped. */
  get overrunItems() {
    return Atomics.load(this._header, OVERRUN_ITEMS);
  }

  /** Pops that got fewer whole frames than they asked for. */
  get underruns() {
    return Atomics.load(this._header, UNDERRUNS);
  }

  /** Elements those pops went short. */
  get underrunItems() {
    return Atomics.load(this._header, UNDERRUN_ITEMS);
  }

  /**
   * Producer side. Writes as many whole frames of `src[0..length)` as fit and
   * returns how many elements that was; when that is not all of them (rounded
   * down to whole frames) it counts one overrun and the elements left behind.
   * Allocates nothing.
   * @param {ArrayLike<number>} src
   * @param {number} [length] elements of `src` to push, default all
   * @returns {number}
   */
  push(src, length = src.length) {
    const header = this._header;
    const capacity = this.capacity;
    const channels = this.channels;
    const write = Atomics.load(header, WRITE);
    let used = (write - Atomics.load(header, READ)) >>> 0;
    if (used > capacity) used = capacity;
    length = length > src.length ? src.length : length > 0 ? Math.floor(length) : 0;
    const wanted = length - (length % channels);
    let n = capacity - used;
    if (n > wanted) n = wanted;
    n -= n % channels;
    const start = write & this._mask;
    const first = n < capacity - start ? n : capacity - start;
    const data = this._data;
    for (let i = 0; i < first; i++) data[start + i] = src[i];
    for (let i = first; i < n; i++) data[i - first] = src[i];
    if (n > 0) Atomics.store(header, WRITE, (write + n) >>> 0);
    if (n < wanted) {
      Atomics.store(header, OVERRUNS, (Atomics.load(header, OVERRUNS) + 1) >>> 0);
      Atomics.store(header, OVERRUN_ITEMS, (Atomics.load(header, OVERRUN_ITEMS) + wanted - n) >>> 0);
    }
    return n;
  }

  /**
   * Consumer side. Reads as many whole frames as are available into
   * `dst[0..length)` and returns how many elements that was; when that is
   * fewer than asked for (rounded down to whole frames) it counts one
   * underrun and the elements missing. Only Atomics.load/store, two index
   * loops, no allocation: safe in AudioWorkletProcessor.process().
   * @param {Float32Array | Uint8Array | number[]} dst
   * @param {number} [length] elements to read at most, default `dst.length`
   * @returns {number}
   */
  pop(dst, length = dst.length) {
    const header = this._header;
    const capacity = this.capacity;
    const channels = this.channels;
    const read = Atomics.load(header, READ);
    let n = (Atomics.load(header, WRITE) - read) >>> 0;
    if (n > capacity) n = capacity;
    length = length > dst.length ? dst.length : length > 0 ? Math.floor(length) : 0;
    const wanted = length - (length % channels);
    if (n > wanted) n = wanted;
    n -= n % channels;
    const start = read & this._mask;
    const first = n < capacity - start ? n : capacity - start;
    const data = this._data;
    for (let i = 0; i < first; i++) dst[i] = data[start + i];
    for (let i = first; i < n; i++) dst[i] = data[i - first];
    if (n > 0) Atomics.store(header, READ, (read + n) >>> 0);
    if (n < wanted) {
      Atomics.store(header, UNDERRUNS, (Atomics.load(header, UNDERRUNS) + 1) >>> 0);
      Atomics.store(header, UNDERRUN_ITEMS, (Atomics.load(header, UNDERRUN_ITEMS) + wanted - n) >>> 0);
    }
    return n;
  }
}
