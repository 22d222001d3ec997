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
// Wire format (all JSON):
// - argsJson: an array; inside it `{"$base64": "...", "$type"?: "Float32Array"}`
//   becomes a typed array (Uint8Array by default), `{"$buffer": handle}` the
//   buffer stored under that handle (taking it), `{"$bigint": "123"}` a BigInt
//   and `{"$number": "NaN" | "Infinity" | "-Infinity"}` that number. A decimal
//   string or a whole number passed where the manifest says the guest takes a
//   `bigint` becomes a BigInt. `{"$f64": "16 hex digits"}` is a double given
//   by its 8 little-endian bytes.
// - result: `{"id", "ok": true, "value"}` or `{"id", "ok": false, "error":
//   {"code", "message", "data"?}}`; in the value, BigInts are decimal strings,
//   typed arrays and ArrayBuffers are `{"$buffer": handle, "$type", "length"}`
//   (read them with `takeBuffer(handle)`), non-finite numbers are `{"$number"}`,
//   and the rare double Godot's JSON parser would round wrongly (17 digits,
//   large exponents, subnormals) is `{"$f64": "16 hex digits"}`.
// - with `{"progress": true}` in optionsJson the callback also receives
//   `{"id", "progress": fraction}` before the result.

import { Pool } from './pool.js';
import { WasmBridgeError } from './error.js';
import { CODES } from './protocol.js';

export const VERSION = '0.1.0';

/** Default `initTimeout` of the pool `install` starts, in ms. */
export const GODOT_INIT_TIMEOUT = 30_000;

/** Keys never copied out of parsed JSON, so no payload can reach a prototype. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const TYPED_ARRAYS = {
  Uint8Array, Int8Array, Uint8ClampedArray, Uint16Array, Int16Array, Uint32Array, Int32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

const DECIMAL = /^-?\d+$/;

/** JSON.parse that drops prototype-polluting keys at every depth. */
export function safeParse(text) {
  return JSON.parse(text, function reviver(key, value) {
    return FORBIDDEN_KEYS.has(key) ? undefined : value;
  });
}

function plainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function onlyKeys(obj, required, optional = []) {
  const keys = Object.keys(obj);
  return keys.includes(required) && keys.every((k) => k === required || optional.includes(k));
}

/** Powers of ten Godot's number parser multiplies: 10^(2^i). */
const GODOT_POW10 = [10, 100, 1e4, 1e8, 1e16, 1e32, 1e64, 1e128, 1e256];

/**
 * What Godot's JSON parser makes of the number text `s`: a port of its
 * String::to_float (built_in_strtod), which is exact only when the digits fit
 * 2^53 and the exponent is small. Same IEEE doubles, so the same result.
 */
export function godotStrtod(s) {
  let p = 0;
  let sign = false;
  if (s[p] === '-') { sign = true; p += 1; } else if (s[p] === '+') p += 1;
  const start = p;
  let decPt = -1;
  let mantSize = 0;
  for (;; mantSize += 1) {
    const c = s[p];
    if (!(c >= '0' && c <= '9')) {
      if (c !== '.' || decPt >= 0) break;
      decPt = mantSize;
    }
    p += 1;
  }
  const pExp = p;
  p = start;
  if (decPt < 0) decPt = mantSize;
  else mantSize -= 1;
  let fracExp;
  if (mantSize > 18) {
    fracExp = decPt - 18;
    mantSize = 18;
  } else {
    fracExp = decPt - mantSize;
  }
  if (mantSize === 0) return sign ? -0 : 0;
  const digit = () => {
    let c = s[p++];
    if (c === '.') c = s[p++];
    return c.charCodeAt(0) - 48;
  };
  let frac1 = 0;
  for (; mantSize > 9; mantSize -= 1) frac1 = 10 * frac1 + digit();
  let frac2 = 0;
  for (; mantSize > 0; mantSize -= 1) frac2 = 10 * frac2 + digit();
  let fraction = 1.0e9 * frac1 + frac2;
  p = pExp;
  let exp = 0;
  let expSign = false;
  if (s[p] === 'e' || s[p] === 'E') {
    p += 1;
    if (s[p] === '-') { expSign = true; p += 1; } else if (s[p] === '+') p += 1;
    while (s[p] >= '0' && s[p] <= '9') exp = exp * 10 + (s.charCodeAt(p++) - 48);
  }
  exp = expSign ? fracExp - exp : fracExp + exp;
  expSign = exp < 0;
  exp = Math.min(Math.abs(exp), 511);
  let dblExp = 1.0;
  for (let d = 0; exp !== 0; exp >>= 1, d += 1) if (exp & 1) dblExp *= GODOT_POW10[d];
  fraction = expSign ? fraction / dblExp : fraction * dblExp;
  return sign ? -fraction : fraction;
}

/**
 * A number as JSON Godot reads back exactly: plain when Godot's parser gets
 * it right (almost always), else `{"$f64": hex of its 8 little-endian bytes}`.
 */
function encodeNumber(x) {
  if (!Number.isFinite(x)) return { $number: String(x) };
  if (Number.isSafeInteger(x)) return x;
  if (godotStrtod(JSON.stringify(x)) === x) return x;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x, true);
  let hex = '';
  for (let i = 0; i < 8; i++) hex += view.getUint8(i).toString(16).padStart(2, '0');
  return { $f64: hex };
}

function fromBase64(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}` : typeof value;
}

class BadArgument extends Error {}

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

  // ---- encoding results ----

  function encode(value, seen) {
    switch (typeof value) {
      case 'bigint': return value.toString();
      case 'number': return encodeNumber(value);
      case 'undefined': case 'function': case 'symbol': return null;
      case 'object': break;
      default: return value;
    }
    if (value === null) return null;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      const handle = storeBuffer(value);
      const type = value instanceof ArrayBuffer ? 'ArrayBuffer' : value.constructor.name;
      return { $buffer: handle, $type: type, length: value instanceof ArrayBuffer ? value.byteLength : value.length ?? value.byteLength };
    }
    if (seen.has(value)) throw new WasmBridgeError(CODES.BAD_RESULT, 'the result contains a cycle and cannot be sent as JSON');
    seen.add(value);
    let out;
    if (Array.isArray(value)) {
      out = value.map((v) => encode(v, seen));
    } else if (value instanceof Map) {
      out = Object.create(null);
      for (const [k, v] of value) if (!FORBIDDEN_KEYS.has(String(k))) out[String(k)] = encode(v, seen);
    } else if (value instanceof Set) {
      out = [...value].map((v) => encode(v, seen));
    } else if (value instanceof Date) {
      out = value.toISOString();
    } else {
      out = Object.create(null);
      for (const k of Object.keys(value)) if (!FORBIDDEN_KEYS.has(k)) out[k] = encode(value[k], seen);
    }
    seen.delete(value);
    return out;
  }

  // ---- decoding arguments ----

  /**
   * Turns the JSON markers into JS values; `transfer` collects buffers made
   * here. `at` is the stack of keys down to `value`, formatted only for errors.
   */
  function decode(value, transfer, at) {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      const out = new Array(value.length);
      at.push(0);
      for (let i = 0; i < value.length; i++) {
        at[at.length - 1] = i;
        out[i] = decode(value[i], transfer, at);
      }
      at.pop();
      return out;
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
    const path = () => at.reduce((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${k}`), 'args');
    if (onlyKeys(value, '$base64', ['$type'])) {
      if (typeof value.$base64 !== 'string') throw new BadArgument(`${path()}: $base64 must be a string, got ${describe(value.$base64)}`);
      let bytes;
      try {
        bytes = fromBase64(value.$base64);
      } catch {
        throw new BadArgument(`${path()}: $base64 is not valid base64`);
      }
      transfer.push(bytes.buffer);
      return asType(bytes, value.$type, path);
    }
    if (onlyKeys(value, '$buffer', ['$type', 'length'])) {
      const b = buffers.get(value.$buffer);
      if (!b) throw new BadArgument(`${path()}: no buffer with handle ${JSON.stringify(value.$buffer)} (it was taken already, released, or expired)`);
      buffers.delete(value.$buffer);
      transfer.push(b.bytes.buffer);
      return asType(b.bytes, value.$type ?? b.type, path);
    }
    if (onlyKeys(value, '$bigint')) {
      if (typeof value.$bigint !== 'string' || !DECIMAL.test(value.$bigint)) {
        throw new BadArgument(`${path()}: $bigint must be a decimal string, got ${describe(value.$bigint)}`);
      }
      return BigInt(value.$bigint);
    }
    if (onlyKeys(value, '$f64')) {
      if (typeof value.$f64 !== 'string' || !/^[0-9a-fA-F]{16}$/.test(value.$f64)) {
        throw new BadArgument(`${path()}: $f64 must be 16 hex digits (8 little-endian bytes), got ${describe(value.$f64)}`);
      }
      const view = new DataView(new ArrayBuffer(8));
      for (let i = 0; i < 8; i++) view.setUint8(i, parseInt(value.$f64.slice(2 * i, 2 * i + 2), 16));
      return view.getFloat64(0, true);
    }
    if (onlyKeys(value, '$number')) {
      const n = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }[value.$number];
      if (n === undefined) throw new BadArgument(`${path()}: $number must be "NaN", "Infinity" or "-Infinity", got ${describe(value.$number)}`);
      return n;
    }
    const out = {};
    at.push('');
    for (const k of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(k)) continue;
      at[at.length - 1] = k;
      out[k] = decode(value[k], transfer, at);
    }
    at.pop();
    return out;
  }

  function asType(bytes, type, path) {
    if (type === undefined || type === 'Uint8Array') return bytes;
    if (type === 'ArrayBuffer') return bytes.buffer;
    const Ctor = Object.hasOwn(TYPED_ARRAYS, type) ? TYPED_ARRAYS[type] : null;
    if (!Ctor) throw new BadArgument(`${path()}: $type must name a typed array (such as "Float32Array"), got ${describe(type)}`);
    if (bytes.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) {
      throw new BadArgument(`${path()}: ${bytes.byteLength} bytes do not make whole ${type} elements of ${Ctor.BYTES_PER_ELEMENT} bytes`);
    }
    return new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
  }

  /** Conversions that need the manifest: strings and whole numbers for `bigint` parameters. */
  function fitToManifest(fn, args) {
    const entry = pool.functions.find((f) => f.name === fn);
    if (!entry) return args;
    return args.map((arg, i) => {
      const p = entry.params[i];
      if (!p) return arg;
      const types = String(p.type).split('|').map((t) => t.trim());
      if (types.includes('bigint')) {
        if (typeof arg === 'string' && DECIMAL.test(arg) && !types.includes('string')) return BigInt(arg);
        if (typeof arg === 'number' && Number.isSafeInteger(arg) && !types.includes('number')) return BigInt(arg);
      }
      if (typeof arg === 'bigint' && !types.includes('bigint') && types.includes('number') && !types.includes('any')) {
        return Number(arg);
      }
      return arg;
    });
  }

  // ---- calls ----

  function deliver(callback, payload) {
    let json;
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      json = JSON.stringify({ id: payload.id, ok: false, error: { code: CODES.BAD_RESULT, message: `the result cannot be sent as JSON: ${err instanceof Error ? err.message : String(err)}` } });
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
      return safeParse(text);
    } catch (err) {
      throw new BadArgument(`${what} is not valid JSON (${err instanceof Error ? err.message : String(err)}): ${describe(text)}`);
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
      args = decode(parsed, transfer, []);
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
              payload = { id, ok: true, value: encode(value, new Set()) };
            } catch (err) {
              payload = { id, ok: false, error: errorJson(err) };
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
      let bytes;
      try {
        if (typeof text !== 'string') return 0;
        bytes = fromBase64(text);
      } catch {
        return 0;
      }
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
  return { code, message: err instanceof Error ? err.message : String(err) };
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
    pool = failedPool(new WasmBridgeError(CODES.INIT_FAILED, `window.WasmBridgeConfig is invalid: ${err instanceof Error ? err.message : String(err)}`));
  }
  const bridge = createBridge(pool, { bufferTtl, timeout: poolOptions.timeout });
  globalThis.WasmBridge = bridge;
  return bridge;
}

if (typeof window !== 'undefined') install();
