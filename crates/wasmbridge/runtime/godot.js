// The Godot adapter: `window.WasmBridge`, an interface shaped for Godot's
// JavaScriptBridge. JavaScriptBridge passes only null, bools, numbers, strings
// and JS objects (GDScript Arrays, Dictionaries and packed arrays arrive as
// `undefined`), its callbacks receive one argument and their return value never
// reaches JS. So everything structured travels as JSON strings, results come
// back through a callback, and bytes go through buffer handles (JS → Godot) or
// base64 (Godot → JS). Types: godot.d.ts.
//
// Importing this module starts a Pool from `window.WasmBridgeConfig` (if set)
// and installs `window.WasmBridge`. The Godot export loads it with
//   <script type="module" src="wasmbridge/godot.js"></script>
// which `wasmbridge godot install` puts into the export's index.html.
//
// Wire format (all JSON): argsJson is an array of arguments, the callback gets
// `{"id", "ok": true, "value"}` or `{"id", "ok": false, "error": {"code",
// "message", "data"?}}`, or with `{"progress": true}` in optionsJson also
// `{"id", "progress": fraction}` before the result. Values inside use the
// markers and key escaping of godot-codec.js.

// Every module the pool needs at start, imported here directly so they load
// side by side (wasmbridge.js says why).
import './pool-call.js';
import './pool-validate.js';
import './pool-load.js';
import './supervisor.js';
import './manifest.js';
import './shared.js';
import { Pool } from './pool.js';
import { WasmBridgeError, messageOf } from './error.js';
import { CODES } from './protocol.js';
import { BadArgument, BadResult, bytesFromBase64, decodeArgs, describe, encodeResult, fitToType, parseGodotJson } from './godot-codec.js';

export { godotStrtod, parseGodotJson } from './godot-codec.js';

export const VERSION = '0.1.0';

/** Default `initTimeout` of the pool `install` starts, in ms. */
export const GODOT_INIT_TIMEOUT = 30_000;

function plainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The adapter over one pool. `createBridge(pool)` lets a page that made its
 * own pool expose it to Godot; importing this module does it for a default one.
 * @param {Pool} pool
 * @param {{ bufferTtl?: number, timeout?: number }} [options]
 */
export function createBridge(pool, options = {}) {
  const bufferTtl = options.bufferTtl ?? 60_000;
  const defaultTimeout = options.timeout ?? 0;
  /** @type {Map<number, AbortController>} call id → its controller, while unsettled */
  const inflight = new Map();
  /** @type {Map<number, { bytes: ArrayBufferView, at: number }>} buffer handle → buffer */
  const buffers = new Map();
  let nextId = 1;
  let nextHandle = 1;
  let sweepTimer = 0;
  let state = 'loading';
  let failure = null;
  const readyCallbacks = [];

  const settleReady = () => {
    for (const { onReady, onError } of readyCallbacks.splice(0)) {
      const cb = state === 'ready' ? onReady : onError;
      if (typeof cb !== 'function') continue;
      try {
        cb(state === 'ready' ? JSON.stringify({ ok: true }) : JSON.stringify({ ok: false, error: failure }));
      } catch (err) {
        console.error('wasmbridge: a ready callback threw', err);
      }
    }
  };
  pool.ready.then(
    () => { state = 'ready'; settleReady(); },
    (err) => { state = 'failed'; failure = errorJson(err); settleReady(); },
  );

  // ---- buffers ----

  function storeBuffer(view) {
    // JavaScriptBridge copies a typed array's whole underlying ArrayBuffer, so
    // hand it exactly the bytes: a fresh Uint8Array when the view is a window.
    let bytes = view instanceof ArrayBuffer ? new Uint8Array(view) : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength || !(bytes.buffer instanceof ArrayBuffer)) {
      bytes = bytes.slice();
    }
    const handle = nextHandle++;
    buffers.set(handle, { bytes, at: performance.now(), type: view instanceof ArrayBuffer ? 'ArrayBuffer' : view.constructor.name });
    if (bufferTtl > 0 && !sweepTimer) {
      sweepTimer = setInterval(sweep, Math.max(1000, bufferTtl / 4));
      sweepTimer.unref?.(); // in Node, a pending sweep must not keep the process alive
    }
    return handle;
  }

  function sweep() {
    const cutoff = performance.now() - bufferTtl;
    for (const [handle, b] of buffers) if (b.at < cutoff) buffers.delete(handle);
    if (buffers.size === 0) { clearInterval(sweepTimer); sweepTimer = 0; }
  }

  /** Conversions that need the manifest: strings and whole numbers for `bigint` parameters. */
  function fitToManifest(fn, args) {
    const entry = pool.functions.find((f) => f.name === fn);
    if (!entry) return args;
    return args.map((arg, i) => (entry.params[i] ? fitToType(arg, entry.params[i].type) : arg));
  }

  /** Removes a stored buffer and returns it, for a `$buffer` argument. */
  function takeStored(handle) {
    const b = buffers.get(handle);
    if (b) buffers.delete(handle);
    return b;
  }

  // ---- calls ----

  function deliver(callback, payload) {
    let json;
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      json = JSON.stringify({ id: payload.id, ok: false, error: { code: CODES.BAD_RESULT, message: `the result cannot be sent as JSON: ${messageOf(err)}` } });
    }
    try {
      callback(json);
    } catch (err) {
      console.error('wasmbridge: a Godot callback threw', err);
    }
  }

  function parseJson(text, what, fallback) {
    if (text === undefined || text === null || text === '') return fallback;
    if (typeof text !== 'string') return text;
    try {
      return parseGodotJson(text);
    } catch (err) {
      throw new BadArgument(`${what} is not valid JSON (${messageOf(err)}): ${describe(text)}`);
    }
  }

  async function run(id, fn, argsJson, optionsJson, controller, emit) {
    const t0 = performance.now();
    let args;
    let opts;
    const transfer = [];
    try {
      if (typeof fn !== 'string' || fn.length === 0) throw new BadArgument(`the function name must be a non-empty string, got ${describe(fn)}`);
      const parsed = parseJson(argsJson, 'argsJson', []);
      if (!Array.isArray(parsed)) throw new BadArgument(`argsJson must be a JSON array of arguments, got ${describe(parsed)}`);
      args = decodeArgs(parsed, takeStored, transfer);
      opts = parseJson(optionsJson, 'optionsJson', {});
      if (!plainObject(opts)) throw new BadArgument(`optionsJson must be a JSON object, got ${describe(opts)}`);
      if (opts.timeout !== undefined && !(typeof opts.timeout === 'number' && opts.timeout >= 0)) {
        throw new BadArgument(`optionsJson: timeout must be a number of ms ≥ 0, got ${describe(opts.timeout)}`);
      }
    } catch (err) {
      if (err instanceof BadArgument) throw new WasmBridgeError(CODES.BAD_ARGUMENT, err.message, { functionName: typeof fn === 'string' ? fn : undefined, callId: id });
      throw err;
    }
    let timeout = opts.timeout ?? defaultTimeout;
    if (state === 'loading') {
      // Parameter types come with the manifest; wait for it, keeping the
      // call's deadline counted from now.
      await pool.ready.catch(() => {});
      if (timeout > 0) {
        const left = timeout - (performance.now() - t0);
        if (left <= 0) throw new WasmBridgeError(CODES.TIMEOUT, `${fn} did not finish within ${timeout} ms (the pool was still starting)`, { functionName: fn, callId: id });
        timeout = left;
      }
    }
    if (controller.signal.aborted) {
      throw new WasmBridgeError(CODES.CANCELLED, `${fn} was cancelled before it started`, { functionName: fn, callId: id });
    }
    return pool.call({
      fn,
      args: fitToManifest(fn, args),
      timeout,
      signal: controller.signal,
      transfer,
      onProgress: opts.progress ? (fraction) => emit({ id, progress: fraction }) : undefined,
    });
  }

  const bridge = {
    version: VERSION,
    /** The pool behind the bridge, for JS code on the same page. */
    pool,

    /** Calls `onReady` once the pool is ready (at once if it is), or `onError` with a JSON error if it failed to start. */
    ready(onReady, onError) {
      readyCallbacks.push({ onReady, onError });
      if (state !== 'loading') settleReady();
    },

    isReady() {
      return state === 'ready';
    },

    /** 'loading', 'ready' or 'failed'. */
    state() {
      return state;
    },

    /** The start-up error as JSON, or '' when there is none. */
    error() {
      return failure ? JSON.stringify(failure) : '';
    },

    /** The manifest's functions as a JSON string (`[]` until ready). */
    functions() {
      return JSON.stringify(pool.functions);
    },

    /**
     * Starts `functionName(...args)`; returns the call id, then calls
     * `callback` with one JSON string: the result or the error.
     */
    call(functionName, argsJson, callback, optionsJson) {
      const id = nextId++;
      if (typeof callback !== 'function') {
        console.error(`wasmbridge: WasmBridge.call(${JSON.stringify(String(functionName))}, …) needs a callback function as its third argument; the call was not made`);
        return 0;
      }
      const controller = new AbortController();
      inflight.set(id, controller);
      let done = false;
      const emit = (payload) => { if (!done) deliver(callback, payload); };
      // Run asynchronously even when the arguments are bad, so the callback
      // never fires before the caller has the id.
      Promise.resolve()
        .then(() => run(id, functionName, argsJson, optionsJson, controller, emit))
        .then(
          (value) => {
            let payload;
            try {
              payload = { id, ok: true, value: encodeResult(value, storeBuffer) };
            } catch (err) {
              payload = { id, ok: false, error: err instanceof BadResult ? { code: CODES.BAD_RESULT, message: err.message } : errorJson(err) };
            }
            return payload;
          },
          (err) => ({ id, ok: false, error: errorJson(err) }),
        )
        .then((payload) => {
          inflight.delete(id);
          emit(payload);
          done = true;
        });
      return id;
    },

    /**
     * The same as `call`. GDScript uses this name: on a JavaScriptObject,
     * `call("call", ...)` is taken by Godot's own Object.call and the
     * arguments never reach JS.
     */
    invoke(functionName, argsJson, callback, optionsJson) {
      return bridge.call(functionName, argsJson, callback, optionsJson);
    },

    /** Cancels a call: it settles with CANCELLED. Returns false when the call already settled. */
    cancel(id) {
      const controller = inflight.get(Number(id));
      if (!controller) return false;
      controller.abort();
      return true;
    },

    /**
     * Stores base64 bytes (optionally of a typed array `type`) and returns a
     * buffer handle for `{"$buffer": handle}` in argsJson; 0 when `text` is not
     * base64. GDScript sends large byte arrays this way: one string argument
     * costs far less than the same string inside JSON.
     */
    putBase64(text, type) {
      const bytes = bytesFromBase64(text);
      if (!bytes) return 0;
      const handle = storeBuffer(bytes);
      if (typeof type === 'string' && type !== '') buffers.get(handle).type = type;
      return handle;
    },

    /** The bytes stored under `handle` as a Uint8Array, removed from the store; null when there are none. */
    takeBuffer(handle) {
      const b = buffers.get(Number(handle));
      if (!b) return null;
      buffers.delete(Number(handle));
      return b.bytes;
    },

    /** Drops a buffer that will not be taken. */
    releaseBuffer(handle) {
      return buffers.delete(Number(handle));
    },

    /** Number of stored buffers, for tests and leak checks. */
    bufferCount() {
      return buffers.size;
    },

    /** Pool statistics as a JSON string. */
    stats() {
      return JSON.stringify(pool.stats());
    },
  };
  return bridge;
}

function errorJson(err) {
  if (err instanceof WasmBridgeError) {
    const out = err.toJSON();
    if (out.data !== undefined) {
      try {
        out.data = JSON.parse(JSON.stringify(out.data, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
      } catch {
        delete out.data;
      }
    }
    return out;
  }
  const code = typeof err?.code === 'string' ? err.code : CODES.GUEST_ERROR;
  return { code, message: messageOf(err) };
}

/** Stands in for a pool that could not be made, so every call fails with the reason. */
function failedPool(error) {
  const ready = Promise.reject(error);
  ready.catch(() => {});
  return {
    ready,
    functions: [],
    call: () => Promise.reject(error),
    stats: () => ({ workers: [], functions: {}, queued: 0, inFlight: 0, closed: true, isolated: false }),
  };
}

/**
 * Starts a pool from `window.WasmBridgeConfig` (`{ bundle, size, timeout, ... }`,
 * any PoolOptions) and installs `window.WasmBridge`. Importing this module
 * calls it; calling it again returns the installed bridge.
 */
export function install(config = globalThis.WasmBridgeConfig ?? {}) {
  if (globalThis.WasmBridge && typeof globalThis.WasmBridge.call === 'function') return globalThis.WasmBridge;
  const { bufferTtl, ...options } = config && typeof config === 'object' ? config : {};
  // A Godot page compiles a 30-40 MB engine while the workers start: on a
  // slow or busy machine that takes longer than the pool's usual 10 s.
  const poolOptions = { initTimeout: GODOT_INIT_TIMEOUT, ...options };
  // The bundle godot.js was loaded from (through a variable: bundlers treat
  // `new URL('<literal>', import.meta.url)` as a file to emit).
  const here = import.meta.url;
  if (poolOptions.bundle === undefined) poolOptions.bundle = new URL('./', here).href;
  let pool;
  try {
    pool = new Pool(poolOptions);
  } catch (err) {
    console.error('wasmbridge: window.WasmBridgeConfig is invalid:', err);
    pool = failedPool(new WasmBridgeError(CODES.INIT_FAILED, `window.WasmBridgeConfig is invalid: ${messageOf(err)}`));
  }
  const bridge = createBridge(pool, { bufferTtl, timeout: poolOptions.timeout });
  globalThis.WasmBridge = bridge;
  return bridge;
}

if (typeof window !== 'undefined') install();
