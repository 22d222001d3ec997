// What a caller passes, read once at the API boundary: pool options, call
// options and arguments, batch entries, and each function's argument checks
// compiled from the manifest. Everything here either returns what the pool
// uses or throws BAD_ARGUMENT naming what was wrong; none of it touches a
// worker.

import { CODES } from './protocol.js';
import { WasmBridgeError, messageOf } from './error.js';
import { guestRegions, regionArgs } from './shared.js';
import { Call } from './pool-call.js';

/** The pool options' defaults; see wasmbridge.d.ts. */
export const DEFAULTS = Object.freeze({
  /** Calls sent to one worker before it answers; more wait in the pool's queue. */
  window: Infinity,
  /**
   * Bytes of arguments (as `maxArgBytes` counts them, plus CALL_BYTES per
   * call) sent to one worker before it answers; more wait in the pool's
   * queue. A worker with nothing in flight takes any one call; a window
   * that filled up takes more once it is half empty.
   */
  windowBytes: 256 * 1024,
  /** How long a call that is abandoned while running may take to notice `cancelled()` before its worker is stopped. */
  cancelGrace: 100,
  /** How long a worker may take to instantiate the guest. */
  initTimeout: 10_000,
  /** Consecutive panics or timeouts of one function that open its circuit. */
  breakerThreshold: 5,
  /** How long an open circuit fails calls fast. */
  breakerCooldown: 5_000,
  /** An idle worker above `minSize` is stopped after this long. */
  idleTimeout: 30_000,
  /** Consecutive failed replacements after which the pool gives up on the guest. */
  maxRespawnFailures: 3,
});

// ---- reading what the caller passed, once ----

/** Longest delay setTimeout keeps (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
const MAX_TIMER = 2 ** 31 - 1;

const ABORTED = globalThis.AbortSignal ? Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')?.get : null;
export const ADD_LISTENER = EventTarget.prototype.addEventListener;
export const REMOVE_LISTENER = EventTarget.prototype.removeEventListener;

function badArgument(message) {
  return new WasmBridgeError(CODES.BAD_ARGUMENT, message);
}

/** `read()`, with anything it throws (a getter, a Proxy trap) turned into BAD_ARGUMENT naming `what`. */
export function guarded(read, what) {
  try {
    return read();
  } catch (err) {
    if (err instanceof WasmBridgeError) throw err;
    throw badArgument(`${what} could not be read: ${messageOf(err)}`);
  }
}

/** The named fields of an options object (undefined for none), each read once. */
export function readOptions(options, what, keys) {
  const out = {};
  if (options === undefined) return out;
  if (options === null || typeof options !== 'object') throw badArgument(`${what} must be an object, got ${describeType(options)}`);
  for (const key of keys) out[key] = guarded(() => options[key], `${what}.${key}`);
  return out;
}

/**
 * A duration in ms: a number ≥ 0, where 0 means none. Infinity, and anything
 * longer than a timer can hold, also mean none (0); NaN, negatives and
 * non-numbers are BAD_ARGUMENT.
 */
export function duration(what, v) {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw badArgument(`${what} must be a number of ms ≥ 0 (0 or Infinity: none), got ${describeType(v)}`);
  }
  return v > MAX_TIMER ? 0 : v;
}

export function checkSignal(signal, what) {
  let aborted;
  try {
    // The getter's own brand check: only a real AbortSignal passes (not a look-alike, not a Proxy).
    aborted = ABORTED.call(signal);
  } catch {
    throw badArgument(`${what} must be an AbortSignal, got ${describeType(signal)}`);
  }
  return aborted;
}


/** A pool's options, every one checked; BAD_ARGUMENT names the first that is wrong. */
export function readPoolOptions(options) {
  const o = readOptions(options, 'pool options', [
    'bundle', 'size', 'minSize', 'maxSize', 'timeout', 'maxQueue', 'maxArgBytes', 'memoryLimit', 'window', 'windowBytes', 'cancelGrace',
    'initTimeout', 'breakerThreshold', 'breakerCooldown', 'idleTimeout', 'maxRespawnFailures', 'onLoadProgress', 'workerUrl', 'createWorker', 'readyOn', 'lane', 'threads', 'manifest',
  ]);
  const count = (name, v, fallback, { min = 1, infinite = false } = {}) => {
    if (v === undefined) return fallback;
    if (!((Number.isInteger(v) && v >= min) || (infinite && v === Infinity))) {
      throw badArgument(`pool option ${name} must be a whole number ≥ ${min}${infinite ? ' or Infinity' : ''}, got ${describeType(v)}`);
    }
    return v;
  };
  const ms = (name, v, fallback) => (v === undefined ? fallback : duration(`pool option ${name}`, v));
  const size = count('size', o.size, Math.min(globalThis.navigator?.hardwareConcurrency || 2, 4));
  const minSize = count('minSize', o.minSize, size);
  const maxSize = count('maxSize', o.maxSize, Math.max(size, minSize));
  if (maxSize < minSize) {
    throw badArgument(`pool size must be whole numbers with 1 ≤ minSize ≤ maxSize, got minSize ${minSize} and maxSize ${maxSize}`);
  }
  const bytes = (name, v, fallback, unit = 'bytes') => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw badArgument(`pool option ${name} must be a number of ${unit} ≥ 0, got ${describeType(v)}`);
    return v;
  };
  const cancelGrace = ms('cancelGrace', o.cancelGrace, DEFAULTS.cancelGrace);
  if (cancelGrace === 0) throw badArgument(`pool option cancelGrace must be a number of ms between 1 and ${MAX_TIMER}, got ${describeType(o.cancelGrace)}`);
  if (o.bundle !== undefined && typeof o.bundle !== 'string' && !(o.bundle instanceof URL)) {
    throw badArgument(`pool option bundle must be a URL or a string, got ${describeType(o.bundle)}`);
  }
  if (o.workerUrl !== undefined && typeof o.workerUrl !== 'string' && !(o.workerUrl instanceof URL)) {
    throw badArgument(`pool option workerUrl must be a URL or a string, got ${describeType(o.workerUrl)}`);
  }
  if (o.createWorker !== undefined && typeof o.createWorker !== 'function') {
    throw badArgument(`pool option createWorker must be a function, got ${describeType(o.createWorker)}`);
  }
  if (o.onLoadProgress !== undefined && typeof o.onLoadProgress !== 'function') {
    throw badArgument(`pool option onLoadProgress must be a function, got ${describeType(o.onLoadProgress)}`);
  }
  if (o.manifest !== undefined && o.manifest !== false && (typeof o.manifest !== 'object' || o.manifest === null || Array.isArray(o.manifest))) {
    throw badArgument(`pool option manifest must be the bundle's manifest (an object) or false, got ${describeType(o.manifest)}`);
  }
  let manifest = o.manifest;
  // Copied, so that nothing the caller does to the object later reaches the pool.
  if (manifest) {
    try {
      manifest = structuredClone(manifest);
    } catch (err) {
      throw badArgument(`pool option manifest must be plain data such as the parsed manifest.json, got an object that cannot be copied (${messageOf(err)})`);
    }
  }
  if (o.lane !== undefined && typeof o.lane !== 'boolean') {
    throw badArgument(`pool option lane must be true or false, got ${describeType(o.lane)}`);
  }
  if (o.readyOn !== undefined && o.readyOn !== 'all' && o.readyOn !== 'first') {
    throw badArgument(`pool option readyOn must be 'all' or 'first', got ${describeType(o.readyOn)}`);
  }
  // Any cool-down ≥ 0 is meaningful (Infinity keeps an opened circuit open): it sets no timer.
  const breakerCooldown = bytes('breakerCooldown', o.breakerCooldown, DEFAULTS.breakerCooldown, 'ms');
  const memoryLimit = bytes('memoryLimit', o.memoryLimit, 0);
  if (o.threads !== undefined && o.threads !== 'auto' && o.threads !== false && !(Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 256)) {
    throw badArgument(`pool option threads must be 'auto', false or a whole number of threads from 1 to 256, got ${describeType(o.threads)}`);
  }
  return {
    threads: o.threads ?? 'auto',
    bundle: o.bundle, manifest, workerUrl: o.workerUrl, createWorker: o.createWorker, minSize, maxSize, onLoadProgress: o.onLoadProgress, readyOn: o.readyOn ?? 'all', lane: o.lane ?? true,
    window: count('window', o.window, DEFAULTS.window, { infinite: true }),
    windowBytes: bytes('windowBytes', o.windowBytes, DEFAULTS.windowBytes),
    cancelGrace,
    initTimeout: ms('initTimeout', o.initTimeout, DEFAULTS.initTimeout),
    idleTimeout: ms('idleTimeout', o.idleTimeout, DEFAULTS.idleTimeout),
    timeout: ms('timeout', o.timeout, 0),
    breakerThreshold: count('breakerThreshold', o.breakerThreshold, DEFAULTS.breakerThreshold, { infinite: true }),
    breakerCooldown,
    maxRespawnFailures: count('maxRespawnFailures', o.maxRespawnFailures, DEFAULTS.maxRespawnFailures, { infinite: true }),
    maxQueue: count('maxQueue', o.maxQueue, Infinity, { min: 0, infinite: true }),
    maxArgBytes: bytes('maxArgBytes', o.maxArgBytes, 256 * 1024 * 1024),
    memoryLimit: memoryLimit === Infinity ? 0 : memoryLimit,
  };
}

/**
 * A call's options as a plain record the pool owns: every field read once,
 * checked, and copied (the argument list too), so no getter, Proxy or
 * look-alike can run later inside the pool. Throws BAD_ARGUMENT naming the
 * field. `defaults` are a batch's timeout and signal.
 */
export function readCall(spec, defaults, poolTimeout, restArgs) {
  // The short form `call(name, ...args)`: `restArgs` is the rest array the
  // pool itself made, so there is nothing of the caller's left to read through.
  if (typeof spec === 'string' && restArgs !== null) {
    if (spec.length === 0) throw badArgument('a call needs a function name, got an empty string');
    let args;
    try {
      args = regionArgs(restArgs);
    } catch (err) {
      if (err instanceof WasmBridgeError) throw err;
      throw badArgument(`the arguments of ${spec} could not be read: ${messageOf(err)}`);
    }
    // Only a call that passed a region pays for the second look.
    return new Call(spec, args, poolTimeout, null, false, null, null, null, args === restArgs ? null : guestRegions(restArgs));
  }
  if (spec === null || typeof spec !== 'object') {
    throw badArgument(`a call needs a function name or an options object, got ${describeType(spec)}`);
  }
  const o = readOptions(spec, 'call options', ['fn', 'args', 'timeout', 'signal', 'transfer', 'outputs', 'onProgress']);
  const { fn } = o;
  if (typeof fn !== 'string' || fn.length === 0) throw badArgument(`a call needs a function name, got ${describeType(fn)}`);
  let args = [];
  let regions = null;
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) throw badArgument(`args of ${fn} must be an array, got ${describeType(o.args)}`);
    const list = o.args;
    const n = guarded(() => list.length, `args of ${fn}`);
    args = new Array(n);
    for (let i = 0; i < n; i++) args[i] = guarded(() => list[i], `argument ${i + 1} of ${fn}`);
    const given = args;
    args = guarded(() => regionArgs(given), `the arguments of ${fn}`);
    if (args !== given) regions = guestRegions(given);
  }
  const timeoutValue = o.timeout ?? defaults.timeout;
  const timeout = timeoutValue === undefined || timeoutValue === null ? poolTimeout : duration(`timeout of ${fn}`, timeoutValue);
  const signal = o.signal ?? defaults.signal ?? null;
  const aborted = signal === null ? false : checkSignal(signal, `signal of ${fn}`);
  let transfer = o.transfer === 'auto' ? argumentBuffers(fn, args) : readTransfer(fn, o.transfer);
  const outputs = readOutputs(fn, o.outputs, args);
  if (outputs !== null) {
    // An output always moves: the worker sends it back written, so the page never holds two copies.
    transfer ??= [];
    for (const at of outputs) {
      const buffer = args[at].buffer;
      if (buffer instanceof ArrayBuffer && !transfer.includes(buffer)) transfer.push(buffer);
    }
    if (transfer.length === 0) transfer = null;
  }
  const onProgress = o.onProgress ?? null;
  if (onProgress !== null && typeof onProgress !== 'function') {
    throw badArgument(`onProgress of ${fn} must be a function, got ${describeType(onProgress)}`);
  }
  return new Call(fn, args, timeout, signal, aborted, transfer, onProgress, outputs, regions);
}

/** An explicit `transfer` list: the distinct ArrayBuffers it names, or null for none. */
function readTransfer(fn, value) {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw badArgument(`transfer of ${fn} must be 'auto' or an array of ArrayBuffers or views of them, got ${describeType(value)}`);
  const n = guarded(() => value.length, `transfer of ${fn}`);
  const transfer = [];
  for (let i = 0; i < n; i++) {
    const t = guarded(() => value[i], `transfer[${i}] of ${fn}`);
    const buffer = t instanceof ArrayBuffer ? t : ArrayBuffer.isView(t) ? t.buffer : null;
    if (!(buffer instanceof ArrayBuffer)) {
      throw badArgument(`transfer[${i}] of ${fn} must be an ArrayBuffer or a view of one, got ${describeType(t)}`);
    }
    if (buffer.detached === true) throw badArgument(`transfer[${i}] of ${fn} is a detached ArrayBuffer: it was transferred before`);
    if (!transfer.includes(buffer)) transfer.push(buffer);
  }
  return transfer.length === 0 ? null : transfer;
}

/**
 * `transfer: 'auto'`: the buffer of every argument that is an ArrayBuffer or
 * a view of one, each named once however many arguments share it. Views of
 * SharedArrayBuffers (shared regions among them) are shared, never moved. A
 * detached buffer is BAD_ARGUMENT naming the argument: sending it would fail
 * the call later with a less useful error.
 */
function argumentBuffers(fn, args) {
  const transfer = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const buffer = a instanceof ArrayBuffer ? a : ArrayBuffer.isView(a) ? a.buffer : null;
    if (!(buffer instanceof ArrayBuffer)) continue;
    if (buffer.detached === true) throw badArgument(`argument ${i + 1} of ${fn} is a detached ArrayBuffer (or a view of one): it was transferred before`);
    if (!transfer.includes(buffer)) transfer.push(buffer);
  }
  return transfer.length === 0 ? null : transfer;
}

/**
 * `outputs`: positions (0-based) of arguments the guest writes into, each a
 * typed array or DataView over a live buffer, named once; null for none.
 */
function readOutputs(fn, value, args) {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw badArgument(`outputs of ${fn} must be an array of argument positions, got ${describeType(value)}`);
  const n = guarded(() => value.length, `outputs of ${fn}`);
  const outputs = [];
  for (let i = 0; i < n; i++) {
    const at = guarded(() => value[i], `outputs[${i}] of ${fn}`);
    if (!Number.isInteger(at) || at < 0 || at >= args.length) {
      throw badArgument(`outputs[${i}] of ${fn} must be the position of one of its ${args.length} arguments (0 to ${args.length - 1}), got ${describeType(at)}`);
    }
    if (outputs.includes(at)) throw badArgument(`outputs[${i}] of ${fn} names argument ${at} a second time`);
    const a = args[at];
    if (!ArrayBuffer.isView(a)) throw badArgument(`argument ${at + 1} of ${fn} is an output, so it must be a typed array or DataView, got ${describeType(a)}`);
    if (a.buffer instanceof ArrayBuffer && a.buffer.detached === true) {
      throw badArgument(`argument ${at + 1} of ${fn} is an output over a detached ArrayBuffer: it was transferred before`);
    }
    outputs.push(at);
  }
  return outputs.length === 0 ? null : outputs;
}


/** Entry `i` of a batch as call options: `[name, ...args]` or an options object. */
export function batchEntry(calls, i) {
  const entry = guarded(() => calls[i], `batch entry ${i}`);
  if (Array.isArray(entry)) {
    const n = guarded(() => entry.length, `batch entry ${i}`);
    const items = [];
    for (let k = 0; k < n; k++) items.push(guarded(() => entry[k], `batch entry ${i}`));
    return { fn: items[0], args: items.slice(1) };
  }
  if (entry === null || typeof entry !== 'object') {
    throw badArgument(`batch entry ${i} must be [name, ...args] or call options, got ${describeType(entry)}`);
  }
  return entry;
}

/** Approximate bytes a value occupies on the wire; stops counting once past `limit`. */
export function argBytes(value, limit) {
  let total = 0;
  const stack = [value];
  const seen = new Set();
  while (stack.length > 0 && total <= limit) {
    const v = stack.pop();
    if (typeof v === 'string') total += v.length * 2;
    else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') total += 8;
    else if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) total += isShared(v) ? 0 : v.byteLength;
    else if (v !== null && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const key of Object.keys(v)) {
        total += key.length * 2;
        stack.push(v[key]);
      }
    }
  }
  return total;
}

/** Views of a SharedArrayBuffer are shared with the worker, not copied. */
function isShared(v) {
  return typeof SharedArrayBuffer === 'function' && (v instanceof SharedArrayBuffer || v.buffer instanceof SharedArrayBuffer);
}

export function describeType(v) {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v === 'string' ? `a string` : typeof v;
}

const TYPED_ARRAYS = new Set([
  'Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
]);
const CHECKED = new Set(['number', 'bigint', 'string', 'boolean', 'undefined', 'null', 'SharedArrayBuffer', 'ArrayBuffer', ...TYPED_ARRAYS]);


/**
 * A function's checks, made once from its manifest entry: how many arguments
 * it needs and one predicate per parameter (`compileType`).
 * @param {{ name: string, params: Array<{ name: string, type: string, optional?: boolean }> }} entry
 */
export function compileFunction(entry, index) {
  const params = entry.params;
  return {
    name: entry.name,
    /** Its position in the `functions` of `init`, which names it in a packed call. */
    index,
    params,
    required: params.filter((p) => !p.optional).length,
    checks: params.map((p) => compileType(String(p.type))),
    /** The function's figures (`#statsFor`), found on its first call. */
    stats: null,
  };
}

const ANY = () => true;

/**
 * A predicate for the TypeScript type wasm-bindgen wrote for a parameter
 * (`number`, `Uint8Array | number[]`, …); types it does not know (`any`,
 * classes) pass and are left to the glue. A typed-array parameter takes any
 * typed array of the same kind of element (numbers or BigInts), since the
 * glue copies element by element; `T[]` takes an array whose every element
 * fits `T`.
 * @param {string} type
 * @returns {(v: unknown) => boolean}
 */
function compileType(type) {
  const alternatives = type.split('|').map((t) => compileOne(t.trim()));
  if (alternatives.includes(ANY)) return ANY;
  if (alternatives.length === 1) return alternatives[0];
  return (v) => {
    for (const fits of alternatives) if (fits(v)) return true;
    return false;
  };
}

function compileOne(t) {
  if (t.endsWith('[]')) {
    const item = t.slice(0, -2);
    if (!CHECKED.has(item)) return Array.isArray;
    const fits = compileOne(item);
    return (v) => {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (!fits(v[i])) return false;
      return true;
    };
  }
  switch (t) {
    case 'number': return (v) => typeof v === 'number';
    case 'bigint': return (v) => typeof v === 'bigint';
    case 'string': return (v) => typeof v === 'string';
    case 'boolean': return (v) => typeof v === 'boolean';
    case 'undefined': case 'null': return (v) => v === undefined || v === null;
    case 'SharedArrayBuffer': return (v) => typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer;
    case 'ArrayBuffer': return (v) => v instanceof ArrayBuffer;
    default: {
      if (!TYPED_ARRAYS.has(t)) return ANY;
      const big = t.startsWith('Big');
      return (v) => ArrayBuffer.isView(v) && !(v instanceof DataView) && isBigIntArray(v) === big;
    }
  }
}

function isBigIntArray(v) {
  return v instanceof BigInt64Array || v instanceof BigUint64Array;
}
