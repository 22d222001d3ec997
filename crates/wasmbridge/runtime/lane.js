// The fast call lane: small calls to a dedicated worker through a
// SharedArrayBuffer instead of postMessage. Page half (`Lane`, created and
// owned by pool.js, which gives it its worker) and worker half (`serveLane`,
// run by worker.js when its init message carries a lane buffer).
//
// Why a dedicated worker: the worker half sleeps in Atomics.wait between
// requests, which blocks its event loop, so it could not also take the pool's
// postMessage calls. It runs its own instance of the guest; state a guest
// keeps (thread_locals) is not shared with the pool's workers, so the lane is
// for stateless functions.
//
// What fits (anything else takes the normal postMessage path, decided by
// `encodeLaneRequest` before the call is queued): the function name and the
// arguments of one call, encoded, take at most MAX_CALL_BYTES = 252 bytes:
// 1 + the name's UTF-8 length, 1 for the argument count, and per argument
// 9 bytes for a number, 1 for a boolean, null or undefined, 3 + the UTF-8
// length for a string. Any result comes back: numbers, booleans, null,
// undefined and strings inline when they encode into MAX_RESULT_BYTES = 255
// bytes (errors too: code and message, when they carry no data); everything
// else (typed arrays, objects, BigInts, long strings, errors with data) by a
// postMessage from the lane worker, slower but still correct.
//
// One exchange is in flight at a time. Calls issued together queue on the
// page and go in order, as many per exchange as fit in the 4 KiB request area
// (about 150 calls of `add(a, b)`); the worker runs them in order and writes
// each response as it completes into the 4 KiB response area.
//
// Layout of the lane buffer (Int32 words, then two byte areas):
//
//   word 0 STATE     0 IDLE: the page may write a request; 1 REQUEST: the worker owns the
//                    buffer; 2 RESPONSE: the page owns the responses. The page stores 1 and
//                    notifies, the worker stores 2 and notifies, the page stores 0.
//   word 1 COUNT     calls in the request
//   word 2 REQ_LEN   bytes of the request
//   word 3 DONE      responses written so far (stored after each one, after RES_LEN)
//   word 4 RES_LEN   bytes of those responses
//   word 5 SLEEPS    times the worker went to sleep in Atomics.wait (a statistic)
//   word 6 RETIRED   1 when the worker stopped after the call DONE - 1 trapped: its instance
//                    is unusable, the calls from DONE on were not started (stored before STATE)
//   bytes 64..4160   request:   per call: u32 id, u8 name length, name, u8 argc, argc × value
//   bytes 4160..8256 responses: per call: u8 kind, then for OK one value, for ERROR u8 code
//                    length, code, u16 message length, message; POSTED has nothing more
//   value            u8 tag: 0 undefined, 1 null, 2 false, 3 true, 4 number (+ f64),
//                    5 string (+ u16 length + UTF-8); all little-endian
//
// The page never blocks: after sending it spins up to SPIN_MS checking STATE,
// then waits with Atomics.waitAsync (or polls through a MessageChannel where
// that is missing). The worker spins up to WORKER_SPIN_MS for the next request
// before it sleeps in Atomics.wait.

import { PROTOCOL, FROM_WORKER, CODES, CONTROL } from './protocol.js';
import { WasmBridgeError, messageOf } from './error.js';

export const LANE = Object.freeze({
  STATE: 0, COUNT: 1, REQ_LEN: 2, DONE: 3, RES_LEN: 4, SLEEPS: 5, RETIRED: 6,
  IDLE: 0, REQUEST: 1, RESPONSE: 2,
  OK: 0, ERROR: 1, POSTED: 2,
  REQUEST_OFFSET: 64, REQUEST_BYTES: 4096, RESPONSE_OFFSET: 4160, RESPONSE_BYTES: 4096,
  BYTE_LENGTH: 8256,
  /** Largest encoded call (name and arguments), after its u32 id: 256 bytes per call in all. */
  MAX_CALL_BYTES: 252,
  /** Largest inline response of one call (its kind byte excluded). */
  MAX_RESULT_BYTES: 255,
});

const HEADER_WORDS = 16;
const TAG = Object.freeze({ UNDEFINED: 0, NULL: 1, FALSE: 2, TRUE: 3, NUMBER: 4, STRING: 5 });
/** How long the page spins for a response before waiting asynchronously. */
const SPIN_MS = 0.02;
/**
 * How long the lane worker spins for the next request before sleeping in
 * Atomics.wait. Spinning only pays with a core to spare: on a 2-core machine
 * a spinning lane worker takes the CPU the page needs to send the next call
 * (measured: p90 round trip 330 µs with a 250 µs spin, 80 µs with 20 µs).
 */
const WORKER_SPIN_MS = (globalThis.navigator?.hardwareConcurrency ?? 2) >= 4 ? 0.25 : 0.02;
/** The page hands the event loop back after this much back-to-back lane work. */
const BUDGET_MS = 4;
/** Consecutive failed starts after which the lane gives up and calls take the normal path. */
const MAX_START_FAILURES = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Where `encodeLaneRequest` encodes before it copies out exactly the bytes used. */
const scratch = new Uint8Array(256);
const scratchView = new DataView(scratch.buffer);

/** UTF-8 to string; short ASCII without TextDecoder (the common case: names, numbers as text). */
function utf8(bytes, start, end) {
  if (end - start <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = bytes[i];
      if (b >= 0x80) return decoder.decode(bytes.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** Writes one tagged value at `at`; returns the new offset, or -1 when it does not fit before `end`. */
function writeValue(bytes, view, at, end, v) {
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
      if (at + 3 + v.length > end) return -1; // UTF-8 is never shorter than the UTF-16 length
      bytes[at] = TAG.STRING;
      const written = writeUtf8(bytes, at + 3, end, v);
      if (written < 0) return -1;
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

function readValue(bytes, view, at) {
  switch (bytes[at]) {
    case TAG.UNDEFINED: return [undefined, at + 1];
    case TAG.NULL: return [null, at + 1];
    case TAG.FALSE: return [false, at + 1];
    case TAG.TRUE: return [true, at + 1];
    case TAG.NUMBER: return [view.getFloat64(at + 1, true), at + 9];
    case TAG.STRING: {
      const n = view.getUint16(at + 1, true);
      return [utf8(bytes, at + 3, at + 3 + n), at + 3 + n];
    }
    default: throw new TypeError(`corrupt lane buffer: value tag ${bytes[at]}`);
  }
}

/** Writes `s` as UTF-8 at `at`; returns the bytes written, or -1 when they do not fit before `end`. */
function writeUtf8(bytes, at, end, s) {
  const n = s.length;
  if (n <= 64) {
    // Short ASCII without TextEncoder (whose call costs more than the copy).
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at + i] = c;
    }
    if (i === n) return n;
  }
  const { read, written } = encoder.encodeInto(s, bytes.subarray(at, end));
  return read === n ? written : -1;
}

/** Writes a short string with a u8 length; -1 when it does not fit. */
function writeShort(bytes, at, end, s) {
  if (at + 1 + s.length > end || s.length > 255) return -1;
  const written = writeUtf8(bytes, at + 1, Math.min(end, at + 256), s);
  if (written < 0) return -1;
  bytes[at] = written;
  return at + 1 + written;
}

/**
 * The encoded name and arguments of `fn(...args)` as a fresh Uint8Array, or
 * null when they do not fit the lane (see the top of this file).
 * @param {unknown} fn
 * @param {unknown} args
 * @returns {Uint8Array | null}
 */
export function encodeLaneRequest(fn, args) {
  if (typeof fn !== 'string' || !Array.isArray(args) || args.length > 255) return null;
  const bytes = scratch;
  const view = scratchView;
  let at = writeShort(bytes, 0, LANE.MAX_CALL_BYTES, fn);
  if (at < 0 || at >= LANE.MAX_CALL_BYTES) return null;
  bytes[at++] = args.length;
  for (const a of args) {
    at = writeValue(bytes, view, at, LANE.MAX_CALL_BYTES, a);
    if (at < 0) return null;
  }
  return bytes.slice(0, at);
}

// ---- worker half ----

/**
 * Serves the lane until the worker is terminated: waits for a request, runs
 * its calls in order with `run` (worker.js's call runner: errors, panics,
 * memory limit and re-instantiation included) and answers each.
 * @param {SharedArrayBuffer} buffer
 * @param {(call: {id: number, fn: string, args: unknown[]}) => Promise<any>} run
 * @param {(kind: string, body: object, transfer?: Transferable[]) => void} post
 * @param {(value: unknown) => Transferable[]} transfersFor
 * @param {() => boolean} isRetired true once a call trapped: then the lane
 *   answers that call, marks RETIRED and returns, and the worker closes
 */
export async function serveLane(buffer, run, post, transfersFor, isRetired) {
  const header = new Int32Array(buffer, 0, HEADER_WORDS);
  const shared = new Uint8Array(buffer);
  // Requests and responses are read and built in private memory and copied
  // with one `set`: TextDecoder refuses views of a SharedArrayBuffer.
  const request = new Uint8Array(LANE.REQUEST_BYTES);
  const requestView = new DataView(request.buffer);
  const response = new Uint8Array(1 + LANE.MAX_RESULT_BYTES);
  const responseView = new DataView(response.buffer);
  for (;;) {
    if (Atomics.load(header, LANE.STATE) !== LANE.REQUEST) {
      const until = performance.now() + WORKER_SPIN_MS;
      while (Atomics.load(header, LANE.STATE) !== LANE.REQUEST && performance.now() < until) { /* spin */ }
      let s;
      while ((s = Atomics.load(header, LANE.STATE)) !== LANE.REQUEST) {
        Atomics.add(header, LANE.SLEEPS, 1);
        Atomics.wait(header, LANE.STATE, s);
      }
    }
    const count = Atomics.load(header, LANE.COUNT);
    const length = Atomics.load(header, LANE.REQ_LEN);
    request.set(shared.subarray(LANE.REQUEST_OFFSET, LANE.REQUEST_OFFSET + length));
    let at = 0;
    let used = 0;
    let corrupt = false;
    for (let k = 0; k < count && !corrupt; k++) {
      let result;
      let id = 0;
      try {
        id = requestView.getUint32(at, true);
        const n = request[at + 4];
        const fn = utf8(request, at + 5, at + 5 + n);
        at += 5 + n;
        const argc = request[at++];
        const args = new Array(argc);
        for (let i = 0; i < argc; i++) [args[i], at] = readValue(request, requestView, at);
        result = await run({ id, fn, args });
      } catch (err) {
        result = { id, ok: false, error: { code: CODES.BAD_ARGUMENT, message: `the lane could not read the request: ${messageOf(err)}` } };
        corrupt = true; // the rest of the request cannot be read either: the page fails those calls
      }
      // Leave one byte for each call still to answer: the least a response takes.
      const end = Math.min(1 + LANE.MAX_RESULT_BYTES, LANE.RESPONSE_BYTES - used - Math.max(0, count - k - 1));
      let written = -1;
      if (result.ok) {
        written = writeValue(response, responseView, 1, end, result.value);
        if (written >= 0) response[0] = LANE.OK;
      } else if (result.error.data === undefined) {
        written = writeShort(response, 1, end, String(result.error.code));
        const message = String(result.error.message);
        if (written >= 0 && written + 2 + message.length <= end) {
          const { read, written: w } = encoder.encodeInto(message, response.subarray(written + 2, end));
          if (read === message.length) {
            responseView.setUint16(written, w, true);
            written += 2 + w;
            response[0] = LANE.ERROR;
          } else {
            written = -1;
          }
        } else {
          written = -1;
        }
      }
      if (written < 0) {
        // Posted; the page matches it by id, whichever of message and response arrives first.
        try {
          post(FROM_WORKER.LANE_RESULT, { result }, result.ok ? transfersFor(result.value) : []);
        } catch (e) {
          const message = `the result cannot be sent to the page: ${messageOf(e)}`;
          post(FROM_WORKER.LANE_RESULT, { result: { id: result.id, ok: false, error: { code: CODES.BAD_RESULT, message } } });
        }
        response[0] = LANE.POSTED;
        written = 1;
      }
      shared.set(response.subarray(0, written), LANE.RESPONSE_OFFSET + used);
      used += written;
      Atomics.store(header, LANE.RES_LEN, used);
      Atomics.store(header, LANE.DONE, k + 1);
      if (isRetired()) {
        Atomics.store(header, LANE.RETIRED, 1);
        Atomics.store(header, LANE.STATE, LANE.RESPONSE);
        Atomics.notify(header, LANE.STATE);
        return;
      }
    }
    Atomics.store(header, LANE.STATE, LANE.RESPONSE);
    Atomics.notify(header, LANE.STATE);
  }
}

// ---- page half ----

/**
 * The page side of one pool's lane. pool.js creates it lazily, gives it calls
 * it already validated (with `call.laneRequest` from `encodeLaneRequest`), and
 * receives every outcome through `settle`, its only way to settle a call.
 */
export class Lane {
  #spawn;
  #settle;
  #fallback;
  #opts;
  /** @type {Worker | null} */ #worker = null;
  /** @type {Int32Array | null} */ #header = null;
  /** @type {Uint8Array | null} */ #shared = null;
  /** @type {Int32Array | null} */ #control = null;
  #lockWatch = null;
  #state = 'idle'; // idle → starting → ready → (dead | failed)
  #generation = 0;
  #startFailures = 0;
  #initTimer = 0;
  #graceTimer = 0;
  /** @type {any[]} */ #queue = [];
  #head = 0;
  /** @type {any[]} the calls of the exchange in flight, in order */ #inflight = [];
  /** @type {Map<number, any>} calls whose result the worker posts */ #posted = new Map();
  /** @type {Map<number, any>} posted results that arrived before their response was read */ #early = new Map();
  #scheduled = false;
  #yield = null;
  #request = new Uint8Array(LANE.REQUEST_BYTES);
  #requestView = new DataView(this.#request.buffer);
  #response = new Uint8Array(LANE.RESPONSE_BYTES);
  #responseView = new DataView(this.#response.buffer);
  #counts = { calls: 0, exchanges: 0, waits: 0, posted: 0, restarts: 0 };

  /**
   * @param {{ spawn: (lane: SharedArrayBuffer, control: SharedArrayBuffer, lock: string | null) => Worker,
   *   settle: (call: any, ok: boolean, value: any) => void, fallback: (call: any) => void,
   *   lockPrefix: string, cancelGrace: number, initTimeout: number }} options
   */
  constructor({ spawn, settle, fallback, ...opts }) {
    this.#spawn = spawn;
    this.#settle = settle;
    this.#fallback = fallback;
    this.#opts = opts;
  }

  /** False once the lane gave up starting its worker, or was closed; calls then take the normal path. */
  get usable() { return this.#state !== 'failed' && this.#state !== 'dead'; }

  /** `calls` sent, in `exchanges`; `waits`: exchanges not answered within the page's spin; `workerSleeps`. */
  stats() {
    const sleeps = this.#header ? Atomics.load(this.#header, LANE.SLEEPS) : 0;
    return { state: this.#state, queued: this.#queue.length - this.#head, inFlight: this.#inflight.length, ...this.#counts, workerSleeps: sleeps };
  }

  /** Queues a call; it runs after the calls queued before it. */
  submit(call) {
    if (!this.usable) { this.#fallback(call); return; }
    call.lane = this;
    this.#queue.push(call);
    if (this.#state === 'idle') this.#start();
    else this.#schedule();
  }

  /**
   * A call of this lane was settled by the pool (timeout, abort). If it runs
   * now, `cancelled()` turns true for it at once; then, every `cancelGrace`
   * ms while its exchange is unanswered, an abandoned call found running is
   * asked to stop and, found running again one tick later, gets the worker
   * replaced (as the pool does with its workers).
   */
  abandon(call) {
    if (!this.#inflight.includes(call) || this.#state !== 'ready') return;
    const control = /** @type {Int32Array} */ (this.#control);
    if (Atomics.load(control, CONTROL.RUNNING) === call.id) Atomics.store(control, CONTROL.CANCEL, call.id);
    if (this.#graceTimer) return;
    const exchange = this.#inflight;
    const header = /** @type {Int32Array} */ (this.#header);
    let suspect = 0;
    const tick = () => {
      this.#graceTimer = 0;
      if (this.#inflight !== exchange || Atomics.load(header, LANE.STATE) === LANE.RESPONSE) return;
      const running = Atomics.load(control, CONTROL.RUNNING);
      const current = exchange.find((c) => c.id === running);
      if (current?.settled) {
        if (suspect === running) { this.#restart(null); return; }
        suspect = running;
        Atomics.store(control, CONTROL.CANCEL, running);
      } else {
        suspect = 0;
        // Nothing abandoned is left to run: stop watching.
        const done = Atomics.load(header, LANE.DONE);
        if (!exchange.slice(done).some((c) => c.settled)) return;
      }
      this.#graceTimer = setTimeout(tick, this.#opts.cancelGrace);
    };
    this.#graceTimer = setTimeout(tick, this.#opts.cancelGrace);
  }

  /** Stops the worker; the pool settles the calls (it has them all in its pending set). */
  close() {
    this.#stop();
    this.#state = 'dead';
    this.#queue = [];
    this.#head = 0;
    this.#posted.clear();
  }

  #start() {
    this.#state = 'starting';
    const generation = ++this.#generation;
    const buffer = new SharedArrayBuffer(LANE.BYTE_LENGTH);
    const control = new SharedArrayBuffer(CONTROL.SLOTS * 4);
    const lock = globalThis.navigator?.locks ? `${this.#opts.lockPrefix}/${generation}` : null;
    this.#header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.#shared = new Uint8Array(buffer);
    this.#control = new Int32Array(control);
    let worker;
    try {
      worker = this.#spawn(buffer, control, lock);
    } catch {
      this.#startFailed();
      return;
    }
    this.#worker = worker;
    worker.onmessage = (e) => this.#onMessage(generation, e.data, lock);
    worker.onerror = (e) => {
      e.preventDefault?.();
      if (generation !== this.#generation) return;
      if (this.#state === 'starting') this.#startFailed();
      else this.#restart(`the lane worker died: ${e.message || 'script error'}`);
    };
    this.#initTimer = setTimeout(() => {
      if (generation === this.#generation && this.#state === 'starting') {
        this.#startFailed();
      }
    }, this.#opts.initTimeout);
  }

  #onMessage(generation, msg, lock) {
    if (!msg || msg.wb !== PROTOCOL) return;
    // A posted result is matched by its call id, whichever worker sent it: a
    // retired worker still delivers what it posted before it closed.
    if (msg.kind !== FROM_WORKER.LANE_RESULT && generation !== this.#generation) return;
    switch (msg.kind) {
      case FROM_WORKER.READY:
        clearTimeout(this.#initTimer);
        this.#state = 'ready';
        this.#startFailures = 0;
        if (lock) {
          // The worker holds `lock` while it lives; being granted it means it is gone.
          const watch = new AbortController();
          this.#lockWatch = watch;
          navigator.locks.request(lock, { signal: watch.signal }, () => {
            if (generation === this.#generation) this.#restart('the lane worker was terminated or crashed');
          }).catch(() => {});
        }
        this.#schedule();
        break;
      case FROM_WORKER.INIT_FAILED:
        this.#startFailed();
        break;
      case FROM_WORKER.LANE_RESULT: {
        const r = msg.result;
        const call = this.#posted.get(r.id);
        if (call) {
          this.#posted.delete(r.id);
          this.#deliver(call, r);
        } else {
          this.#early.set(r.id, r);
        }
        break;
      }
      default:
        break;
    }
  }

  #startFailed() {
    clearTimeout(this.#initTimer);
    this.#stop();
    this.#startFailures += 1;
    if (this.#startFailures < MAX_START_FAILURES && this.#state !== 'dead') {
      this.#state = 'idle';
      this.#start();
      return;
    }
    // Give up: what is queued runs the normal way, and so will later calls.
    this.#state = 'failed';
    const queued = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const call of queued) {
      if (!call.settled) { call.lane = null; this.#fallback(call); }
    }
  }

  /**
   * Replaces the worker. Responses already written are delivered; the call
   * running fails with WORKER_LOST (`lost` says why) unless it was abandoned
   * (`lost` null); calls of the exchange that had not started go back to the
   * front of the queue.
   */
  #restart(lost) {
    const exchange = this.#inflight;
    const header = /** @type {Int32Array} */ (this.#header);
    const done = exchange.length > 0 ? Math.min(Atomics.load(header, LANE.DONE), exchange.length) : 0;
    if (done > 0) this.#read(exchange, done);
    // The worker may have retired and closed before the page read its last
    // response: then nothing was lost, and the calls after `done` never started.
    if (exchange.length > 0 && Atomics.load(header, LANE.RETIRED) === 1) {
      this.#retired(exchange, done);
      return;
    }
    const posted = [...this.#posted.values()];
    this.#stop();
    this.#counts.restarts += 1;
    const error = (c) => new WasmBridgeError(CODES.WORKER_LOST, `${lost ?? 'the lane worker was stopped'} while ${c.fn} was in flight`, { functionName: c.fn, callId: c.id });
    const running = exchange[done];
    if (running && !running.settled) this.#settle(running, false, error(running));
    for (const c of posted) this.#settle(c, false, error(c));
    this.#posted.clear();
    const notStarted = exchange.slice(done + 1).filter((c) => !c.settled);
    if (this.#state === 'dead') return;
    this.#queue = [...notStarted, ...this.#queue.slice(this.#head)];
    this.#head = 0;
    this.#state = 'idle';
    if (this.#queue.length > 0) this.#start();
  }

  /**
   * The worker trapped in call `done - 1` and stopped: the calls after it
   * were not started and go back to the front of the queue, for a fresh
   * worker. The old one closes itself once it has posted what it owed
   * (results too big for the lane), so it is let go rather than terminated.
   */
  #retired(exchange, done) {
    const old = this.#worker;
    this.#worker = null;
    if (old) old.onerror = null;
    this.#stop();
    this.#counts.restarts += 1;
    const notStarted = exchange.slice(done).filter((c) => !c.settled);
    this.#queue = [...notStarted, ...this.#queue.slice(this.#head)];
    this.#head = 0;
    this.#state = 'idle';
    if (this.#queue.length > 0) this.#start();
  }

  #stop() {
    this.#generation += 1;
    clearTimeout(this.#initTimer);
    clearTimeout(this.#graceTimer);
    this.#graceTimer = 0;
    this.#lockWatch?.abort();
    this.#lockWatch = null;
    if (this.#worker) {
      this.#worker.onmessage = null;
      this.#worker.onerror = null;
      this.#worker.terminate();
      this.#worker = null;
    }
    // Wake a pending waitAsync on the old buffer so it does not linger.
    if (this.#header) Atomics.notify(this.#header, LANE.STATE);
    this.#inflight = [];
    this.#early.clear();
  }

  #schedule() {
    if (this.#scheduled || this.#state !== 'ready' || this.#inflight.length > 0) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#pump());
  }

  /** Hands the event loop back, then pumps again (a MessageChannel task: no 4 ms clamp). */
  #scheduleTask() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (!this.#yield) {
      this.#yield = new MessageChannel();
      this.#yield.port1.onmessage = () => this.#pump();
    }
    this.#yield.port2.postMessage(0);
  }

  #pump() {
    this.#scheduled = false;
    if (this.#state !== 'ready' || this.#inflight.length > 0) return;
    const header = /** @type {Int32Array} */ (this.#header);
    const started = performance.now();
    while (this.#state === 'ready' && this.#send()) {
      const until = performance.now() + SPIN_MS;
      while (Atomics.load(header, LANE.STATE) !== LANE.RESPONSE && performance.now() < until) { /* spin */ }
      if (Atomics.load(header, LANE.STATE) !== LANE.RESPONSE) {
        this.#wait();
        return;
      }
      this.#receive();
      if (performance.now() - started > BUDGET_MS) {
        this.#scheduleTask();
        return;
      }
    }
  }

  /** Sends the next exchange: as many queued calls as fit. False when nothing is queued. */
  #send() {
    const calls = [];
    const request = this.#request;
    let at = 0;
    while (this.#head < this.#queue.length) {
      const call = this.#queue[this.#head];
      if (call.settled) { this.#queue[this.#head++] = undefined; continue; }
      const bytes = call.laneRequest;
      if (at + 4 + bytes.length > LANE.REQUEST_BYTES) break;
      this.#requestView.setUint32(at, call.id, true);
      request.set(bytes, at + 4);
      at += 4 + bytes.length;
      calls.push(call);
      this.#queue[this.#head++] = undefined;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (calls.length === 0) return false;
    const header = /** @type {Int32Array} */ (this.#header);
    this.#inflight = calls;
    this.#counts.calls += calls.length;
    this.#counts.exchanges += 1;
    /** @type {Uint8Array} */ (this.#shared).set(request.subarray(0, at), LANE.REQUEST_OFFSET);
    Atomics.store(header, LANE.COUNT, calls.length);
    Atomics.store(header, LANE.REQ_LEN, at);
    Atomics.store(header, LANE.DONE, 0);
    Atomics.store(header, LANE.RES_LEN, 0);
    Atomics.store(header, LANE.STATE, LANE.REQUEST);
    Atomics.notify(header, LANE.STATE);
    return true;
  }

  /** Waits for the response without blocking: Atomics.waitAsync, else a MessageChannel poll. */
  #wait() {
    const generation = this.#generation;
    const header = /** @type {Int32Array} */ (this.#header);
    this.#counts.waits += 1;
    const wake = () => {
      if (generation !== this.#generation || this.#inflight.length === 0) return;
      if (Atomics.load(header, LANE.STATE) !== LANE.RESPONSE) { this.#wait(); return; }
      this.#receive();
      this.#pump();
    };
    if (typeof Atomics.waitAsync === 'function') {
      const r = Atomics.waitAsync(header, LANE.STATE, LANE.REQUEST);
      if (r.async) r.value.then(wake);
      else queueMicrotask(wake);
    } else {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { channel.port1.close(); wake(); };
      channel.port2.postMessage(0);
    }
  }

  /** Settles every call of the exchange in flight and frees the lane. */
  #receive() {
    const header = /** @type {Int32Array} */ (this.#header);
    const exchange = this.#inflight;
    this.#inflight = [];
    clearTimeout(this.#graceTimer);
    this.#graceTimer = 0;
    const done = Math.min(Atomics.load(header, LANE.DONE), exchange.length);
    this.#read(exchange, done);
    if (Atomics.load(header, LANE.RETIRED) === 1) {
      this.#retired(exchange, done);
      return;
    }
    Atomics.store(header, LANE.STATE, LANE.IDLE);
    for (const call of exchange.slice(done)) {
      this.#settle(call, false, new WasmBridgeError(CODES.BAD_RESULT, `the lane worker could not read the call of ${call.fn}`, { functionName: call.fn, callId: call.id }));
    }
  }

  /** Settles the first `done` calls of `exchange` from their responses. */
  #read(exchange, done) {
    const header = /** @type {Int32Array} */ (this.#header);
    const length = Atomics.load(header, LANE.RES_LEN);
    const bytes = this.#response;
    const view = this.#responseView;
    bytes.set(/** @type {Uint8Array} */ (this.#shared).subarray(LANE.RESPONSE_OFFSET, LANE.RESPONSE_OFFSET + length));
    let at = 0;
    for (let k = 0; k < done; k++) {
      const call = exchange[k];
      const kind = bytes[at++];
      if (kind === LANE.OK) {
        const [value, next] = readValue(bytes, view, at);
        at = next;
        this.#settle(call, true, value);
      } else if (kind === LANE.ERROR) {
        const n = bytes[at];
        const code = utf8(bytes, at + 1, at + 1 + n);
        const m = view.getUint16(at + 1 + n, true);
        const message = utf8(bytes, at + 3 + n, at + 3 + n + m);
        at += 3 + n + m;
        this.#settle(call, false, new WasmBridgeError(code, message, { functionName: call.fn, callId: call.id }));
      } else {
        this.#counts.posted += 1;
        const early = this.#early.get(call.id);
        if (early) {
          this.#early.delete(call.id);
          this.#deliver(call, early);
        } else {
          this.#posted.set(call.id, call);
        }
      }
    }
  }

  #deliver(call, r) {
    if (r.ok) this.#settle(call, true, r.value);
    else this.#settle(call, false, new WasmBridgeError(r.error.code, r.error.message, { functionName: call.fn, data: r.error.data, callId: call.id }));
  }
}
