// Types of the wasmbridge runtime (wasmbridge.js).

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
  /**
   * The fast lane, once a fastCall started it: calls, exchanges, waits (exchanges not answered within the page's spin),
   * posted, restarts, workerSleeps (times the lane worker slept), wakes (exchanges that had to wake it) and
   * workerSleeping (it sleeps now).
   */
  lane: null | {
    state: string; queued: number; inFlight: number; calls: number; exchanges: number; waits: number; posted: number; restarts: number;
    workerSleeps: number; wakes: number; workerSleeping: boolean;
  };
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
  /** `exclusive`: a worker of its own beyond the pool's size, given no other calls, stopped by `release()`. */
  pin(options?: { exclusive?: boolean }): Promise<PinnedHandle>;
  /**
   * `call` through the fast lane: a dedicated worker reached through a SharedArrayBuffer.
   * Takes the normal path when not isolated, before ready, with `transfer`/`onProgress`,
   * or when name + arguments (numbers, booleans, null, undefined, strings) do not encode
   * into 252 bytes. For stateless functions: the lane worker has its own guest instance.
   */
  fastCall<T = any>(fn: string, ...args: unknown[]): Promise<T>;
  fastCall<T = any>(options: CallOptions): Promise<T>;
  /** A shared region calls read and write without postMessage copies; throws NOT_ISOLATED when not isolated. */
  shared(byteLength: number): SharedRegion;
  stats(): PoolStats;
  close(): void;
}

/** Starts a pool and resolves when it is ready. */
export declare function createPool(options?: PoolOptions): Promise<Pool>;

// Shared memory: wasmbridge.js re-exports `SharedRegion` and `rowBands` (shared.js),
// `RingBuffer` (ring.js) and `startAudio` (audio.js).
export { RingBuffer } from './ring.js';
export declare const rowBands: RowBands;
export declare const startAudio: StartAudio;
/** A region of `byteLength` shared bytes; `pool.shared(n)` makes one too. */
export declare const SharedRegion: new (byteLength: number) => SharedRegion;

/**
 * A SharedArrayBuffer that calls read and write without a postMessage copy (shared.js).
 * Pass it, or `region.view(offset, length)`, as an argument: the guest receives a
 * `Uint8Array` view. A guest parameter `&[u8]` still copies the view into wasm memory
 * (stable wasm memory is not shared); a `js_sys::Uint8Array` parameter copies only what it reads.
 */
export interface SharedRegion {
  readonly buffer: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly byteLength: number;
  readonly closed: boolean;
  view(offset: number, length?: number): { region: SharedRegion; offset: number; length: number };
  close(): void;
}

/** `rowBands` of './shared.js': splits `height` rows into `parts` nearly equal `[start, end)` bands. */
export type RowBands = (height: number, parts: number) => Array<[number, number]>;

export interface SynthSequence {
  bpm?: number;
  stepsPerBeat?: number;
  waveform?: 'sine' | 'saw' | 'square' | 'triangle';
  bandLimited?: boolean;
  adsr?: { attack?: number; decay?: number; sustain?: number; release?: number };
  gain?: number;
  loop?: boolean;
  tuning?: number;
  /** null: rest; a MIDI note; `{note, velocity, length, pan}`; or an array of those (a chord). */
  steps: Array<null | number | { note: number; velocity?: number; length?: number; pan?: number } | Array<number | { note: number; velocity?: number; length?: number; pan?: number }>>;
}

export interface AudioOptions {
  /** The sequence (an object or its JSON) for the guest's synthStream / synthOpen. */
  sequence: SynthSequence | string;
  /** An AudioContext at 48 kHz to play in; default: a new one, closed by stop(). */
  context?: BaseAudioContext;
  /** Where to connect; default `context.destination`. */
  destination?: AudioNode;
  /** Ring capacity in frames (a power of two, ring mode); default 4096 (85 ms). */
  ringFrames?: number;
  /** Frames the worker renders at a time (ring mode), at most 256 (two render quanta); default 128. */
  chunkFrames?: number;
  /** Ring mode: stop producing after this many frames (default 0: until stop()). */
  maxFrames?: number;
  /** Buffers mode: frames per block (default 4800) and how far ahead to schedule (default 400 ms). */
  blockFrames?: number;
  leadMs?: number;
  /** 'ring' (needs isolation), 'buffers' (postMessage + AudioBufferSourceNodes) or 'auto' (default). */
  mode?: 'auto' | 'ring' | 'buffers';
}

export interface AudioStats {
  mode: 'ring' | 'buffers';
  /** Render quanta (ring) or buffers (buffers mode) that came too late, since the start. */
  underruns: number;
  /** Pushes the producer could not complete (0 by construction: it writes only when there is room). */
  overruns: number;
  /** How full the ring (or the schedule ahead) is, 0..1. */
  fill: number;
  /** Frames played (ring) or scheduled (buffers) so far. */
  frames: number;
  /** Set when the producer stopped with an error. */
  error: Error | null;
}

export interface AudioStream {
  readonly context: BaseAudioContext;
  readonly node: AudioNode;
  /** Ring mode only: the ring (ring.js) the worklet plays from. */
  readonly ring?: import('./ring.js').RingBuffer;
  stats(): AudioStats;
  stop(): Promise<void>;
}

/** `startAudio` of './audio.js': plays the demo guest's synth (ring + AudioWorklet when isolated). */
export type StartAudio = (pool: Pool, options: AudioOptions) => Promise<AudioStream>;
