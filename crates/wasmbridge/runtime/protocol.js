// The page↔worker wire protocol: message kinds, their fields, error codes and
// the layout of the shared control block. Types and constants only; the Rust
// side of the contract (what a guest module exports and throws) is
// crates/wasmbridge-guest/src/protocol.rs. Change both together.

/** Every message carries `wb: PROTOCOL` so a page's own worker messages cannot be mistaken for ours. */
export const PROTOCOL = 'wasmbridge/1';

/** Version of the guest contract; a guest's `__wasmbridge_abi()` must return it. */
export const GUEST_ABI = 1;

/** Names of the globals the worker installs for the guest library (see protocol.rs). */
export const HOST_PANIC = '__wasmbridge_panic';
export const HOST_CANCELLED = '__wasmbridge_cancelled';
export const HOST_PROGRESS = '__wasmbridge_progress';

/** Property set on errors thrown by `wasmbridge_guest::Error`. */
export const GUEST_ERROR_MARKER = '__wasmbridgeError';

/**
 * Message kinds, page → worker.
 *
 * - `init`: `{ module: WebAssembly.Module, glue: string (URL of the wasm-bindgen JS glue),
 *   glueIntegrity: string | null (its SRI hash from the manifest, checked before the import),
 *   functions: string[] (callable names), workerId: number, control: SharedArrayBuffer | null,
 *   lock: string (a Web Lock the worker holds until it dies; the page's request for it is
 *   granted when the worker is gone), memoryLimit: number (bytes, 0 = none),
 *   lane?: SharedArrayBuffer (only for the fast lane's dedicated worker: after `ready` it
 *   serves that buffer forever, see lane.js, and takes no `calls` messages) }`.
 * - `calls`: `{ calls: WireCall[] }`, run in order; one message may carry many calls.
 * - `call`: one WireCall's fields on the message itself (`deadline` 0: none), sent to an idle worker.
 */
export const TO_WORKER = Object.freeze({ INIT: 'init', CALLS: 'calls', CALL: 'call' });

/**
 * Message kinds, worker → page.
 *
 * - `alive`: `{}` the worker holds its lock; from now on its death is noticed.
 * - `ready`: `{ functions: string[] }` the glue's callable exports, after instantiation.
 * - `init-failed`: `{ error: WireError }`; the worker is useless and is terminated.
 * - `results`: `{ results: WireResult[], retired?: true, returned?: ReturnedCall[] }`; buffers in
 *   values are transferred. `retired`: a call trapped (panic, memory limit), the instance is
 *   unusable and the worker runs nothing more; `returned` holds every call it had not started
 *   (and, after `retired`, every call that reaches it later), with their buffers transferred
 *   back. The page stops the worker once nothing it was given is unaccounted for.
 * - `result`: one WireResult's fields on the message itself, sent instead of `results` when a
 *   worker has exactly one result to report and is not retired.
 * - `progress`: `{ id: number, fraction: number }` from `wasmbridge_guest::progress`.
 * - `lane-result`: `{ result: WireResult }` from a lane worker, for a lane call whose
 *   result does not fit the lane buffer (lane.js).
 */
export const FROM_WORKER = Object.freeze({
  ALIVE: 'alive',
  READY: 'ready',
  INIT_FAILED: 'init-failed',
  RESULTS: 'results',
  RESULT: 'result',
  PROGRESS: 'progress',
  LANE_RESULT: 'lane-result',
});

/**
 * @typedef {{ id: number, fn: string, args: unknown[], deadline?: number }} WireCall
 * @typedef {WireCall & { transfer: ArrayBuffer[] }} ReturnedCall the ArrayBuffers of its arguments, moved back
 * @typedef {{ code: string, message: string, data?: unknown }} WireError
 * @typedef {{ id: number, ok: true, value: unknown } | { id: number, ok: false, error: WireError }} WireResult
 */

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
