// The Godot adapter's codec: how values cross between GDScript's JSON and JS
// values, with no state of its own. godot.js owns the buffer store and passes
// in the two functions that touch it. The GDScript half is the encoder and
// decoder in godot/addons/wasmbridge/wasmbridge.gd; the two must agree.
//
// Markers are objects with a key that starts with exactly one `$`:
//   {"$base64": "...", "$type"?: "Float32Array"}   bytes (GDScript → JS)
//   {"$buffer": handle, "$type"?, "length"?}       bytes stored in JS, either way
//   {"$bigint": "123"}                             a BigInt (GDScript → JS)
//   {"$number": "NaN" | "Infinity" | "-Infinity"}  a non-finite number
//   {"$f64": "16 hex digits"}                      a double by its 8 little-endian bytes
// A user key that starts with `$` travels with one more `$` in front
// (`$bigint` as `$$bigint`, `$$x` as `$$$x`) and loses it on arrival, so no
// Dictionary or object is ever taken for a marker and every key arrives as it
// was sent.

/** Typed arrays a `$type` may name. */
const TYPED_ARRAYS = {
  Uint8Array, Int8Array, Uint8ClampedArray, Uint16Array, Int16Array, Uint32Array, Int32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

const DECIMAL = /^-?\d+$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;

/** A wrong argument: godot.js turns it into BAD_ARGUMENT. */
export class BadArgument extends Error {}

/** A key as it travels: one more `$` in front of a user key that starts with `$`. */
export function escapeKey(key) {
  return key.charCodeAt(0) === 36 ? `$${key}` : key;
}

/** A key as it arrived: `$$x` → `$x`; a key with one `$` is a marker's. */
function isMarkerKey(key) {
  return key.charCodeAt(0) === 36 && key.charCodeAt(1) !== 36;
}

/** Sets an own data property, also for `__proto__` (where `=` would set the prototype). */
function put(obj, key, value) {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Godot's JSON.stringify writes `\v` as the escape `\v` (not JSON) and leaves
 * U+0000–U+001F other than `\b \t \n \f \r` raw (not allowed in JSON strings).
 * Both can only occur inside strings, so they are rewritten as `\u00XX`; any
 * valid JSON comes through unchanged.
 */
export function repairGodotJson(text) {
  if (!/[\x00-\x1f]|\\v/.test(text)) return text;
  return text.replace(/\\([\s\S])|[\x00-\x1f]/g, (m, escaped) => {
    if (escaped === undefined) return `\\u${m.charCodeAt(0).toString(16).padStart(4, '0')}`;
    return escaped === 'v' ? '\\u000b' : m;
  });
}

/** Parses JSON from GDScript (see repairGodotJson). Parsed keys are own data properties, so no key reaches a prototype. */
export function parseGodotJson(text) {
  return JSON.parse(repairGodotJson(text));
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

function f64Hex(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x, true);
  let hex = '';
  for (let i = 0; i < 8; i++) hex += view.getUint8(i).toString(16).padStart(2, '0');
  return hex;
}

/**
 * A number as JSON Godot reads back exactly: plain when Godot's parser gets
 * it right (almost always), else `{"$f64": hex of its 8 little-endian bytes}`.
 * -0 goes as bytes too: as plain JSON it would come back as the int 0.
 */
export function encodeNumber(x) {
  if (!Number.isFinite(x)) return { $number: String(x) };
  if (Number.isSafeInteger(x)) return Object.is(x, -0) ? { $f64: f64Hex(x) } : x;
  if (godotStrtod(JSON.stringify(x)) === x) return x;
  return { $f64: f64Hex(x) };
}

function fromBase64(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Bytes from base64, or null when `text` is not base64. */
export function bytesFromBase64(text) {
  if (typeof text !== 'string') return null;
  try {
    return fromBase64(text);
  } catch {
    return null;
  }
}

/**
 * `text` with lone surrogates as U+FFFD: Godot's JSON parser rejects a whole
 * message for one, and a GDScript String cannot hold one (Godot replaces it
 * with U+FFFD too).
 */
function wellFormed(text) {
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** A short description of a value for error messages. */
export function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}` : typeof value;
}

/**
 * A result value as JSON-ready data for GDScript: BigInts as decimal strings,
 * numbers through encodeNumber, typed arrays and ArrayBuffers as
 * `{"$buffer": storeBuffer(view), "$type", "length"}`, Maps as objects, Sets
 * as arrays, Dates as ISO strings, keys escaped. Throws BadResult on a cycle.
 * @param {unknown} value
 * @param {(view: ArrayBufferView | ArrayBuffer) => number} storeBuffer
 */
export function encodeResult(value, storeBuffer) {
  return encode(value, storeBuffer, new Set());
}

/** A result that cannot be sent: godot.js turns it into BAD_RESULT. */
export class BadResult extends Error {}

function encode(value, storeBuffer, seen) {
  switch (typeof value) {
    case 'bigint': return value.toString();
    case 'number': return encodeNumber(value);
    case 'string': return wellFormed(value);
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
  if (seen.has(value)) throw new BadResult('the result contains a cycle and cannot be sent as JSON');
  seen.add(value);
  let out;
  if (Array.isArray(value) || value instanceof Set) {
    out = [];
    for (const v of value) out.push(encode(v, storeBuffer, seen));
  } else if (value instanceof Date) {
    out = value.toISOString();
  } else {
    out = Object.create(null);
    const entries = value instanceof Map ? value.entries() : Object.entries(value);
    for (const [k, v] of entries) out[escapeKey(wellFormed(String(k)))] = encode(v, storeBuffer, seen);
  }
  seen.delete(value);
  return out;
}

/**
 * Turns parsed argsJson into JS values: markers become BigInts, numbers and
 * typed arrays, escaped keys lose their extra `$`. Buffers made or taken here
 * are pushed to `transfer`. `takeBuffer(handle)` removes a stored buffer and
 * returns `{ bytes, type }`, or undefined. Throws BadArgument.
 * @param {unknown[]} args
 * @param {(handle: unknown) => { bytes: Uint8Array, type: string } | undefined} takeBuffer
 * @param {ArrayBuffer[]} transfer
 */
export function decodeArgs(args, takeBuffer, transfer) {
  return decode(args, takeBuffer, transfer, []);
}

// `at` is the stack of keys down to `value`, formatted only for errors.
function decode(value, takeBuffer, transfer, at) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    at.push(0);
    for (let i = 0; i < value.length; i++) {
      at[at.length - 1] = i;
      out[i] = decode(value[i], takeBuffer, transfer, at);
    }
    at.pop();
    return out;
  }
  const keys = Object.keys(value);
  if (keys.some(isMarkerKey)) return decodeMarker(value, keys, takeBuffer, transfer, at);
  const out = {};
  at.push('');
  for (const k of keys) {
    const key = k.charCodeAt(0) === 36 ? k.slice(1) : k;
    at[at.length - 1] = key;
    put(out, key, decode(value[k], takeBuffer, transfer, at));
  }
  at.pop();
  return out;
}

function pathOf(at) {
  return at.reduce((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${k}`), 'args');
}

function only(keys, required, optional) {
  return keys.includes(required) && keys.every((k) => k === required || optional.includes(k));
}

function decodeMarker(value, keys, takeBuffer, transfer, at) {
  const path = () => pathOf(at);
  if (only(keys, '$base64', ['$type'])) {
    if (typeof value.$base64 !== 'string') throw new BadArgument(`${path()}: $base64 must be a string, got ${describe(value.$base64)}`);
    const bytes = bytesFromBase64(value.$base64);
    if (!bytes) throw new BadArgument(`${path()}: $base64 is not valid base64`);
    transfer.push(bytes.buffer);
    return asType(bytes, value.$type, path);
  }
  if (only(keys, '$buffer', ['$type', 'length'])) {
    const b = takeBuffer(value.$buffer);
    if (!b) throw new BadArgument(`${path()}: no buffer with handle ${JSON.stringify(value.$buffer)} (it was taken already, released, or expired)`);
    transfer.push(b.bytes.buffer);
    return asType(b.bytes, value.$type ?? b.type, path);
  }
  if (only(keys, '$bigint', [])) {
    if (typeof value.$bigint !== 'string' || !DECIMAL.test(value.$bigint)) {
      throw new BadArgument(`${path()}: $bigint must be a decimal string, got ${describe(value.$bigint)}`);
    }
    return BigInt(value.$bigint);
  }
  if (only(keys, '$f64', [])) {
    if (typeof value.$f64 !== 'string' || !HEX16.test(value.$f64)) {
      throw new BadArgument(`${path()}: $f64 must be 16 hex digits (8 little-endian bytes), got ${describe(value.$f64)}`);
    }
    const view = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 8; i++) view.setUint8(i, parseInt(value.$f64.slice(2 * i, 2 * i + 2), 16));
    return view.getFloat64(0, true);
  }
  if (only(keys, '$number', [])) {
    const n = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }[value.$number];
    if (n === undefined) throw new BadArgument(`${path()}: $number must be "NaN", "Infinity" or "-Infinity", got ${describe(value.$number)}`);
    return n;
  }
  throw new BadArgument(`${path()}: an object with the keys ${keys.map((k) => JSON.stringify(k)).join(', ')} is no marker ($base64, $buffer, $bigint, $f64, $number); a key of your own that starts with $ is sent with one more $ in front`);
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

/**
 * An argument fitted to its manifest parameter type: a decimal string or a
 * whole number becomes a BigInt where only `bigint` is taken, a BigInt a
 * number where only `number` is.
 */
export function fitToType(arg, type) {
  const types = String(type).split('|').map((t) => t.trim());
  if (types.includes('bigint')) {
    if (typeof arg === 'string' && DECIMAL.test(arg) && !types.includes('string')) return BigInt(arg);
    if (typeof arg === 'number' && Number.isSafeInteger(arg) && !types.includes('number')) return BigInt(arg);
  }
  if (typeof arg === 'bigint' && !types.includes('bigint') && types.includes('number') && !types.includes('any')) {
    return Number(arg);
  }
  return arg;
}
