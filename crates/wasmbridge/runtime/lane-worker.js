// The fast lane's worker half: worker.js runs `serveLane` when its init
// message carries a lane buffer (see lane-codec.js for the layout, lane.js for
// the page half).
//
// Why a dedicated worker: between requests this loop spins and then sleeps in
// Atomics.wait, which blocks the worker's event loop, so it could not also
// take the pool's postMessage calls. It runs its own instance of the guest;
// state a guest keeps (thread_locals) is not shared with the pool's workers,
// so the lane is for stateless functions.
//
// Waiting for the next request, adaptively: after an answer the worker spins
// (with Atomics.pause where the browser has it) for a budget of time. A spin
// that catches a request doubles the budget, up to MAX_SPIN_MS, so a steady
// stream of calls never pays a futex wake-up; a spin that catches nothing
// ends in a quiet period: the worker publishes SLEEPING and sleeps in
// Atomics.wait. Woken, it looks at how long the request took to come: a gap
// shorter than MAX_SPIN_MS means the page calls in a steady stream that the
// spin just missed, and the next spin lasts twice that gap (a page that
// waits asynchronously for a worker it had to wake answers slower, so a
// budget that only shrank would keep every later call waking the worker);
// a longer gap was a pause, and so was any gap after a spin the operating
// system cut short (no core is free, and a longer spin would only delay the
// page), and the budget halves down to MIN_SPIN_MS
// (trying START_SPIN_MS again every PROBE_EVERY misses). A spin can only
// catch a request while the page runs on another core, so when no core is
// free the budget shrinks to almost nothing; a spin that finds itself
// preempted (the clock jumped) sleeps at once and hands the core back.

import { LANE, readCall, writeResponse } from './lane-codec.js';
import { CODES, errorResult, laneResultMessage, wireCall } from './protocol.js';
import { messageOf } from './error.js';

/** The spin budget to start from, and to probe with again after PROBE_EVERY missed spins. */
const START_SPIN_MS = 0.02;
/** The shortest spin: what is left after spins keep missing (no free core, or no calls). */
const MIN_SPIN_MS = 0.002;
/** The longest the worker spins for the next request while requests keep coming. */
const MAX_SPIN_MS = 0.25;
const PROBE_EVERY = 8;
/** Spin iterations between two looks at the clock (a few microseconds). */
const SPINS_PER_CLOCK = 64;
/**
 * A gap this long between two looks at the clock means the operating system
 * took the core away mid-spin: no core is free, and spinning on would only
 * use up the time slices the page needs. The worker sleeps at once.
 */
const PREEMPTED_MS = 0.1;

// Atomics.pause (Chromium 133 and later) tells the CPU this is a spin loop;
// elsewhere the loop just reads the state word.
const relax = typeof Atomics.pause === 'function' ? () => Atomics.pause() : () => {};

/** What awaitRequest returns when its spin caught the request, and when the operating system cut its spin short. */
export const CAUGHT = -1;
export const PREEMPTED = -2;

/**
 * Waits until the page stores REQUEST: spins for `budget` ms (less when it
 * finds itself preempted), then sleeps. Returns CAUGHT when the spin caught
 * the request, PREEMPTED when the spin found itself preempted (no core is
 * free: what the request took to come then says nothing about the page's
 * pace), else how long after the call the request came, in ms.
 */
function awaitRequest(header, budget) {
  if (Atomics.load(header, LANE.STATE) === LANE.REQUEST) return CAUGHT;
  const start = performance.now();
  let last = start;
  const until = start + budget;
  let preempted = false;
  for (let i = 1; ; i++) {
    if (Atomics.load(header, LANE.STATE) === LANE.REQUEST) return CAUGHT;
    if (i % SPINS_PER_CLOCK === 0) {
      const now = performance.now();
      preempted = now - last > PREEMPTED_MS;
      if (now >= until || preempted) break;
      last = now;
    }
    relax();
  }
  Atomics.store(header, LANE.SLEEPING, 1);
  let s;
  while ((s = Atomics.load(header, LANE.STATE)) !== LANE.REQUEST) {
    Atomics.add(header, LANE.SLEEPS, 1);
    Atomics.wait(header, LANE.STATE, s);
  }
  Atomics.store(header, LANE.SLEEPING, 0);
  return preempted ? PREEMPTED : performance.now() - start;
}

/**
 * The spin budget, in ms, after a wait with `budget` that ended as `awaited`
 * (awaitRequest's result: CAUGHT, PREEMPTED, or how long the request took to
 * come), `misses` counting the waits that ended in sleep so far.
 * @param {number} budget @param {number} awaited @param {number} misses
 */
export function nextBudget(budget, awaited, misses) {
  if (awaited === CAUGHT) return Math.min(MAX_SPIN_MS, Math.max(START_SPIN_MS, budget * 2));
  if (awaited >= 0 && awaited < MAX_SPIN_MS) return Math.min(MAX_SPIN_MS, Math.max(START_SPIN_MS, budget, awaited * 2));
  return misses % PROBE_EVERY === 0 ? START_SPIN_MS : Math.max(MIN_SPIN_MS, budget / 2);
}

/** What LaneServer.serve returns once the worker retired. */
const DONE = Symbol('done');

/**
 * Serves the lane until the worker is terminated or a call traps: waits for a
 * request, runs its calls in order with `run` (worker.js's call runner:
 * errors, panics and the memory limit included) and answers each. The loop
 * is LaneServer.serve, a plain synchronous method, so the engine optimizes it
 * while it runs (an async function's loop is not); this function only awaits
 * the result of a guest that returned a promise, then lets serve go on.
 * @param {SharedArrayBuffer} buffer
 * @param {(call: import('./protocol.js').WireCall) => import('./protocol.js').WireResult | Promise<import('./protocol.js').WireResult>} run
 * @param {(message: object, transfer?: Transferable[]) => void} post
 * @param {(value: unknown) => Transferable[]} transfersFor
 * @param {() => boolean} isRetired true once a call trapped: then the lane
 *   answers that call, marks RETIRED and returns, and the worker closes
 */
export async function serveLane(buffer, run, post, transfersFor, isRetired) {
  const server = new LaneServer(buffer, run, post, transfersFor, isRetired);
  for (;;) {
    const pending = server.serve();
    if (pending === DONE) return;
    let result;
    try {
      result = await pending;
    } catch (err) {
      result = server.unreadable(err);
    }
    if (server.answer(result)) return;
  }
}

/** The worker half's state: the spin budget, and where it is in the request it serves. */
class LaneServer {
  constructor(buffer, run, post, transfersFor, isRetired) {
    this.header = new Int32Array(buffer, 0, LANE.HEADER_WORDS);
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.run = run;
    this.post = post;
    this.transfersFor = transfersFor;
    this.isRetired = isRetired;
    this.budget = START_SPIN_MS;
    this.misses = 0;
    /** A request is being served: its call count, where it ends, the next call's index and offset, the response bytes used. */
    this.active = false;
    this.count = 0;
    this.end = 0;
    this.k = 0;
    this.at = 0;
    this.used = 0;
    /** The request could not be read past call `k`: it is answered there. */
    this.corrupt = false;
    /** The id of the call being run (0 before its bytes were read). */
    this.id = 0;
  }

  /**
   * Runs requests until a guest returns a promise (returned, for serveLane
   * to await and hand to `answer`) or the worker retired (DONE).
   * @returns {Promise<import('./protocol.js').WireResult> | typeof DONE}
   */
  serve() {
    for (;;) {
      if (!this.active) this.begin();
      while (this.k < this.count && !this.corrupt) {
        let result;
        try {
          result = this.start();
        } catch (err) {
          result = this.unreadable(err);
        }
        // Only a guest that returned a promise makes the loop wait: no task or microtask per call otherwise.
        if (result instanceof Promise) return result;
        if (this.answer(result)) return DONE;
      }
      this.active = false;
      Atomics.store(this.header, LANE.STATE, LANE.RESPONSE);
      Atomics.notify(this.header, LANE.STATE);
    }
  }

  /** Waits for the next request and reads its header. */
  begin() {
    const header = this.header;
    const awaited = awaitRequest(header, this.budget);
    if (awaited !== CAUGHT) this.misses += 1;
    this.budget = nextBudget(this.budget, awaited, this.misses);
    this.count = Atomics.load(header, LANE.COUNT);
    this.end = LANE.REQUEST_OFFSET + Atomics.load(header, LANE.REQ_LEN);
    this.at = LANE.REQUEST_OFFSET;
    this.used = 0;
    this.k = 0;
    this.corrupt = false;
    this.active = true;
  }

  /** Reads call `k` and runs it: its result, or a promise of it. Throws when the call cannot be read. */
  start() {
    this.id = 0;
    if (this.at >= this.end) throw new RangeError(`the request ends after ${this.k} of ${this.count} calls`);
    const [id, fn, args, next] = readCall(this.bytes, this.view, this.at);
    this.id = id;
    this.at = next;
    return this.run(wireCall(id, fn, args));
  }

  /** The answer to a call whose bytes could not be read: the rest of the request cannot be either, so the page fails the others. */
  unreadable(err) {
    this.corrupt = true;
    return errorResult(this.id, CODES.BAD_ARGUMENT, `the lane could not read the request: ${messageOf(err)}`);
  }

  /** Writes call `k`'s response (or posts it) and moves on; true when the worker retired. */
  answer(result) {
    const { header, bytes, view, count, k, used } = this;
    // Leave one byte for each call still to answer: the least a response takes.
    const start = LANE.RESPONSE_OFFSET + used;
    const room = Math.min(1 + LANE.MAX_RESULT_BYTES, LANE.RESPONSE_BYTES - used - Math.max(0, count - k - 1));
    let written = writeResponse(bytes, view, start, start + room, result);
    if (written < 0) {
      // Posted; the page matches it by id, whichever of message and response arrives first.
      try {
        this.post(laneResultMessage(result), result.ok ? this.transfersFor(result.value) : []);
      } catch (e) {
        this.post(laneResultMessage(errorResult(result.id, CODES.BAD_RESULT, `the result cannot be sent to the page: ${messageOf(e)}`)));
      }
      bytes[start] = LANE.POSTED;
      written = 1;
    }
    this.used = used + written;
    this.k = k + 1;
    Atomics.store(header, LANE.RES_LEN, this.used);
    Atomics.store(header, LANE.DONE, k + 1);
    if (this.isRetired()) {
      // The instance is unusable: the calls after this one are not started,
      // and the page gives them to a fresh worker (lane.js).
      Atomics.store(header, LANE.RETIRED, 1);
      Atomics.store(header, LANE.STATE, LANE.RESPONSE);
      Atomics.notify(header, LANE.STATE);
      return true;
    }
    return false;
  }
}
