// The worker: instantiates the guest from the module the page compiled, runs
// calls in the order they arrive, and answers with results or errors as data.
// It never decides anything about other workers; the pool does.
//
// One worker holds one instance for its whole life. After a trap (a panic,
// or memory past the limit) the instance is not re-created here: an ES
// module, once imported, stays in the worker's module map for good, and so
// would the old glue with its wasm memory. The worker retires instead: it
// answers the call that trapped, hands back every call it has not started
// (with their buffers) and takes no more work; the pool starts a fresh
// worker, and terminating this one frees everything it held.

// ---- copied from protocol.js and error.js ----
// The worker script imports nothing, so it starts after one fetch. These are
// the constants and constructors it uses, copied verbatim from protocol.js
// (and messageOf from error.js); crates/wasmbridge/tests/tidy.rs checks every
// statement here equals its original. Change the originals, then copy.

const PROTOCOL = 'wasmbridge/1';
const GUEST_ABI = 1;
const HOST_PANIC = '__wasmbridge_panic';
const HOST_CANCELLED = '__wasmbridge_cancelled';
const HOST_PROGRESS = '__wasmbridge_progress';
const HOST_IN_PLACE = '__wasmbridge_in_place';
const GUEST_ERROR_MARKER = '__wasmbridgeError';
const GUEST_ERROR_CODE = 'code';
const GUEST_ERROR_DATA = 'data';
const TO_WORKER = Object.freeze({ INIT: 'init', MODULE: 'module', CALLS: 'calls', PACKED: 'packed' });
const FLAT_CALL = Object.freeze({ ID: 1, FN: 2, DEADLINE: 3, ARGS: 4 });
const FROM_WORKER = Object.freeze({
  ALIVE: 'alive',
  READY: 'ready',
  INIT_FAILED: 'init-failed',
  RESULTS: 'results',
  RESULT: 'result',
  PROGRESS: 'progress',
  LANE_RESULT: 'lane-result',
  PACKED_RESULTS: 'packed-results',
});
const PACKED_STATUS = Object.freeze({ NUMBER: 0, VALUE: 1, ERROR: 2 });
const PACKED_HEADER = 4;
const aliveMessage = () => ({ wb: PROTOCOL, kind: FROM_WORKER.ALIVE });
const readyMessage = (/** @type {WebAssembly.Memory | null} */ memory = null) => ({ wb: PROTOCOL, kind: FROM_WORKER.READY, memory });
const initFailedMessage = (/** @type {WireError} */ error) => ({ wb: PROTOCOL, kind: FROM_WORKER.INIT_FAILED, error });
const resultsMessage = (results, returned = null) => (returned === null
  ? { wb: PROTOCOL, kind: FROM_WORKER.RESULTS, results }
  : { wb: PROTOCOL, kind: FROM_WORKER.RESULTS, results, retired: true, returned });
const resultMessage = (result) => {
  const message = /** @type {any} */ (result);
  message.wb = PROTOCOL;
  message.kind = FROM_WORKER.RESULT;
  return message;
};
const valueMessage = (/** @type {number} */ id, /** @type {unknown} */ value) => [PROTOCOL, id, value];
const packedResultsMessage = (/** @type {Float64Array} */ ids, /** @type {Uint8Array} */ status, /** @type {Float64Array} */ values, /** @type {unknown[]} */ others) => ({
  wb: PROTOCOL, kind: FROM_WORKER.PACKED_RESULTS, ids, status, values, others,
});
const progressMessage = (/** @type {number} */ id, /** @type {number} */ fraction) => ({ wb: PROTOCOL, kind: FROM_WORKER.PROGRESS, id, fraction });
const okResult = (/** @type {number} */ id, /** @type {unknown} */ value) => ({ id, ok: true, value });
const wireError = (/** @type {string} */ code, /** @type {string} */ message, /** @type {unknown} */ data = undefined) => (data === undefined ? { code, message } : { code, message, data });
const errorResult = (/** @type {number} */ id, /** @type {string} */ code, /** @type {string} */ message, /** @type {unknown} */ data = undefined) => ({ id, ok: false, error: wireError(code, message, data) });
const CODES = Object.freeze({
  GUEST_ERROR: 'GUEST_ERROR',
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  PANIC: 'PANIC',
  CANCELLED: 'CANCELLED',
  UNKNOWN_FUNCTION: 'UNKNOWN_FUNCTION',
  TIMEOUT: 'TIMEOUT',
  WORKER_LOST: 'WORKER_LOST',
  INIT_FAILED: 'INIT_FAILED',
  QUEUE_FULL: 'QUEUE_FULL',
  POOL_CLOSED: 'POOL_CLOSED',
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  MEMORY_LIMIT: 'MEMORY_LIMIT',
  BAD_RESULT: 'BAD_RESULT',
  /** A shared-memory feature (shared regions, rings) was asked for on a page that is not cross-origin isolated. */
  NOT_ISOLATED: 'NOT_ISOLATED',
});
const CONTROL = Object.freeze({ RUNNING: 0, CANCEL: 1, SLOTS: 2 });
function messageOf(err) {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return `a thrown ${typeof err} that cannot be shown as text`;
  }
}
// ---- end of the copy ----

/**
 * The lock the page named this worker after (`NAME lock=LOCK`, supervisor.js's
 * workerName), requested as the script starts instead of when `init` names
 * it, so the request is on its way while the rest of the script runs and the
 * init message arrives; `init` uses it when it names the same lock. Held until
 * this context dies, however it dies: that is how the page learns of a crash
 * or an outside terminate(), which fire no event.
 */
const EARLY_LOCK = typeof self.name === 'string' && self.name.includes(' lock=') ? self.name.slice(self.name.indexOf(' lock=') + 6) : '';
const holdLock = (name) => new Promise((held) => navigator.locks.request(name, () => { held(); return new Promise(() => {}); }));
const earlyLock = EARLY_LOCK && globalThis.navigator?.locks ? holdLock(EARLY_LOCK) : null;

/** @type {any} the guest's wasm-bindgen glue module */
let glue = null;
/** @type {any} the instance's exports, as returned by the glue's init */
let wasmExports = null;
/** @type {WebAssembly.Module | null} */
let module = null;
/** @type {WebAssembly.Memory | null} a threaded module's shared memory */
let importedMemory = null;
let glueUrl = '';
/** @type {Map<string, Function>} the guest's functions the manifest lists, by name */
let callable = new Map();
/** @type {Array<Function | null>} the same by position in the `functions` of `init`, as packed calls name them */
let callableAt = [];
/** The `functions` of `init`: a packed call names its function by its position here. */
let functionNames = [];
/** @type {Int32Array | null} */
let control = null;
let memoryLimit = 0;
/** Set by a trap: the instance is unusable and the worker only hands calls back. */
let retired = false;

let runningId = 0;
let lastPanic = '';
let lastProgressAt = 0;

/** @type {import('./protocol.js').WireCall[]} */
const inbox = [];
let inboxHead = 0;
/** A guest function returned a promise: the calls behind it wait for it. */
let awaiting = false;
/** @type {import('./protocol.js').WireResult[]} */
let outbox = [];
/** @type {Transferable[]} */
let outboxTransfers = [];
/**
 * Results of packed calls wait here instead of the outbox, packed (see
 * PackedResultsMessage); at most one of the two holds results at a time, so
 * results leave in the order their calls ran.
 */
let packedIds = new Float64Array(1024);
let packedStatus = new Uint8Array(1024);
let packedValues = new Float64Array(1024);
let packedCount = 0;
/** @type {unknown[]} */
let packedOthers = [];
/** @type {Transferable[]} */
let packedTransfers = [];
/** When the outbox was last sent (Date.now()), read only with a control block. */
let lastFlush = 0;
/** With a control block, results wait at most this long for company before the next call starts. */
const FLUSH_AFTER_MS = 1;
/**
 * Calls in the inbox not started yet, and results kept since the last flush.
 * With a control block, kept results also leave as soon as there are at
 * least PARTIAL_FLUSH of them and more than the calls still to run: the
 * page learns of half a long inbox while the worker runs the other half, and
 * its window (pool.js, refilled once half empty) sends more calls before this
 * worker runs out, instead of both sides taking turns to wait.
 */
let queued = 0;
let sinceFlush = 0;
const PARTIAL_FLUSH = 256;

const post = (message, transfer) => self.postMessage(message, transfer ?? []);

globalThis[HOST_PANIC] = (text) => { lastPanic = String(text); };
globalThis[HOST_CANCELLED] = () =>
  control !== null && runningId !== 0 && Atomics.load(control, CONTROL.CANCEL) === runningId;
/**
 * The views of this instance's own memory that the pool sent as regions
 * (a wire call's `regions`): only these are read in place by `SharedBytes`;
 * an argument a caller made can never be in it (a WeakSet holds what this
 * worker put there, nothing that arrived by message).
 * @type {WeakSet<object>}
 */
const inPlace = new WeakSet();
globalThis[HOST_IN_PLACE] = (view) => inPlace.has(view);
globalThis[HOST_PROGRESS] = (fraction) => {
  const now = performance.now();
  if (fraction < 1 && now - lastProgressAt < 16) return;
  lastProgressAt = now;
  post(progressMessage(runningId, fraction));
};

/** Resolves with the compiled guest: from `init`, or from the `module` message that follows it. */
let moduleArrived = (/** @type {WebAssembly.Module} */ _m) => {};
const moduleReady = new Promise((resolve) => { moduleArrived = resolve; });

/**
 * Checks the glue against its integrity hash from the manifest. import()
 * cannot check integrity itself: fetch with it first, so a tampered glue
 * fails here and the import then comes from the cache.
 */
async function checkGlue(integrity) {
  try {
    await fetch(glueUrl, { integrity });
  } catch (err) {
    throw new Error(`${glueUrl} does not match its integrity hash ${integrity} (${err.message})`);
  }
}

/** The worker's one instance of the guest, from the imported glue `g` and the compiled module. */
async function instantiate(g) {
  const exports = await g.default({ module_or_path: module });
  if (typeof g.__wasmbridge_abi === 'function' && g.__wasmbridge_abi() !== GUEST_ABI) {
    throw new Error(`guest was built for wasmbridge abi ${g.__wasmbridge_abi()}, this runtime speaks ${GUEST_ABI}`);
  }
  if (typeof g.__wasmbridge_init === 'function') g.__wasmbridge_init();
  glue = g;
  wasmExports = exports;
  // A threaded module imports its (shared) memory instead of exporting it.
  if (typeof g.__wasmbridge_threads_memory === 'function') importedMemory = g.__wasmbridge_threads_memory();
}

function memoryBytes() {
  const memory = wasmExports?.memory ?? importedMemory;
  return memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0;
}

/** Collects the ArrayBuffers of a result so they move to the page instead of being copied. */
function transfersOf(value, into) {
  if (value instanceof ArrayBuffer) into.push(value);
  else if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer && !into.includes(value.buffer)) {
    into.push(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'object' && v !== null) transfersOf(v, into);
  }
}

/** Turns whatever a call threw into a wire error. */
function describeThrow(err, fn) {
  if (err && typeof err === 'object' && err[GUEST_ERROR_MARKER] === true) {
    return { error: wireError(String(err[GUEST_ERROR_CODE]), String(err.message), err[GUEST_ERROR_DATA]), trapped: false };
  }
  if (err instanceof WebAssembly.RuntimeError) {
    const panic = lastPanic;
    lastPanic = '';
    if (memoryLimit > 0 && memoryBytes() >= memoryLimit) {
      return { error: { code: CODES.MEMORY_LIMIT, message: `${fn} ran out of memory: the instance holds ${memoryBytes()} bytes, the limit is ${memoryLimit}` }, trapped: true };
    }
    const message = panic
      ? `${fn} panicked: ${panic}`
      : `${fn} trapped: ${err.message}`;
    return { error: { code: CODES.PANIC, message }, trapped: true };
  }
  if (err instanceof TypeError || err instanceof RangeError) {
    return { error: { code: CODES.BAD_ARGUMENT, message: `${fn} rejected its arguments: ${err.message}` }, trapped: false };
  }
  return { error: { code: CODES.GUEST_ERROR, message: `${fn} threw: ${messageOf(err)}` }, trapped: false };
}

/**
 * Sends the results waiting in the outbox. Once retired, every call not yet
 * started goes back too, with the buffers of its arguments, so the pool can
 * run it elsewhere as if it had never left.
 */
function flush(now) {
  const returned = retired ? takeInbox() : [];
  sinceFlush = 0;
  if (outbox.length === 0 && packedCount === 0 && returned.length === 0) return;
  // Only the drain loop's check reads it, and only with a control block.
  lastFlush = now ?? (control === null ? 0 : Date.now());
  postPacked();
  if (outbox.length > 0 || retired) postOutbox(retired ? returned : null);
}

/** Sends the outbox's results; with `returned` (after a trap), as the message that says the worker retired. */
function postOutbox(returned) {
  const results = outbox;
  const transfers = outboxTransfers;
  outbox = [];
  outboxTransfers = [];
  try {
    if (returned === null && results.length === 1) {
      // One result goes flat: a success's value alone, any other result as the message itself.
      const r = results[0];
      post(r.ok && r.outputs === undefined ? valueMessage(r.id, r.value) : resultMessage(r), transfers.length > 1 ? [...new Set(transfers)] : transfers);
      return;
    }
    // Calls of one message may share a buffer; a transfer list must name it once.
    const moved = returned === null ? [...new Set(transfers)] : [...new Set([...transfers, ...returned.flatMap((c) => c.transfer)])];
    post(resultsMessage(results, returned), moved);
  } catch {
    // One value could not be cloned; send them one by one so only that call fails.
    postEach(results);
    if (returned !== null) post(resultsMessage([], returned), [...new Set(returned.flatMap((c) => c.transfer))]);
  }
}

/** Sends results one message each, so a value that cannot be cloned fails only its own call. */
function postEach(results) {
  for (const r of results) {
    try {
      post(resultsMessage([r]), r.ok ? transfersFor(r.outputs ? [r.value, ...r.outputs] : r.value) : []);
    } catch (e) {
      const message = `the result cannot be sent to the page: ${messageOf(e)}`;
      post(resultsMessage([errorResult(r.id, CODES.BAD_RESULT, message)]));
    }
  }
}

/** Sends the packed results as one PackedResultsMessage, their typed arrays and the buffers of `others` transferred. */
function postPacked() {
  if (packedCount === 0) return;
  const n = packedCount;
  const ids = packedIds.slice(0, n);
  const status = packedStatus.slice(0, n);
  const values = packedValues.slice(0, n);
  const others = packedOthers;
  const transfers = packedTransfers;
  packedCount = 0;
  packedOthers = [];
  packedTransfers = [];
  try {
    post(packedResultsMessage(ids, status, values, others), [ids.buffer, status.buffer, values.buffer, ...new Set(transfers)]);
  } catch {
    // A value in `others` cannot be cloned: unpack them all, so only that call fails.
    const results = [];
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (status[i] === PACKED_STATUS.NUMBER) results.push(okResult(ids[i], values[i]));
      else if (status[i] === PACKED_STATUS.VALUE) results.push(okResult(ids[i], others[k++]));
      else results.push({ id: ids[i], ok: false, error: others[k++] });
    }
    postEach(results);
  }
}

/** The calls this worker has not started, each with the ArrayBuffers of its arguments to move back. */
function takeInbox() {
  const calls = inbox.slice(inboxHead).filter((c) => c !== undefined).flatMap((c) => (c instanceof PackedChunk ? c.rest() : [c]));
  inbox.length = 0;
  inboxHead = 0;
  queued = 0;
  for (const c of calls) c.transfer = argBuffers(c.args);
  return calls;
}

/** The distinct ArrayBuffers (not shared ones) under typed arrays, buffers, arrays and plain objects in `args`. */
function argBuffers(args) {
  const out = new Set();
  const seen = new Set();
  const stack = [...args];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof ArrayBuffer) out.add(v);
    else if (ArrayBuffer.isView(v)) { if (v.buffer instanceof ArrayBuffer) out.add(v.buffer); } else for (const key of Object.keys(v)) stack.push(v[key]);
  }
  return [...out];
}

function transfersFor(value) {
  const t = [];
  transfersOf(value, t);
  return t;
}

/**
 * Runs one call and returns its WireResult, or, only when the guest returned
 * a promise (an `async` export), a promise of it. The control block's RUNNING
 * slot is written once, when the call starts: it goes back to 0 only when the
 * worker runs out of calls (`idle`), since the next call overwrites it anyway
 * and the page reads it only to find a stuck call.
 */
function run(call) {
  const id = call.id;
  const fn = call.fn;
  // A packed call found its function by position (PackedChunk); a wire call looks it up by name.
  const f = call.f ?? callable.get(fn);
  if (f === undefined || f === null) {
    return errorResult(id, CODES.UNKNOWN_FUNCTION, `no function named ${JSON.stringify(fn)} in this guest`);
  }
  runningId = id;
  if (control !== null) Atomics.store(control, CONTROL.RUNNING, id);
  if (call.regions && importedMemory !== null) for (const at of call.regions) inPlace.add(call.args[at]);
  let value;
  const args = call.args;
  try {
    // Up to three arguments without a spread, which costs more than the call of a small function.
    switch (args.length) {
      case 0: value = f(); break;
      case 1: value = f(args[0]); break;
      case 2: value = f(args[0], args[1]); break;
      case 3: value = f(args[0], args[1], args[2]); break;
      default: value = f(...args);
    }
  } catch (err) {
    runningId = 0;
    return failure(id, fn, err);
  }
  if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
    return Promise.resolve(value).then((v) => success(call, v), (err) => failure(id, fn, err)).finally(() => { runningId = 0; });
  }
  runningId = 0;
  return success(call, value);
}

function success(call, value) {
  if (memoryLimit > 0 && memoryBytes() > memoryLimit) {
    retired = true;
    return errorResult(call.id, CODES.MEMORY_LIMIT, `${call.fn} grew the instance to ${memoryBytes()} bytes, over the limit of ${memoryLimit}; the instance was recycled`);
  }
  const result = okResult(call.id, value);
  // The guest wrote into these arguments (wasm-bindgen copies a `&mut [T]` back into the view it was given): they go back to the page.
  if (call.outputs) result.outputs = call.outputs.map((at) => call.args[at]);
  return result;
}

function failure(id, fn, err) {
  const { error, trapped } = describeThrow(err, fn);
  if (trapped) retired = true;
  return { id, ok: false, error };
}

/** The worker has no call to run: the control block says so. */
function idle() {
  if (control !== null) Atomics.store(control, CONTROL.RUNNING, 0);
}

/**
 * One call on its own, for the fast lane: RUNNING is cleared after it, as the
 * lane's watchdog expects. Synchronous, like `run`, unless the guest returned
 * a promise.
 */
function runAlone(call) {
  const result = run(call);
  if (result instanceof Promise) return result.finally(idle);
  idle();
  return result;
}

/** Stores a call's result in the outbox, its buffers to be moved with it. */
function keep(result) {
  if (packedCount > 0) postPacked();
  outbox.push(result);
  if (result.ok) {
    transfersOf(result.value, outboxTransfers);
    if (result.outputs) transfersOf(result.outputs, outboxTransfers);
  }
}

/** Stores a packed call's result with the packed results. */
function keepPacked(result) {
  if (outbox.length > 0) postOutbox(null);
  const i = packedCount;
  if (i === packedIds.length) {
    const grow = (a) => { const b = new a.constructor(a.length * 2); b.set(a); return b; };
    packedIds = grow(packedIds);
    packedStatus = grow(packedStatus);
    packedValues = grow(packedValues);
  }
  packedIds[i] = result.id;
  if (!result.ok) {
    packedStatus[i] = PACKED_STATUS.ERROR;
    packedOthers.push(result.error);
  } else if (typeof result.value === 'number') {
    packedStatus[i] = PACKED_STATUS.NUMBER;
    packedValues[i] = result.value;
  } else {
    packedStatus[i] = PACKED_STATUS.VALUE;
    packedOthers.push(result.value);
    transfersOf(result.value, packedTransfers);
  }
  packedCount = i + 1;
}

/**
 * A PackedCallsMessage in the inbox, read call by call. `next()` fills one
 * call record, reused for every call (the loop runs one call at a time and
 * awaits a promise before the next), so a packed call allocates nothing here.
 */
class PackedChunk {
  constructor(data) {
    this.data = data;
    this.at = 0;
    this.call = { id: 0, fn: '', f: null, args: [], deadline: 0 };
  }

  get done() { return this.at >= this.data.length; }

  /** How many calls the chunk holds (a walk over their headers). */
  count() {
    const d = this.data;
    let n = 0;
    for (let at = 0; at < d.length; at += PACKED_HEADER + d[at + 3]) n += 1;
    return n;
  }

  next() {
    const d = this.data;
    const at = this.at;
    const n = d[at + 3];
    const call = this.call;
    call.id = d[at];
    call.fn = functionNames[d[at + 1]] ?? '';
    call.f = callableAt[d[at + 1]] ?? null;
    call.deadline = d[at + 2];
    const args = call.args;
    // Setting an array's length is a call into the engine: only when it changes.
    if (args.length !== n) args.length = n;
    for (let j = 0; j < n; j++) args[j] = d[at + PACKED_HEADER + j];
    this.at = at + PACKED_HEADER + n;
    return call;
  }

  /** The calls not started yet, as wire calls to hand back. */
  rest() {
    const calls = [];
    while (!this.done) {
      const c = this.next();
      calls.push({ id: c.id, fn: c.fn, args: [...c.args], deadline: c.deadline });
    }
    return calls;
  }
}

/**
 * Runs the inbox in order, synchronously: no task or microtask between two
 * calls unless a guest function returns a promise, which is awaited before
 * the next call starts (calls run one at a time, in order, whatever they
 * return).
 */
function drain() {
  if (awaiting) return;
  while (inboxHead < inbox.length && !retired) {
    const entry = inbox[inboxHead];
    let call = entry;
    if (entry instanceof PackedChunk) {
      if (entry.done) {
        inbox[inboxHead] = undefined;
        inboxHead += 1;
        continue;
      }
      call = entry.next();
    } else {
      inbox[inboxHead] = undefined;
      inboxHead += 1;
    }
    queued -= 1;
    // Without a control block every result leaves before the next call
    // starts (below), one at a time: then the flat `result` is the cheaper form.
    const store = call === entry || control === null ? keep : keepPacked;
    // Without a control block the page learns which call runs only from the
    // results that came before it, so they must be out before it starts.
    if (outbox.length > 0 || packedCount > 0) {
      if (control === null) flush();
      else {
        // Date.now(), a V8 builtin, costs a fraction of performance.now() (a call
        // into the browser) and its millisecond is the step wanted here; a
        // clock set back flushes at once instead of waiting for it.
        const now = Date.now();
        if (now - lastFlush >= FLUSH_AFTER_MS || now < lastFlush || (sinceFlush >= PARTIAL_FLUSH && sinceFlush > queued)) flush(now);
      }
    }
    sinceFlush += 1;
    if (call.deadline && performance.timeOrigin + performance.now() > call.deadline) {
      store(errorResult(call.id, CODES.TIMEOUT, `${call.fn} timed out before it started`));
      continue;
    }
    const result = run(call);
    if (result instanceof Promise) {
      awaiting = true;
      result.then((r) => {
        awaiting = false;
        store(r);
        drain();
      });
      return;
    }
    store(result);
  }
  if (!retired) {
    inbox.length = 0;
    inboxHead = 0;
    queued = 0;
  }
  idle();
  flush();
}

self.onmessage = (event) => {
  const msg = event.data;
  if (Array.isArray(msg)) {
    if (msg[0] !== PROTOCOL) return;
    // An idle worker's one call (FLAT_CALL), as the wire call it would be in a `calls` message.
    inbox.push({ id: msg[FLAT_CALL.ID], fn: functionNames[msg[FLAT_CALL.FN]] ?? '', args: msg.slice(FLAT_CALL.ARGS), deadline: msg[FLAT_CALL.DEADLINE] });
    queued += 1;
    if (retired) flush();
    else drain();
    return;
  }
  if (!msg || msg.wb !== PROTOCOL) return;
  if (msg.kind === TO_WORKER.PACKED) {
    const chunk = new PackedChunk(msg.calls);
    inbox.push(chunk);
    queued += chunk.count();
    if (retired) flush();
    else drain();
  } else if (msg.kind === TO_WORKER.CALLS) {
    for (const c of msg.calls) inbox.push(c);
    queued += msg.calls.length;
    // Calls that crossed the retirement on their way here go straight back.
    if (retired) flush();
    else drain();
  } else if (msg.kind === TO_WORKER.MODULE) {
    moduleArrived(msg.module);
  } else if (msg.kind === TO_WORKER.INIT) {
    startGuest(msg);
  }
};

/** The init message: instantiates the guest, then reports `ready` (or `init-failed`). */
async function startGuest(msg) {
  if (msg.module) moduleArrived(msg.module);
  glueUrl = msg.glue;
  functionNames = msg.functions;
  control = msg.control ? new Int32Array(msg.control) : null;
  memoryLimit = msg.memoryLimit || 0;
  // Only the fast lane's worker needs its half of the lane; it loads alongside the rest.
  const laneHalf = msg.lane ? import('./lane-worker.js') : null;
  laneHalf?.catch(() => {}); // awaited below; a failure there is the init failure
  try {
    // The lock, and the glue's integrity check followed by its import, run
    // side by side: importing the glue runs only wasm-bindgen's JavaScript,
    // and the guest's code runs only once both are done, so `alive` still
    // comes before any of it. The page may still be compiling the module.
    const locked = msg.lock && globalThis.navigator?.locks
      ? (msg.lock === EARLY_LOCK ? earlyLock : holdLock(msg.lock)).then(() => post(aliveMessage()))
      : null;
    const checked = msg.glueIntegrity ? checkGlue(msg.glueIntegrity) : Promise.resolve();
    // A threaded module's thread workers start once the glue is known good,
    // while this worker imports and instantiates it (only then does threads.js
    // give them their work). Other workers never load threads.js.
    const threads = msg.threads > 0
      ? Promise.all([import('./threads.js'), checked]).then(([half]) => ({ half, spawned: half.spawnThreads(msg.threads, glueUrl) }))
      : null;
    threads?.catch(() => {}); // awaited below; a failure there is the init failure
    // The glue is the guest's, found at run time: bundlers must leave this import alone.
    const imported = checked.then(() => import(/* @vite-ignore */ /* webpackIgnore: true */ glueUrl));
    const [, g] = await Promise.all([locked, imported]);
    module = await moduleReady;
    await instantiate(g);
    if (threads) {
      const { half, spawned } = await threads;
      await half.startThreads({ glue, glueUrl, module, count: msg.threads, control: msg.control, channel: msg.threadChannel, threads: spawned });
    }
    callable = new Map(msg.functions.filter((f) => typeof glue[f] === 'function').map((f) => [f, glue[f]]));
    callableAt = msg.functions.map((f) => callable.get(f) ?? null);
    const missing = msg.functions.filter((f) => !callable.has(f));
    if (missing.length > 0) {
      throw new Error(`the manifest lists functions the module does not export: ${missing.join(', ')}`);
    }
    const lane = laneHalf ? await laneHalf : null;
    // A threaded pool worker's memory goes to the page, which allocates shared regions in it.
    post(readyMessage(msg.threads > 0 ? importedMemory : null));
    // The fast lane's dedicated worker: from now on it only serves the lane buffer.
    // If that ever throws, closing the worker releases its lock, and the page restarts the lane.
    // After a trap the lane half answers, tells the page, and returns: then this worker closes.
    if (lane) lane.serveLane(msg.lane, runAlone, post, transfersFor, () => retired).finally(() => self.close());
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : messageOf(err);
    post(initFailedMessage(wireError(CODES.INIT_FAILED, `the guest failed to start: ${message}`)));
  }
}
