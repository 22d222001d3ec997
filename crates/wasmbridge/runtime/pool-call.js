// The pool's call record: one fixed shape for every call the pool
// registers, and its promise. Made by pool-validate.js's readCall, filled in
// and settled by pool.js; and the per-batch form of calls that travel packed.

import { PACKED_HEADER } from './protocol.js';

/** What one call adds to a worker's window besides its arguments: its id, name and framing, roughly. */
export const CALL_BYTES = 32;

/**
 * A call the pool registered: one fixed shape for every call, so reading a
 * field is the same work whichever path made it. `readCall` fills the
 * caller's part; the rest is the pool's.
 */
export class Call {
  constructor(fn, args, timeout, signal, aborted, transfer, onProgress, outputs = null, regions = null) {
    this.fn = fn;
    this.args = args;
    this.timeout = timeout;
    this.signal = signal;
    this.aborted = aborted;
    this.transfer = transfer;
    this.onProgress = onProgress;
    /** Positions of arguments the guest writes into, moved to the worker and back (`outputs`); null for most calls. */
    this.outputs = outputs;
    /** Its arguments that are regions living in a guest memory (shared.js's RegionRef); null for most calls. */
    this.regions = regions;
    this.id = 0;
    this.resolve = null;
    this.reject = null;
    this.settled = false;
    /** Its transferred buffers left with the message: it cannot be sent again. */
    this.sent = false;
    /** When it times out (ms since the epoch, as `performance.timeOrigin + performance.now()`); 0 for none. */
    this.deadline = 0;
    /** In the pool's Deadlines, and neither expired nor counted as settled there. */
    this.watched = false;
    this.abort = null;
    this.slot = null;
    this.pinned = null;
    /** performance.now() when submitted, for a sampled call; -1 for the others. */
    this.t0 = -1;
    this.stats = null;
    /** Its weight in a worker's window (`windowBytes`), set when it is checked. */
    this.bytes = CALL_BYTES;
    this.lane = null;
    /** Bytes of its fast-lane request (`laneRequestSize`), set when it goes to the lane. */
    this.laneSize = 0;
    /** Its function's position in the manifest (the `functions` of `init`), set when it is checked. */
    this.fnIndex = -1;
    /** The same when every argument is a number (it may travel packed), else -1. */
    this.packedFn = -1;
  }
}

/** Longest delay setTimeout keeps (2^31 - 1 ms); a later deadline is reached in steps. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The deadlines of the calls that have a timeout, with one timer for the
 * earliest instead of one per call: in Chromium a setTimeout and its
 * clearTimeout cost a few microseconds, as much as the rest of a call's page
 * side. A min-heap by `deadline` of calls and of batches (pool-call.js's
 * Batch, whose calls share a deadline); one that settles stays in it until it
 * reaches the top (calls with the pool's timeout come in deadline order, so
 * it is soon), and when settled ones outnumber the others the heap is rebuilt
 * without them, so it holds about what is in flight. `expire` runs for each
 * unsettled one whose deadline passed, never before it, with its `watched`
 * false by then; the pool calls `settle()` for one that settles while
 * `watched`, and clears `watched`.
 */
export class Deadlines {
  /** @param {(call: Call) => void} expire */
  constructor(expire) {
    this.expire = expire;
    /** @type {Call[]} */
    this.heap = [];
    this.settled = 0;
    this.timer = 0;
    /** The deadline the timer is set for; Infinity when none is. */
    this.armed = Infinity;
    this.fire = () => this.#fire();
  }

  /** Watches a call or batch whose `deadline` is set. */
  add(call) {
    if (call.settled) return;
    call.watched = true;
    const heap = this.heap;
    let i = heap.length;
    heap.push(call);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].deadline <= call.deadline) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = call;
    if (call.deadline < this.armed) this.#arm(call.deadline);
  }

  /** Counts a watched call that settled; it leaves the heap later. */
  settle() {
    this.settled += 1;
    if (this.settled > 64 && 2 * this.settled > this.heap.length) this.#rebuild();
  }

  /** Stops the timer and forgets every call (the pool closed). */
  clear() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.armed = Infinity;
    this.heap = [];
    this.settled = 0;
  }

  #arm(deadline) {
    if (this.timer) clearTimeout(this.timer);
    this.armed = deadline;
    const delay = Math.min(MAX_DELAY, Math.max(0, deadline - (performance.timeOrigin + performance.now())));
    this.timer = setTimeout(this.fire, delay);
  }

  #fire() {
    this.timer = 0;
    this.armed = Infinity;
    const now = performance.timeOrigin + performance.now();
    // Take the due calls out first: expiring one settles it, which may rebuild the heap.
    const due = [];
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (!top.settled && top.deadline > now) break;
      this.#pop();
      if (top.settled) this.settled -= 1;
      else due.push(top);
    }
    for (const call of due) {
      call.watched = false; // left the heap: its settling is not counted
      this.expire(call);
    }
    while (this.heap.length > 0 && this.heap[0].settled) {
      this.#pop();
      this.settled -= 1;
    }
    if (this.heap.length > 0 && this.timer === 0) this.#arm(this.heap[0].deadline);
  }

  #pop() {
    const heap = this.heap;
    const last = /** @type {Call} */ (heap.pop());
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r].deadline < heap[l].deadline ? r : l;
      if (heap[c].deadline >= last.deadline) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }

  #rebuild() {
    const live = this.heap.filter((c) => !c.settled);
    live.sort((a, b) => a.deadline - b.deadline);
    this.heap = live;
    this.settled = 0;
  }
}

/**
 * The promise of a call, its settle functions kept on the call record. One
 * executor serves every call (it runs synchronously inside `new Promise`), so
 * a call costs no closure and no `{ promise, resolve, reject }` record.
 */
let capturedResolve = null;
let capturedReject = null;
const capture = (resolve, reject) => { capturedResolve = resolve; capturedReject = reject; };
export function settleable(call) {
  const promise = new Promise(capture);
  call.resolve = capturedResolve;
  call.reject = capturedReject;
  return promise;
}

/**
 * Calls kept per batch instead of per call (issue 14): a burst of
 * `call(name, ...numbers)` with no options, made while the workers are busy,
 * is stored here in the packed wire layout (PackedCallsMessage: id, function
 * index, deadline 0, argument count, arguments) with its resolvers in two
 * arrays, so a call costs its promise and a few slots in typed arrays rather
 * than a record, two map entries and an arguments array that live until it is
 * answered. The pool gives a worker a range of it at a time (a `Span`); when
 * anything out of the ordinary happens to a worker holding spans (a trap, a
 * loss, a stuck call), their calls become `Call` records again and take the
 * ordinary path.
 */
export class Batch {
  /**
   * @param {number} calls the calls to make room for at once: the pool asks
   *   for a full batch's worth when the batch before it filled up (a burst),
   *   so a burst's batches never grow by copying, and for a few otherwise
   */
  constructor(calls = 256) {
    /** The calls, back to back in the packed wire layout (room for two arguments each; more grows it). */
    this.data = new Float64Array(calls * (PACKED_HEADER + 2));
    /** Where each call starts in `data`; `at[count]` is where the next one goes. */
    this.at = new Int32Array(calls + 1);
    /** Settle functions by position; both null once the call settled. */
    this.resolves = [];
    this.rejects = [];
    this.count = 0;
    /** The first call still waiting for a worker. */
    this.from = 0;
    /** The one call of the batch whose latency is sampled for `stats()`, and when it was made; -1 for none. */
    this.sample = -1;
    this.t0 = 0;
    /** Its calls not settled and not made records yet. */
    this.unsettled = 0;
    /** With a pool timeout, its calls' deadline (set when its tick ends, so none is early); 0 for none. */
    this.deadline = 0;
    /** In the pool's Deadlines (see there). */
    this.watched = false;
  }

  /** Every call settled, or made a record. */
  get settled() { return this.unsettled === 0; }

  /** Appends a call of numbers only; its promise. */
  add(id, fnIndex, args) {
    const k = this.count;
    const n = args.length;
    if (k + 1 >= this.at.length) this.at = grown(this.at, k + 2);
    let at = this.at[k];
    if (at + PACKED_HEADER + n > this.data.length) this.data = grown(this.data, at + PACKED_HEADER + n);
    const d = this.data;
    d[at] = id;
    d[at + 1] = fnIndex;
    d[at + 2] = 0;
    d[at + 3] = n;
    at += PACKED_HEADER;
    for (let j = 0; j < n; j++) d[at + j] = args[j];
    this.at[k + 1] = at + n;
    this.count = k + 1;
    this.unsettled += 1;
    const promise = new Promise(capture);
    this.resolves.push(capturedResolve);
    this.rejects.push(capturedReject);
    return promise;
  }

  idOf(k) { return this.data[this.at[k]]; }
  fnOf(k) { return this.data[this.at[k] + 1]; }
  /** A call's weight in a worker's window, as `Call.bytes` counts it for numbers. */
  bytesOf(k) { return CALL_BYTES + 8 * this.data[this.at[k] + 3]; }
  argsOf(k) {
    const at = this.at[k] + PACKED_HEADER;
    return Array.from(this.data.subarray(at, at + this.data[at - 1]));
  }

  /** The id of the first call still waiting: the queue orders calls by id. */
  get id() { return this.idOf(this.from); }
  /** The weight of the first call still waiting, for the queue's `#leastBusy` check. */
  get bytes() { return this.bytesOf(this.from); }
}

/** The calls `lo` to `hi` of a batch given to one worker, answered in order from `next`. */
export class Span {
  constructor(batch, lo, hi) {
    this.batch = batch;
    this.lo = lo;
    this.hi = hi;
    this.next = lo;
  }
}

function grown(a, atLeast) {
  const b = new a.constructor(Math.max(a.length * 2, atLeast));
  b.set(a);
  return b;
}
