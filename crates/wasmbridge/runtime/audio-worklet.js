// An AudioWorkletProcessor that plays interleaved f32 audio from a ring buffer
// (ring.js) filled by another thread: a worker, or a Rust guest through
// `wasmbridge_guest::ring::SharedRing<f32>`.
//
//   await context.audioWorklet.addModule(new URL('./audio-worklet.js', import.meta.url));
//   const ring = RingBuffer.create(16384, { kind: 'f32', channels: 2 });
//   const node = new AudioWorkletNode(context, 'wasmbridge-ring-player', {
//     outputChannelCount: [2],
//     processorOptions: { buffer: ring.buffer },   // or later: node.port.postMessage({ type: 'wasmbridge-ring-attach', buffer })
//   });
//   node.port.onmessage = (e) => showStats(e.data); // { type: 'wasmbridge-ring-stats', underruns, ... } about 4 times a second
//
// Each process() pops one render quantum (128 frames × ring channels) into a
// preallocated interleaved scratch array and de-interleaves it into the
// outputs: output channel c plays ring channel c mod channels (so a mono ring
// fills every output channel). When fewer frames are available it plays what
// there is, then silence, and the ring counts one underrun (and the missing
// elements). Until the first sample has arrived it plays silence without
// counting, so a player started before its producer does not report a burst of
// underruns. It never waits and allocates nothing in process(); the counters
// are posted to the port at most every 250 ms. That postMessage does allocate
// (structured clone), but it is 4 times a second rather than 375, off the
// per-quantum path; the object it sends is preallocated and reused.
//
// This file has no imports, because bundlers copy a worklet module as it is:
// it holds the ring itself (layout and protocol documented in ring.js, which
// re-exports it from here), and registers the processor only where it runs as
// the worklet module.

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

/** Frames per process() call unless the outputs say otherwise. */
const QUANTUM = 128;
/** Seconds between two stats messages. */
const REPORT_SECONDS = 0.25;

/**
 * @typedef {object} RingPlayerStats
 * @property {'wasmbridge-ring-stats'} type
 * @property {number} underruns   pops that came up short (see RingBuffer.underruns)
 * @property {number} underrunItems elements missing from them
 * @property {number} overruns    the producer's overruns, read from the ring
 * @property {number} available   elements waiting in the ring
 * @property {boolean} started    whether any sample has arrived yet
 */

/**
 * The processor class, over the worklet scope's AudioWorkletProcessor.
 * @param {any} Base
 */
function playerClass(Base) {
  return class RingPlayer extends Base {
    /** @param {{processorOptions?: {buffer?: SharedArrayBuffer}}} [options] */
    constructor(options) {
      super();
      /** @type {RingBuffer | null} */
      this.ring = null;
      /** @type {Float32Array} */
      this.scratch = new Float32Array(0);
      this.started = false;
      this.framesSinceReport = 0;
      this.reportEvery = Math.max(1, Math.round(sampleRate * REPORT_SECONDS));
      /** @type {RingPlayerStats} */
      this.stats = { type: 'wasmbridge-ring-stats', underruns: 0, underrunItems: 0, overruns: 0, available: 0, started: false };
      this.port.onmessage = (event) => {
        const data = event.data;
        if (data && data.type === 'wasmbridge-ring-attach') this.attach(data.buffer, QUANTUM);
      };
      const buffer = options?.processorOptions?.buffer;
      if (buffer) this.attach(buffer, QUANTUM);
    }

    /**
     * Plays from this ring from now on (allocates: only on attach, never per quantum).
     * @param {SharedArrayBuffer} buffer
     * @param {number} frames
     */
    attach(buffer, frames) {
      const ring = RingBuffer.from(buffer);
      if (ring.kind !== 'f32') throw new TypeError(`the ring player needs an f32 ring, got ${ring.kind}`);
      this.scratch = new Float32Array(frames * ring.channels);
      this.ring = ring;
      this.started = false;
    }

    /**
     * @param {Float32Array[][]} _inputs
     * @param {Float32Array[][]} outputs
     */
    process(_inputs, outputs) {
      const output = outputs[0];
      if (!output || output.length === 0) return true;
      const frames = output[0].length;
      const ring = this.ring;
      let got = 0;
      if (ring !== null) {
        const channels = ring.channels;
        // A render quantum larger than planned: grow once, then never again.
        if (this.scratch.length < frames * channels) this.scratch = new Float32Array(frames * channels);
        if (!this.started && ring.available > 0) this.started = true;
        if (this.started) got = ring.pop(this.scratch, frames * channels) / channels;
        const scratch = this.scratch;
        for (let c = 0; c < output.length; c++) {
          const out = output[c];
          const from = c % channels;
          for (let i = 0; i < got; i++) out[i] = scratch[i * channels + from];
          for (let i = got; i < frames; i++) out[i] = 0;
        }
      } else {
        for (let c = 0; c < output.length; c++) output[c].fill(0);
      }
      this.framesSinceReport += frames;
      if (this.framesSinceReport >= this.reportEvery) {
        this.framesSinceReport = 0;
        this.report();
      }
      return true;
    }

    /** Posts the counters (off the per-quantum path: about 4 times a second). */
    report() {
      const ring = this.ring;
      const stats = this.stats;
      stats.underruns = ring ? ring.underruns : 0;
      stats.underrunItems = ring ? ring.underrunItems : 0;
      stats.overruns = ring ? ring.overruns : 0;
      stats.available = ring ? ring.available : 0;
      stats.started = this.started;
      this.port.postMessage(stats);
    }
  };
}

if (typeof registerProcessor === 'function' && typeof AudioWorkletProcessor === 'function') {
  registerProcessor('wasmbridge-ring-player', playerClass(AudioWorkletProcessor));
}
