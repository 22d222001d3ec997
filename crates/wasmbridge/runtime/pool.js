// The pool: loads the manifest, compiles the module once, starts workers and
// dispatches calls to them. Every call settles exactly once: with its result,
// or with a WasmBridgeError whose code says why not. Only this file talks to
// workers; the worker never decides anything about the pool.

import { PROTOCOL, FROM_WORKER, CODES, CONTROL, initMessage, callsMessage, wireCall } from './protocol.js';
import { WasmBridgeError } from './error.js';
import { Lane, laneRequestSize } from './lane.js';
import { SharedRegion, regionArgs } from './shared.js';

const DEFAULTS = Object.freeze({
  /** Calls sent to one worker before it answers; more wait in the pool's queue. */
  window: 64,
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

const LATENCY_SAMPLES = 512;

/** Options for one call; see wasmbridge.d.ts. @typedef {import('./wasmbridge.d.ts').CallOptions} CallOptions */

class Deque {
  constructor() { this.items = []; this.head = 0; }
  get length() { return this.items.length - this.head; }
  push(x) { this.items.push(x); }
  unshift(x) {
    if (this.head > 0) this.items[--this.head] = x;
    else this.items.unshift(x);
  }
  shift() {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  remove(x) {
    const i = this.items.indexOf(x, this.head);
    if (i >= 0) this.items.splice(i, 1);
  }
  *[Symbol.iterator]() { for (let i = this.head; i < this.items.length; i++) yield this.items[i]; }
  clear() { this.items = []; this.head = 0; }
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
  #queue = new Deque();
  /** @type {Map<number, any>} */ #pending = new Map();
  #nextId = 1;
  #poolId = Math.random().toString(36).slice(2);
  #nextWorkerId = 1;
  #closed = false;
  #started = false;
  #failed = null;
  #flushQueued = false;
  #respawnFailures = 0;
  /** @type {Map<string, any>} */ #fnStats = new Map();
  #isolated = typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true;
  #api = null;
  /** @type {Lane | null} the fast lane (lane.js), started by the first fastCall */
  #lane = null;

  /**
   * Starts loading at once; calls made before it is ready are queued.
   * @param {import('./wasmbridge.d.ts').PoolOptions} [options]
   */
  constructor(options = {}) {
    const size = options.size ?? Math.min(globalThis.navigator?.hardwareConcurrency || 2, 4);
    const minSize = options.minSize ?? size;
    const maxSize = options.maxSize ?? Math.max(size, minSize);
    if (!(Number.isInteger(minSize) && Number.isInteger(maxSize) && minSize >= 1 && maxSize >= minSize)) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `pool size must be whole numbers with 1 ≤ minSize ≤ maxSize, got minSize ${minSize} and maxSize ${maxSize}`);
    }
    this.#opts = {
      ...DEFAULTS, ...options, minSize, maxSize,
      maxQueue: options.maxQueue ?? Infinity, timeout: options.timeout ?? 0, maxArgBytes: options.maxArgBytes ?? 256 * 1024 * 1024,
    };
    /** Resolves with the pool once every initial worker is ready; rejects with INIT_FAILED. */
    this.ready = this.#start();
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
   * `call(name, ...args)`, or `call({ fn, args, timeout, signal, transfer, onProgress })`.
   * @returns {Promise<any>}
   */
  call(nameOrOptions, ...args) {
    const spec = typeof nameOrOptions === 'string' ? { fn: nameOrOptions, args } : nameOrOptions;
    return this.#submit(spec, null);
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
    const spec = typeof nameOrOptions === 'string' ? { fn: nameOrOptions, args } : nameOrOptions;
    const fits = this.#isolated && this.#started && !this.#closed && !spec?.transfer && !spec?.onProgress && this.#lane?.usable !== false;
    const size = fits ? laneRequestSize(spec?.fn, spec?.args ?? []) : -1;
    return this.#submit(spec, null, false, size);
  }

  /**
   * A SharedArrayBuffer region that calls read and write without copying it
   * through postMessage: pass the region, or `region.view(offset, length)`,
   * as an argument and the guest receives a Uint8Array view of it. Throws
   * NOT_ISOLATED when the page is not cross-origin isolated. See shared.js.
   * @param {number} byteLength
   */
  shared(byteLength) {
    this.#checkOpen();
    return new SharedRegion(byteLength);
  }

  /**
   * Runs many calls, sent as one message per worker. Resolves, in order, with
   * `{ ok: true, value }` or `{ ok: false, error }` for each; it never rejects
   * for a single call's failure.
   * @param {Array<[string, ...any[]] | { fn: string, args?: any[] }>} calls
   * @param {{ timeout?: number, signal?: AbortSignal }} [options]
   */
  async batch(calls, options = {}) {
    if (!Array.isArray(calls)) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `batch expects an array of calls, got ${typeof calls}`);
    }
    const promises = calls.map((c) => {
      const spec = Array.isArray(c) ? { fn: c[0], args: c.slice(1) } : { ...c };
      return this.#submit({ ...spec, timeout: spec.timeout ?? options.timeout, signal: spec.signal ?? options.signal }, null, true)
        .then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
    });
    return Promise.all(promises);
  }

  /**
   * A handle whose calls all run on one worker, for guests that keep state.
   * If that worker is lost, the handle's calls reject with WORKER_LOST.
   * `{ exclusive: true }` starts a worker of its own for the handle, beyond
   * the pool's size, that gets no other calls (for calls that run until
   * cancelled, such as a stream); `release()` stops it, and calls of the
   * handle still running then reject with WORKER_LOST.
   * @param {{ exclusive?: boolean }} [options]
   */
  async pin(options = {}) {
    await this.ready;
    this.#checkOpen();
    let slot;
    if (options.exclusive) {
      slot = this.#spawn();
      slot.exclusive = true;
      try {
        await slot.readyPromise;
        this.#checkOpen();
      } catch (err) {
        this.#retire(slot);
        throw err;
      }
    } else {
      slot = this.#leastBusy(Infinity);
    }
    if (!slot) throw new WasmBridgeError(CODES.WORKER_LOST, 'no live worker to pin');
    slot.pins += 1;
    const pool = this;
    let released = false;
    return {
      workerId: slot.id,
      get lost() { return slot.state === 'dead'; },
      call(nameOrOptions, ...args) {
        const spec = typeof nameOrOptions === 'string' ? { fn: nameOrOptions, args } : nameOrOptions;
        if (released) return Promise.reject(new WasmBridgeError(CODES.BAD_ARGUMENT, 'this pinned handle was released'));
        return pool.#submit(spec, slot);
      },
      release() {
        if (released) return;
        released = true;
        slot.pins -= 1;
        if (slot.exclusive) pool.#retire(slot);
      },
    };
  }

  /** Live figures: per worker and per function. */
  stats() {
    const workers = this.#slots.map((s) => ({
      id: s.id, state: s.state, busy: s.inflight.size > 0, inFlight: s.inflight.size,
      calls: s.calls, failures: s.failures, restarts: s.restarts, pinned: s.pins > 0,
    }));
    const functions = {};
    for (const [name, f] of this.#fnStats) {
      const n = Math.min(f.count, LATENCY_SAMPLES);
      const sorted = Array.from(f.latencies.subarray(0, n)).sort((a, b) => a - b);
      const pct = (p) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]);
      functions[name] = {
        count: f.count, errors: { ...f.errors }, p50: pct(0.5), p99: pct(0.99),
        circuit: f.openUntil > performance.now() ? 'open' : 'closed',
      };
    }
    return {
      workers, functions, queued: this.#queue.length, inFlight: this.#pending.size, closed: this.#closed, isolated: this.#isolated,
      lane: this.#lane ? this.#lane.stats() : null,
    };
  }

  /** Stops every worker and rejects every unsettled call with POOL_CLOSED. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const error = (c) => new WasmBridgeError(CODES.POOL_CLOSED, `the pool was closed before ${c.fn} finished`, { functionName: c.fn, callId: c.id });
    for (const c of [...this.#pending.values()]) this.#settle(c, false, error(c));
    this.#queue.clear();
    for (const s of this.#slots) this.#stopSlot(s);
    this.#slots = [];
    this.#lane?.close();
    this.#lane = null;
  }

  // ---- submission ----

  #checkOpen() {
    if (this.#closed) throw new WasmBridgeError(CODES.POOL_CLOSED, 'the pool is closed');
  }

  #submit(spec, pinned, inBatch = false, laneSize = -1) {
    return new Promise((resolve, reject) => {
      const fn = spec?.fn;
      const call = {
        id: this.#nextId++, fn, args: regionArgs(spec?.args ?? []), resolve, reject, settled: false,
        transfer: spec?.transfer ?? null, onProgress: spec?.onProgress ?? null, signal: spec?.signal ?? null,
        timeout: spec?.timeout ?? this.#opts.timeout, deadline: 0, timer: 0, abort: null,
        slot: null, pinned, t0: performance.now(), batch: inBatch,
      };
      if (this.#closed) {
        return reject(new WasmBridgeError(CODES.POOL_CLOSED, `the pool is closed; ${fn} was not run`, { functionName: fn, callId: call.id }));
      }
      if (typeof fn !== 'string' || fn.length === 0) {
        return reject(new WasmBridgeError(CODES.BAD_ARGUMENT, `a call needs a function name, got ${typeof fn}`, { callId: call.id }));
      }
      if (!Array.isArray(call.args)) {
        return reject(new WasmBridgeError(CODES.BAD_ARGUMENT, `args of ${fn} must be an array, got ${typeof call.args}`, { functionName: fn }));
      }
      if (call.signal?.aborted) {
        return reject(new WasmBridgeError(CODES.CANCELLED, `${fn} was cancelled before it started`, { functionName: fn, callId: call.id }));
      }
      if (this.#failed) return reject(this.#failed);
      if (this.#manifest) {
        const problem = this.#validate(call);
        if (problem) return this.#refuse(call, problem);
      }
      if (!pinned && this.#queue.length >= this.#opts.maxQueue) {
        return reject(new WasmBridgeError(CODES.QUEUE_FULL, `the queue holds ${this.#queue.length} calls, its limit (maxQueue) is ${this.#opts.maxQueue}`, { functionName: fn }));
      }
      this.#pending.set(call.id, call);
      if (call.timeout > 0) {
        call.deadline = performance.timeOrigin + performance.now() + call.timeout;
        call.timer = setTimeout(() => this.#expire(call), call.timeout);
      }
      if (call.signal) {
        call.abort = () => this.#cancel(call);
        call.signal.addEventListener('abort', call.abort, { once: true });
      }
      if (laneSize > 0) {
        call.laneSize = laneSize;
        this.#laneFor().submit(call);
      } else if (pinned) {
        if (pinned.state === 'dead') this.#settle(call, false, this.#lostError(call, pinned));
        else this.#dispatch(call, pinned);
      } else {
        this.#queue.push(call);
        this.#pump();
      }
    });
  }

  /** Rejects a call that never ran; counted for functions the guest has. */
  #refuse(call, error) {
    if (this.#functions.has(call.fn)) {
      const f = this.#statsFor(call.fn);
      f.errors[error.code] = (f.errors[error.code] ?? 0) + 1;
    }
    call.reject(error);
  }

  /** Checks a call against the manifest: the function exists, its circuit is closed, its arguments fit. */
  #validate(call) {
    const entry = this.#functions.get(call.fn);
    if (!entry) {
      return new WasmBridgeError(CODES.UNKNOWN_FUNCTION, `no function named ${JSON.stringify(call.fn)}; this guest has ${[...this.#functions.keys()].join(', ')}`, { functionName: call.fn, callId: call.id });
    }
    const f = this.#statsFor(call.fn);
    const now = performance.now();
    if (f.openUntil > now) {
      return new WasmBridgeError(CODES.CIRCUIT_OPEN, `${call.fn} failed ${f.streak} times in a row (panic or timeout); calls fail fast for ${Math.ceil(f.openUntil - now)} ms more`, { functionName: call.fn, callId: call.id });
    }
    if (f.openUntil !== 0) {
      // Half-open: let this call through; one more failure opens the circuit again.
      f.openUntil = 0;
      f.streak = this.#opts.breakerThreshold - 1;
    }
    const params = entry.params;
    const required = params.filter((p) => !p.optional).length;
    if (call.args.length < required || call.args.length > params.length) {
      const expected = required === params.length ? `${params.length}` : `${required} to ${params.length}`;
      return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn} expects ${expected} argument${params.length === 1 ? '' : 's'} (${params.map((p) => p.name).join(', ')}), got ${call.args.length}`, { functionName: call.fn, callId: call.id });
    }
    for (let i = 0; i < call.args.length; i++) {
      const p = params[i];
      const got = describeType(call.args[i]);
      if (!fitsType(p, call.args[i])) {
        return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: argument ${p.name} must be ${p.type}, got ${got}`, { functionName: call.fn, callId: call.id, data: { parameter: p.name, expected: p.type, got } });
      }
    }
    const limit = this.#opts.maxArgBytes;
    const size = argBytes(call.args, limit);
    if (size > limit) {
      return new WasmBridgeError(CODES.BAD_ARGUMENT, `${call.fn}: the arguments take more than ${limit} bytes (maxArgBytes), got at least ${size}`, { functionName: call.fn, callId: call.id });
    }
    return null;
  }

  // ---- dispatch ----

  #leastBusy(limit) {
    let best = null;
    for (const s of this.#slots) {
      if (s.state !== 'ready' || s.inflight.size >= limit || s.exclusive) continue;
      if (!best || s.inflight.size < best.inflight.size) best = s;
    }
    return best;
  }

  #pump() {
    if (!this.#started) return;
    while (this.#queue.length > 0) {
      const slot = this.#leastBusy(this.#opts.window);
      if (!slot || slot.inflight.size > 0) this.#grow();
      if (!slot) return;
      const call = this.#queue.shift();
      if (!call.settled) this.#dispatch(call, slot);
    }
  }

  #dispatch(call, slot) {
    call.slot = slot;
    slot.inflight.set(call.id, call);
    if (slot.idleTimer) { clearTimeout(slot.idleTimer); slot.idleTimer = 0; }
    if (slot.state !== 'ready') {
      slot.held.push(call);
      return;
    }
    const wire = wireCall(call.id, call.fn, call.args, call.deadline);
    slot.outbox.push(wire);
    if (call.transfer) {
      for (const t of call.transfer) slot.transfers.push(ArrayBuffer.isView(t) ? t.buffer : t);
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** Sends each worker's calls of this tick as one message. */
  #flush() {
    this.#flushQueued = false;
    for (const slot of this.#slots) {
      if (slot.outbox.length === 0 || slot.state !== 'ready') continue;
      const calls = slot.outbox;
      const transfers = slot.transfers;
      slot.outbox = [];
      slot.transfers = [];
      try {
        slot.worker.postMessage(callsMessage(calls), transfers);
      } catch (err) {
        // An argument could not be cloned or transferred: fail exactly those calls.
        this.#sendOneByOne(slot, calls, transfers, err);
      }
    }
  }

  #sendOneByOne(slot, calls, transfers, err) {
    for (const wire of calls) {
      const call = slot.inflight.get(wire.id);
      const own = call?.transfer ? call.transfer.map((t) => (ArrayBuffer.isView(t) ? t.buffer : t)) : [];
      try {
        slot.worker.postMessage(callsMessage([wire]), own.filter((t) => transfers.includes(t)));
      } catch (e) {
        slot.inflight.delete(wire.id);
        if (call) {
          this.#settle(call, false, new WasmBridgeError(CODES.BAD_ARGUMENT, `the arguments of ${wire.fn} cannot be sent to a worker: ${e instanceof Error ? e.message : String(err)}`, { functionName: wire.fn, callId: wire.id }));
        }
      }
    }
  }

  // ---- results ----

  #onMessage(slot, msg) {
    if (!msg || msg.wb !== PROTOCOL || slot.state === 'dead') return;
    switch (msg.kind) {
      case FROM_WORKER.RESULTS: {
        slot.restarts = slot.baseRestarts + msg.restarts;
        for (const r of msg.results) {
          const call = slot.inflight.get(r.id);
          if (!call) continue;
          slot.inflight.delete(r.id);
          slot.calls += 1;
          if (!r.ok) slot.failures += 1;
          if (call.settled) continue;
          if (r.ok) this.#settle(call, true, r.value);
          else this.#settle(call, false, new WasmBridgeError(r.error.code, r.error.message, { functionName: call.fn, data: r.error.data, callId: call.id }));
        }
        this.#watch(slot);
        if (slot.inflight.size === 0) this.#maybeIdle(slot);
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
      case FROM_WORKER.ALIVE:
        this.#watchLife(slot);
        break;
      case FROM_WORKER.READY:
        slot.state = 'ready';
        this.#respawnFailures = 0;
        slot.onReady?.();
        for (const call of slot.held.splice(0)) if (!call.settled) this.#dispatch(call, slot);
        this.#pump();
        break;
      case FROM_WORKER.INIT_FAILED:
        slot.onInitFailed?.(new WasmBridgeError(CODES.INIT_FAILED, msg.error.message));
        break;
      default:
        break;
    }
  }

  #settle(call, ok, value) {
    if (call.settled) return;
    call.settled = true;
    this.#pending.delete(call.id);
    if (call.timer) clearTimeout(call.timer);
    if (call.abort) call.signal.removeEventListener('abort', call.abort);
    const f = this.#statsFor(call.fn);
    f.latencies[f.count % LATENCY_SAMPLES] = performance.now() - call.t0;
    f.count += 1;
    if (ok) {
      f.streak = 0;
      call.resolve(value);
      return;
    }
    f.errors[value.code] = (f.errors[value.code] ?? 0) + 1;
    if (value.code === CODES.PANIC || value.code === CODES.TIMEOUT) {
      f.streak += 1;
      if (f.streak >= this.#opts.breakerThreshold) f.openUntil = performance.now() + this.#opts.breakerCooldown;
    } else if (value.code !== CODES.CIRCUIT_OPEN) {
      f.streak = 0;
    }
    call.reject(value);
  }

  #statsFor(fn) {
    let f = this.#fnStats.get(fn);
    if (!f) {
      f = { count: 0, errors: {}, latencies: new Float64Array(LATENCY_SAMPLES), streak: 0, openUntil: 0 };
      this.#fnStats.set(fn, f);
    }
    return f;
  }

  // ---- timeouts, cancellation, recycling ----

  #expire(call) {
    if (call.settled) return;
    if (!call.slot) this.#queue.remove(call);
    this.#settle(call, false, new WasmBridgeError(CODES.TIMEOUT, `${call.fn} did not finish within ${call.timeout} ms`, { functionName: call.fn, callId: call.id }));
    if (call.slot) this.#watch(call.slot);
    else call.lane?.abandon(call);
  }

  #cancel(call) {
    if (call.settled) return;
    if (!call.slot) this.#queue.remove(call);
    this.#settle(call, false, new WasmBridgeError(CODES.CANCELLED, `${call.fn} was cancelled`, { functionName: call.fn, callId: call.id }));
    if (call.slot) this.#watch(call.slot);
    else call.lane?.abandon(call);
  }

  /**
   * Watches a worker that holds abandoned calls (timed out or cancelled while
   * dispatched) until none is left. Each `cancelGrace` tick finds the call the
   * worker is running: from the control block when the page is isolated (the
   * worker writes the running id there), else as the first unanswered call
   * (the worker runs calls in order and, without a control block, reports each
   * result before it starts the next call). A running abandoned call is asked
   * to stop through the control block; if it still runs one tick later, the
   * worker is recycled.
   */
  #watch(slot) {
    if (slot.watchTimer || slot.state === 'dead') return;
    slot.suspect = 0;
    if (this.#inspect(slot)) slot.watchTimer = setInterval(() => this.#inspect(slot), this.#opts.cancelGrace);
  }

  /** One tick of `#watch`; false when there is nothing left to watch. */
  #inspect(slot) {
    let abandoned = false;
    for (const c of slot.inflight.values()) if (c.settled) { abandoned = true; break; }
    if (!abandoned || slot.state === 'dead') {
      clearInterval(slot.watchTimer);
      slot.watchTimer = 0;
      return false;
    }
    const runningId = slot.control ? Atomics.load(slot.control, CONTROL.RUNNING) : slot.inflight.keys().next().value;
    const running = slot.inflight.get(runningId);
    if (!running?.settled) {
      slot.suspect = 0;
      return true;
    }
    if (slot.suspect !== running.id) {
      slot.suspect = running.id;
      if (slot.control) Atomics.store(slot.control, CONTROL.CANCEL, running.id);
      return true;
    }
    clearInterval(slot.watchTimer);
    slot.watchTimer = 0;
    this.#recycle(slot, running);
    return false;
  }

  /** Stops a worker stuck in an abandoned call; calls queued behind it run elsewhere. */
  #recycle(slot, culprit) {
    const behind = [...slot.inflight.values()].filter((c) => c !== culprit && !c.settled);
    this.#stopSlot(slot);
    for (const c of behind) {
      c.slot = null;
      if (c.pinned) this.#settle(c, false, this.#lostError(c, slot));
    }
    // Put them back at the front, keeping their order.
    for (let i = behind.length - 1; i >= 0; i--) if (!behind[i].settled) this.#queue.unshift(behind[i]);
    this.#replace(slot);
    this.#pump();
  }

  #lostError(call, slot) {
    return new WasmBridgeError(CODES.WORKER_LOST, `worker ${slot.id} was lost while ${call.fn} was in flight`, { functionName: call.fn, callId: call.id });
  }

  /** A worker died on its own: everything it held is lost. */
  #onLost(slot, why) {
    if (slot.state === 'dead' || this.#closed) return;
    const starting = slot.state === 'starting';
    const calls = [...slot.inflight.values()];
    this.#stopSlot(slot);
    for (const c of calls) {
      if (c.settled) continue;
      if (starting && !c.pinned) {
        // Never sent: run it elsewhere.
        c.slot = null;
        this.#queue.unshift(c);
      } else {
        this.#settle(c, false, new WasmBridgeError(CODES.WORKER_LOST, `worker ${slot.id} was lost (${why}) while ${c.fn} was in flight`, { functionName: c.fn, callId: c.id }));
      }
    }
    if (starting) slot.onInitFailed?.(new WasmBridgeError(CODES.WORKER_LOST, `a starting worker was lost: ${why}`));
    else this.#replace(slot);
    this.#pump();
  }

  /** The worker holds `slot.lock` while it lives; being granted it means the worker is gone. */
  #watchLife(slot) {
    if (!globalThis.navigator?.locks) return;
    navigator.locks.request(slot.lock, { signal: slot.lockWatch.signal }, () => {
      this.#onLost(slot, 'it was terminated or crashed');
    }).catch(() => {});
  }

  #stopSlot(slot) {
    slot.state = 'dead';
    clearInterval(slot.watchTimer);
    clearTimeout(slot.idleTimer);
    slot.worker.onmessage = null;
    slot.worker.onerror = null;
    slot.worker.onmessageerror = null;
    slot.lockWatch.abort();
    slot.worker.terminate();
  }

  // ---- workers ----

  async #start() {
    try {
      const runtimeBase = new URL('./', import.meta.url);
      const bundle = new URL(this.#opts.bundle ?? runtimeBase, globalThis.location?.href ?? runtimeBase);
      if (!bundle.pathname.endsWith('/')) bundle.pathname += '/';
      this.#workerUrl = new URL('worker.js', runtimeBase).href;
      const manifestUrl = new URL('manifest.json', bundle);
      const manifest = await fetchManifest(manifestUrl);
      this.#manifest = manifest;
      for (const f of manifest.functions) this.#functions.set(f.name, f);
      this.#glueUrl = new URL(manifest.glue, bundle).href;
      this.#module = await compileModule(new URL(manifest.wasm, bundle), manifest, this.#opts.onLoadProgress);
      if (this.#closed) throw new WasmBridgeError(CODES.POOL_CLOSED, 'the pool was closed while it started');
      const slots = Array.from({ length: this.#opts.minSize }, () => this.#spawn());
      await Promise.all(slots.map((s) => s.readyPromise));
      this.#started = true;
      for (const call of [...this.#queue]) {
        const problem = this.#validate(call);
        if (problem) { this.#queue.remove(call); this.#settle(call, false, problem); }
      }
      this.#pump();
      return this;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#failed = err instanceof WasmBridgeError && err.code === CODES.INIT_FAILED
        ? err : new WasmBridgeError(CODES.INIT_FAILED, `the pool failed to start: ${message}`);
      for (const c of [...this.#pending.values()]) this.#settle(c, false, this.#failed);
      this.#queue.clear();
      for (const s of this.#slots) this.#stopSlot(s);
      this.#slots = [];
      throw this.#failed;
    }
  }

  #spawn(at = -1) {
    const id = this.#nextWorkerId++;
    const worker = new Worker(this.#workerUrl, { type: 'module', name: `wasmbridge-${id}` });
    const control = this.#isolated ? new Int32Array(new SharedArrayBuffer(CONTROL.SLOTS * 4)) : null;
    const slot = {
      id, worker, lock: `wasmbridge/${this.#poolId}/${id}`, lockWatch: new AbortController(), control, state: 'starting', inflight: new Map(), held: [],
      outbox: [], transfers: [], calls: 0, failures: 0, restarts: 0, baseRestarts: 0, pins: 0,
      watchTimer: 0, suspect: 0, idleTimer: 0, onReady: null, onInitFailed: null, readyPromise: null,
    };
    slot.readyPromise = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.onInitFailed?.(new WasmBridgeError(CODES.INIT_FAILED, `a worker did not report ready within ${this.#opts.initTimeout} ms`));
      }, this.#opts.initTimeout);
      slot.onReady = () => { clearTimeout(timer); slot.onReady = null; slot.onInitFailed = null; resolve(slot); };
      slot.onInitFailed = (error) => {
        clearTimeout(timer);
        slot.onReady = null;
        slot.onInitFailed = null;
        if (slot.state !== 'dead') this.#stopSlot(slot);
        reject(error);
      };
    });
    slot.readyPromise.catch(() => {});
    worker.onmessage = (e) => this.#onMessage(slot, e.data);
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.#onLost(slot, e.message ? `script error: ${e.message}` : 'the worker script failed to load or threw');
    };
    worker.onmessageerror = () => this.#onLost(slot, 'a message from the worker could not be read');
    worker.postMessage(this.#initMessage(control ? control.buffer : null, globalThis.navigator?.locks ? slot.lock : null));
    if (at >= 0) this.#slots[at] = slot;
    else this.#slots.push(slot);
    return slot;
  }

  /** The init message of every worker, the lane's included (`lane` is its buffer). */
  #initMessage(control, lock, lane = null) {
    return initMessage({
      module: this.#module, glue: this.#glueUrl, glueIntegrity: this.#manifest.files?.[this.#manifest.glue]?.integrity ?? null,
      functions: [...this.#functions.keys()], control, lock, memoryLimit: this.#opts.memoryLimit ?? 0, lane,
    });
  }

  /** Starts a worker in place of a dead one, unless the pool can shrink instead. */
  #replace(dead) {
    const at = this.#slots.indexOf(dead);
    if (at < 0 || this.#closed) return;
    // An exclusive pin's own worker is not replaced: its handle reports the loss.
    if (dead.exclusive) { this.#slots.splice(at, 1); return; }
    const live = this.#slots.filter((s) => s.state !== 'dead').length;
    if (live >= this.#opts.minSize && this.#queue.length === 0 && dead.pins === 0) {
      this.#slots.splice(at, 1);
      return;
    }
    const slot = this.#spawn(at);
    slot.baseRestarts = dead.restarts + 1;
    slot.restarts = slot.baseRestarts;
    slot.readyPromise.catch((err) => {
      // Only a guest that fails to start counts against it; a lost worker is just replaced.
      if (err.code !== CODES.INIT_FAILED) return this.#replace(slot);
      this.#respawnFailures += 1;
      if (this.#respawnFailures >= this.#opts.maxRespawnFailures) {
        this.#failed = new WasmBridgeError(CODES.INIT_FAILED, `workers keep failing to start (${err.message}); the pool gave up`);
        for (const c of [...this.#pending.values()]) if (!c.slot) this.#settle(c, false, this.#failed);
        this.#queue.clear();
      } else {
        this.#replace(slot);
      }
    });
  }

  #grow() {
    // Dead slots still listed are about to be replaced: they count as workers here.
    const starting = this.#slots.some((s) => s.state === 'starting');
    const workers = this.#slots.filter((s) => !s.exclusive).length;
    if (workers < this.#opts.maxSize && !starting && !this.#closed) this.#spawn();
  }

  /** Stops the worker of a released exclusive pin; its unfinished calls are lost. */
  #retire(slot) {
    const calls = [...slot.inflight.values()];
    if (slot.state !== 'dead') this.#stopSlot(slot);
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
    for (const c of calls) if (!c.settled) this.#settle(c, false, this.#lostError(c, slot));
  }

  /** The fast lane, started on first use; its calls are settled here, through #settle. */
  #laneFor() {
    this.#lane ??= new Lane({
      spawn: (lane, control, lock) => {
        const worker = new Worker(this.#workerUrl, { type: 'module', name: 'wasmbridge-lane' });
        worker.postMessage(this.#initMessage(control, lock, lane));
        return worker;
      },
      settle: (call, ok, value) => this.#settle(call, ok, value),
      // The lane could not start: run the call the normal way.
      fallback: (call) => { call.lane = null; this.#queue.push(call); this.#pump(); },
      lockPrefix: `wasmbridge/${this.#poolId}/lane`,
      cancelGrace: this.#opts.cancelGrace,
      initTimeout: this.#opts.initTimeout,
    });
    return this.#lane;
  }

  #maybeIdle(slot) {
    if (this.#opts.minSize === this.#opts.maxSize || slot.pins > 0) return;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      const live = this.#slots.filter((s) => s.state === 'ready').length;
      if (slot.inflight.size === 0 && slot.pins === 0 && live > this.#opts.minSize && slot.state === 'ready') {
        this.#stopSlot(slot);
        this.#slots.splice(this.#slots.indexOf(slot), 1);
      }
    }, this.#opts.idleTimeout);
  }
}

/** Starts a pool and waits until it is ready; rejects with INIT_FAILED when it cannot start. */
export async function createPool(options) {
  const pool = new Pool(options);
  try {
    return await pool.ready;
  } catch (err) {
    pool.close();
    throw err;
  }
}

async function fetchManifest(url) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `could not fetch ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!response.ok) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `fetching ${url} failed: ${response.status} ${response.statusText}`.trim());
  }
  let manifest;
  try {
    manifest = await response.json();
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!manifest || typeof manifest.wasm !== 'string' || typeof manifest.glue !== 'string' || !Array.isArray(manifest.functions)) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is not a wasmbridge manifest: expected wasm, glue and functions fields`);
  }
  return manifest;
}

/** Fetches and compiles the guest once; reports bytes loaded when asked. */
async function compileModule(url, manifest, onLoadProgress) {
  const integrity = manifest.files?.[manifest.wasm]?.integrity;
  let response;
  try {
    response = await fetch(url, integrity ? { integrity } : {});
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `could not fetch ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!response.ok) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `fetching ${url} failed: ${response.status} ${response.statusText}`.trim());
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/wasm')) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is served as ${JSON.stringify(type)}, expected "application/wasm": fix the server's MIME type`);
  }
  if (onLoadProgress && response.body) {
    const total = manifest.files?.[manifest.wasm]?.size || Number(response.headers.get('content-length')) || 0;
    let loaded = 0;
    const counted = response.body.pipeThrough(new TransformStream({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        try { onLoadProgress(loaded, total); } catch { /* a progress callback must not break loading */ }
        controller.enqueue(chunk);
      },
    }));
    response = new Response(counted, { headers: response.headers });
  }
  try {
    return await WebAssembly.compileStreaming(response);
  } catch (err) {
    throw new WasmBridgeError(CODES.INIT_FAILED, `${url} is not a valid WebAssembly module: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Approximate bytes a value occupies on the wire; stops counting once past `limit`. */
function argBytes(value, limit) {
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

function describeType(v) {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v === 'string' ? `a string` : typeof v;
}

/** Loose checks of the TypeScript types wasm-bindgen writes; unknown types pass. */
function fitsType(param, v) {
  const types = param.type.split('|').map((t) => t.trim());
  return types.some((t) => {
    switch (t) {
      case 'number': return typeof v === 'number';
      case 'bigint': return typeof v === 'bigint';
      case 'string': return typeof v === 'string';
      case 'boolean': return typeof v === 'boolean';
      case 'undefined': case 'null': return v === undefined || v === null;
      case 'Uint8Array': case 'Int8Array': case 'Uint8ClampedArray': case 'Uint16Array': case 'Int16Array':
      case 'Uint32Array': case 'Int32Array': case 'Float32Array': case 'Float64Array':
      case 'BigInt64Array': case 'BigUint64Array':
        return ArrayBuffer.isView(v) || Array.isArray(v);
      default: return true;
    }
  });
}
