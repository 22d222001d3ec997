// The fast lane's shared buffer: its layout and the codec both halves use.
// The page half is lane.js, the worker half lane-worker.js. Pure functions
// over byte arrays, no state, so the page can encode straight into the
// shared buffer and the worker can answer into it.
//
// What fits (anything else takes the normal postMessage path, decided by
// `laneRequestSize` before the call is queued): the function name and the
// arguments of one call, encoded, take at most MAX_CALL_BYTES = 252 bytes:
// 1 + the name's UTF-8 length, 1 for the argument count, and per argument
// 9 bytes for a number, 1 for a boolean, null or undefined, 3 + the UTF-8
// length for a string. Any result comes back: numbers, booleans, null,
// undefined and strings inline when they encode into MAX_RESULT_BYTES = 255
// bytes (errors too: code and message, when they carry no data); everything
// else (typed arrays, objects, BigInts, long strings, errors with data) by a
// postMessage from the lane worker, slower but still correct.
//
// Layout of the lane buffer (Int32 words, then two byte areas):
//
//   word 0 STATE     0 IDLE: the page may write a request; 1 REQUEST: the worker owns the
//                    buffer; 2 RESPONSE: the page owns the responses. The page stores 1 (and
//                    notifies when SLEEPING is 1), the worker stores 2 and notifies, the page
//                    stores 0.
//   word 1 COUNT     calls in the request
//   word 2 REQ_LEN   bytes of the request
//   word 3 DONE      responses written so far (stored after each one, after RES_LEN)
//   word 4 RES_LEN   bytes of those responses
//   word 5 SLEEPS    times the worker went to sleep in Atomics.wait (a statistic)
//   word 6 RETIRED   1 when the worker stopped after the call DONE - 1 trapped: its instance
//                    is unusable, the calls from DONE on were not started (stored before STATE)
//   word 7 SLEEPING  1 while the worker is about to sleep or sleeps in Atomics.wait on STATE:
//                    the worker stores 1 and then reads STATE, the page stores STATE and
//                    then reads SLEEPING, so one of the two always sees the other (all
//                    Atomics operations are sequentially consistent) and a request never
//                    waits for a worker nobody wakes
//   word 8 WAKES     times the page had to notify the worker (a statistic)
//   bytes 64..4160   request:   per call: u32 id, u8 name length, name, u8 argc, argc × value
//   bytes 4160..8256 responses: per call: u8 kind, then for OK one value, for ERROR u8 code
//                    length, code, u16 message length, message; POSTED has nothing more
//   value            u8 tag: 0 undefined, 1 null, 2 false, 3 true, 4 number (+ f64),
//                    5 string (+ u16 length + UTF-8); all little-endian
//
// Strings are UTF-8 encoded and decoded here by hand: TextDecoder refuses
// views of a SharedArrayBuffer, and for names and short strings a loop costs
// less than a TextEncoder call. A lone surrogate becomes U+FFFD, as
// TextEncoder would make it.

export const LANE = Object.freeze({
  STATE: 0, COUNT: 1, REQ_LEN: 2, DONE: 3, RES_LEN: 4, SLEEPS: 5, RETIRED: 6, SLEEPING: 7, WAKES: 8,
  IDLE: 0, REQUEST: 1, RESPONSE: 2,
  OK: 0, ERROR: 1, POSTED: 2,
  HEADER_WORDS: 16,
  REQUEST_OFFSET: 64, REQUEST_BYTES: 4096, RESPONSE_OFFSET: 4160, RESPONSE_BYTES: 4096,
  BYTE_LENGTH: 8256,
  /** Largest encoded call (name and arguments), after its u32 id: 256 bytes per call in all. */
  MAX_CALL_BYTES: 252,
  /** Largest inline response of one call (its kind byte excluded). */
  MAX_RESULT_BYTES: 255,
});

const TAG = Object.freeze({ UNDEFINED: 0, NULL: 1, FALSE: 2, TRUE: 3, NUMBER: 4, STRING: 5 });

/** UTF-8 length of `s`, or -1 once it passes `limit`. */
export function utf8Length(s, limit) {
  let n = 0;
  for (let i = 0; i < s.length && n <= limit; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i += 1; }
    else n += 3;
  }
  return n <= limit ? n : -1;
}

/** Writes `s` as UTF-8 at `at`; returns the bytes written, or -1 when they do not fit before `end`. */
export function writeUtf8(bytes, at, end, s) {
  const start = at;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (at >= end) return -1;
      bytes[at++] = c;
      continue;
    }
    if (c >= 0xd800 && c < 0xe000) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && (next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x800) {
      if (at + 2 > end) return -1;
      bytes[at++] = 0xc0 | (c >> 6);
    } else if (c < 0x10000) {
      if (at + 3 > end) return -1;
      bytes[at++] = 0xe0 | (c >> 12);
      bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
    } else {
      if (at + 4 > end) return -1;
      bytes[at++] = 0xf0 | (c >> 18);
      bytes[at++] = 0x80 | ((c >> 12) & 0x3f);
      bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
    }
    bytes[at++] = 0x80 | (c & 0x3f);
  }
  return at - start;
}

/** UTF-8 bytes `start..end` as a string (the codec only ever writes well-formed UTF-8). */
export function readUtf8(bytes, start, end) {
  let s = '';
  let i = start;
  while (i < end) {
    const b = bytes[i];
    let c;
    if (b < 0x80) { c = b; i += 1; }
    else if (b < 0xe0) { c = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f); i += 2; }
    else if (b < 0xf0) { c = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f); i += 3; }
    else {
      c = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
      i += 4;
    }
    s += String.fromCodePoint(c);
  }
  return s;
}

/** Encoded size of one value, or -1 when it cannot travel inline (or passes `limit`). */
function valueSize(v, limit) {
  switch (typeof v) {
    case 'undefined': case 'boolean': return 1;
    case 'number': return 9;
    case 'string': {
      if (v.length > 0xffff) return -1;
      const n = utf8Length(v, limit - 3);
      return n < 0 ? -1 : 3 + n;
    }
    case 'object': return v === null ? 1 : -1;
    default: return -1;
  }
}

/** Writes one tagged value at `at`; returns the new offset, or -1 when it does not fit before `end`. */
export function writeValue(bytes, view, at, end, v) {
  if (at >= end) return -1;
  switch (typeof v) {
    case 'undefined': bytes[at] = TAG.UNDEFINED; return at + 1;
    case 'boolean': bytes[at] = v ? TAG.TRUE : TAG.FALSE; return at + 1;
    case 'number':
      if (at + 9 > end) return -1;
      bytes[at] = TAG.NUMBER;
      view.setFloat64(at + 1, v, true);
      return at + 9;
    case 'string': {
      if (at + 3 + v.length > end || v.length > 0xffff) return -1; // UTF-8 is never shorter than the UTF-16 length
      const written = writeUtf8(bytes, at + 3, end, v);
      if (written < 0) return -1;
      bytes[at] = TAG.STRING;
      view.setUint16(at + 1, written, true);
      return at + 3 + written;
    }
    case 'object':
      if (v === null) { bytes[at] = TAG.NULL; return at + 1; }
      return -1;
    default:
      return -1;
  }
}

/** Reads one tagged value at `at`; returns it and the offset after it. */
export function readValue(bytes, view, at) {
  switch (bytes[at]) {
    case TAG.UNDEFINED: return [undefined, at + 1];
    case TAG.NULL: return [null, at + 1];
    case TAG.FALSE: return [false, at + 1];
    case TAG.TRUE: return [true, at + 1];
    case TAG.NUMBER: return [view.getFloat64(at + 1, true), at + 9];
    case TAG.STRING: {
      const n = view.getUint16(at + 1, true);
      return [readUtf8(bytes, at + 3, at + 3 + n), at + 3 + n];
    }
    default: throw new TypeError(`corrupt lane buffer: value tag ${bytes[at]}`);
  }
}

/** Writes a short string with a u8 length; -1 when it does not fit. */
export function writeShort(bytes, at, end, s) {
  if (at + 1 + s.length > end || s.length > 255) return -1;
  const written = writeUtf8(bytes, at + 1, Math.min(end, at + 256), s);
  if (written < 0) return -1;
  bytes[at] = written;
  return at + 1 + written;
}

/**
 * Encoded size of `fn(...args)` (name and arguments, without the id), or -1
 * when the call does not fit the lane (see the top of this file). Allocates
 * nothing: the page checks a call with it when it is submitted and encodes it
 * straight into the shared buffer when it is sent.
 * @param {unknown} fn
 * @param {unknown} args
 */
export function laneRequestSize(fn, args) {
  if (typeof fn !== 'string' || !Array.isArray(args) || args.length > 255 || fn.length > 255) return -1;
  const name = utf8Length(fn, 255);
  if (name < 0) return -1;
  let size = 2 + name;
  for (let i = 0; i < args.length && size <= LANE.MAX_CALL_BYTES; i++) {
    const n = valueSize(args[i], LANE.MAX_CALL_BYTES - size);
    if (n < 0) return -1;
    size += n;
  }
  return size <= LANE.MAX_CALL_BYTES ? size : -1;
}

/**
 * Writes one call (u32 id, name, argument count, arguments) at `at`, which
 * must have room for `4 + LANE.MAX_CALL_BYTES` bytes; returns the offset after
 * it, or -1 when it does not fit (its arguments are not the ones
 * `laneRequestSize` measured).
 */
export function writeCall(bytes, view, at, id, fn, args) {
  const end = at + 4 + LANE.MAX_CALL_BYTES;
  if (args.length > 255) return -1;
  view.setUint32(at, id, true);
  let next = writeShort(bytes, at + 4, end, fn);
  if (next < 0 || next >= end) return -1;
  bytes[next++] = args.length;
  for (let i = 0; i < args.length && next >= 0; i++) next = writeValue(bytes, view, next, end, args[i]);
  return next;
}

/** Reads one call at `at`: `[id, fn, args, offset after it]`; throws on a corrupt buffer. */
export function readCall(bytes, view, at) {
  const id = view.getUint32(at, true);
  const n = bytes[at + 4];
  const fn = readUtf8(bytes, at + 5, at + 5 + n);
  let next = at + 5 + n;
  const argc = bytes[next++];
  const args = new Array(argc);
  for (let i = 0; i < argc; i++) [args[i], next] = readValue(bytes, view, next);
  return [id, fn, args, next];
}

/**
 * Writes the response of one call at `at` (its kind byte, then the value or
 * the error) if it fits before `end`; returns the bytes written, or -1 when
 * the result must be posted instead.
 * @param {import('./protocol.js').WireResult} result
 */
export function writeResponse(bytes, view, at, end, result) {
  if (result.ok) {
    const next = writeValue(bytes, view, at + 1, end, result.value);
    if (next < 0) return -1;
    bytes[at] = LANE.OK;
    return next - at;
  }
  if (result.error.data !== undefined) return -1;
  let next = writeShort(bytes, at + 1, end, String(result.error.code));
  const message = String(result.error.message);
  if (next < 0 || next + 2 + message.length > end) return -1;
  const written = writeUtf8(bytes, next + 2, end, message);
  if (written < 0 || written > 0xffff) return -1;
  view.setUint16(next, written, true);
  next += 2 + written;
  bytes[at] = LANE.ERROR;
  return next - at;
}
