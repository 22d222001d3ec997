// Spawning and supervising the workers that run worker.js: the pool's
// workers and the fast lane's alike. Only this file creates and terminates
// them. It owns a worker's life from `new Worker` to `terminate()`: the Web
// Lock that tells of its death, the start-up (`alive`, `ready`,
// `init-failed`, the init timeout), the loss of a started worker, and the
// error texts of all of these; `Watchdog` finds a call stuck in a worker and
// `StartFailures` caps the starts that fail in a row. What a worker is given
// to do stays with its owner (pool.js, lane.js).

import { PROTOCOL, FROM_WORKER, CODES, CONTROL } from './protocol.js';
import { WasmBridgeError, messageOf } from './error.js';

/**
 * Starts a worker running worker.js. The `new Worker(new URL('./worker.js',
 * import.meta.url), { type: 'module' })` is written out literally because
 * that is the pattern bundlers (Vite, webpack, Parcel, Rollup and esbuild
 * plugins) look for to emit worker.js with its imports under a name of their
 * own; unbundled it is the worker.js next to this file. The `workerUrl`
 * option replaces it for setups no bundler sees, and the `createWorker`
 * option replaces the constructor (a Worker made some other way, or a Node.js
 * worker_threads Worker behind the same interface in the runtime's tests).
 * @param {((name: string) => Worker) | undefined} createWorker the `createWorker` option
 * @param {string} workerUrl empty unless the `workerUrl` option was given
 * @param {string} name shown in the browser's developer tools
 * @returns {Worker}
 */
export function startWorker(createWorker, workerUrl, name) {
  if (createWorker) return createWorker(name);
  if (workerUrl) return new Worker(workerUrl, { type: 'module', name });
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name });
}

/**
 * A worker's name: `name`, and the lock it is to hold (`NAME lock=LOCK`),
 * which worker.js reads from `self.name` to request the lock as its script
 * starts, before the init message that names it arrives.
 * @param {string} name
 * @param {string | null} lock
 */
export function workerName(name, lock) {
  return lock === null ? name : `${name} lock=${lock}`;
}

/**
 * What the owner of a supervised worker hears: every message that is not
 * about its start, the end of a start that succeeded or failed, and the
 * loss of a worker that had started.
 * @typedef {{
 *   message: (msg: any) => void,
 *   ready: (msg: any) => void,
 *   startFailed: (error: WasmBridgeError) => void,
 *   lost: (why: string) => void,
 * }} Hooks
 */

const STARTING = 0;
const READY = 1;
/** Let go (lane.js's retired worker): its messages still arrive, its loss is nobody's concern. */
const RELEASED = 2;
const STOPPED = 3;

/**
 * One worker running worker.js, from its start to its stop.
 *
 * A worker holds its Web Lock (`lock`) for its whole life and reports
 * `alive` once it has it, before it runs any guest code; being granted the
 * same lock here means the worker died for whatever reason (crash, out of
 * memory, `terminate()` from outside), which fires no event. A worker that
 * stays silent past the init timeout without `alive` was lost (killed before
 * it took the lock) and its start fails with WORKER_LOST, which is no fault
 * of the guest; a guest that fails to start (`init-failed`, a script error,
 * no `ready` after `alive`) fails it with INIT_FAILED. Either way the worker
 * is stopped before `hooks.startFailed` is told, and `ready` rejects with
 * the same error. After `ready`, an error event, a message that cannot be
 * read or the lock's grant is `hooks.lost`.
 */
export class Supervised {
  /** @type {Worker} */ worker;
  /** @type {string | null} the Web Lock the worker holds, null where the browser has no Web Locks */
  lock;
  /** The worker holds its lock: it was not lost before it started. */
  alive = false;
  /** @type {Promise<void>} resolves when the worker is ready, rejects with why its start failed */
  ready;
  #phase = STARTING;
  /** @type {Hooks} */ #hooks;
  #initTimeout;
  #initTimer = 0;
  /** @type {AbortController | null} */ #lockWatch = null;
  /** @type {(() => void) | null} */ #resolve = null;
  /** @type {((error: WasmBridgeError) => void) | null} */ #reject = null;

  /**
   * Starts the worker. When it cannot be created (the Worker constructor or
   * the `createWorker` option threw), its start fails with INIT_FAILED in a
   * microtask, as a worker whose script failed would, and `worker` is a
   * stand-in that drops what is posted to it.
   * @param {{ createWorker?: (name: string) => Worker, workerUrl: string, name: string, lock: string, initTimeout: number, hooks: Hooks }} options
   */
  constructor({ createWorker, workerUrl, name, lock, initTimeout, hooks }) {
    this.#hooks = hooks;
    this.#initTimeout = initTimeout;
    this.lock = globalThis.navigator?.locks ? lock : null;
    this.ready = new Promise((resolve, reject) => { this.#resolve = resolve; this.#reject = reject; });
    this.ready.catch(() => {});
    let worker;
    try {
      worker = startWorker(createWorker, workerUrl, workerName(name, this.lock));
    } catch (err) {
      worker = /** @type {Worker} */ (/** @type {unknown} */ ({ postMessage() {}, terminate() {} }));
      queueMicrotask(() => this.fail(new WasmBridgeError(CODES.INIT_FAILED, `a worker could not be created: ${messageOf(err)}`)));
    }
    this.worker = worker;
    worker.onmessage = (e) => {
      const msg = e.data;
      // A flat value (FLAT_VALUE) is an array that starts with PROTOCOL.
      if (Array.isArray(msg)) {
        if (msg[0] === PROTOCOL && this.#phase !== STOPPED) this.#hooks.message(msg);
        return;
      }
      if (!msg || msg.wb !== PROTOCOL || this.#phase === STOPPED) return;
      switch (msg.kind) {
        case FROM_WORKER.ALIVE:
          this.alive = true;
          this.#watchLock();
          break;
        case FROM_WORKER.READY:
          if (this.#phase !== STARTING) break;
          this.#phase = READY;
          clearTimeout(this.#initTimer);
          this.#hooks.ready(msg);
          this.#settleStart(null);
          break;
        case FROM_WORKER.INIT_FAILED:
          this.fail(new WasmBridgeError(CODES.INIT_FAILED, msg.error.message));
          break;
        default:
          this.#hooks.message(msg);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      const why = e.message ? `script error: ${e.message}` : 'the worker script failed to load or threw';
      // While starting, an error event is the worker script itself failing: a real start failure.
      if (this.#phase === STARTING) this.fail(new WasmBridgeError(CODES.INIT_FAILED, `a worker failed to start: ${why}`));
      else this.#lost(why);
    };
    worker.onmessageerror = () => this.#lost('a message from the worker could not be read');
  }

  /** True from `ready` on, until the worker is stopped or let go. */
  get started() { return this.#phase === READY; }

  /**
   * Starts the init timeout. The pool arms it once the worker has the
   * compiled module: compiling it is the page's time, not the worker's.
   * A timeout of 0 waits for ever.
   */
  armInit() {
    if (this.#initTimeout <= 0 || this.#phase !== STARTING || this.#initTimer) return;
    const ms = this.#initTimeout;
    this.#initTimer = setTimeout(() => {
      // Before `alive` the worker has run no guest code: silence then means
      // it was lost (killed before it took its lock), not a broken guest.
      this.fail(this.lock !== null && !this.alive
        ? new WasmBridgeError(CODES.WORKER_LOST, `a starting worker did not take its lock within ${ms} ms and is taken as lost`)
        : new WasmBridgeError(CODES.INIT_FAILED, `a worker did not report ready within ${ms} ms`));
    }, ms);
  }

  /** Fails a start still under way with `error`: the worker is stopped, then its owner told. */
  fail(error) {
    if (this.#phase !== STARTING) return;
    this.stop();
    this.#hooks.startFailed(error);
    this.#settleStart(error);
  }

  /**
   * Terminates the worker and lets its lock go; nothing it sends arrives any
   * more. A start under way is ended with `fail`, which stops the worker too.
   */
  stop() {
    if (this.#phase === STOPPED) return;
    this.#phase = STOPPED;
    this.#unwatch();
    const worker = this.worker;
    worker.onmessage = null;
    worker.onerror = null;
    worker.onmessageerror = null;
    worker.terminate();
  }

  /**
   * Stops watching a worker that closes itself once it has posted what it
   * owes (lane.js's retired worker): its messages still arrive, its errors
   * and its death no longer concern anyone.
   */
  release() {
    if (this.#phase === STOPPED) return;
    this.#phase = RELEASED;
    this.#unwatch();
    this.worker.onerror = null;
    this.worker.onmessageerror = null;
  }

  #unwatch() {
    clearTimeout(this.#initTimer);
    this.#lockWatch?.abort();
    this.#lockWatch = null;
  }

  #settleStart(error) {
    const resolve = this.#resolve;
    const reject = this.#reject;
    this.#resolve = null;
    this.#reject = null;
    if (error) reject?.(error);
    else resolve?.();
  }

  /** The worker holds `lock` while it lives; being granted it means the worker is gone. */
  #watchLock() {
    if (this.lock === null || this.#lockWatch || this.#phase === STOPPED || this.#phase === RELEASED) return;
    const watch = new AbortController();
    this.#lockWatch = watch;
    navigator.locks.request(this.lock, { signal: watch.signal }, () => {
      if (this.#lockWatch === watch) this.#lost('it was terminated or crashed');
    }).catch(() => {});
  }

  /** A worker died on its own: a start under way failed, a started one was lost. */
  #lost(why) {
    if (this.#phase === STARTING) this.fail(new WasmBridgeError(CODES.WORKER_LOST, `a starting worker was lost: ${why}`));
    else if (this.#phase === READY) this.#hooks.lost(why);
  }
}

/**
 * The watch over a worker that holds abandoned calls (timed out or cancelled
 * while it had them) until none is left. Each tick, every `grace` ms, finds
 * the call the worker is running (`running`); a running abandoned call is
 * asked to stop through the control block (`cancelled()` turns true in the
 * guest) and, found running again one tick later, is reported `stuck`: the
 * owner then stops the worker. The first tick runs at once.
 */
export class Watchdog {
  #grace;
  #hooks;
  #timer = 0;
  #suspect = 0;

  /**
   * @param {number} grace ms between two ticks (the `cancelGrace` option)
   * @param {{ abandoned: () => boolean, running: () => any, control: () => Int32Array | null, stuck: (call: any) => void }} hooks
   *   `abandoned`: an abandoned call may still be among the worker's (false stops the watch);
   *   `running`: the call the worker runs now, if known; `control`: its control block, if any;
   *   `stuck`: the worker still runs `call`, abandoned, after it was asked to stop.
   */
  constructor(grace, hooks) {
    this.#grace = grace;
    this.#hooks = hooks;
  }

  /** Starts watching, unless the watch runs already; called whenever a call is abandoned, and after answers. */
  watch() {
    if (this.#timer) return;
    this.#suspect = 0;
    if (this.#tick()) this.#timer = setInterval(() => this.#tick(), this.#grace);
  }

  stop() {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = 0;
  }

  /** One tick; false when there is nothing left to watch. */
  #tick() {
    if (!this.#hooks.abandoned()) {
      this.stop();
      return false;
    }
    const running = this.#hooks.running();
    if (!running?.settled) {
      this.#suspect = 0;
      return true;
    }
    if (this.#suspect !== running.id) {
      this.#suspect = running.id;
      const control = this.#hooks.control();
      if (control) Atomics.store(control, CONTROL.CANCEL, running.id);
      return true;
    }
    this.stop();
    this.#hooks.stuck(running);
    return false;
  }
}

/**
 * Counts the starts that failed in a row, up to `limit`, after which the
 * owner gives up starting workers. Only a guest that fails to start
 * (INIT_FAILED) counts; a worker lost while it started (WORKER_LOST) is no
 * fault of the guest. A worker that becomes ready resets the count.
 */
export class StartFailures {
  #count = 0;
  #limit;

  /** @param {number} limit */
  constructor(limit) {
    this.#limit = limit;
  }

  /** Counts `error`; true when `limit` starts in a row failed. */
  failed(error) {
    if (error?.code !== CODES.INIT_FAILED) return false;
    this.#count += 1;
    return this.#count >= this.#limit;
  }

  succeeded() {
    this.#count = 0;
  }
}

/** The error the pool fails its waiting calls with once it gave up starting workers. */
export function gaveUpError(error) {
  return new WasmBridgeError(CODES.INIT_FAILED, `workers keep failing to start (${error.message}); the pool gave up`);
}

/** The error of a call that was in flight on a worker that was lost; `worker` names it ("worker 3", "the lane worker"). */
export function lostCallError(worker, why, call) {
  return new WasmBridgeError(CODES.WORKER_LOST, `${worker} was lost (${why}) while ${call.fn} was in flight`, { functionName: call.fn, callId: call.id });
}
