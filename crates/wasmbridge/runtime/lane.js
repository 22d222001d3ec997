// The fast call lane, page half: small calls to a dedicated worker through a
// SharedArrayBuffer instead of postMessage. `Lane` is created and owned by
// pool.js, which gives it its worker, started and supervised by
// supervisor.js as the pool's own are (death watch, init timeout, stop,
// stuck-call watchdog, start-failure cap); the worker half is lane-worker.js
// and the buffer's layout and codec are lane-codec.js.
//
// One exchange is in flight at a time. Calls issued together queue on the
// page and go in order, as many per exchange as fit in the 4 KiB request area
// (about 150 calls of `add(a, b)`), each encoded straight into the shared
// buffer; the worker runs them in order and writes each response as it
// completes into the 4 KiB response area.
//
// The page never blocks. After sending it wakes the worker only when the
// worker published SLEEPING; if the worker was awake (spinning), the page
// spins for the answer a fixed number of times (by count: a clock read costs
// more than a look at the state word), then waits with Atomics.waitAsync (or
// polls through a MessageChannel where that is missing). A worker it had to
// wake needs a futex wake-up of tens of microseconds: the page spins through
// it as long as such spins keep catching the answer (their count doubles on
// a catch and halves on a miss, so when no core is free, and spinning would
// only take the core from the worker, they fade to nothing). Going straight
// to waitAsync after every wake-up made the page answer so late that the
// worker's spin missed the next call too, and every call paid a wake-up.

import { FROM_WORKER, CODES, CONTROL } from './protocol.js';
import { WasmBridgeError } from './error.js';
import { LANE, laneRequestSize, readUtf8, readValue, writeCall } from './lane-codec.js';
import { StartFailures, Watchdog, lostCallError } from './supervisor.js';

export { laneRequestSize };

/** What `Lane.availability()` reports. */
export const AVAILABILITY = Object.freeze({ BUSY: 0, AWAKE: 1, ASLEEP: 2 });

/** Looks at the state word this many times for an answer from an awake worker before waiting asynchronously. */
const SPINS = 256;
/** The most looks at the state word for the answer of a worker the page had to wake (about 100 µs). */
const MAX_WAKE_SPINS = 4096;
/** After this many wake-ups without a spin, one is tried again with SPINS looks. */
const WAKE_PROBE_EVERY = 16;
/** The page hands the event loop back after this much back-to-back lane work. */
const BUDGET_MS = 4;
/** Exchanges between two looks at the clock for BUDGET_MS. */
const EXCHANGES_PER_CLOCK = 16;
/** Consecutive failed starts (of a guest, not lost workers) after which the lane gives up and calls take the normal path. */
const MAX_START_FAILURES = 3;
/** The outcome of a call whose result the worker posts instead of writing it into the lane. */
const POSTED = Object.freeze({ posted: true });
/**
 * Pumps are queued as reactions of this settled promise rather than with
 * queueMicrotask: the same microtask queue, but a reaction stays inside V8,
 * while queueMicrotask goes through the browser's bindings (several times
 * the cost of a reaction, timed in the bench's headless Chromium 156).
 */
const SETTLED = Promise.resolve();

// Atomics.pause (Chromium 133 and later) tells the CPU this is a spin loop.
const relax = typeof Atomics.pause === 'function' ? () => Atomics.pause() : () => {};

/**
 * How many looks at the state word the next wake-up gets, after one that
 * looked `spins` times and caught the answer (`answered`) or not: twice as
 * many after a catch (at least SPINS, at most MAX_WAKE_SPINS), half as many
 * after a miss. Below SPINS the page stops spinning after wake-ups, but for
 * a probe of SPINS every WAKE_PROBE_EVERY of them (#spinsAfterWake).
 * @param {number} spins @param {boolean} answered
 */
export function wakeSpinsAfter(spins, answered) {
  return answered ? Math.min(MAX_WAKE_SPINS, Math.max(SPINS, spins * 2)) : spins >> 1;
}

/**
 * The page side of one pool's lane. pool.js creates it lazily, gives it calls
 * it already validated (with `call.laneSize` from `laneRequestSize`), and
 * receives every outcome through `settle`, its only way to settle a call.
 */
export class Lane {
  #spawn;
  #settle;
  #fallback;
  #opts;
  /** @type {import('./supervisor.js').Supervised | null} */ #worker = null;
  /** @type {Int32Array | null} */ #header = null;
  /** @type {Uint8Array | null} */ #shared = null;
  /** @type {DataView | null} */ #sharedView = null;
  /** @type {Int32Array | null} */ #control = null;
  #state = 'idle'; // idle → starting → ready → (dead | failed)
  #generation = 0;
  #startFailures = new StartFailures(MAX_START_FAILURES);
  /** Watches the exchange in flight while it holds abandoned calls (supervisor.js). */
  #watchdog;
  /** @type {any[]} */ #queue = [];
  #head = 0;
  /** @type {any[]} the calls of the exchange in flight, in order */ #inflight = [];
  /** @type {Map<number, any>} calls whose result the worker posts */ #posted = new Map();
  /** @type {Map<number, any>} posted results that arrived before their response was read */ #early = new Map();
  #scheduled = false;
  #yield = null;
  /** True when the exchange in flight had to wake the worker. */
  #woke = false;
  /** Looks at the state word for the answer after a wake-up: adapts to whether they catch it. */
  #wakeSpins = MAX_WAKE_SPINS / 2;
  #wakesWithoutSpin = 0;
  #counts = { calls: 0, exchanges: 0, waits: 0, posted: 0, restarts: 0 };

  /**
   * @param {{ spawn: (lane: SharedArrayBuffer, control: SharedArrayBuffer, lock: string, hooks: import('./supervisor.js').Hooks) => import('./supervisor.js').Supervised,
   *   settle: (call: any, ok: boolean, value: any) => void, fallback: (call: any) => void,
   *   lockPrefix: string, cancelGrace: number }} options
   */
  constructor({ spawn, settle, fallback, ...opts }) {
    this.#spawn = spawn;
    this.#settle = settle;
    this.#fallback = fallback;
    this.#opts = opts;
    this.#watchdog = new Watchdog(opts.cancelGrace, {
      // An abandoned call of the exchange in flight is not answered yet.
      abandoned: () => {
        const exchange = this.#inflight;
        if (this.#state !== 'ready' || exchange.length === 0) return false;
        const header = /** @type {Int32Array} */ (this.#header);
        if (Atomics.load(header, LANE.STATE) === LANE.RESPONSE) return false;
        for (let k = Atomics.load(header, LANE.DONE); k < exchange.length; k++) if (exchange[k].settled) return true;
        return false;
      },
      running: () => {
        const running = Atomics.load(/** @type {Int32Array} */ (this.#control), CONTROL.RUNNING);
        return this.#inflight.find((c) => c.id === running);
      },
      control: () => this.#control,
      stuck: () => this.#restart(null),
    });
  }

  /** False once the lane gave up starting its worker, or was closed; calls then take the normal path. */
  get usable() { return this.#state !== 'failed' && this.#state !== 'dead'; }

  /**
   * `calls` sent, in `exchanges`; `waits`: exchanges not answered within the
   * page's spin; `workerSleeps`: times the worker slept; `wakes`: exchanges
   * that had to wake it; `workerSleeping`: it sleeps now (or is about to).
   */
  stats() {
    const word = (w) => (this.#header ? Atomics.load(this.#header, w) : 0);
    return {
      state: this.#state, queued: this.#queue.length - this.#head, inFlight: this.#inflight.length, ...this.#counts,
      workerSleeps: word(LANE.SLEEPS), wakes: word(LANE.WAKES), workerSleeping: word(LANE.SLEEPING) === 1,
    };
  }

  /**
   * What a call given now would meet, for pool.js's automatic routing, in
   * two loads of shared words: AWAKE when the lane is ready with nothing
   * queued or in flight and its worker spins (it answers at once), ASLEEP
   * when it is ready and idle but its worker sleeps (a call would pay a
   * futex wake-up), BUSY otherwise (starting, an exchange in flight, gone).
   */
  availability() {
    if (this.#state !== 'ready' || this.#inflight.length > 0 || this.#head < this.#queue.length) return AVAILABILITY.BUSY;
    const header = /** @type {Int32Array} */ (this.#header);
    return Atomics.load(header, LANE.SLEEPING) === 1 ? AVAILABILITY.ASLEEP : AVAILABILITY.AWAKE;
  }

  /** Starts the worker before the first call, so automatic routing finds it ready. */
  warm() {
    if (this.#state === 'idle') this.#start();
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
   * replaced: supervisor.js's Watchdog, as for the pool's workers.
   */
  abandon(call) {
    if (!this.#inflight.includes(call) || this.#state !== 'ready') return;
    this.#watchdog.watch();
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
    this.#header = new Int32Array(buffer, 0, LANE.HEADER_WORDS);
    this.#shared = new Uint8Array(buffer);
    this.#sharedView = new DataView(buffer);
    this.#control = new Int32Array(control);
    // Every hook but `message` concerns only the current worker; a retired
    // one still delivers the results it posted (LANE_RESULT).
    const current = () => generation === this.#generation;
    this.#worker = this.#spawn(buffer, control, `${this.#opts.lockPrefix}/${generation}`, {
      message: (msg) => this.#onMessage(msg),
      ready: () => { if (current()) this.#onReady(); },
      startFailed: (error) => { if (current()) this.#startFailed(error); },
      lost: (why) => { if (current()) this.#restart(why); },
    });
  }

  #onReady() {
    this.#state = 'ready';
    this.#startFailures.succeeded();
    this.#schedule();
  }

  /** A result the worker posts instead of writing it into the lane, matched by its call id, whichever worker sent it. */
  #onMessage(msg) {
    if (msg.kind !== FROM_WORKER.LANE_RESULT) return;
    const r = msg.result;
    const call = this.#posted.get(r.id);
    if (call) {
      this.#posted.delete(r.id);
      this.#deliver(call, r);
    } else {
      this.#early.set(r.id, r);
    }
  }

  /** The worker did not start (`error` says why): another is tried, unless the guest failed MAX_START_FAILURES times in a row. */
  #startFailed(error) {
    this.#stop();
    if (!this.#startFailures.failed(error) && this.#state !== 'dead') {
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
    if (done > 0) this.#settleAll(exchange, this.#decode(exchange, done), false);
    // The worker may have retired and closed before the page read its last
    // response: then nothing was lost, and the calls after `done` never started.
    if (exchange.length > 0 && Atomics.load(header, LANE.RETIRED) === 1) {
      this.#retired(exchange, done);
      return;
    }
    const posted = [...this.#posted.values()];
    this.#stop();
    this.#counts.restarts += 1;
    const error = (c) => lostCallError('the lane worker', lost ?? 'it was stopped, stuck in an abandoned call', c);
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
    this.#worker?.release();
    this.#worker = null;
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
    this.#watchdog.stop();
    this.#worker?.stop();
    this.#worker = null;
    // Wake a pending waitAsync on the old buffer so it does not linger.
    if (this.#header) Atomics.notify(this.#header, LANE.STATE);
    this.#inflight = [];
    this.#early.clear();
  }

  /** Pumps soon, unless an exchange is in flight: whoever waits for it pumps then. */
  #schedule() {
    if (this.#scheduled || this.#state !== 'ready' || this.#inflight.length > 0) return;
    this.#scheduled = true;
    SETTLED.then(() => this.#pump());
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

  /**
   * Runs exchanges back to back while calls are queued: collects the answer
   * of the exchange in flight, sends the next one, and only then settles the
   * calls just answered, so the worker runs the next exchange while the page
   * settles the last one.
   */
  #pump() {
    this.#scheduled = false;
    if (this.#state !== 'ready') return;
    const header = /** @type {Int32Array} */ (this.#header);
    let started = 0;
    for (let exchanges = 1; ; exchanges++) {
      let exchange = null;
      let outcomes = null;
      if (this.#inflight.length > 0) {
        const spins = this.#woke ? this.#spinsAfterWake() : SPINS;
        for (let i = 0; i < spins && Atomics.load(header, LANE.STATE) !== LANE.RESPONSE; i++) relax();
        const answered = Atomics.load(header, LANE.STATE) === LANE.RESPONSE;
        if (this.#woke && spins > 0) this.#wakeSpins = wakeSpinsAfter(spins, answered);
        if (!answered) {
          this.#wait();
          return;
        }
        exchange = this.#inflight;
        if (Atomics.load(header, LANE.RETIRED) === 1) {
          // The worker trapped and stopped (lane-worker.js): nothing more goes to it.
          const done = Math.min(Atomics.load(header, LANE.DONE), exchange.length);
          this.#settleAll(exchange, this.#decode(exchange, done), false);
          this.#retired(exchange, done);
          return;
        }
        outcomes = this.#take();
      }
      const sent = this.#send();
      if (exchange) this.#settleAll(exchange, /** @type {unknown[]} */ (outcomes), true);
      if (!sent) return;
      if (exchanges % EXCHANGES_PER_CLOCK === 0) {
        const now = performance.now();
        if (started === 0) {
          started = now;
        } else if (now - started > BUDGET_MS) {
          // The exchange just sent is collected by the next pump.
          this.#scheduleTask();
          return;
        }
      }
    }
  }

  /**
   * Sends the next exchange: as many queued calls as fit, encoded straight
   * into the shared buffer (the worker does not read it before STATE is
   * REQUEST). False when nothing is queued.
   */
  #send() {
    const calls = [];
    const shared = /** @type {Uint8Array} */ (this.#shared);
    const view = /** @type {DataView} */ (this.#sharedView);
    const end = LANE.REQUEST_OFFSET + LANE.REQUEST_BYTES;
    let at = LANE.REQUEST_OFFSET;
    while (this.#head < this.#queue.length) {
      const call = this.#queue[this.#head];
      if (call.settled) { this.#queue[this.#head++] = undefined; continue; }
      if (at + 4 + call.laneSize > end) break;
      this.#queue[this.#head++] = undefined;
      // The bytes past the request area a call may overrun here belong to the page until STATE is REQUEST.
      const next = writeCall(shared, view, at, call.id, call.fn, call.args);
      if (next !== at + 4 + call.laneSize) {
        // Not the size measured at the call. pool.js copies the arguments when
        // the call is made, so this does not happen today; were it to, the call
        // takes the normal path rather than spill into the next call's bytes.
        call.lane = null;
        this.#fallback(call);
        continue;
      }
      at = next;
      calls.push(call);
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
    Atomics.store(header, LANE.COUNT, calls.length);
    Atomics.store(header, LANE.REQ_LEN, at - LANE.REQUEST_OFFSET);
    Atomics.store(header, LANE.DONE, 0);
    Atomics.store(header, LANE.RES_LEN, 0);
    Atomics.store(header, LANE.STATE, LANE.REQUEST);
    // The worker stores SLEEPING before it last reads STATE: if it is 0 here,
    // the worker will see REQUEST without being woken (lane-codec.js).
    this.#woke = Atomics.load(header, LANE.SLEEPING) === 1;
    if (this.#woke) {
      Atomics.add(header, LANE.WAKES, 1);
      Atomics.notify(header, LANE.STATE);
    }
    return true;
  }

  /** How long to spin for the answer of a worker just woken: #wakeSpins, or a probe of SPINS now and then once it faded out. */
  #spinsAfterWake() {
    if (this.#wakeSpins >= SPINS) return this.#wakeSpins;
    this.#wakesWithoutSpin += 1;
    return this.#wakesWithoutSpin % WAKE_PROBE_EVERY === 0 ? SPINS : 0;
  }

  /** Waits for the response without blocking: Atomics.waitAsync, else a MessageChannel poll. */
  #wait() {
    const generation = this.#generation;
    const header = /** @type {Int32Array} */ (this.#header);
    this.#counts.waits += 1;
    const wake = () => {
      if (generation !== this.#generation || this.#inflight.length === 0) return;
      if (Atomics.load(header, LANE.STATE) !== LANE.RESPONSE) { this.#wait(); return; }
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

  /**
   * Takes the answers of the exchange in flight out of the shared buffer and
   * frees the lane for the next exchange; `#settleAll` settles the calls.
   */
  #take() {
    const header = /** @type {Int32Array} */ (this.#header);
    const exchange = this.#inflight;
    this.#inflight = [];
    this.#watchdog.stop();
    const outcomes = this.#decode(exchange, Math.min(Atomics.load(header, LANE.DONE), exchange.length));
    Atomics.store(header, LANE.STATE, LANE.IDLE);
    return outcomes;
  }

  /**
   * The outcomes of the first `done` calls of `exchange`, read from their
   * responses: the value (lane values are never objects), a WasmBridgeError,
   * or POSTED for a result the worker posts. `done` was read atomically after
   * the worker stored it, so the responses it counts are there to read.
   */
  #decode(exchange, done) {
    const bytes = /** @type {Uint8Array} */ (this.#shared);
    const view = /** @type {DataView} */ (this.#sharedView);
    const outcomes = new Array(done);
    let at = LANE.RESPONSE_OFFSET;
    for (let k = 0; k < done; k++) {
      const call = exchange[k];
      const kind = bytes[at++];
      if (kind === LANE.OK) {
        const [value, next] = readValue(bytes, view, at);
        at = next;
        outcomes[k] = value;
      } else if (kind === LANE.ERROR) {
        const n = bytes[at];
        const code = readUtf8(bytes, at + 1, at + 1 + n);
        const m = view.getUint16(at + 1 + n, true);
        const message = readUtf8(bytes, at + 3 + n, at + 3 + n + m);
        at += 3 + n + m;
        outcomes[k] = new WasmBridgeError(code, message, { functionName: call.fn, callId: call.id });
      } else {
        outcomes[k] = POSTED;
      }
    }
    return outcomes;
  }

  /**
   * Settles the calls of `exchange` with their `outcomes`; with `unanswered`,
   * the calls after them too: the worker could not read them.
   */
  #settleAll(exchange, outcomes, unanswered) {
    for (let k = 0; k < outcomes.length; k++) {
      const call = exchange[k];
      const outcome = outcomes[k];
      if (outcome === POSTED) {
        this.#counts.posted += 1;
        const early = this.#early.get(call.id);
        if (early) {
          this.#early.delete(call.id);
          this.#deliver(call, early);
        } else {
          this.#posted.set(call.id, call);
        }
      } else if (outcome instanceof WasmBridgeError) {
        this.#settle(call, false, outcome);
      } else {
        this.#settle(call, true, outcome);
      }
    }
    if (!unanswered) return;
    for (let k = outcomes.length; k < exchange.length; k++) {
      const call = exchange[k];
      this.#settle(call, false, new WasmBridgeError(CODES.BAD_RESULT, `the lane worker could not read the call of ${call.fn}`, { functionName: call.fn, callId: call.id }));
    }
  }

  #deliver(call, r) {
    if (r.ok) this.#settle(call, true, r.value);
    else this.#settle(call, false, new WasmBridgeError(r.error.code, r.error.message, { functionName: call.fn, data: r.error.data, callId: call.id }));
  }
}
