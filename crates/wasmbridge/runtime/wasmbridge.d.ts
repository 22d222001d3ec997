// Types of the wasmbridge runtime (wasmbridge.js, the `wasmbridge` package's main entry).
//
// A pool is typed from its guest's own wasm-bindgen declarations:
//
//   import { createPool } from 'wasmbridge';
//   const pool = await createPool<typeof import('./wasm/my_guest.js')>({ bundle: '/wasm/' });
//   const m: number = await pool.api.mean(new Float64Array([1, 2, 3]));
//
// `typeof import(...)` only reads my_guest.d.ts (the import is erased), so the
// guest is still loaded by the pool at run time, never by the bundler.

/** Error codes; a guest may also use codes of its own. */
export type ErrorCode =
  | 'GUEST_ERROR' | 'BAD_ARGUMENT' | 'PANIC' | 'CANCELLED' | 'UNKNOWN_FUNCTION' | 'TIMEOUT'
  | 'WORKER_LOST' | 'INIT_FAILED' | 'QUEUE_FULL' | 'POOL_CLOSED' | 'CIRCUIT_OPEN' | 'MEMORY_LIMIT' | 'BAD_RESULT'
  | 'NOT_ISOLATED';

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

/**
 * Any guest: what a pool is typed with when no guest module type is given
 * (`Pool` is `Pool<any>`). Every name is callable with any arguments and
 * resolves to `any`, and a typed pool can be passed where a `Pool` is expected.
 */
export type AnyGuest = any;

/** Exports of wasm-bindgen's glue that are not guest functions. */
export type GlueExport = 'default' | 'initSync';

/**
 * The callable names of a guest module type (`typeof import('./my_guest.js')`):
 * its exported functions, without wasm-bindgen's `default` (init) and
 * `initSync`, without classes, and without wasmbridge's reserved `__wasmbridge*`.
 */
export type FunctionName<G> = {
  [K in keyof G & string]: K extends GlueExport | `__wasmbridge${string}` ? never
    : G[K] extends abstract new (...args: any) => any ? never
    : G[K] extends (...args: any) => any ? K : never;
}[keyof G & string];

/**
 * What an argument accepts: its declared type; a typed-array parameter also
 * takes a plain array, a SharedRegion or a region's view (the runtime passes
 * those through as the guest expects).
 */
export type GuestArg<P> = P extends BigInt64Array | BigUint64Array ? P | readonly bigint[]
  : P extends ArrayBufferView ? P | readonly number[] | SharedRegion | SharedRegionView
  : P;

/** The arguments of guest function `K`, as its `.d.ts` declares them (names and optionality kept). */
export type GuestArgs<G, K> = 0 extends 1 & G ? any[]
  : K extends keyof G
  ? G[K] extends (...args: infer A) => any ? { [I in keyof A]: GuestArg<A[I]> } : never
  : never;

/** What guest function `K` resolves to: its declared return type, unwrapped if it was already a Promise. */
export type GuestResult<G, K> = 0 extends 1 & G ? any
  : K extends keyof G
  ? G[K] extends (...args: any) => infer R ? Awaited<R> : never
  : never;

/**
 * `pool.api`: one method per guest function, with the guest's own parameter
 * types and docs. Each returns a Promise of the declared result; a guest
 * `Err` (a `wasmbridge_guest::Result` function), a panic, a timeout and every
 * other failure reject it with a `WasmBridgeError` (see `ErrorCode`).
 */
export type GuestApi<G> = {
  readonly [K in keyof G as K extends FunctionName<G> ? K : never]: (...args: GuestArgs<G, K>) => Promise<GuestResult<G, K>>;
};

/**
 * Every option is checked when the pool is made: a wrong type or range, or a
 * getter that throws, is a WasmBridgeError BAD_ARGUMENT naming the option.
 * Durations are ms ≥ 0; 0, Infinity and anything above 2^31 - 1 mean none
 * (cancelGrace must be a real duration).
 */
export interface PoolOptions {
  /**
   * The bundle directory (holding manifest.json, the glue and the .wasm): a
   * URL such as '/wasm/' (resolved against the page) or
   * `new URL('./wasm/', import.meta.url)`. Default: the directory of
   * wasmbridge.js, which is right when the page imports the runtime from the
   * bundle `wasmbridge build` wrote; with a bundler, give it.
   */
  bundle?: string | URL;
  /**
   * The bundle's manifest, so the pool needs no request for it and asks for
   * the module at once: say, `import manifest from './wasm/manifest.json'`
   * in an app whose bundler inlines JSON (it must be the manifest of the
   * files at `bundle`: one from another build fails with INIT_FAILED saying
   * so). Default: the manifest `wasmbridge build` inlined into the bundle's
   * manifest.js, which the runtime imports with its own modules, when the
   * pool's bundle is the directory the runtime was loaded from; else
   * manifest.json, fetched. false: always fetch manifest.json.
   */
  manifest?: BundleManifest | false;
  /**
   * The worker script. Default: worker.js next to pool.js, written as
   * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`
   * so bundlers emit it; set this only when serving worker.js somewhere else.
   */
  workerUrl?: string | URL;
  /**
   * Advanced, and for tests: starts each worker (`name` is the one the
   * browser's developer tools would show) instead of
   * `new Worker(workerUrl, { type: 'module' })`. What it returns must run
   * the runtime's worker.js and behave as a Worker toward the pool:
   * `postMessage(message, transfer)`, `terminate()`, and the `onmessage`
   * (`{ data }`), `onerror` (`{ message, preventDefault() }`) and
   * `onmessageerror` handlers the pool assigns. The runtime's own tests pass
   * a Node.js `worker_threads` Worker behind that interface. Where the
   * platform has no Web Locks (`navigator.locks`), a worker that dies must
   * say so through `onerror`, as the pool has no other way to learn of it.
   * With this option, `workerUrl` is not used.
   */
  createWorker?: (name: string) => Worker;
  /**
   * The threaded module of a bundle built with `wasmbridge build --threads`:
   * 'auto' (default) runs it when the page is cross-origin isolated, with
   * `navigator.hardwareConcurrency` rayon threads per pool worker; a number
   * sets that count; false always runs the plain module. Without isolation,
   * or in a bundle without one, the plain module runs (same functions, same
   * results); `stats().module` says which runs and why.
   */
  threads?: 'auto' | number | false;
  /** Number of workers (sets minSize and maxSize); default: hardware concurrency, at most 4. */
  size?: number;
  /** Workers kept running; default `size`. */
  minSize?: number;
  /** Workers started on demand when all are busy; default `size`. */
  maxSize?: number;
  /** Default timeout of every call in ms (0 or Infinity: none). */
  timeout?: number;
  /** Calls that may wait for a worker before new ones fail with QUEUE_FULL; default unlimited. */
  maxQueue?: number;
  /** Arguments of one call larger than this (bytes, approximate) reject with BAD_ARGUMENT; default 256 MiB. */
  maxArgBytes?: number;
  /** Bytes of wasm memory one instance may hold; past it the call fails with MEMORY_LIMIT and the instance is recycled. */
  memoryLimit?: number;
  /** Calls in flight per worker before others wait in the pool's queue; default unlimited (`windowBytes` decides). */
  window?: number;
  /** Bytes of arguments in flight per worker (as `maxArgBytes` counts them, plus 32 per call) before others wait in the pool's queue; a worker with nothing in flight takes any one call, and a window that filled up takes more once it is half empty; default 256 KiB. */
  windowBytes?: number;
  /** Ms a running call has to notice `cancelled()` before its worker is stopped; default 100. */
  cancelGrace?: number;
  /** Ms a worker may take to start once it has the compiled module; default 10 000. A worker silent that long before it takes its lock counts as lost, not as a guest failure. */
  initTimeout?: number;
  /** Consecutive panics or timeouts that open a function's circuit; default 5. */
  breakerThreshold?: number;
  /** Ms an open circuit fails calls with CIRCUIT_OPEN; default 5 000. */
  breakerCooldown?: number;
  /** Ms before an idle worker above minSize is stopped; default 30 000. */
  idleTimeout?: number;
  /**
   * Automatic fast lane, on an isolated page with more than one worker (maxSize > 1), default true:
   * a `pool.call` of a function measured fast (its sampled round trip under 1 ms), with arguments
   * that fit the lane (as for `fastCall`), no `transfer` or `onProgress`, and nothing queued, goes
   * through the fast lane when the lane is idle and its worker awake (spinning), and by postMessage
   * otherwise; while the lane worker sleeps, one such call in 16 (then 32, … up to 1024 until a
   * call finds it awake) takes the lane and wakes it. The lane worker has its own guest instance,
   * like any other worker of the pool: keep state behind `pin()`. `false`: only `fastCall` uses the lane.
   */
  lane?: boolean;
  /**
   * When `createPool` (and `pool.ready`) resolves: 'all' (default) once every
   * one of the `minSize` workers is ready; 'first' as soon as one is, the
   * others joining as they become ready. With 'first', a worker that fails to
   * start after that is replaced like any later one (counted toward the
   * give-up cap), not a start-up failure.
   */
  readyOn?: 'all' | 'first';
  /** Bytes of the .wasm loaded so far, while the module downloads. */
  onLoadProgress?: (loaded: number, total: number) => void;
}

/**
 * Read once when the call is made; a wrong type, a getter or Proxy that
 * throws, rejects the call with BAD_ARGUMENT naming the field before it is
 * registered.
 */
export interface CallOptions<G = AnyGuest, K extends FunctionName<G> = FunctionName<G>> {
  /** Function name, as listed in the manifest. */
  fn: K;
  args?: GuestArgs<G, K>;
  /** Ms from the call until it must settle; overrides the pool's default. 0, Infinity and anything above 2^31 - 1: none. */
  timeout?: number;
  /** Aborting rejects the call with CANCELLED and stops its work. */
  signal?: AbortSignal;
  /**
   * Which argument buffers move to the worker instead of being copied. Default (absent or null): none,
   * every argument is copied (structured clone) and the caller's buffers stay usable.
   * `'auto'`: the buffer of every argument that is an ArrayBuffer or a typed array / DataView, each
   * buffer once however many arguments share it; views of a SharedArrayBuffer (shared regions) are
   * shared, never moved; an argument whose buffer is already detached rejects with BAD_ARGUMENT naming it.
   * An array: exactly these ArrayBuffers (or the buffers of these views).
   * Moved buffers are detached on the page once the call is sent (the result's own buffers come back
   * moved, never copied). If the worker is stopped before the call starts (a timed-out call ahead of it),
   * the call rejects with WORKER_LOST: its buffers went with the worker. Behind a panic it runs on the fresh worker.
   */
  transfer?: 'auto' | Array<ArrayBuffer | ArrayBufferView>;
  /**
   * Positions (0-based) of arguments the guest writes into: a `&mut [u8]` (or `&mut [f32]`, …) or
   * `js_sys::Uint8Array` parameter, a typed array or DataView the caller owns. Each output's buffer
   * moves to the worker (whatever `transfer` says; shared ones are shared), the guest writes into it,
   * and it moves back: the call then resolves with `{ value, outputs }` (`CallWithOutputs`), where
   * `outputs[i]` is a view of the same type, offset and length as the argument at `outputs[i]`, over
   * the caller's bytes as the guest left them. The views the caller passed are detached (length 0)
   * from the moment the call is sent: use the returned ones. A call that fails gives nothing back;
   * its buffers are gone. Not through the fast lane.
   */
  outputs?: readonly number[];
  /** Receives fractions reported by `wasmbridge_guest::progress`. */
  onProgress?: (fraction: number) => void;
}

/** What a call with `outputs` resolves to: the guest's result and the output arguments it wrote, moved back to the page. */
export interface CallWithOutputs<T> {
  value: T;
  outputs: ArrayBufferView[];
}

/** Call options that name outputs: the call resolves with `CallWithOutputs`. */
export type CallOptionsWithOutputs<G = AnyGuest, K extends FunctionName<G> = FunctionName<G>> = CallOptions<G, K> & { outputs: readonly number[] };

/** One call of `pool.batch`: `[name, ...args]` or the options form. */
export type BatchCall<G = AnyGuest> = {
  [K in FunctionName<G>]: [K, ...GuestArgs<G, K>] | CallOptions<G, K>;
}[FunctionName<G>];

export type BatchResult<T = unknown> = { ok: true; value: T } | { ok: false; error: WasmBridgeError };

/** A bundle's manifest.json (and manifest.js), as `wasmbridge build` writes it. */
export interface BundleManifest {
  format: number;
  name: string;
  /** The glue and the module of the plain build, relative to the bundle. */
  glue: string;
  wasm: string;
  /** Every other file of the bundle: its size, gzip size (the modules), SHA-256 and SRI value. */
  files: Record<string, { size: number; gzip?: number; sha256: string; integrity: string }>;
  functions: FunctionInfo[];
  /** The threaded module of a `--threads` build. */
  threads?: { glue: string; wasm: string };
}

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
  /**
   * The fast lane, once a fastCall or automatic routing started it: calls, exchanges, waits (exchanges not answered
   * within the page's spin), posted, restarts, workerSleeps (times the lane worker slept), wakes (exchanges that had
   * to wake it), workerSleeping (it sleeps now), auto (small calls of fast functions take it by themselves: the `lane`
   * option, and more than one worker) and wakeIn (while the lane worker sleeps, the number of such calls until one
   * takes the lane anyway and wakes it).
   */
  lane: null | {
    state: string; queued: number; inFlight: number; calls: number; exchanges: number; waits: number; posted: number; restarts: number;
    workerSleeps: number; wakes: number; workerSleeping: boolean; auto: boolean; wakeIn: number;
  };
  /**
   * The module the workers run, once the manifest is read: 'threaded' (each pool worker with `threads` thread
   * workers sharing its memory) or 'plain' (threads 0), and why.
   */
  module: null | { kind: 'threaded' | 'plain'; threads: number; reason: string };
}

export interface PinnedHandle<G = AnyGuest> {
  /** The worker the handle's calls run on; after a panic, the fresh worker that replaced the trapped one. */
  readonly workerId: number;
  /** True once the worker behind this handle was lost; every later call rejects with WORKER_LOST. */
  readonly lost: boolean;
  call<K extends FunctionName<G>>(fn: K, ...args: GuestArgs<G, K>): Promise<GuestResult<G, K>>;
  call<K extends FunctionName<G>>(options: CallOptionsWithOutputs<G, K>): Promise<CallWithOutputs<GuestResult<G, K>>>;
  call<K extends FunctionName<G>>(options: CallOptions<G, K>): Promise<GuestResult<G, K>>;
  release(): void;
}

/**
 * A pool of workers running guest `G`: `Pool<typeof import('./wasm/my_guest.js')>`
 * checks names and arguments against the guest's `.d.ts`; plain `Pool`
 * accepts any name and arguments (the manifest check still runs at call time).
 */
export declare class Pool<G = AnyGuest> {
  constructor(options?: PoolOptions);
  /** Resolves once every initial worker is ready (the first one, with `readyOn: 'first'`); rejects with INIT_FAILED, or with POOL_CLOSED at once when closed first. */
  readonly ready: Promise<Pool<G>>;
  readonly functions: FunctionInfo[];
  readonly isolated: boolean;
  /** `pool.api.divide(7, 2)` is `pool.call('divide', 7, 2)`. */
  readonly api: GuestApi<G>;
  /** Runs guest function `fn`; rejects with a WasmBridgeError when it fails. */
  call<K extends FunctionName<G>>(fn: K, ...args: GuestArgs<G, K>): Promise<GuestResult<G, K>>;
  call<K extends FunctionName<G>>(options: CallOptionsWithOutputs<G, K>): Promise<CallWithOutputs<GuestResult<G, K>>>;
  call<K extends FunctionName<G>>(options: CallOptions<G, K>): Promise<GuestResult<G, K>>;
  /** A malformed entry (or a hole) becomes that entry's BAD_ARGUMENT result; bad `calls` or options reject with BAD_ARGUMENT. */
  batch(calls: Array<BatchCall<G>>, options?: { timeout?: number; signal?: AbortSignal }): Promise<BatchResult[]>;
  /**
   * `exclusive`: a worker of its own beyond the pool's size (it never counts as one of the pool's
   * workers), given no other calls, stopped by `release()`. Options other than an object or
   * undefined (`pin(null)`) reject with BAD_ARGUMENT; close() while it starts rejects with POOL_CLOSED.
   */
  pin(options?: { exclusive?: boolean }): Promise<PinnedHandle<G>>;
  /**
   * `call` through the fast lane: a dedicated worker reached through a SharedArrayBuffer.
   * Takes the normal path when not isolated, before ready, with `transfer`/`onProgress`,
   * or when name + arguments (numbers, booleans, null, undefined, strings) do not encode
   * into 252 bytes. For stateless functions: the lane worker has its own guest instance.
   */
  fastCall<K extends FunctionName<G>>(fn: K, ...args: GuestArgs<G, K>): Promise<GuestResult<G, K>>;
  fastCall<K extends FunctionName<G>>(options: CallOptionsWithOutputs<G, K>): Promise<CallWithOutputs<GuestResult<G, K>>>;
  fastCall<K extends FunctionName<G>>(options: CallOptions<G, K>): Promise<GuestResult<G, K>>;
  /**
   * A shared region calls read and write without postMessage copies. On a ready pool that
   * runs the threaded module it lives inside the guest's shared memory (a `SharedBytes`
   * parameter then reads it in place, and calls that pass it run on the worker that holds
   * it); otherwise a SharedArrayBuffer of its own. Throws NOT_ISOLATED when not isolated,
   * MEMORY_LIMIT when the guest memory cannot grow by `byteLength`.
   */
  shared(byteLength: number): SharedRegion;
  stats(): PoolStats;
  close(): void;
}

/**
 * Starts a pool and resolves when it is ready; rejects with INIT_FAILED.
 * `createPool<typeof import('./wasm/my_guest.js')>(options)` types
 * `pool.api` and `pool.call` from the guest's declarations.
 */
export declare function createPool<G = AnyGuest>(options?: PoolOptions): Promise<Pool<G>>;

// Shared memory: wasmbridge.js re-exports `SharedRegion` and `rowBands` (shared.js),
// `RingBuffer` (ring.js's, from audio-worklet.js) and `startAudio` (audio.js, which it
// imports on the first call).
export { RingBuffer } from './ring.js';
export { startAudio } from './audio.js';
export type { StartAudio, SynthSequence, AudioOptions, AudioStats, AudioStream } from './audio.js';
export declare const rowBands: RowBands;
/** A region of `byteLength` shared bytes; `pool.shared(n)` makes one too. */
export declare const SharedRegion: new (byteLength: number) => SharedRegion;

/**
 * Shared bytes that calls read and write without a postMessage copy (shared.js).
 * Pass it, or `region.view(offset, length)`, as an argument: the guest receives a
 * `Uint8Array` view. A guest parameter `wasmbridge_guest::SharedBytes` / `SharedBytesMut`
 * is a slice of the region itself when it lives in the guest's memory (`inGuestMemory`,
 * threaded module) and a copy in (and back, for the mutable kind) otherwise; `&[u8]`
 * always copies; a `js_sys::Uint8Array` parameter copies only what it reads.
 */
export interface SharedRegion {
  /** The SharedArrayBuffer holding it: the whole guest memory when `inGuestMemory`, from `byteOffset`. */
  readonly buffer: SharedArrayBuffer;
  /** The region's bytes; read it again after a worker was replaced (the region may have moved). */
  readonly bytes: Uint8Array;
  readonly byteLength: number;
  /** Where the region starts in `buffer` (its address in the guest memory when `inGuestMemory`). */
  readonly byteOffset: number;
  /** True when it lives inside a threaded guest's shared memory. */
  readonly inGuestMemory: boolean;
  readonly closed: boolean;
  view(offset: number, length?: number): SharedRegionView;
  close(): void;
}

/** Part of a shared region, passed as an argument: the guest receives a `Uint8Array` of those bytes. */
export interface SharedRegionView { region: SharedRegion; offset: number; length: number }

/** `rowBands` of './shared.js': splits `height` rows into `parts` nearly equal `[start, end)` bands. */
export type RowBands = (height: number, parts: number) => Array<[number, number]>;

