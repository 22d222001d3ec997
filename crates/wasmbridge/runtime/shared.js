// Shared regions: memory that calls read and write without any postMessage
// copy. `pool.shared(byteLength)` makes one (only on a cross-origin isolated
// page); pass the region, or a `{ region, offset, length }` window of it, as
// an argument of any call, and the worker hands the guest a `Uint8Array`
// view of that memory.
//
// Where a region lives depends on the module the pool runs:
//  - the threaded module (`wasmbridge build --threads`): inside the guest's
//    own shared `WebAssembly.Memory`, in the pool worker that holds the
//    regions (the first ready one; a threaded pool usually has one worker
//    with N threads). The page allocates it there itself: it grows that
//    memory (`memory.grow`, which any thread holding the memory may call)
//    and keeps the free ranges (`RegionHeap`), so `pool.shared()` stays
//    synchronous and never waits behind a running call; the guest's own
//    allocator simply never gets those pages. A guest parameter
//    `wasmbridge_guest::SharedBytes` / `SharedBytesMut` then is a slice of
//    the region itself: no copy in, none out. Calls that pass a region run on
//    the worker whose memory holds it (pool.js routes them there, as a pin).
//    When that worker is replaced (a trap, a stuck call, a lost worker), the
//    page still holds the old memory, so the region keeps its bytes, and the
//    next call that passes it carries them (one copy) into the memory of the
//    worker that runs it; `region.bytes` then is a view of the new memory.
//  - the plain module, or a pool not ready yet: a SharedArrayBuffer of its
//    own. postMessage shares it instead of cloning it, but the guest's
//    memory is not shared, so `SharedBytes` copies it in once (and
//    `SharedBytesMut` back once), a `&[u8]` parameter makes the glue copy it
//    in, and a `js_sys::Uint8Array` parameter receives the view itself and
//    copies only what it needs (demo-guest `filterBandInto`).
// Writes are visible to every thread holding the region once the call that
// made them has settled (settling is a message, which orders memory).

import { WasmBridgeError } from './error.js';
import { CODES } from './protocol.js';

const PAGE = 65536;
/** Regions start on this boundary, so every region is aligned for any element type. */
const ALIGN = 64;

/**
 * The regions of one guest memory: free ranges the page carves regions
 * from, growing the memory by whole pages when none fits, and takes back
 * (merged with their neighbours) when a region closes.
 */
export class RegionHeap {
  /**
   * @param {WebAssembly.Memory} memory a threaded guest's shared memory
   * @param {number} limit the pool's `memoryLimit` in bytes, 0 = none
   */
  constructor(memory, limit) {
    this.memory = memory;
    this.limit = limit;
    /** @type {Array<[number, number]>} free `[start, end)` ranges, sorted, never touching */
    this.free = [];
  }

  /** Bytes of the memory, regions and the guest's own heap together. */
  get size() { return this.memory.buffer.byteLength; }

  /** The start of `n` bytes (aligned); throws MEMORY_LIMIT when the memory cannot grow that much. */
  allocate(n) {
    const want = Math.max(ALIGN, Math.ceil(n / ALIGN) * ALIGN);
    let at = this.free.findIndex(([s, e]) => e - s >= want);
    if (at < 0) {
      const pages = Math.ceil(want / PAGE);
      const size = this.size;
      if (this.limit > 0 && size + pages * PAGE > this.limit) {
        throw new WasmBridgeError(CODES.MEMORY_LIMIT, `a region of ${n} bytes would grow the guest memory to ${size + pages * PAGE} bytes, over the memoryLimit of ${this.limit}`);
      }
      let before;
      try {
        before = this.memory.grow(pages);
      } catch (err) {
        throw new WasmBridgeError(CODES.MEMORY_LIMIT, `the guest memory of ${size} bytes cannot grow by ${pages * PAGE} bytes for a region of ${n} bytes: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.release(before * PAGE, pages * PAGE);
      at = this.free.findIndex(([s, e]) => e - s >= want);
    }
    const [start, end] = this.free[at];
    if (end - start === want) this.free.splice(at, 1);
    else this.free[at] = [start + want, end];
    return start;
  }

  /** Takes back `n` bytes from `start` (as `allocate` rounded them). */
  release(start, n) {
    const end = start + Math.max(ALIGN, Math.ceil(n / ALIGN) * ALIGN);
    let at = 0;
    while (at < this.free.length && this.free[at][0] < start) at++;
    this.free.splice(at, 0, [start, end]);
    // Merge with the next range, then with the previous one.
    if (at + 1 < this.free.length && this.free[at + 1][0] === end) {
      this.free[at][1] = this.free[at + 1][1];
      this.free.splice(at + 1, 1);
    }
    if (at > 0 && this.free[at - 1][1] === start) {
      this.free[at - 1][1] = this.free[at][1];
      this.free.splice(at, 1);
    }
  }
}

/** Module-private access to a region's placement, for pool.js through the functions below. */
let placement;

export class SharedRegion {
  /** @type {SharedArrayBuffer | null} */ #buffer;
  #offset = 0;
  #length = 0;
  /** @type {Uint8Array | null} */ #bytes = null;
  /** @type {RegionHeap | null} the guest memory's heap, when the region lives in one */
  #heap = null;
  /** @type {any} the pool worker whose memory holds it (pool.js's slot) */
  #home = null;
  /** @type {unknown} the pool that placed it */
  #owner = null;
  /** Calls not yet settled that pass the region: its range is freed only after the last one. */
  #users = 0;
  #closing = false;

  static {
    placement = {
      /** @param {SharedRegion} r */
      of: (r) => (r.#heap === null || r.#buffer === null ? null : { heap: r.#heap, home: r.#home, owner: r.#owner }),
      /** Puts the region into `heap` (the memory of `home`), carrying its bytes along. */
      move: (/** @type {SharedRegion} */ r, /** @type {RegionHeap} */ heap, home, owner) => {
        const offset = heap.allocate(r.#length);
        const bytes = new Uint8Array(heap.memory.buffer, offset, r.#length);
        if (r.#buffer !== null) bytes.set(new Uint8Array(r.#buffer, r.#offset, r.#length));
        // The old range is not freed: it belongs to a worker's memory that no
        // longer runs (a region moves only off a stopped worker), or to no heap.
        r.#buffer = /** @type {SharedArrayBuffer} */ (/** @type {unknown} */ (heap.memory.buffer));
        r.#offset = offset;
        r.#bytes = bytes;
        r.#heap = heap;
        r.#home = home;
        r.#owner = owner;
      },
      create: (/** @type {SharedRegion} */ r, /** @type {number} */ n, /** @type {RegionHeap} */ heap, home, owner) => {
        r.#buffer = null;
        r.#length = n;
        placement.move(r, heap, home, owner);
      },
      use: (/** @type {SharedRegion} */ r, /** @type {number} */ delta) => {
        r.#users += delta;
        if (r.#users === 0 && r.#closing) r.#free();
      },
    };
  }

  /**
   * A region in a SharedArrayBuffer of its own; prefer `pool.shared(byteLength)`,
   * which puts it into the guest's memory when the pool runs a threaded module.
   * @param {number} byteLength
   */
  constructor(byteLength) {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `a shared region needs a whole byte length ≥ 0, got ${byteLength}`);
    }
    if (!isolated()) {
      throw new WasmBridgeError(CODES.NOT_ISOLATED, 'shared regions need a cross-origin isolated page (COOP/COEP headers, e.g. `wasmbridge serve`); check pool.isolated and pass ordinary typed arrays otherwise');
    }
    this.#length = byteLength;
    this.#buffer = new SharedArrayBuffer(byteLength);
  }

  /**
   * The SharedArrayBuffer that holds the region (throws once closed): the
   * region's own, or the guest memory's whole buffer when `inGuestMemory`,
   * where the region starts at `byteOffset`. Prefer `bytes`.
   */
  get buffer() { return this.#open(); }

  /** Where the region starts in `buffer`: 0 for a buffer of its own. */
  get byteOffset() { return this.#offset; }

  /**
   * A Uint8Array over the whole region (throws once closed). Read it again
   * after a pool worker was replaced: the region may have moved into the new
   * worker's memory, and a view taken before reads the old copy.
   */
  get bytes() {
    const buffer = this.#open();
    this.#bytes ??= new Uint8Array(buffer, this.#offset, this.#length);
    return this.#bytes;
  }

  get byteLength() { return this.#buffer ? this.#length : 0; }

  get closed() { return this.#buffer === null || this.#closing; }

  /** True when the region lives inside a threaded guest's shared memory, where `SharedBytes` reads it in place. */
  get inGuestMemory() { return this.#heap !== null && this.#buffer !== null; }

  /**
   * A window of the region to pass as an argument: the guest gets a view of
   * `length` bytes from `offset`.
   * @param {number} offset
   * @param {number} [length] default: to the end
   */
  view(offset, length) {
    return { region: this, offset, length: length ?? this.byteLength - offset };
  }

  /**
   * Closes the region; passing it to a call afterwards is a BAD_ARGUMENT. In
   * a guest's memory its range is freed for the next region once the calls
   * that pass it have settled. A SharedArrayBuffer of its own goes once no
   * thread holds a view of it any more.
   */
  close() {
    if (this.#buffer === null || this.#closing) return;
    this.#closing = true;
    if (this.#users === 0) this.#free();
  }

  #free() {
    if (this.#heap !== null) this.#heap.release(this.#offset, this.#length);
    this.#buffer = null;
    this.#bytes = null;
    this.#home = null;
  }

  #open() {
    if (this.#buffer === null || this.#closing) throw new WasmBridgeError(CODES.BAD_ARGUMENT, 'this shared region was closed');
    return this.#buffer;
  }

  /**
   * The Uint8Array a call's argument becomes. A region closed while calls
   * that pass it are pending still gives them their views.
   */
  toView(offset = 0, length = this.#length - offset) {
    if (this.#buffer === null) throw new WasmBridgeError(CODES.BAD_ARGUMENT, 'this shared region was closed');
    const buffer = this.#buffer;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.#length) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `a region window must lie within its ${this.#length} bytes, got offset ${offset} and length ${length}`);
    }
    return new Uint8Array(buffer, this.#offset + offset, length);
  }
}

/**
 * A region of `byteLength` bytes in `heap`, the memory of pool worker `home`
 * of pool `owner`; throws BAD_ARGUMENT for a bad length, MEMORY_LIMIT when the
 * memory cannot grow enough.
 * @param {number} byteLength
 * @param {RegionHeap} heap
 * @returns {SharedRegion}
 */
export function regionIn(byteLength, heap, home, owner) {
  const region = new SharedRegion(0);
  if (!Number.isInteger(byteLength) || byteLength < 0) {
    throw new WasmBridgeError(CODES.BAD_ARGUMENT, `a shared region needs a whole byte length ≥ 0, got ${byteLength}`);
  }
  placement.create(region, byteLength, heap, home, owner);
  return region;
}

/**
 * Where a region lives when it is in a guest memory: `{ heap, home, owner }`,
 * else null (a buffer of its own, or closed).
 * @param {SharedRegion} region
 */
export function regionPlace(region) {
  return placement.of(region);
}

/**
 * Moves a region into `heap` (the memory of pool worker `home`), copying its
 * bytes there once. Only for a region whose worker was stopped: one that
 * still runs may be using it.
 * @param {SharedRegion} region
 * @param {RegionHeap} heap
 */
export function moveRegion(region, heap, home, owner) {
  placement.move(region, heap, home, owner);
}

/**
 * Counts a call that passes the region (+1 when submitted, -1 once settled):
 * `close()` frees its range only once none is left.
 * @param {SharedRegion} region
 * @param {number} delta
 */
export function useRegion(region, delta) {
  placement.use(region, delta);
}

/** True on a page (or worker) that may use SharedArrayBuffer. */
export function isolated() {
  return typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true;
}

/**
 * A region argument of a call whose region lives in a guest memory: at
 * position `at`, the window `offset`, `length` of `region`. The pool places
 * the region in the memory of the worker that runs the call and makes the
 * view only when it sends it.
 * @typedef {{ at: number, region: SharedRegion, offset: number, length: number }} RegionRef
 */

/**
 * A call's arguments with every region (or `{ region, offset, length }`
 * window) replaced by its Uint8Array view; the same array when there is none.
 * Throws BAD_ARGUMENT for a closed region or a window outside it.
 * @param {unknown} args
 */
export function regionArgs(args) {
  if (!Array.isArray(args)) return args;
  let out = args;
  for (let i = 0; i < args.length; i++) {
    const window = windowOf(args[i]);
    if (window === null) continue;
    if (window.region.closed) throw new WasmBridgeError(CODES.BAD_ARGUMENT, `argument ${i + 1} is a shared region that was closed`);
    if (out === args) out = args.slice();
    out[i] = window.region.toView(window.offset, window.length);
  }
  return out;
}

/**
 * The arguments of `args` that are regions living in a guest memory, as
 * RegionRefs (windows checked by `regionArgs` before); null when none is.
 * @param {unknown[]} args
 * @returns {RegionRef[] | null}
 */
export function guestRegions(args) {
  let found = null;
  for (let i = 0; i < args.length; i++) {
    const window = windowOf(args[i]);
    if (window === null || !window.region.inGuestMemory) continue;
    const { region, offset } = window;
    (found ??= []).push({ at: i, region, offset, length: window.length ?? region.byteLength - offset });
  }
  return found;
}

/** `{ region, offset, length }` for a region or a window of one, else null. */
function windowOf(a) {
  if (a instanceof SharedRegion) return { region: a, offset: 0, length: undefined };
  if (a !== null && typeof a === 'object' && a.region instanceof SharedRegion) return { region: a.region, offset: a.offset ?? 0, length: a.length };
  return null;
}

/**
 * Splits `height` rows into `parts` bands of nearly equal size, as
 * `[start, end)` pairs: the row ranges to give `filterBandInto` calls, one
 * per worker. The halo is the guest's business: it reads what it needs
 * around its band from the shared input.
 * @param {number} height
 * @param {number} parts
 * @returns {Array<[number, number]>}
 */
export function rowBands(height, parts) {
  const n = Math.max(1, Math.min(parts, height || 1));
  const bands = [];
  for (let i = 0; i < n; i++) bands.push([Math.floor((i * height) / n), Math.floor(((i + 1) * height) / n)]);
  return bands;
}
