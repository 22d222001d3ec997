// Types of the wasmbridge runtime (wasmbridge.js).

/** Error codes; a guest may also use codes of its own. */
export type ErrorCode =
  | 'GUEST_ERROR' | 'BAD_ARGUMENT' | 'PANIC' | 'CANCELLED' | 'UNKNOWN_FUNCTION' | 'TIMEOUT'
  | 'WORKER_LOST' | 'INIT_FAILED' | 'QUEUE_FULL' | 'POOL_CLOSED' | 'CIRCUIT_OPEN' | 'MEMORY_LIMIT' | 'BAD_RESULT';

export declare const CODES: { readonly [K in ErrorCode]: K };

/** What every failed call rejects with. */
export declare class WasmBridgeError extends Error {
  constructor(code: string, message: string, details?: { functionName?: string; data?: unknown; callId?: number });
  readonly name: 'WasmBridgeError';
  /** Why the call failed: one of `ErrorCode`, or a guest's own code. */
  readonly code: ErrorCode | (string & {});
  /** The function that was called, when known. */
  readonly functionName?: string;
  /** JSON data the guest attached with `Error::with_data`. */
  readonly data?: unknown;
  readonly callId?: number;
  toJSON(): { code: string; message: string; functionName?: string; data?: unknown };
}

export interface PoolOptions {
  /** URL of the bundle directory (holding manifest.json); defaults to the directory of wasmbridge.js. */
  bundle?: string | URL;
  /** Number of workers (sets minSize and maxSize); default: hardware concurrency, at most 4. */
  size?: number;
  /** Workers kept running; default `size`. */
  minSize?: number;
  /** Workers started on demand when all are busy; default `size`. */
  maxSize?: number;
  /** Default timeout of every call in ms (0: none). */
  timeout?: number;
  /** Calls that may wait for a worker before new ones fail with QUEUE_FULL; default unlimited. */
  maxQueue?: number;
  /** Arguments of one call larger than this (bytes, approximate) reject with BAD_ARGUMENT; default 256 MiB. */
  maxArgBytes?: number;
  /** Bytes of wasm memory one instance may hold; past it the call fails with MEMORY_LIMIT and the instance is recycled. */
  memoryLimit?: number;
  /** Calls in flight per worker before others wait in the pool's queue; default 64. */
  window?: number;
  /** Ms a running call has to notice `cancelled()` before its worker is stopped; default 100. */
  cancelGrace?: number;
  /** Ms a worker may take to start; default 10 000. */
  initTimeout?: number;
  /** Consecutive panics or timeouts that open a function's circuit; default 5. */
  breakerThreshold?: number;
  /** Ms an open circuit fails calls with CIRCUIT_OPEN; default 5 000. */
  breakerCooldown?: number;
  /** Ms before an idle worker above minSize is stopped; default 30 000. */
  idleTimeout?: number;
  /** Bytes of the .wasm loaded so far, while the module downloads. */
  onLoadProgress?: (loaded: number, total: number) => void;
}

export interface CallOptions {
  /** Function name, as listed in the manifest. */
  fn: string;
  args?: unknown[];
  /** Ms from the call until it must settle; overrides the pool's default. */
  timeout?: number;
  /** Aborting rejects the call with CANCELLED and stops its work. */
  signal?: AbortSignal;
  /** ArrayBuffers (or views of them) to move to the worker instead of copying; they are detached afterwards. */
  transfer?: Array<ArrayBuffer | ArrayBufferView>;
  /** Receives fractions reported by `wasmbridge_guest::progress`. */
  onProgress?: (fraction: number) => void;
}

export type BatchResult<T = unknown> = { ok: true; value: T } | { ok: false; error: WasmBridgeError };

export interface FunctionInfo {
  name: string;
  params: Array<{ name: string; type: string; optional: boolean }>;
  returns: string;
  doc?: string;
}

export interface PoolStats {
  workers: Array<{ id: number; state: 'starting' | 'ready' | 'dead'; busy: boolean; inFlight: number; calls: number; failures: number; restarts: number; pinned: boolean }>;
  functions: Record<string, { count: number; errors: Record<string, number>; p50: number; p99: number; circuit: 'open' | 'closed' }>;
  queued: number;
  inFlight: number;
  closed: boolean;
  isolated: boolean;
}

export interface PinnedHandle {
  readonly workerId: number;
  /** True once the worker behind this handle was lost; every later call rejects with WORKER_LOST. */
  readonly lost: boolean;
  call<T = any>(fn: string, ...args: unknown[]): Promise<T>;
  call<T = any>(options: CallOptions): Promise<T>;
  release(): void;
}

export declare class Pool {
  constructor(options?: PoolOptions);
  /** Resolves once every initial worker is ready; rejects with INIT_FAILED. */
  readonly ready: Promise<Pool>;
  readonly functions: FunctionInfo[];
  readonly isolated: boolean;
  /** `pool.api.divide(7, 2)` is `pool.call('divide', 7, 2)`. */
  readonly api: Record<string, (...args: any[]) => Promise<any>>;
  call<T = any>(fn: string, ...args: unknown[]): Promise<T>;
  call<T = any>(options: CallOptions): Promise<T>;
  batch(calls: Array<[string, ...unknown[]] | CallOptions>, options?: { timeout?: number; signal?: AbortSignal }): Promise<BatchResult[]>;
  pin(): Promise<PinnedHandle>;
  stats(): PoolStats;
  close(): void;
}

/** Starts a pool and resolves when it is ready. */
export declare function createPool(options?: PoolOptions): Promise<Pool>;
