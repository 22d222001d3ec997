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
// a longer gap was a pause, and the budget halves down to MIN_SPIN_MS
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

/** What awaitRequest returns when its spin caught the request. */
export const CAUGHT = -1;

/**
 * Waits until the page stores REQUEST: spins for `budget` ms (less when it
 * finds itself preempted), then sleeps. Returns CAUGHT when the spin caught
 * the request, else how long after the call the request came, in ms.
 */
function awaitRequest(header, budget) {
  if (Atomics.load(header, LANE.STATE) === LANE.REQUEST) return CAUGHT;
  const start = performance.now();
  let last = start;
  const until = start + budget;
  for (let i = 1; ; i++) {
    if (Atomics.load(header, LANE.STATE) === LANE.REQUEST) return CAUGHT;
    if (i % SPINS_PER_CLOCK === 0) {
      const now = performance.now();
      if (now >= until || now - last > PREEMPTED_MS) break;
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
  return performance.now() - start;
}

/**
 * The spin budget, in ms, after a wait with `budget` that ended as `awaited`
 * (awaitRequest's result: CAUGHT, or how long the request took to come),
 * `misses` counting the waits that ended in sleep so far.
 * @param {number} budget @param {number} awaited @param {number} misses
 */
export function nextBudget(budget, awaited, misses) {
  if (awaited === CAUGHT) return Math.min(MAX_SPIN_MS, Math.max(START_SPIN_MS, budget * 2));
  if (awaited < MAX_SPIN_MS) return Math.min(MAX_SPIN_MS, Math.max(START_SPIN_MS, budget, awaited * 2));
  return misses % PROBE_EVERY === 0 ? START_SPIN_MS : Math.max(MIN_SPIN_MS, budget / 2);
}

/**
 * Serves the lane until the worker is terminated or a call traps: waits for a
 * request, runs its calls in order with `run` (worker.js's call runner:
 * errors, panics and the memory limit included) and answers each.
 * @param {SharedArrayBuffer} buffer
 * @param {(call: import('./protocol.js').WireCall) => import('./protocol.js').WireResult | Promise<import('./protocol.js').WireResult>} run
 * @param {(message: object, transfer?: Transferable[]) => void} post
 * @param {(value: unknown) => Transferable[]} transfersFor
 * @param {() => boolean} isRetired true once a call trapped: then the lane
 *   answers that call, marks RETIRED and returns, and the worker closes
 */
export async function serveLane(buffer, run, post, transfersFor, isRetired) {
  const header = new Int32Array(buffer, 0, LANE.HEADER_WORDS);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let budget = START_SPIN_MS;
  let misses = 0;
  for (;;) {
    const awaited = awaitRequest(header, budget);
    if (awaited !== CAUGHT) misses += 1;
    budget = nextBudget(budget, awaited, misses);
    const count = Atomics.load(header, LANE.COUNT);
    const end = LANE.REQUEST_OFFSET + Atomics.load(header, LANE.REQ_LEN);
    let at = LANE.REQUEST_OFFSET;
    let used = 0;
    let corrupt = false;
    for (let k = 0; k < count && !corrupt; k++) {
      let result;
      let id = 0;
      try {
        if (at >= end) throw new RangeError(`the request ends after ${k} of ${count} calls`);
        const [callId, fn, args, next] = readCall(bytes, view, at);
        id = callId;
        at = next;
        result = run(wireCall(id, fn, args));
        // Only a guest that returned a promise makes the loop wait: no task or microtask per call otherwise.
        if (result instanceof Promise) result = await result;
      } catch (err) {
        // The rest of the request cannot be read either: answer this call, and the page fails the others.
        result = errorResult(id, CODES.BAD_ARGUMENT, `the lane could not read the request: ${messageOf(err)}`);
        corrupt = true;
      }
      // Leave one byte for each call still to answer: the least a response takes.
      const start = LANE.RESPONSE_OFFSET + used;
      const room = Math.min(1 + LANE.MAX_RESULT_BYTES, LANE.RESPONSE_BYTES - used - Math.max(0, count - k - 1));
      let written = writeResponse(bytes, view, start, start + room, result);
      if (written < 0) {
        // Posted; the page matches it by id, whichever of message and response arrives first.
        try {
          post(laneResultMessage(result), result.ok ? transfersFor(result.value) : []);
        } catch (e) {
          post(laneResultMessage(errorResult(result.id, CODES.BAD_RESULT, `the result cannot be sent to the page: ${messageOf(e)}`)));
        }
        bytes[start] = LANE.POSTED;
        written = 1;
      }
      used += written;
      Atomics.store(header, LANE.RES_LEN, used);
      Atomics.store(header, LANE.DONE, k + 1);
      if (isRetired()) {
        // The instance is unusable: the calls after this one are not started,
        // and the page gives them to a fresh worker (lane.js).
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
