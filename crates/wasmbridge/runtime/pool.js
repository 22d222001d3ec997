// The pool: loads the manifest, compiles the module once, has its workers
// started and supervised (supervisor.js) and dispatches calls to them. Every
// call settles exactly once: with its result, or with a WasmBridgeError whose
// code says why not. Only this file talks to the pool's workers; the worker
// never decides anything about the pool.

import {
  PROTOCOL, FROM_WORKER, FLAT_VALUE, THREAD, CODES, CONTROL, PACKED_STATUS, PACKED_HEADER, initMessage, moduleMessage, callsMessage, callMessage, packedCallsMessage, wireCall,
} from './protocol.js';
import { WasmBridgeError, messageOf } from './error.js';
import {
  RegionHeap, SharedRegion, moveRegion, regionIn, regionPlace, useRegion,
} from './shared.js';
import { CALL_BYTES, Call, Batch, Span, Deadlines, settleable } from './pool-call.js';
import {
  ADD_LISTENER, REMOVE_LISTENER, argBytes, batchEntry, checkSignal, compileFunction, describeType, duration, guarded, readCall, readOptions, readPoolOptions,
} from './pool-validate.js';
import { chooseModule, knownManifest, fetchManifest, compileModule, checkGlue } from './pool-load.js';
import { Supervised, Watchdog, StartFailures, gaveUpError, lostCallError } from './supervisor.js';

const LATENCY_SAMPLES = 512;
/** One call in this many of a function has its latency measured for `stats()`; the others never read the clock for it. */
const SAMPLE_EVERY = 8;
/**
 * A function whose sampled round trip took less than this (ms) counts as fast:
 * its small calls may go through the fast lane automatically.
 */
const FAST_CALL_MS = 1;
/**
 * While the lane worker sleeps, one in this many calls that could take the
 * lane takes it anyway and wakes it: a steady stream of calls keeps it awake
 * after that, and an occasional call pays the wake-up instead of every call.
 * Each such call doubles the interval, up to LANE_PROBE_MAX, until a call
 * finds the worker awake: when its spin never catches the next call (no free
 * core, or calls too far apart), the wake-ups become rare.
 */
const LANE_PROBE_EVERY = 16;
const LANE_PROBE_MAX = 1024;
/** `Lane.availability()` values (lane.js's AVAILABILITY), here because lane.js loads later. */
const LANE_AWAKE = 1;
const LANE_ASLEEP = 2;
/**
 * Calls per Batch (#submitBatched): a longer burst fills several, so a batch
 * stays small enough to grow cheaply and is freed once its calls are answered.
 */
const BATCH_CALLS = 4096;
/** A batch's defaults when there is no batch. */
const NO_DEFAULTS = Object.freeze({});
/** Flushes are queued as reactions of this settled promise (see #scheduleFlush). */
const SETTLED = Promise.resolve();

/** Options for one call; see wasmbridge.d.ts. @typedef {import('./wasmbridge.d.ts').CallOptions} CallOptions */

/**
 * The queue: calls, and batches of calls (pool-call.js's Batch) each of
 * which counts as the calls it still holds.
 */
class Deque {
  constructor() { this.items = []; this.head = 0; this.calls = 0; }
  /** How many calls wait, those of batches included. */
  get length() { return this.calls; }
  push(x) { this.items.push(x); this.calls += x instanceof Batch ? x.count - x.from : 1; }
  /** `n` more (or, negative, fewer) calls wait in a batch already in the queue. */
  grow(n) { this.calls += n; }
  /**
   * Puts calls back, in id order, ahead of every waiting call made after
   * them: a trapped worker hands back the calls of each message that reaches
   * it separately, and the later messages' calls must not overtake the
   * earlier ones still waiting here.
   */
  putBack(calls) {
    this.calls += calls.length;
    let at = this.head;
    while (at < this.items.length && this.items[at].id < calls[0].id) at++;
    if (at === this.head && this.head >= calls.length) {
      this.head -= calls.length;
      for (let i = 0; i < calls.length; i++) this.items[this.head + i] = calls[i];
    } else {
      this.items = [...this.items.slice(0, at), ...calls, ...this.items.slice(at)];
    }
  }
  peek() { return this.items[this.head]; }
  shift() {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    this.calls -= x instanceof Batch ? x.count - x.from : 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  remove(x) {
    const i = this.items.indexOf(x, this.head);
    if (i >= 0) { this.items.splice(i, 1); this.calls -= 1; }
  }
  *[Symbol.iterator]() { for (let i = this.head; i < this.items.length; i++) yield this.items[i]; }
  clear() { this.items = []; this.head = 0; this.calls = 0; }
}

export class Pool {
  /** @type {any} */ #opts;
  #manifest = null;
  #module = null;
  #glueUrl = '';
  #workerUrl = '';
  /** @type {Map<string, any>} function name → manifest entry */
  #functions = new Map();
  /** @type {any[]} */ #slots = [];
  /** @type {Set<any>} workers that trapped and hand back their unstarted calls before they are stopped */
  #retiring = new Set();
  #queue = new Deque();
  /** @type {Map<number, any>} */ #pending = new Map();
  /** The deadlines of calls with a timeout, under one timer (pool-call.js). */
  #deadlines = new Deadlines((item) => (item instanceof Batch ? this.#expireBatch(item) : this.#expire(item)));
  /** @type {Batch[]} batches opened since the last flush, which gives them their deadline (with a pool timeout) */
  #fresh = [];
  /** Unsettled calls kept in batches (#submitBatched): with `#pending`, the calls in flight. */
  #batched = 0;
  /** @type {Batch | null} the batch this tick's calls join: the queue's last entry while it has one */
  #open = null;
  /** @type {any[]} the manifest's functions' entries (compileFunction), by index */
  #entries = [];
  #nextId = 1;
  #poolId = Math.random().toString(36).slice(2);
  #nextWorkerId = 1;
  #closed = false;
  #started = false;
  #failed = null;
  #flushQueued = false;
  /** @type {StartFailures} starts that failed in a row, capped by `maxRespawnFailures` */
  #startFailures;
  /** @type {((error: Error) => void) | null} rejects `ready` when close() comes first */
  #abortReady = null;
  /** @type {Map<string, any>} */ #fnStats = new Map();
  #isolated = typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true;
  #api = null;
  /** @type {import('./lane.js').Lane | null} the fast lane (lane.js), started by the first fastCall or routed call */
  #lane = null;
  /** @type {typeof import('./lane.js') | null} lane.js, imported while the pool starts on an isolated page */
  #laneModule = null;
  /** Small calls of fast functions may take the lane by themselves (the `lane` option, an isolated page, more than one instance). */
  #autoLane = false;
  /** Calls that could have taken a sleeping lane since one last did. */
  #laneMisses = 0;
  /** How many such calls before the next one wakes the lane (LANE_PROBE_EVERY, doubled per wake-up). */
  #laneProbeEvery = LANE_PROBE_EVERY;
  /** @type {ModuleChoice | null} which of the bundle's modules runs (chooseModule) */
  #choice = null;
  /** @type {typeof import('./threads.js') | null} threads.js, imported only when the threaded module runs */
  #threadsModule = null;
  /** @type {WeakMap<object, RegionHeap>} a threaded pool worker's memory, where its regions live (shared.js) */
  #regionHeaps = new WeakMap();

  /**
   * Starts loading at once; calls made before it is ready are queued.
   * Throws BAD_ARGUMENT for an option that is not what wasmbridge.d.ts says.
   * @param {import('./wasmbridge.d.ts').PoolOptions} [options]
   */
  constructor(options) {
    this.#opts = readPoolOptions(options);
    this.#startFailures = new StartFailures(this.#opts.maxRespawnFailures);
    /** Resolves with the pool once every initial worker is ready (the first one, with readyOn 'first'); rejects with INIT_FAILED, or POOL_CLOSED at once on close(). */
    this.ready = new Promise((resolve, reject) => {
      this.#abortReady = reject;
      this.#start().then(resolve, reject);
    });
    this.ready.catch(() => {});
  }

  /** The manifest's function descriptions (empty until ready). */
  get functions() { return this.#manifest ? this.#manifest.functions : []; }

  /** True when shared-memory features (cooperative cancel, fast lane, rings) are available. */
  get isolated() { return this.#isolated; }

  /** `pool.api.divide(7, 2)` is `pool.call('divide', 7, 2)`. */
  get api() {
    this.#api ??= new Proxy({}, {
      get: (_, name) => (typeof name === 'string' && name !== 'then' ? (...args) => this.call(name, ...args) : undefined),
    });
    return this.#api;
  }

  /**
   * `call(name, ...args)`, or `call({ fn, args, timeout, signal, transfer, outputs, onProgress })`.
   * @returns {Promise<any>}
   */
  call(nameOrOptions, ...args) {
    if (typeof nameOrOptions === 'string') {
      const promise = this.#submitBatched(nameOrOptions, args);
      if (promise !== null) return promise;
    }
    return this.#submit(nameOrOptions, null, NO_DEFAULTS, false, args);
  }

  /**
   * `call`, through the fast lane (lane.js): a dedicated worker with its
   * own guest instance, reached through a SharedArrayBuffer instead of
   * postMessage. Takes the normal path when the page is not cross-origin
   * isolated, before the pool is ready, with `transfer` or `onProgress`, or
   * when the name and arguments do not fit the lane (only numbers,
   * booleans, null, undefined and strings, encoding into 252 bytes; see
   * lane.js). Meant for small calls of stateless functions.
   * @returns {Promise<any>}
   */
  fastCall(nameOrOptions, ...args) {
    return this.#submit(nameOrOptions, null, NO_DEFAULTS, true, args);
  }

  /**
   * A shared region that calls read and write without copying it through
   * postMessage: pass the region, or `region.view(offset, length)`, as an
   * argument and the guest receives a Uint8Array view of it. On a ready pool
   * running the threaded module it lives inside the guest's memory (in the
   * first ready worker, where calls that pass it then run), so a
   * `SharedBytes` parameter reads it in place; otherwise it is a
   * SharedArrayBuffer of its own. Throws NOT_ISOLATED when the page is not
   * cross-origin isolated, MEMORY_LIMIT when the guest memory cannot grow
   * enough. See shared.js.
   * @param {number} byteLength
   */
  shared(byteLength) {
    this.#checkOpen();
    for (const s of this.#slots) {
      const heap = s.state === 'ready' && !s.exclusive ? this.#regionHeaps.get(s) : undefined;
      if (heap) return regionIn(byteLength, heap, s, this);
    }
    return new SharedRegion(byteLength);
  }

  /**
   * Runs many calls, sent as one message per worker. Resolves, in order, with
   * `{ ok: true, value }` or `{ ok: false, error }` for each; it never rejects
   * for a single call's failure (a malformed entry is a BAD_ARGUMENT result).
   * Rejects with BAD_ARGUMENT when `calls` is not an array or an option is bad.
   * @param {Array<[string, ...any[]] | { fn: string, args?: any[] }>} calls
   * @param {{ timeout?: number, signal?: AbortSignal }} [options]
   */
  async batch(calls, options) {
    const defaults = readOptions(options, 'batch options', ['timeout', 'signal']);
    if (defaults.timeout !== undefined) defaults.timeout = duration('batch option timeout', defaults.timeout);
    if (defaults.signal !== undefined && defaults.signal !== null) checkSignal(defaults.signal, 'batch option signal');
    if (!Array.isArray(calls)) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `batch expects an array of calls, got ${describeType(calls)}`);
    }
    const n = guarded(() => calls.length, 'the length of the batch');
    const promises = [];
    for (let i = 0; i < n; i++) {
      let spec;
      try {
        spec = batchEntry(calls, i);
      } catch (err) {
        promises.push(Promise.resolve({ ok: false, error: err }));
        continue;
      }
      promises.push(this.#submit(spec, null, defaults).then((value) => ({ ok: true, value }), (error) => ({ ok: false, error })));
    }
    return Promise.all(promises);
  }

  /**
   * A handle whose calls all run on one worker, for guests that keep state.
   * If that worker is lost, the handle's calls reject with WORKER_LOST; after
   * a trap, which wipes the instance's state as a loss would not, the handle
   * moves to the worker that takes the trapped one's place.
   * `{ exclusive: true }` starts a worker of its own for the handle, beyond
   * the pool's size, that gets no other calls (for calls that run until
   * cancelled, such as a stream); `release()` stops it, and calls of the
   * handle still running then reject with WORKER_LOST.
   * @param {{ exclusive?: boolean }} [options]
   */
  async pin(options) {
    const { exclusive } = readOptions(options, 'pin options', ['exclusive']);
    if (exclusive !== undefined && typeof exclusive !== 'boolean') {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `pin option exclusive must be a boolean, got ${describeType(exclusive)}`);
    }
    await this.ready;
    this.#checkOpen();
    let slot;
    if (exclusive) {
      slot = this.#spawn();
      slot.exclusive = true;
      try {
        await slot.readyPromise;
        this.#checkOpen();
      } catch (err) {
        this.#release(slot);
        throw err;
      }
    } else {
      slot = await this.#readyWorker();
    }
    slot.pins += 1;
    const pool = this;
    let released = false;
    // A trapped worker hands its pins to its successor.
    const current = () => {
      while (slot.successor) slot = slot.successor;
      return slot;
    };
    return {
      get workerId() { return current().id; },
      get lost() { return current().state === 'dead'; },
      call(nameOrOptions, ...args) {
        if (released) return Promise.reject(new WasmBridgeError(CODES.BAD_ARGUMENT, 'this pinned handle was released'));
        return pool.#submit(nameOrOptions, current(), NO_DEFAULTS, false, args);
      },
      release() {
        if (released) return;
        released = true;
        const s = current();
        s.pins -= 1;
        if (s.exclusive) pool.#release(s);
      },
    };
  }

  /**
   * The least busy ready worker; while none is ready (all replaced after
   * traps or losses) the first of those starting, once it is.
   */
  async #readyWorker() {
    for (;;) {
      this.#checkOpen();
      if (this.#failed) throw this.#failed;
      const slot = this.#leastBusy(-1);
      if (slot) return slot;
      const starting = this.#slots.filter((s) => s.state === 'starting' && !s.exclusive);
      if (starting.length === 0) throw new WasmBridgeError(CODES.WORKER_LOST, 'no live worker to pin');
      await Promise.any(starting.map((s) => s.readyPromise)).catch(() => {});
    }
  }

  /** Live figures: per worker and per function. */
  stats() {
    const workers = this.#slots.map((s) => ({
      id: s.id, state: s.state, busy: s.inflight.size + s.batched > 0, inFlight: s.inflight.size + s.batched,
      calls: s.calls, failures: s.failures, restarts: s.restarts, pinned: s.pins > 0,
    }));
    const functions = {};
    for (const [name, f] of this.#fnStats) {
      const n = Math.min(f.sampled, LATENCY_SAMPLES);
      const sorted = Array.from(f.latencies.subarray(0, n)).sort((a, b) => a - b);
      const pct = (p) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]);
      functions[name] = {
        count: f.count, errors: { ...f.errors }, p50: pct(0.5), p99: pct(0.99),
        circuit: f.openUntil > performance.now() ? 'open' : 'closed',
      };
    }
    return {
      workers, functions, queued: this.#queue.length, inFlight: this.#pending.size + this.#batched, closed: this.#closed, isolated: this.#isolated,
      lane: this.#lane ? { ...this.#lane.stats(), auto: this.#autoLane, wakeIn: this.#laneProbeEvery - this.#laneMisses } : null,
      module: this.#choice ? { kind: this.#choice.kind, threads: this.#choice.threads, reason: this.#choice.reason } : null,
    };
  }

  /** Stops every worker and rejects every unsettled call, and a `ready` not yet settled, with POOL_CLOSED. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new WasmBridgeError(CODES.POOL_CLOSED, 'the pool was closed before it was ready');
    this.#abortReady?.(closed);
    this.#abortReady = null;
    const error = (c) => new WasmBridgeError(CODES.POOL_CLOSED, `the pool was closed before ${c.fn} finished`, { functionName: c.fn, callId: c.id });
    for (const s of [...this.#slots, ...this.#retiring]) this.#unbatch(s);
    this.#unbatchQueue();
    for (const c of [...this.#pending.values()]) this.#settle(c, false, error(c));
    this.#queue.clear();
    this.#stopAll(new WasmBridgeError(CODES.POOL_CLOSED, 'the pool was closed while a worker started'));
    this.#lane?.close();
    this.#lane = null;
    this.#deadlines.clear();
  }

  // ---- submission ----

  #checkOpen() {
    if (this.#closed) throw new WasmBridgeError(CODES.POOL_CLOSED, 'the pool is closed');
  }

  /**
   * The one way into the pool. Everything the caller passed is read and
   * checked here, once (`readCall`), before the call is registered: past this
   * point the pool's machinery only touches values it made itself.
   */
  #submit(spec, pinned, defaults = NO_DEFAULTS, lane = false, args = null) {
    let call;
    try {
      call = readCall(spec, defaults, this.#opts.timeout, args);
    } catch (err) {
      return Promise.reject(err);
    }
    const fn = call.fn;
    call.id = this.#nextId++;
    call.pinned = pinned;
    if (this.#closed) {
      return Promise.reject(new WasmBridgeError(CODES.POOL_CLOSED, `the pool is closed; ${fn} was not run`, { functionName: fn, callId: call.id }));
    }
    if (call.aborted) {
      return Promise.reject(new WasmBridgeError(CODES.CANCELLED, `${fn} was cancelled before it started`, { functionName: fn, callId: call.id }));
    }
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#manifest) {
      const problem = this.#validate(call);
      if (problem) return this.#refuse(call, problem);
    }
    if (call.regions !== null) {
      // A call that passes regions in a guest memory runs where they live, as a pin.
      const home = this.#regionRoute(call, pinned);
      if (home instanceof WasmBridgeError) return this.#refuse(call, home);
      if (home !== null) call.pinned = pinned = home;
    }
    if (!pinned && this.#queue.length >= this.#opts.maxQueue) {
      return Promise.reject(new WasmBridgeError(CODES.QUEUE_FULL, `the queue holds ${this.#queue.length} calls, its limit (maxQueue) is ${this.#opts.maxQueue}`, { functionName: fn }));
    }
    const promise = settleable(call);
    if (call.regions !== null) {
      // A region closed meanwhile keeps its range until this call has settled.
      for (const r of call.regions) useRegion(r.region, 1);
      const done = () => { for (const r of call.regions) useRegion(r.region, -1); };
      promise.then(done, done);
    }
    this.#pending.set(call.id, call);
    if (call.timeout > 0) {
      call.deadline = performance.timeOrigin + performance.now() + call.timeout;
      this.#deadlines.add(call);
    }
    if (call.signal) {
      call.abort = () => this.#cancel(call);
      ADD_LISTENER.call(call.signal, 'abort', call.abort, { once: true });
    }
    const fits = (lane || this.#autoLane) && this.#laneModule !== null && this.#started && !call.transfer && call.outputs === null && call.regions === null && !call.onProgress && this.#lane?.usable !== false;
    let laneSize = -1;
    if (fits && lane) laneSize = this.#laneModule.laneRequestSize(fn, call.args);
    else if (fits && !pinned && call.stats?.fast && this.#queue.length === 0) laneSize = this.#autoLaneSize(call);
    if (laneSize > 0) {
      call.laneSize = laneSize;
      this.#laneFor().submit(call);
    } else if (pinned) {
      if (pinned.state === 'dead' || pinned.state === 'retiring') this.#settle(call, false, this.#lostError(call, pinned));
      else this.#dispatch(call, pinned, true);
    } else if (this.#started && this.#queue.length === 0) {
      // Nothing waits ahead of it: straight to a worker, without a trip through the queue.
      const slot = this.#leastBusy(call.bytes);
      if (!slot || slot.inflight.size + slot.batched > 0) this.#grow();
      if (slot) this.#dispatch(call, slot, true);
      else this.#enqueue(call);
    } else {
      this.#enqueue(call);
      this.#pump();
    }
    return promise;
  }

  /**
   * The way in for `call(name, ...numbers)` while the workers are busy: the
   * call joins this tick's batch (pool-call.js's Batch) in the queue, with no
   * record of its own, and workers take ranges of the batch as their windows
   * allow (#giveSpan). With a pool timeout the batch has one deadline, set
   * when the tick ends (#flush), and what is left of it when that passes
   * becomes records that time out (#expireBatch). Null, and the call takes
   * `#submit`, for any call this path does not keep every promise of the pool
   * for: before the pool is ready or after it failed, when the queue is full
   * (`maxQueue`) even after the workers took what their windows hold, a
   * function whose circuit is not closed or whose
   * calls may take the fast lane, arguments that are not all numbers or do
   * not fit (`#validate` then says why), and a call that finds a worker idle
   * (it goes at once, flat).
   */
  #submitBatched(fn, args) {
    const opts = this.#opts;
    if (!this.#started || this.#closed || this.#failed !== null) return null;
    const n = args.length;
    // A worker with nothing to do takes the call at once, flat (#submit): checked first, so that path checks the arguments once.
    if (this.#queue.length === 0) {
      const slot = this.#leastBusy(CALL_BYTES + 8 * n);
      if (slot !== null && slot.inflight.size + slot.batched === 0 && slot.outbox.length === 0) return null;
    }
    const entry = this.#functions.get(fn);
    if (entry === undefined) return null;
    const f = entry.stats ??= this.#statsFor(fn);
    if (f.openUntil !== 0 || (this.#autoLane && f.fast)) return null;
    if (n < entry.required || n > entry.checks.length || 8 * n > opts.maxArgBytes) return null;
    const checks = entry.checks;
    for (let i = 0; i < n; i++) {
      const v = args[i];
      if (typeof v !== 'number' || !checks[i](v)) return null;
    }
    if (this.#queue.length >= opts.maxQueue) {
      // A call made one by one would have gone to a worker's window as it
      // came: give the workers what their windows take now, and let #submit
      // refuse the call (QUEUE_FULL) if the queue is full all the same.
      this.#pump();
      if (this.#queue.length >= opts.maxQueue) return null;
    }
    let batch = this.#open;
    if (batch === null || batch.count === BATCH_CALLS) {
      batch = new Batch(batch === null ? undefined : BATCH_CALLS);
      this.#open = batch;
      this.#queue.push(batch);
      if (opts.timeout > 0) this.#fresh.push(batch);
    }
    const k = batch.count;
    // Latency is a sample: one call of a batch at most, when its function's turn comes.
    if (f.submitted++ % SAMPLE_EVERY === 0 && batch.sample < 0) {
      batch.sample = k;
      batch.t0 = performance.now();
    }
    const promise = batch.add(this.#nextId++, entry.index, args);
    this.#queue.grow(1);
    this.#batched += 1;
    this.#scheduleFlush();
    return promise;
  }

  /**
   * Automatic routing: the size of the call's lane request when the lane
   * would answer it sooner than a worker by postMessage, else -1. Only when
   * its worker spins (a sleeping one would cost a futex wake-up, more than a
   * postMessage when no core is free) and nothing else is in the lane, except
   * the occasional call that wakes a sleeping lane (LANE_PROBE_EVERY).
   */
  #autoLaneSize(call) {
    const size = /** @type {typeof import('./lane.js')} */ (this.#laneModule).laneRequestSize(call.fn, call.args);
    if (size < 0) return -1;
    const lane = this.#laneFor();
    const availability = lane.availability();
    if (availability === LANE_AWAKE) {
      this.#laneProbeEvery = LANE_PROBE_EVERY;
      return size;
    }
    if (availability !== LANE_ASLEEP) {
      lane.warm();
      return -1;
    }
    if (++this.#laneMisses < this.#laneProbeEvery) return -1;
    this.#laneMisses = 0;
    this.#laneProbeEvery = Math.min(this.#laneProbeEvery * 2, LANE_PROBE_MAX);
    return size;
  }

  /**
   * The worker a call that passes regions must run on: the live worker whose
   * memory holds them (a trapped worker's successor inherits its regions), or,
   * for regions whose worker was stopped, the pinned handle's worker or the
   * first live one, into whose memory they move when the call is sent
   * (`#regionWire`). Null when none of its regions is this pool's (another
   * pool's region travels as a view and is copied). BAD_ARGUMENT when its
   * regions live in two live workers, or in another worker than the pinned
   * handle's: a region in use cannot move.
   */
  #regionRoute(call, pinned) {
    const own = call.regions.filter((r) => regionPlace(r.region)?.owner === this);
    call.regions = own.length === 0 ? null : own;
    if (call.regions === null) return null;
    let home = null;
    for (const r of own) {
      let s = regionPlace(r.region)?.home;
      while (s.successor) s = s.successor;
      if (s.state === 'dead') continue;
      if (home !== null && s !== home) {
        return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: its shared regions live in the memories of two workers (${home.id} and ${s.id}), expected regions of one worker`, { functionName: call.fn, callId: call.id });
      }
      home = s;
    }
    if (pinned) {
      if (home !== null && home !== pinned) {
        return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: a shared region it was given lives in worker ${home.id}, expected one of the pinned handle's worker ${pinned.id}`, { functionName: call.fn, callId: call.id });
      }
      return pinned;
    }
    if (home !== null) return home;
    const live = this.#slots.find((s) => s.state === 'ready' && !s.exclusive) ?? this.#slots.find((s) => s.state === 'starting' && !s.exclusive);
    return live ?? new WasmBridgeError(CODES.WORKER_LOST, `${call.fn}: no live worker to hold its shared regions`, { functionName: call.fn, callId: call.id });
  }

  /**
   * The wire form of a call that passes regions, for `slot`: each region is
   * moved into the slot's memory when it lives elsewhere (only ever off a
   * stopped worker), and the wire call names the arguments that are views of
   * the worker's own memory (`regions`).
   */
  #regionWire(call, slot) {
    const heap = this.#regionHeaps.get(slot);
    if (!heap) return toWire(call);
    const args = call.args.slice();
    const at = [];
    for (const r of call.regions) {
      if (regionPlace(r.region)?.home !== slot) moveRegion(r.region, heap, slot, this);
      args[r.at] = r.region.toView(r.offset, r.length);
      at.push(r.at);
    }
    return wireCall(call.id, call.fn, args, call.deadline, call.outputs, at);
  }

  /** Rejects a call that never ran; counted for functions the guest has. */
  #refuse(call, error) {
    if (this.#functions.has(call.fn)) {
      const f = this.#statsFor(call.fn);
      f.errors[error.code] = (f.errors[error.code] ?? 0) + 1;
    }
    return Promise.reject(error);
  }

  /**
   * Checks a call against the manifest: the function exists, its circuit is
   * closed, its arguments fit. Runs the checks `compileFunction` made once
   * from the manifest; numbers, booleans and strings are counted toward
   * `maxArgBytes` on the spot, and only a call with an object argument pays
   * for the full walk (`argBytes`).
   */
  #validate(call) {
    const entry = this.#functions.get(call.fn);
    if (!entry) {
      return new WasmBridgeError(CODES.UNKNOWN_FUNCTION, `no function named ${JSON.stringify(call.fn)}; this guest has ${[...this.#functions.keys()].join(', ')}`, { functionName: call.fn, callId: call.id });
    }
    const f = entry.stats ??= this.#statsFor(call.fn);
    if (f.openUntil !== 0) {
      const now = performance.now();
      if (f.openUntil > now) {
        return new WasmBridgeError(CODES.CIRCUIT_OPEN, `${call.fn} failed ${f.streak} times in a row (panic or timeout); calls fail fast for ${Math.ceil(f.openUntil - now)} ms more`, { functionName: call.fn, callId: call.id });
      }
      // Half-open: let this call through; one more failure opens the circuit again.
      f.openUntil = 0;
      f.streak = this.#opts.breakerThreshold - 1;
    }
    // Latency is a sample: the clock is read for every SAMPLE_EVERY-th call of a function only.
    call.stats = f;
    call.fnIndex = entry.index;
    if (f.submitted++ % SAMPLE_EVERY === 0) call.t0 = performance.now();
    const args = call.args;
    const n = args.length;
    if (n < entry.required || n > entry.checks.length) {
      const params = entry.params;
      const expected = entry.required === params.length ? `${params.length}` : `${entry.required} to ${params.length}`;
      return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn} expects ${expected} argument${params.length === 1 ? '' : 's'} (${params.map((p) => p.name).join(', ')}), got ${n}`, { functionName: call.fn, callId: call.id });
    }
    try {
      let size = 0;
      let objects = false;
      let numbers = 0;
      for (let i = 0; i < n; i++) {
        const v = args[i];
        if (!entry.checks[i](v)) {
          const p = entry.params[i];
          const got = describeType(v);
          return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: argument ${p.name} must be ${p.type}, got ${got}`, { functionName: call.fn, callId: call.id, data: { parameter: p.name, expected: p.type, got } });
        }
        if (typeof v === 'string') size += v.length * 2;
        else if (v !== null && typeof v === 'object') objects = true;
        else {
          size += 8;
          if (typeof v === 'number') numbers += 1;
        }
      }
      if (numbers === n) call.packedFn = entry.index;
      const limit = this.#opts.maxArgBytes;
      if (objects) size = argBytes(args, limit);
      call.bytes = CALL_BYTES + size;
      if (size > limit) {
        return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: the arguments take more than ${limit} bytes (maxArgBytes), got at least ${size}`, { functionName: call.fn, callId: call.id });
      }
    } catch (err) {
      // A getter or a Proxy trap in an argument threw while it was inspected.
      return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: an argument could not be read: ${messageOf(err)}`, { functionName: call.fn, callId: call.id });
    }
    return null;
  }

  // ---- dispatch ----

  /**
   * The ready worker with the fewest calls in flight whose window still has
   * room for a call of `bytes` (`window` calls, `windowBytes` bytes; an idle
   * worker always has room); with `bytes` < 0, any ready worker. A window
   * that was full takes calls again only once it is half empty: refilled
   * in large chunks rather than a few calls per answer, a busy worker gets
   * fewer, larger messages, and each message costs the page about as much
   * as dozens of packed calls.
   */
  #leastBusy(bytes) {
    let best = null;
    const { window, windowBytes } = this.#opts;
    for (const s of this.#slots) {
      if (s.state !== 'ready' || s.exclusive) continue;
      const n = s.inflight.size + s.batched;
      if (bytes >= 0 && n > 0) {
        if (s.full) {
          if (s.bytes > windowBytes / 2) continue;
          s.full = false;
        }
        if (n >= window || s.bytes + bytes > windowBytes) {
          s.full = true;
          continue;
        }
      }
      if (!best || n < best.inflight.size + best.batched) best = s;
    }
    return best;
  }

  #pump() {
    if (!this.#started) return;
    while (this.#queue.length > 0) {
      const head = this.#queue.peek();
      const slot = this.#leastBusy(head.bytes);
      if (!slot || slot.inflight.size + slot.batched > 0) this.#grow();
      if (!slot) return;
      if (head instanceof Batch) {
        this.#giveSpan(head, slot);
        continue;
      }
      const call = this.#queue.shift();
      if (!call.settled) this.#dispatch(call, slot);
    }
  }

  /** A regular call joins the queue; this tick's batch, which it follows, takes no more calls. */
  #enqueue(call) {
    this.#open = null;
    this.#queue.push(call);
  }

  /**
   * Gives a worker the waiting calls at the head of a batch, as many as its
   * window takes (at least one: `#leastBusy` found room for that) and no more
   * than its fair share, as one Span; it leaves with the worker's other calls
   * of this tick (#flush). The fair share spreads a batch over the workers as
   * giving its calls one by one to the least busy worker would: every ready
   * worker ends with about the same number of calls in flight.
   */
  #giveSpan(batch, slot) {
    const { window, windowBytes } = this.#opts;
    const lo = batch.from;
    let k = lo;
    let bytes = batch.bytesOf(k);
    let load = slot.inflight.size + slot.batched + 1;
    let total = batch.count - lo;
    let workers = 0;
    for (const s of this.#slots) {
      if (s.state !== 'ready' || s.exclusive || (s !== slot && s.full)) continue;
      total += s.inflight.size + s.batched;
      workers += 1;
    }
    const share = Math.min(window, Math.ceil(total / Math.max(1, workers)));
    for (k += 1; k < batch.count && load < share; k++, load++) {
      const next = batch.bytesOf(k);
      if (slot.bytes + bytes + next > windowBytes) break;
      bytes += next;
    }
    this.#queue.grow(lo - k);
    batch.from = k;
    if (k === batch.count) {
      this.#queue.shift();
      if (this.#open === batch) this.#open = null;
    }
    const span = new Span(batch, lo, k);
    slot.spans.push(span);
    slot.batched += k - lo;
    slot.bytes += bytes;
    slot.outbox.push(span);
    if (slot.state === 'ready') this.#scheduleFlush();
  }

  /**
   * Gives a call to a worker. A new call (`fresh`: from `#submit`, not from
   * the queue) that finds the worker idle goes at once, alone, as one flat
   * message (`call`), unless it transfers buffers or has outputs: those leave the page at
   * the end of the tick as before, so calls of the same tick can still name
   * them. Otherwise the calls given to a worker in one tick are
   * coalesced into one `calls` message: while it has calls in flight, and
   * always for calls from the queue, which may share buffers that only one
   * message can carry (calls handed back after a trap). A starting worker (a
   * pinned handle's new one) gets its calls once ready.
   */
  #dispatch(call, slot, fresh = false) {
    call.slot = slot;
    const idle = fresh && !call.transfer && call.outputs === null && call.regions === null && slot.inflight.size + slot.batched === 0 && slot.outbox.length === 0;
    slot.inflight.set(call.id, call);
    slot.bytes += call.bytes;
    if (idle && slot.state === 'ready') {
      this.#postFlat(slot, call);
      return;
    }
    // A call of numbers only waits as itself: #flush packs it (#postPacked) instead of making a wire object.
    // A region call's wire form is made once the worker is ready: its regions move into that worker's memory.
    if (call.regions !== null) slot.outbox.push(slot.state === 'ready' ? this.#regionWire(call, slot) : toWire(call));
    else slot.outbox.push(call.packedFn >= 0 && !call.transfer && call.outputs === null ? call : toWire(call));
    // Calls handed back after a trap may share a buffer; a transfer list must name it once.
    if (call.transfer) for (const t of call.transfer) if (!slot.transfers.includes(t)) slot.transfers.push(t);
    if (slot.state === 'ready') this.#scheduleFlush();
  }

  /** Sends one call (without transfers) as its own flat message; a call whose arguments cannot be sent fails alone. */
  #postFlat(slot, call) {
    try {
      slot.worker.postMessage(callMessage(call.id, call.fnIndex, call.args, call.deadline));
    } catch (e) {
      this.#unwind(slot, call);
      this.#settle(call, false, new WasmBridgeError(CODES.BAD_ARGUMENT, `the arguments of ${call.fn} cannot be sent to a worker: ${messageOf(e)}`, { functionName: call.fn, callId: call.id }));
    }
  }

  #scheduleFlush() {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // A reaction of a settled promise rather than queueMicrotask: the same
    // queue, without a trip through the browser's bindings (lane.js, SETTLED).
    SETTLED.then(() => this.#flush());
  }

  /**
   * Sends each worker's calls of this tick, after giving the workers spans
   * of the batches this tick's calls joined: runs of calls of numbers only
   * and spans packed into one Float64Array each (`packed`), the others as one `calls`
   * message per run, in their order. With transferred buffers in the tick
   * every call goes as a wire object in one message, as calls that came back
   * from a trapped worker may share a buffer that only one message can carry.
   */
  #flush() {
    // Batches this tick's calls joined (#submitBatched) go to the workers now, as spans.
    if (this.#open !== null) this.#pump();
    this.#flushQueued = false;
    if (this.#fresh.length > 0) {
      // Their calls were all made before now, so this deadline is early for
      // none of them (and late by the tick at most); later calls start a batch of their own.
      const deadline = performance.timeOrigin + performance.now() + this.#opts.timeout;
      for (const batch of this.#fresh) {
        batch.deadline = deadline;
        this.#deadlines.add(batch);
      }
      this.#fresh = [];
      this.#open = null;
    }
    for (const slot of this.#slots) {
      if (slot.outbox.length === 0 || slot.state !== 'ready') continue;
      const items = slot.outbox;
      const transfers = slot.transfers;
      slot.outbox = [];
      slot.transfers = [];
      if (transfers.length > 0) {
        this.#postCalls(slot, items.flatMap((c) => (c instanceof Call ? [toWire(c)] : c instanceof Span ? this.#spanWire(c) : [c])), transfers);
        continue;
      }
      let from = 0;
      for (let i = 1; i <= items.length; i++) {
        if (i < items.length && packs(items[i]) === packs(items[from])) continue;
        const run = from === 0 && i === items.length ? items : items.slice(from, i);
        if (packs(items[from])) this.#postPacked(slot, run);
        else this.#postCalls(slot, run, transfers);
        from = i;
      }
    }
  }

  /** Sends wire calls as one `calls` message; when one cannot be sent, each goes alone and only it fails. */
  #postCalls(slot, calls, transfers) {
    try {
      slot.worker.postMessage(callsMessage(calls), transfers);
      if (transfers.length > 0) for (const wire of calls) this.#markSent(slot, wire);
    } catch {
      // An argument could not be cloned or transferred: fail exactly those calls.
      this.#sendOneByOne(slot, calls, transfers);
    }
  }

  /**
   * Sends calls of numbers only, and spans of batches (already in the packed
   * layout), as one transferred Float64Array (PackedCallsMessage).
   */
  #postPacked(slot, calls) {
    let length = 0;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i];
      length += c instanceof Span ? c.batch.at[c.hi] - c.batch.at[c.lo] : PACKED_HEADER + c.args.length;
    }
    const data = new Float64Array(length);
    let at = 0;
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i];
      if (call instanceof Span) {
        const { at: offsets, data: from } = call.batch;
        data.set(from.subarray(offsets[call.lo], offsets[call.hi]), at);
        at += offsets[call.hi] - offsets[call.lo];
        continue;
      }
      const args = call.args;
      const n = args.length;
      data[at] = call.id;
      data[at + 1] = call.packedFn;
      data[at + 2] = call.deadline;
      data[at + 3] = n;
      at += PACKED_HEADER;
      for (let j = 0; j < n; j++) data[at + j] = args[j];
      at += n;
    }
    slot.worker.postMessage(packedCallsMessage(data), [data.buffer]);
  }

  /** A span's calls as wire calls, for a message that must carry transferred buffers too. */
  #spanWire(span) {
    const b = span.batch;
    const wires = [];
    for (let k = span.lo; k < span.hi; k++) wires.push(wireCall(b.idOf(k), this.#entries[b.fnOf(k)].name, b.argsOf(k), 0, null));
    return wires;
  }

  /**
   * Sends what was given to a worker while it started (a pinned handle's
   * calls), less the calls abandoned meanwhile: sent, a stuck one would hold
   * the worker with no answer to start the watch that stops it.
   */
  #sendHeld(slot) {
    slot.outbox = slot.outbox.filter((wire) => {
      const call = slot.inflight.get(wire.id);
      if (!call?.settled) return true;
      this.#unwind(slot, call);
      return false;
    });
    slot.transfers = [...new Set(slot.outbox.flatMap((wire) => slot.inflight.get(wire.id)?.transfer ?? []))];
    if (slot.outbox.length > 0) this.#scheduleFlush();
  }

  /** A call whose buffers were transferred cannot be sent again once they are gone with its worker. */
  #markSent(slot, wire) {
    const call = slot.inflight.get(wire.id);
    if (call?.transfer) call.sent = true;
  }

  #sendOneByOne(slot, calls, transfers) {
    for (const wire of calls) {
      const call = slot.inflight.get(wire.id);
      const own = call?.transfer ? call.transfer.filter((t) => transfers.includes(t)) : [];
      try {
        slot.worker.postMessage(callsMessage([wire]), own);
        this.#markSent(slot, wire);
      } catch (e) {
        if (call) this.#unwind(slot, call);
        if (call) {
          this.#settle(call, false, new WasmBridgeError(CODES.BAD_ARGUMENT, `the arguments of ${wire.fn} cannot be sent to a worker: ${messageOf(e)}`, { functionName: wire.fn, callId: wire.id }));
        }
      }
    }
  }

  // ---- results ----

  #onMessage(slot, msg) {
    if (slot.state === 'dead') return;
    if (Array.isArray(msg)) {
      // One call's value (FLAT_VALUE), sent by a worker that had nothing else to report.
      this.#answer(slot, msg[FLAT_VALUE.ID], true, msg[FLAT_VALUE.VALUE], undefined);
      this.#answered(slot);
      return;
    }
    if (!msg || msg.wb !== PROTOCOL) return;
    switch (msg.kind) {
      case FROM_WORKER.RESULT:
        // One call's result, sent flat by a worker that had nothing else to report.
        this.#onResult(slot, msg);
        this.#answered(slot);
        break;
      case FROM_WORKER.PACKED_RESULTS: {
        const { ids, status, values, others } = msg;
        let k = 0;
        for (let i = 0; i < ids.length; i++) {
          const s = status[i];
          const ok = s !== PACKED_STATUS.ERROR;
          const value = s === PACKED_STATUS.NUMBER ? values[i] : others[k++];
          if (!this.#answerBatched(slot, ids[i], ok, value)) this.#answer(slot, ids[i], ok, value, undefined);
        }
        this.#answered(slot);
        break;
      }
      case FROM_WORKER.RESULTS: {
        for (const r of msg.results) this.#onResult(slot, r);
        if (msg.retired) {
          this.#onRetired(slot, msg.returned ?? []);
        } else {
          this.#watch(slot);
          if (slot.inflight.size + slot.batched === 0) this.#maybeIdle(slot);
        }
        this.#pump();
        break;
      }
      case FROM_WORKER.PROGRESS: {
        const call = slot.inflight.get(msg.id);
        if (call && !call.settled && call.onProgress) {
          try { call.onProgress(msg.fraction); } catch (err) { queueMicrotask(() => { throw err; }); }
        }
        break;
      }
      default:
        break;
    }
  }

  /** Takes a call out of what a worker holds, and out of its window. */
  #unwind(slot, call) {
    slot.inflight.delete(call.id);
    slot.bytes = slot.inflight.size + slot.batched === 0 ? 0 : slot.bytes - call.bytes;
  }

  /** After a worker's answers: the watchdog, an idle worker's timer, and the queue. */
  #answered(slot) {
    this.#watch(slot);
    if (slot.inflight.size + slot.batched === 0) this.#maybeIdle(slot);
    if (this.#queue.length > 0) this.#pump();
  }

  #onResult(slot, r) {
    this.#answer(slot, r.id, r.ok, r.ok ? r.value : r.error, r.outputs);
  }

  /**
   * A worker's answer to one call it was given: its value (and `outputs`)
   * when `ok`, else its WireError; an answer to a call abandoned meanwhile
   * only frees the worker.
   */
  #answer(slot, id, ok, value, outputs) {
    const call = slot.inflight.get(id);
    if (!call) {
      this.#answerBatched(slot, id, ok, value);
      return;
    }
    this.#unwind(slot, call);
    slot.calls += 1;
    if (!ok) slot.failures += 1;
    if (call.settled) return;
    if (ok) this.#settle(call, true, call.outputs === null ? value : { value, outputs });
    else this.#settle(call, false, new WasmBridgeError(value.code, value.message, { functionName: call.fn, data: value.data, callId: call.id }));
  }

  /**
   * A worker's answer to the next call of its first span (the worker runs
   * what it was given in order); false when `id` is not that call.
   */
  #answerBatched(slot, id, ok, value) {
    const span = slot.spans.length > 0 ? slot.spans[0] : null;
    if (span === null) return false;
    const batch = span.batch;
    const k = span.next;
    if (batch.idOf(k) !== id) return false;
    span.next = k + 1;
    if (span.next === span.hi) slot.spans.shift();
    slot.batched -= 1;
    slot.bytes = slot.inflight.size + slot.batched === 0 ? 0 : slot.bytes - batch.bytesOf(k);
    slot.calls += 1;
    if (ok) {
      this.#settleBatched(batch, k, true, value);
    } else {
      slot.failures += 1;
      const fn = this.#entries[batch.fnOf(k)].name;
      this.#settleBatched(batch, k, false, new WasmBridgeError(value.code, value.message, { functionName: fn, data: value.data, callId: id }));
    }
    return true;
  }

  /** Settles call `k` of a batch, once, counted in its function's figures as `#settle` counts a call. */
  #settleBatched(batch, k, ok, value) {
    const resolve = batch.resolves[k];
    if (resolve === null) return;
    const reject = batch.rejects[k];
    batch.resolves[k] = null;
    batch.rejects[k] = null;
    this.#batched -= 1;
    this.#leftBatch(batch);
    this.#count(this.#entries[batch.fnOf(k)].stats, ok, value, batch.sample === k ? batch.t0 : -1);
    if (ok) resolve(value);
    else reject(value);
  }

  #settle(call, ok, value) {
    if (call.settled) return;
    call.settled = true;
    this.#pending.delete(call.id);
    if (call.watched) {
      call.watched = false;
      this.#deadlines.settle();
    }
    if (call.abort) REMOVE_LISTENER.call(call.signal, 'abort', call.abort);
    this.#count(call.stats ?? this.#statsFor(call.fn), ok, value, call.t0);
    if (ok) call.resolve(value);
    else call.reject(value);
  }

  /**
   * Counts a settled call in its function's figures `f`: its latency when it
   * was sampled (`t0` ≥ 0), its error, and the circuit breaker's streak.
   */
  #count(f, ok, value, t0) {
    if (t0 >= 0) {
      const latency = performance.now() - t0;
      f.latencies[f.sampled % LATENCY_SAMPLES] = latency;
      f.sampled += 1;
      f.fast = latency < FAST_CALL_MS;
    }
    f.count += 1;
    if (ok) {
      f.streak = 0;
      return;
    }
    f.errors[value.code] = (f.errors[value.code] ?? 0) + 1;
    if (value.code === CODES.PANIC || value.code === CODES.TIMEOUT) {
      f.streak += 1;
      if (f.streak >= this.#opts.breakerThreshold) f.openUntil = performance.now() + this.#opts.breakerCooldown;
    } else if (value.code !== CODES.CIRCUIT_OPEN) {
      f.streak = 0;
    }
  }

  #statsFor(fn) {
    let f = this.#fnStats.get(fn);
    if (!f) {
      f = { count: 0, submitted: 0, sampled: 0, errors: {}, latencies: new Float64Array(LATENCY_SAMPLES), streak: 0, openUntil: 0, fast: false };
      this.#fnStats.set(fn, f);
    }
    return f;
  }

  // ---- timeouts, cancellation, recycling ----

  #expire(call) {
    if (call.settled) return;
    if (!call.slot) this.#queue.remove(call);
    this.#settle(call, false, new WasmBridgeError(CODES.TIMEOUT, `${call.fn} did not finish within ${call.timeout} ms`, { functionName: call.fn, callId: call.id }));
    if (call.slot) {
      call.slot.abandoned = true;
      this.#watch(call.slot);
    } else call.lane?.abandon(call);
  }

  #cancel(call) {
    if (call.settled) return;
    if (!call.slot) this.#queue.remove(call);
    this.#settle(call, false, new WasmBridgeError(CODES.CANCELLED, `${call.fn} was cancelled`, { functionName: call.fn, callId: call.id }));
    if (call.slot) {
      call.slot.abandoned = true;
      this.#watch(call.slot);
    } else call.lane?.abandon(call);
  }

  /**
   * Watches a worker that holds abandoned calls (timed out or cancelled while
   * dispatched) until none is left (supervisor.js's Watchdog, set up in
   * #spawn). The running call is read from the control block when the page
   * is isolated (the worker writes the running id there), else it is the
   * first unanswered call (the worker runs calls in order and, without a
   * control block, reports each result before it starts the next call).
   */
  #watch(slot) {
    slot.watchdog.watch();
  }

  /** Stops a worker stuck in an abandoned call; calls queued behind it run elsewhere. */
  #recycle(slot, culprit) {
    this.#unbatch(slot);
    const behind = [...slot.inflight.values()].filter((c) => c !== culprit && !c.settled);
    this.#stopSlot(slot);
    this.#requeue(behind, slot, null);
    this.#replace(slot);
    this.#pump();
  }

  /**
   * Calls that a stopped worker had not started go back to the queue, in
   * order, ahead of every call made after them, and run elsewhere; a pinned handle's go to `successor`
   * (the worker that took a trapped one's place) or fail with WORKER_LOST.
   * A call whose buffers went to that worker (`transfer`) cannot be sent
   * again: it fails with WORKER_LOST saying so.
   */
  #requeue(calls, slot, successor) {
    const back = [];
    for (const c of calls) {
      if (c.settled) continue;
      c.slot = null;
      if (c.sent) {
        this.#settle(c, false, new WasmBridgeError(CODES.WORKER_LOST, `worker ${slot.id} was stopped before ${c.fn} started, holding the buffers the call transferred; it cannot be sent again`, { functionName: c.fn, callId: c.id }));
      } else if (c.pinned) {
        if (successor && successor.state !== 'dead') this.#dispatch(c, successor);
        else this.#settle(c, false, this.#lostError(c, slot));
      } else {
        back.push(c);
      }
    }
    if (back.length > 0) this.#queue.putBack(back);
  }

  /**
   * Turns the unanswered calls of a worker's spans into Call records in its
   * `inflight`, in id order with the calls there, before anything out of the
   * ordinary (a trap, a loss, a stuck call, close) walks what the worker
   * holds: from then on they take the ordinary path, with every promise it
   * keeps. A span still in the outbox goes as its calls.
   */
  #unbatch(slot) {
    if (slot.spans.length === 0) return;
    const calls = [...slot.inflight.values()];
    for (const span of slot.spans) {
      for (let k = span.next; k < span.hi; k++) {
        const call = this.#callOf(span.batch, k);
        if (call === null) continue;
        call.slot = slot;
        calls.push(call);
      }
    }
    slot.spans = [];
    slot.batched = 0;
    calls.sort((a, b) => a.id - b.id);
    slot.inflight = new Map(calls.map((c) => [c.id, c]));
    slot.outbox = slot.outbox.flatMap((item) => (item instanceof Span ? this.#spanWire(item) : [item]));
  }

  /** The same for the batches waiting in the queue: their calls wait there as Call records. */
  #unbatchQueue() {
    this.#open = null;
    const waiting = [...this.#queue];
    if (!waiting.some((x) => x instanceof Batch)) return;
    this.#queue.clear();
    for (const item of waiting) {
      if (!(item instanceof Batch)) {
        this.#queue.push(item);
        continue;
      }
      for (let k = item.from; k < item.count; k++) {
        const call = this.#callOf(item, k);
        if (call !== null) this.#queue.push(call);
      }
    }
  }

  /** Call `k` of a batch as a Call record with its settle functions, registered in `#pending`; null once settled. */
  #callOf(batch, k) {
    const resolve = batch.resolves[k];
    if (resolve === null) return null;
    const entry = this.#entries[batch.fnOf(k)];
    const call = new Call(entry.name, batch.argsOf(k), 0, null, false, null, null);
    call.id = batch.idOf(k);
    call.resolve = resolve;
    call.reject = batch.rejects[k];
    batch.resolves[k] = null;
    batch.rejects[k] = null;
    call.stats = entry.stats;
    call.fnIndex = entry.index;
    call.packedFn = entry.index;
    call.bytes = batch.bytesOf(k);
    if (batch.sample === k) call.t0 = batch.t0;
    this.#batched -= 1;
    this.#leftBatch(batch);
    this.#pending.set(call.id, call);
    if (batch.deadline !== 0) {
      // The record keeps the batch's deadline: one already passed expires at once.
      call.timeout = this.#opts.timeout;
      call.deadline = batch.deadline;
      this.#deadlines.add(call);
    }
    return call;
  }

  /** One call of `batch` settled or became a record. */
  #leftBatch(batch) {
    batch.unsettled -= 1;
    if (batch.unsettled === 0 && batch.watched) {
      batch.watched = false;
      this.#deadlines.settle();
    }
  }

  /**
   * A batch's deadline passed: what is left of it becomes call records (in
   * the workers that hold spans of it, and in the queue), which carry the
   * deadline and so expire through the same heap, as calls made one by one would.
   */
  #expireBatch(batch) {
    for (const slot of [...this.#slots, ...this.#retiring]) {
      if (slot.spans.some((span) => span.batch === batch)) this.#unbatch(slot);
    }
    if (batch.from < batch.count) this.#unbatchQueue();
  }

  #lostError(call, slot) {
    return new WasmBridgeError(CODES.WORKER_LOST, `worker ${slot.id} was lost while ${call.fn} was in flight`, { functionName: call.fn, callId: call.id });
  }

  /**
   * The worker's instance trapped (worker.js): it answered the call that
   * trapped and hands back, with their buffers, the calls it had not started
   * (now and for any message that crossed this one). A fresh worker takes its
   * place, its pins and its figures at once; the old one is stopped as soon as
   * nothing it was given is unaccounted for.
   */
  #onRetired(slot, returned) {
    this.#unbatch(slot);
    let successor = slot.successor ?? null;
    if (slot.state === 'ready') {
      slot.state = 'retiring';
      slot.watchdog.stop();
      clearTimeout(slot.idleTimer);
      this.#retiring.add(slot);
      const at = this.#slots.indexOf(slot);
      if (at >= 0 && !this.#closed) {
        successor = this.#spawn(at);
        Object.assign(successor, {
          exclusive: slot.exclusive, pins: slot.pins, calls: slot.calls, failures: slot.failures, restarts: slot.restarts + 1,
        });
        slot.successor = successor;
      }
    }
    const back = [];
    for (const wire of returned) {
      const call = slot.inflight.get(wire.id);
      if (!call) continue;
      slot.inflight.delete(wire.id);
      if (call.settled) continue;
      // Run it with the copies that came back: a buffer the call (or another
      // call of the same message) transferred is detached on the page now.
      call.args = wire.args;
      if (call.transfer) call.transfer = wire.transfer;
      call.sent = false;
      back.push(call);
    }
    this.#requeue(back, slot, successor);
    if (slot.inflight.size === 0) this.#forget(slot);
  }

  /** Stops a retired worker once every call given to it came back or was answered. */
  #forget(slot) {
    this.#retiring.delete(slot);
    if (slot.state !== 'dead') this.#stopSlot(slot);
  }

  /** A started worker died on its own (supervisor.js tells, or a thread of it trapped): everything it held is lost. */
  #onLost(slot, why) {
    if (slot.state === 'dead' || this.#closed) return;
    const retiring = slot.state === 'retiring';
    this.#unbatch(slot);
    const calls = [...slot.inflight.values()];
    this.#stopSlot(slot);
    if (retiring) {
      // A retired worker starts nothing: what it still held never ran.
      this.#retiring.delete(slot);
      this.#requeue(calls, slot, slot.successor);
    } else {
      for (const c of calls) {
        if (!c.settled) this.#settle(c, false, lostCallError(`worker ${slot.id}`, why, c));
      }
      this.#replace(slot);
    }
    this.#pump();
  }

  #stopSlot(slot) {
    slot.state = 'dead';
    slot.watchdog.stop();
    clearTimeout(slot.idleTimer);
    slot.threads?.close();
    slot.sup.stop();
  }

  /** Stops every worker; one still starting rejects its readiness with `error` at once. */
  #stopAll(error) {
    for (const s of [...this.#slots, ...this.#retiring]) {
      if (s.state === 'starting') s.sup.fail(error);
      else if (s.state !== 'dead') this.#stopSlot(s);
    }
    this.#slots = [];
    this.#retiring.clear();
  }

  // ---- workers ----

  async #start() {
    try {
      const bundle = bundleUrl(this.#opts.bundle);
      this.#workerUrl = this.#opts.workerUrl ? new URL(this.#opts.workerUrl, globalThis.location?.href).href : '';
      // The manifest inlined with the runtime (or passed in) needs no request;
      // else manifest.json's request goes out first: it costs the page almost
      // nothing.
      const known = knownManifest(this.#opts.manifest, bundle);
      const manifestFetch = known ? null : fetchManifest(new URL('manifest.json', bundle));
      manifestFetch?.catch(() => {}); // awaited below; until then a failure must not count as unhandled
      // The first workers start now, before anything else: a worker takes
      // the longest to start (a fresh thread and isolate, its script), and in
      // a fresh context compiling the module beside it slows that down, so it
      // gets a head start. Each gets its init message once the manifest is
      // known and the page has checked the glue, and the module when it is
      // compiled.
      const first = Array.from({ length: this.#opts.minSize }, () => this.#spawn());
      // The fast lane's page half is only needed on an isolated page; it loads
      // while the guest does, so fastCall can use it from the first call. Its
      // codec is asked for alongside, not after lane.js arrives.
      const laneModule = this.#isolated ? import('./lane.js') : null;
      laneModule?.catch(() => {});
      if (laneModule) import('./lane-codec.js').catch(() => {}); // a failure shows through lane.js's own import
      const { manifest, source } = known ?? await /** @type {Promise<any>} */ (manifestFetch).catch((err) => {
        if (this.#opts.bundle !== undefined) throw err;
        throw new WasmBridgeError(CODES.INIT_FAILED, `${err.message}; without a bundle option the guest is looked for next to the runtime, so when the runtime is bundled or installed from npm pass one: createPool({ bundle: '/wasm/' })`);
      });
      // From here on the manifest's glue and wasm are those of the module that runs.
      this.#choice = chooseModule(manifest, this.#opts.threads, this.#isolated);
      this.#manifest = { ...manifest, glue: this.#choice.glue, wasm: this.#choice.wasm };
      for (const f of manifest.functions) {
        const entry = compileFunction(f, this.#entries.length);
        this.#functions.set(f.name, entry);
        this.#entries.push(entry);
      }
      this.#glueUrl = new URL(this.#manifest.glue, bundle).href;
      const compiled = compileModule(new URL(this.#manifest.wasm, bundle), this.#manifest, source, this.#opts.onLoadProgress);
      compiled.catch(() => {}); // awaited below
      const glueChecked = checkGlue(this.#glueUrl, this.#manifest.files?.[this.#manifest.glue]?.integrity ?? null, source);
      // threads.js only when the threaded module runs: other pools never load it.
      if (this.#choice.threads > 0) this.#threadsModule = await import('./threads.js');
      if (this.#closed) throw new WasmBridgeError(CODES.POOL_CLOSED, 'the pool was closed while it started');
      // Once the page has checked the glue, the first workers import it
      // without checking it again, while the module compiles.
      const inits = glueChecked.then(() => {
        if (this.#closed) return;
        for (const slot of first) if (slot.state === 'starting') this.#sendInit(slot, true);
      });
      inits.catch(() => {}); // awaited below
      this.#module = await compiled;
      await inits;
      if (this.#closed) throw new WasmBridgeError(CODES.POOL_CLOSED, 'the pool was closed while it started');
      for (const slot of this.#slots) {
        if (slot.state !== 'starting' || slot.hasModule) continue;
        slot.worker.postMessage(moduleMessage(this.#module));
        slot.hasModule = true;
        slot.sup.armInit();
      }
      this.#laneModule = laneModule ? await laneModule : null;
      this.#autoLane = this.#laneModule !== null && this.#opts.lane && this.#opts.maxSize > 1;
      const waits = first.map((slot) => this.#whenReady(slot));
      if (this.#opts.readyOn === 'first') {
        // The others join as they become ready; once the pool has started, a
        // worker that fails to start is handled like any later one (#startFailed).
        for (const w of waits) w.catch(() => {});
        await Promise.any(waits).catch((err) => { throw err.errors[0]; });
      } else {
        await Promise.all(waits);
      }
      this.#started = true;
      for (const call of [...this.#queue]) {
        const problem = this.#validate(call);
        if (problem) { this.#queue.remove(call); this.#settle(call, false, problem); }
      }
      this.#pump();
      return this;
    } catch (err) {
      // close() already settled every call and stopped every worker.
      if (this.#closed) throw new WasmBridgeError(CODES.POOL_CLOSED, 'the pool was closed before it was ready');
      this.#failed = err instanceof WasmBridgeError && err.code === CODES.INIT_FAILED
        ? err : new WasmBridgeError(CODES.INIT_FAILED, `the pool failed to start: ${messageOf(err)}`);
      this.#unbatchQueue();
      for (const c of [...this.#pending.values()]) this.#settle(c, false, this.#failed);
      this.#queue.clear();
      this.#stopAll(this.#failed);
      throw this.#failed;
    }
  }

  /**
   * Waits until `slot` is ready. A worker lost while it starts (killed from
   * outside, say) is no fault of the guest: another takes its place and is
   * waited for. A guest that fails to start rejects.
   */
  async #whenReady(slot) {
    for (;;) {
      try {
        return await slot.readyPromise;
      } catch (err) {
        if (err?.code !== CODES.WORKER_LOST || this.#closed || this.#failed || this.#started) throw err;
        slot = this.#spawn(this.#slots.indexOf(slot));
      }
    }
  }

  /** Starts a worker (supervisor.js) in place `at` of the list, or at its end. */
  #spawn(at = -1) {
    const id = this.#nextWorkerId++;
    const control = this.#isolated ? new Int32Array(new SharedArrayBuffer(CONTROL.SLOTS * 4)) : null;
    const slot = {
      id, worker: /** @type {Worker} */ (/** @type {unknown} */ (null)), sup: /** @type {Supervised} */ (/** @type {unknown} */ (null)), lock: `wasmbridge/${this.#poolId}/${id}`,
      control, state: 'starting', inflight: new Map(), outbox: [], transfers: [], spans: [], batched: 0, bytes: 0, full: false, abandoned: false,
      calls: 0, failures: 0, restarts: 0, pins: 0, exclusive: false, successor: null,
      watchdog: /** @type {Watchdog} */ (/** @type {unknown} */ (null)), idleTimer: 0, idleSince: 0, readyPromise: null, hasModule: false, threads: null,
    };
    slot.sup = this.#supervise(`wasmbridge-${id}`, slot.lock, {
      message: (msg) => this.#onMessage(slot, msg),
      ready: (msg) => this.#onReady(slot, msg),
      // The supervisor stopped the worker already; the slot follows.
      startFailed: () => { if (slot.state !== 'dead') this.#stopSlot(slot); },
      lost: (why) => this.#onLost(slot, why),
    });
    slot.worker = slot.sup.worker;
    slot.watchdog = new Watchdog(this.#opts.cancelGrace, {
      // The calls in flight are searched only while `slot.abandoned` says one
      // may be among them (set when one is abandoned, cleared when a search
      // finds none), so a worker's answers cost no walk over its window.
      abandoned: () => {
        let abandoned = false;
        if (slot.abandoned) for (const c of slot.inflight.values()) if (c.settled) { abandoned = true; break; }
        slot.abandoned = abandoned;
        return abandoned && slot.state === 'ready';
      },
      running: () => {
        let id = slot.control ? Atomics.load(slot.control, CONTROL.RUNNING) : slot.inflight.keys().next().value;
        // Without a control block, an unanswered batched call older than every call in `inflight` is the one running.
        if (!slot.control && slot.spans.length > 0 && slot.spans[0].batch.idOf(slot.spans[0].next) < id) id = 0;
        return slot.inflight.get(id);
      },
      control: () => slot.control,
      stuck: (call) => this.#recycle(slot, call),
    });
    slot.readyPromise = slot.sup.ready.then(() => slot);
    slot.readyPromise.catch((err) => this.#startFailed(slot, err));
    // While the pool starts, #start sends the init message once the manifest is in.
    if (this.#manifest) this.#sendInit(slot);
    if (at >= 0) this.#slots[at] = slot;
    else this.#slots.push(slot);
    return slot;
  }

  /** A worker of this pool (the lane's too), supervised from its start (supervisor.js). */
  #supervise(name, lock, hooks) {
    return new Supervised({ createWorker: this.#opts.createWorker, workerUrl: this.#workerUrl, name, lock, initTimeout: this.#opts.initTimeout, hooks });
  }

  /** @param {{ memory?: WebAssembly.Memory }} msg the worker's `ready` */
  #onReady(slot, msg) {
    slot.state = 'ready';
    if (msg.memory) {
      this.#regionHeaps.set(slot, new RegionHeap(msg.memory, this.#opts.memoryLimit));
      // Region calls held while it started: their regions move into its memory now.
      slot.outbox = slot.outbox.map((wire) => {
        const call = slot.inflight.get(wire.id);
        return call?.regions ? this.#regionWire(call, slot) : wire;
      });
    }
    this.#startFailures.succeeded();
    this.#sendHeld(slot);
    this.#pump();
  }

  /**
   * A worker that never became ready. Calls given to it while it started (a
   * pinned handle's) never left the page. Before the pool is ready, #start
   * decides (#whenReady); after, a lost worker is replaced, and a guest that
   * fails to start counts toward the give-up cap.
   */
  #startFailed(slot, err) {
    const calls = [...slot.inflight.values()];
    slot.inflight.clear();
    this.#requeue(calls, slot, null);
    const at = this.#slots.indexOf(slot);
    if (this.#closed || (slot.exclusive && !slot.pins)) {
      if (at >= 0) this.#slots.splice(at, 1);
      return;
    }
    if (!this.#started) return;
    if (this.#startFailures.failed(err)) {
      if (at >= 0) this.#slots.splice(at, 1);
      this.#failed = gaveUpError(err);
      this.#unbatchQueue();
      for (const c of [...this.#pending.values()]) if (!c.slot && !c.lane) this.#settle(c, false, this.#failed);
      this.#queue.clear();
      return;
    }
    this.#replace(slot);
    this.#pump();
  }

  /**
   * Sends a pool worker its init message, with the module when it is compiled
   * (else #start sends it later). A threaded module's pool worker also gets the
   * channel its threads report on.
   */
  #sendInit(slot, glueChecked = false) {
    const threadChannel = this.#choice?.threads ? `${slot.lock}/threads` : null;
    if (threadChannel && !slot.threads) slot.threads = /** @type {typeof import('./threads.js')} */ (this.#threadsModule).listenToThreads(threadChannel, (msg) => this.#onThreadMessage(slot, msg));
    slot.worker.postMessage(this.#initMessage(slot.control ? slot.control.buffer : null, slot.sup.lock, null, threadChannel, glueChecked));
    if (this.#module) {
      slot.hasModule = true;
      slot.sup.armInit();
    }
  }

  /**
   * The init message of every worker, the lane's included (`lane` is its
   * buffer). Only a pool worker given a `threadChannel` starts threads: the
   * lane's worker runs a threaded module's rayon work on its own thread.
   */
  #initMessage(control, lock, lane = null, threadChannel = null, glueChecked = false) {
    return initMessage({
      module: this.#module, glue: this.#glueUrl, glueIntegrity: glueChecked ? null : this.#manifest.files?.[this.#manifest.glue]?.integrity ?? null,
      functions: [...this.#functions.keys()], control, lock, memoryLimit: this.#opts.memoryLimit, lane,
      threads: threadChannel ? this.#choice?.threads ?? 0 : 0, threadChannel,
    });
  }

  /**
   * What a pool worker's thread workers post (threads.js): progress of the
   * running call, or a trap. A trap leaves the pool worker blocked for ever
   * in the rayon job it waits for, so the call it runs fails with PANIC (the
   * panic hook's text when there was a panic) and the pool worker, with all
   * its threads, is replaced; the calls behind it run elsewhere.
   */
  #onThreadMessage(slot, msg) {
    if (msg.kind === FROM_WORKER.PROGRESS) {
      this.#onMessage(slot, msg);
      return;
    }
    if (msg.kind !== THREAD.TRAPPED || slot.state === 'dead') return;
    const why = msg.panic ? `panicked in a thread: ${msg.panic}` : `trapped in a thread: ${msg.error}`;
    if (slot.state === 'starting') {
      slot.sup.fail(new WasmBridgeError(CODES.INIT_FAILED, `the guest failed to start: it ${why}`));
      return;
    }
    this.#unbatch(slot);
    const running = slot.control ? slot.inflight.get(Atomics.load(slot.control, CONTROL.RUNNING)) : undefined;
    slot.failures += 1;
    if (running && !running.settled) {
      this.#unwind(slot, running);
      this.#settle(running, false, new WasmBridgeError(CODES.PANIC, `${running.fn} ${why}`, { functionName: running.fn, callId: running.id }));
    }
    if (slot.state === 'retiring') this.#onLost(slot, why);
    else this.#recycle(slot, running);
  }

  /** Starts a worker in place of a dead one, unless the pool can shrink instead. */
  #replace(dead) {
    const at = this.#slots.indexOf(dead);
    if (at < 0 || this.#closed) return;
    // An exclusive pin's own worker is not replaced: its handle reports the loss.
    if (dead.exclusive) { this.#slots.splice(at, 1); return; }
    // Exclusive pins' workers are beyond the pool's size: they do not count.
    const live = this.#slots.filter((s) => s.state !== 'dead' && !s.exclusive).length;
    if (live >= this.#opts.minSize && this.#queue.length === 0 && dead.pins === 0) {
      this.#slots.splice(at, 1);
      return;
    }
    const slot = this.#spawn(at);
    slot.restarts = dead.restarts + 1;
  }

  /** Called for every call that finds no idle worker, so it allocates nothing. */
  #grow() {
    if (this.#closed) return;
    // Dead slots still listed are about to be replaced: they count as workers here.
    let workers = 0;
    for (const s of this.#slots) {
      if (s.state === 'starting') return;
      if (!s.exclusive) workers += 1;
    }
    if (workers < this.#opts.maxSize) this.#spawn();
  }

  /** Stops the worker of a released exclusive pin; its unfinished calls are lost. */
  #release(slot) {
    const calls = [...slot.inflight.values()];
    if (slot.state !== 'dead') this.#stopSlot(slot);
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
    for (const c of calls) if (!c.settled) this.#settle(c, false, this.#lostError(c, slot));
  }

  /** The fast lane, started on first use; its calls are settled here, through #settle. */
  #laneFor() {
    this.#lane ??= new this.#laneModule.Lane({
      spawn: (lane, control, lock, hooks) => {
        const sup = this.#supervise('wasmbridge-lane', lock, hooks);
        sup.worker.postMessage(this.#initMessage(control, sup.lock, lane));
        sup.armInit();
        return sup;
      },
      settle: (call, ok, value) => this.#settle(call, ok, value),
      // The lane could not start: run the call the normal way.
      fallback: (call) => { call.lane = null; this.#enqueue(call); this.#pump(); },
      lockPrefix: `wasmbridge/${this.#poolId}/lane`,
      cancelGrace: this.#opts.cancelGrace,
    });
    return this.#lane;
  }

  /**
   * A worker above `minSize` that stays idle for `idleTimeout` is stopped. A
   * worker going idle only notes when; its one timer is not reset per call
   * (a setTimeout and its clearTimeout cost as much as the rest of a call's
   * page side), but checks when it fires and waits for what is left.
   */
  #maybeIdle(slot) {
    if (this.#opts.minSize === this.#opts.maxSize || slot.pins > 0 || this.#opts.idleTimeout === 0) return;
    slot.idleSince = performance.now();
    if (!slot.idleTimer) slot.idleTimer = setTimeout(() => this.#idleCheck(slot), this.#opts.idleTimeout);
  }

  #idleCheck(slot) {
    slot.idleTimer = 0;
    // A worker busy now arms its timer again when it next goes idle.
    if (slot.state !== 'ready' || slot.inflight.size + slot.batched > 0 || slot.pins > 0) return;
    const left = slot.idleSince + this.#opts.idleTimeout - performance.now();
    if (left > 0) {
      slot.idleTimer = setTimeout(() => this.#idleCheck(slot), left);
      return;
    }
    const live = this.#slots.filter((s) => s.state === 'ready' && !s.exclusive).length;
    if (live > this.#opts.minSize) {
      this.#stopSlot(slot);
      this.#slots.splice(this.#slots.indexOf(slot), 1);
    }
  }
}

/**
 * The bundle directory (where manifest.json, the glue and the .wasm are), as a
 * URL ending in `/`: the `bundle` option (a path like '/wasm/' resolved against
 * the page, or a URL such as `new URL('./wasm/', import.meta.url)`), or by
 * default the directory this file was loaded from, which is the bundle itself
 * when a page imports the runtime that `wasmbridge build` put there.
 * @param {string | URL | undefined} option
 */
function bundleUrl(option) {
  // Through a variable: bundlers treat `new URL('<literal>', import.meta.url)`
  // as a file to emit, and this is a directory.
  const here = import.meta.url;
  const runtimeDir = new URL('./', here);
  const url = new URL(option ?? runtimeDir, globalThis.location?.href ?? runtimeDir);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Starts a pool and waits until it is ready; rejects with INIT_FAILED when it cannot start, BAD_ARGUMENT for a bad option. */
export async function createPool(options) {
  const pool = new Pool(options);
  try {
    return await pool.ready;
  } catch (err) {
    pool.close();
    throw err;
  }
}

/** Whether #flush sends an item of a worker's outbox packed: a call of numbers only, or a span of a batch. */
const packs = (item) => item instanceof Call || item instanceof Span;

/**
 * The wire form of a call that does not travel packed.
 * @returns {import('./protocol.js').WireCall}
 */
const toWire = (call) => wireCall(call.id, call.fn, call.args, call.deadline, call.outputs);
