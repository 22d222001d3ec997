// Shared regions: SharedArrayBuffers that calls read and write without any
// postMessage copy. `pool.shared(byteLength)` makes one (only on a
// cross-origin isolated page); pass the region, or a `{ region, offset,
// length }` window of it, as an argument of any call, and the worker hands
// the guest a `Uint8Array` view of that memory.
//
// What "without copying" means with wasm32-unknown-unknown on the stable
// toolchain, whose wasm memory is never shared: postMessage shares the
// SharedArrayBuffer instead of cloning it (0 copies between the page and the
// worker). The guest's Rust code still cannot address that memory:
//  - a guest parameter `&[u8]` / `Vec<u8>` makes the wasm-bindgen glue copy the
//    whole view into wasm memory (one `TypedArray.set`), unavoidably;
//  - a guest parameter `js_sys::Uint8Array` receives the view itself and copies
//    only what it needs (`subarray(..).to_vec()`, `subarray(..).copy_from(..)`),
//    e.g. a band of rows and its halo in, the band's output rows out
//    (demo-guest `filterBandInto`).
// Writes are visible to every thread holding the region once the call that
// made them has settled (settling is a message, which orders memory).

import { WasmBridgeError } from './error.js';
import { CODES } from './protocol.js';

export class SharedRegion {
  /** @type {SharedArrayBuffer | null} */ #buffer;
  /** @type {Uint8Array | null} */ #bytes;

  /**
   * Prefer `pool.shared(byteLength)`.
   * @param {number} byteLength
   */
  constructor(byteLength) {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `a shared region needs a whole byte length ≥ 0, got ${byteLength}`);
    }
    if (!isolated()) {
      throw new WasmBridgeError(CODES.NOT_ISOLATED, 'shared regions need a cross-origin isolated page (COOP/COEP headers, e.g. `wasmbridge serve`); check pool.isolated and pass ordinary typed arrays otherwise');
    }
    this.#buffer = new SharedArrayBuffer(byteLength);
    this.#bytes = new Uint8Array(this.#buffer);
  }

  /** The SharedArrayBuffer (throws once closed). */
  get buffer() { return this.#open().buffer; }

  /** A Uint8Array over the whole region (throws once closed). */
  get bytes() { return this.#open().bytes; }

  get byteLength() { return this.#buffer ? this.#buffer.byteLength : 0; }

  get closed() { return this.#buffer === null; }

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
   * Drops this region's references; passing it to a call afterwards is a
   * BAD_ARGUMENT. A SharedArrayBuffer cannot be freed explicitly: its memory
   * goes once no thread holds a view of it any more (calls that received one
   * drop it when they return).
   */
  close() {
    this.#buffer = null;
    this.#bytes = null;
  }

  #open() {
    if (this.#buffer === null) throw new WasmBridgeError(CODES.BAD_ARGUMENT, 'this shared region was closed');
    return { buffer: this.#buffer, bytes: /** @type {Uint8Array} */ (this.#bytes) };
  }

  /** The Uint8Array a call's argument becomes. */
  toView(offset = 0, length = this.byteLength - offset) {
    const { buffer } = this.#open();
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > buffer.byteLength) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `a region window must lie within its ${buffer.byteLength} bytes, got offset ${offset} and length ${length}`);
    }
    return new Uint8Array(buffer, offset, length);
  }
}

/** True on a page (or worker) that may use SharedArrayBuffer. */
export function isolated() {
  return typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true;
}

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
    const a = args[i];
    let view = null;
    if (a instanceof SharedRegion) view = a.toView();
    else if (a !== null && typeof a === 'object' && a.region instanceof SharedRegion) view = a.region.toView(a.offset ?? 0, a.length);
    if (view) {
      if (out === args) out = args.slice();
      out[i] = view;
    }
  }
  return out;
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
