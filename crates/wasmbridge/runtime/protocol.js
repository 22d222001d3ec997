// The page↔worker wire protocol: every message as a typedef with the one
// function that builds it, error codes and the layout of the shared control
// block. Types, constants and constructors only; the Rust side of the contract
// (what a guest module exports and throws) is
// crates/wasmbridge-guest/src/protocol.rs, with the same names, and
// crates/wasmbridge-guest/tests/protocol_names.rs compares the two. Change
// both together. worker.js imports nothing (one fetch to start a worker): it
// carries a verbatim copy of the constants and constructors it uses, which
// crates/wasmbridge/tests/tidy.rs compares with this file; copy after a change.

/** Every message carries `wb: PROTOCOL` so a page's own worker messages cannot be mistaken for ours. */
export const PROTOCOL = 'wasmbridge/1';

/** Version of the guest contract; a guest's `__wasmbridge_abi()` must return it. */
export const GUEST_ABI = 1;

/** Names of the globals the worker installs for the guest library (see protocol.rs). */
export const HOST_PANIC = '__wasmbridge_panic';
export const HOST_CANCELLED = '__wasmbridge_cancelled';
export const HOST_PROGRESS = '__wasmbridge_progress';
export const HOST_IN_PLACE = '__wasmbridge_in_place';

/** Property set on errors thrown by `wasmbridge_guest::Error`. */
export const GUEST_ERROR_MARKER = '__wasmbridgeError';
/** Property of a thrown guest error holding its code. */
export const GUEST_ERROR_CODE = 'code';
/** Property of a thrown guest error holding its optional data. */
export const GUEST_ERROR_DATA = 'data';

/** Message kinds, page → worker (the messages are the typedefs below; a flat call, CallMessage, is an array without a kind). */
export const TO_WORKER = Object.freeze({ INIT: 'init', MODULE: 'module', CALLS: 'calls', PACKED: 'packed' });

/**
 * The two messages of a call to an idle worker are arrays, not objects: a
 * structured clone writes and reads every key of an object, and these two
 * messages are that call's whole round trip. Each starts with PROTOCOL, as
 * every other message carries it in `wb`. Positions in CallMessage,
 * `[PROTOCOL, id, fn, deadline, ...args]` (`fn` is the function's position in
 * the `functions` of `init`):
 */
export const FLAT_CALL = Object.freeze({ ID: 1, FN: 2, DEADLINE: 3, ARGS: 4 });
/** Positions in ValueMessage, `[PROTOCOL, id, value]`. */
export const FLAT_VALUE = Object.freeze({ ID: 1, VALUE: 2 });

/** Message kinds, worker → page (the messages are the typedefs below; a flat value, ValueMessage, is an array without a kind). */
export const FROM_WORKER = Object.freeze({
  ALIVE: 'alive',
  READY: 'ready',
  INIT_FAILED: 'init-failed',
  RESULTS: 'results',
  RESULT: 'result',
  PROGRESS: 'progress',
  LANE_RESULT: 'lane-result',
  PACKED_RESULTS: 'packed-results',
});

/**
 * Message kinds between a pool worker and its thread workers (threads.js,
 * thread-worker.js), and from a thread worker to the page on the slot's
 * BroadcastChannel (`threadChannel` of the init message).
 */
export const THREAD = Object.freeze({ START: 'thread-start', WAITING: 'thread-waiting', FAILED: 'thread-failed', TRAPPED: 'thread-trapped' });

/**
 * How a packed result (PackedResultsMessage) is told: NUMBER, its value is in
 * `values`; VALUE, any other value, the next entry of `others`; ERROR, the
 * next entry of `others` is its WireError.
 */
export const PACKED_STATUS = Object.freeze({ NUMBER: 0, VALUE: 1, ERROR: 2 });

/** Float64 slots a packed call takes besides its arguments: id, function index, deadline, argument count. */
export const PACKED_HEADER = 4;

/**
 * One call on the wire. `deadline` is the `performance.timeOrigin + now()` in
 * ms after which the worker fails the call with TIMEOUT instead of starting it
 * (0: none). `outputs` (only on calls that have them): positions of arguments
 * the guest writes into, which the worker sends back with the result.
 * `regions` (only on calls that have them): positions of arguments that are
 * views of regions the pool allocated in this worker's own (shared) memory;
 * the worker vouches for exactly those views to the guest (HOST_IN_PLACE), so
 * `SharedBytes` reads them in place.
 * @typedef {{ id: number, fn: string, args: unknown[], deadline: number, outputs?: number[], regions?: number[] }} WireCall
 * @typedef {WireCall & { transfer: ArrayBuffer[] }} ReturnedCall a call a retired worker hands back, with the
 *   ArrayBuffers of its arguments, moved back
 * @typedef {{ code: string, message: string, data?: unknown }} WireError
 * @typedef {{ id: number, ok: true, value: unknown, outputs?: ArrayBufferView[] } | { id: number, ok: false, error: WireError }} WireResult
 *   `outputs`: the call's output arguments after the call, in the order the call named them, their buffers transferred
 */

/**
 * `init`, page → worker: instantiate `module` with the glue at `glue`
 * (checked against `glueIntegrity`, its SRI hash from the manifest, before the
 * import; null when there is none, or when the page checked it just before
 * sending `init`, as for a pool's first workers) and allow the names in `functions`. `control` is the worker's
 * control block (CONTROL) when the page is isolated; `lock` a Web Lock the
 * worker holds until it dies (the page's request for it is granted when the
 * worker is gone); `memoryLimit` bytes, 0 = none. `lane` only for the fast
 * lane's dedicated worker: after `ready` it serves that buffer forever (see
 * lane-worker.js) and takes no `calls` messages. `module` is null when the
 * pool sends `init` while it still compiles the guest: the worker takes its
 * lock and imports the glue meanwhile, and instantiates on `module`.
 * `threads` > 0 only for a threaded module: the worker starts that many
 * thread workers (threads.js) before `ready`, and they report traps and
 * progress on the BroadcastChannel named `threadChannel`.
 * @typedef {{ wb: string, kind: 'init', module: WebAssembly.Module | null, glue: string, glueIntegrity: string | null,
 *   functions: string[], control: SharedArrayBuffer | null, lock: string | null, memoryLimit: number,
 *   lane: SharedArrayBuffer | null, threads: number, threadChannel: string | null }} InitMessage
 * @typedef {{ wb: string, kind: 'module', module: WebAssembly.Module }} ModuleMessage the compiled guest, after an
 *   `init` that came without it
 * @typedef {{ wb: string, kind: 'calls', calls: WireCall[] }} CallsMessage run in order; one message may carry many calls
 * @typedef {[string, number, number, number, ...unknown[]]} CallMessage one call sent to an idle worker, as an array
 *   (FLAT_CALL)
 * @typedef {{ wb: string, kind: 'alive' }} AliveMessage the worker holds its lock; from now on its death is noticed
 * @typedef {{ wb: string, kind: 'ready', memory: WebAssembly.Memory | null }} ReadyMessage the guest is instantiated;
 *   a threaded module's pool worker sends its shared memory, in which the page allocates regions
 * @typedef {{ wb: string, kind: 'init-failed', error: WireError }} InitFailedMessage the worker is useless and is terminated
 * @typedef {{ wb: string, kind: 'results', results: WireResult[], retired?: true, returned?: ReturnedCall[] }} ResultsMessage
 *   buffers in values are transferred. `retired`: a call trapped (panic, memory limit), the instance is
 *   unusable and the worker runs nothing more; `returned` holds every call it had not started (and,
 *   after `retired`, every call that reaches it later), with their buffers transferred back. The page
 *   stops the worker once nothing it was given is unaccounted for.
 * @typedef {[string, number, unknown]} ValueMessage one call's value, as an array (FLAT_VALUE), sent instead of
 *   `results` when a worker has exactly one result to report, that result is a success without `outputs` and the
 *   worker is not retired; buffers in the value are transferred
 * @typedef {WireResult & { wb: string, kind: 'result' }} ResultMessage one result's fields on the message itself, sent
 *   instead of `results` when a worker has exactly one result to report, not a ValueMessage, and is not retired
 * @typedef {{ wb: string, kind: 'progress', id: number, fraction: number }} ProgressMessage from `wasmbridge_guest::progress`
 * @typedef {{ wb: string, kind: 'packed', calls: Float64Array }} PackedCallsMessage calls whose arguments are all
 *   numbers, run in order like `calls`: each is PACKED_HEADER slots (id, the function's position in the
 *   `functions` of `init`, deadline, argument count n) and then its n arguments; the buffer is transferred
 * @typedef {{ wb: string, kind: 'packed-results', ids: Float64Array, status: Uint8Array, values: Float64Array,
 *   others: unknown[] }} PackedResultsMessage results of packed calls, in the order they ran: `ids[i]`'s
 *   result is told by `status[i]` (PACKED_STATUS); `values[i]` holds a number result, `others` in order
 *   every other value and error. Buffers are transferred, those in `others` too
 * @typedef {{ wb: string, kind: 'lane-result', result: WireResult }} LaneResultMessage
 *   from a lane worker, for a lane call whose result does not fit the lane buffer
 * @typedef {{ wb: string, kind: 'thread-start', module: WebAssembly.Module, memory: WebAssembly.Memory, glue: string,
 *   control: SharedArrayBuffer, channel: string }} ThreadStartMessage pool worker → thread worker: instantiate
 *   `module` with the shared `memory` and run one rayon thread
 * @typedef {{ wb: string, kind: 'thread-waiting' }} ThreadWaitingMessage thread worker → pool worker: instantiated,
 *   waiting for its rayon thread
 * @typedef {{ wb: string, kind: 'thread-failed', message: string }} ThreadFailedMessage thread worker → pool worker:
 *   it could not instantiate the module
 * @typedef {{ wb: string, kind: 'thread-trapped', panic: string, error: string }} ThreadTrappedMessage thread worker →
 *   page: its instance trapped (`panic`: the panic hook's text, or empty), so the call the pool worker runs never ends
 */

/**
 * @param {Omit<InitMessage, 'wb' | 'kind' | 'lane' | 'threads' | 'threadChannel'> & { lane?: SharedArrayBuffer | null, threads?: number, threadChannel?: string | null }} fields
 * @returns {InitMessage}
 */
export const initMessage = ({ module, glue, glueIntegrity, functions, control, lock, memoryLimit, lane = null, threads = 0, threadChannel = null }) => ({
  wb: PROTOCOL, kind: TO_WORKER.INIT, module, glue, glueIntegrity, functions, control, lock, memoryLimit, lane, threads, threadChannel,
});
/** @returns {ModuleMessage} */
export const moduleMessage = (/** @type {WebAssembly.Module} */ module) => ({ wb: PROTOCOL, kind: TO_WORKER.MODULE, module });
/** @returns {CallsMessage} */
export const callsMessage = (/** @type {WireCall[]} */ calls) => ({ wb: PROTOCOL, kind: TO_WORKER.CALLS, calls });
/** @returns {CallMessage} */
export const callMessage = (/** @type {number} */ id, /** @type {number} */ fn, /** @type {unknown[]} */ args, deadline = 0) => [PROTOCOL, id, fn, deadline, ...args];
/** @returns {WireCall} */
export const wireCall = (/** @type {number} */ id, /** @type {string} */ fn, /** @type {unknown[]} */ args, deadline = 0, /** @type {number[] | null} */ outputs = null, /** @type {number[] | null} */ regions = null) => {
  const call = outputs === null ? { id, fn, args, deadline } : { id, fn, args, deadline, outputs };
  if (regions !== null) call.regions = regions;
  return call;
};
/** @returns {PackedCallsMessage} */
export const packedCallsMessage = (/** @type {Float64Array} */ calls) => ({ wb: PROTOCOL, kind: TO_WORKER.PACKED, calls });
/** @returns {AliveMessage} */
export const aliveMessage = () => ({ wb: PROTOCOL, kind: FROM_WORKER.ALIVE });
/** @returns {ReadyMessage} */
export const readyMessage = (/** @type {WebAssembly.Memory | null} */ memory = null) => ({ wb: PROTOCOL, kind: FROM_WORKER.READY, memory });
/** @returns {InitFailedMessage} */
export const initFailedMessage = (/** @type {WireError} */ error) => ({ wb: PROTOCOL, kind: FROM_WORKER.INIT_FAILED, error });
/**
 * `returned` only from a retired worker: then the message says so and carries the calls it hands back.
 * @param {WireResult[]} results
 * @param {ReturnedCall[] | null} returned
 * @returns {ResultsMessage}
 */
export const resultsMessage = (results, returned = null) => (returned === null
  ? { wb: PROTOCOL, kind: FROM_WORKER.RESULTS, results }
  : { wb: PROTOCOL, kind: FROM_WORKER.RESULTS, results, retired: true, returned });
/**
 * Turns a result into its own message by adding `wb` and `kind` to it, so the
 * one-result answer costs no second object.
 * @param {WireResult} result
 * @returns {ResultMessage}
 */
export const resultMessage = (result) => {
  const message = /** @type {any} */ (result);
  message.wb = PROTOCOL;
  message.kind = FROM_WORKER.RESULT;
  return message;
};
/** @returns {ValueMessage} */
export const valueMessage = (/** @type {number} */ id, /** @type {unknown} */ value) => [PROTOCOL, id, value];
/** @returns {PackedResultsMessage} */
export const packedResultsMessage = (/** @type {Float64Array} */ ids, /** @type {Uint8Array} */ status, /** @type {Float64Array} */ values, /** @type {unknown[]} */ others) => ({
  wb: PROTOCOL, kind: FROM_WORKER.PACKED_RESULTS, ids, status, values, others,
});
/** @returns {ProgressMessage} */
export const progressMessage = (/** @type {number} */ id, /** @type {number} */ fraction) => ({ wb: PROTOCOL, kind: FROM_WORKER.PROGRESS, id, fraction });
/** @returns {LaneResultMessage} */
export const laneResultMessage = (/** @type {WireResult} */ result) => ({ wb: PROTOCOL, kind: FROM_WORKER.LANE_RESULT, result });
/**
 * @param {Omit<ThreadStartMessage, 'wb' | 'kind'>} fields
 * @returns {ThreadStartMessage}
 */
export const threadStartMessage = ({ module, memory, glue, control, channel }) => ({ wb: PROTOCOL, kind: THREAD.START, module, memory, glue, control, channel });
/** @returns {ThreadWaitingMessage} */
export const threadWaitingMessage = () => ({ wb: PROTOCOL, kind: THREAD.WAITING });
/** @returns {ThreadFailedMessage} */
export const threadFailedMessage = (/** @type {string} */ message) => ({ wb: PROTOCOL, kind: THREAD.FAILED, message });
/** @returns {ThreadTrappedMessage} */
export const threadTrappedMessage = (/** @type {string} */ panic, /** @type {string} */ error) => ({ wb: PROTOCOL, kind: THREAD.TRAPPED, panic, error });
/** @returns {WireResult} */
export const okResult = (/** @type {number} */ id, /** @type {unknown} */ value) => ({ id, ok: true, value });
/** @returns {WireError} */
export const wireError = (/** @type {string} */ code, /** @type {string} */ message, /** @type {unknown} */ data = undefined) => (data === undefined ? { code, message } : { code, message, data });
/** @returns {WireResult} */
export const errorResult = (/** @type {number} */ id, /** @type {string} */ code, /** @type {string} */ message, /** @type {unknown} */ data = undefined) => ({ id, ok: false, error: wireError(code, message, data) });

/**
 * Error codes. The guest produces GUEST_ERROR, BAD_ARGUMENT, PANIC and CANCELLED
 * (and any code of its own); the runtime produces the rest.
 */
export const CODES = Object.freeze({
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

/**
 * Shared control block, one per worker, as an Int32Array over a SharedArrayBuffer
 * (only when the page is cross-origin isolated):
 * slot RUNNING holds the id of the call the worker runs now (0 when idle), written by the worker;
 * slot CANCEL holds the id of a call the page wants stopped, written by the page.
 * `wasmbridge_guest::cancelled()` is true while both slots hold the same id.
 */
export const CONTROL = Object.freeze({ RUNNING: 0, CANCEL: 1, SLOTS: 2 });
