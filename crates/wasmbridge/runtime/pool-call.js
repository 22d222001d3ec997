// The pool's call record: one fixed shape for every call the pool
// registers, and its promise. Made by pool-validate.js's readCall, filled in
// and settled by pool.js.

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
    this.deadline = 0;
    this.timer = 0;
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
    /** Its function's position in the manifest when every argument is a number (it may travel packed), else -1. */
    this.packedFn = -1;
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
