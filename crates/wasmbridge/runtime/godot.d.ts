// Types of the Godot adapter (godot.js): `window.WasmBridge`, shaped for
// Godot's JavaScriptBridge. Everything structured crosses as JSON strings.

import type { Pool, PoolOptions, FunctionInfo, ErrorCode } from './wasmbridge.js';

/**
 * `window.WasmBridgeConfig`, read when godot.js is imported: any PoolOptions
 * (`initTimeout` defaults to 30 000 here: the engine compiles meanwhile), plus bufferTtl.
 */
export interface WasmBridgeConfig extends PoolOptions {
  /** Ms a result buffer waits for `takeBuffer` before it is dropped; default 60 000, 0 = never. */
  bufferTtl?: number;
}

/**
 * What `callback` receives, as a JSON string. In `value`: BigInts are decimal
 * strings; typed arrays and ArrayBuffers are `{"$buffer": handle, "$type", "length"}`
 * (fetch them with `takeBuffer`); NaN and ±Infinity are `{"$number": "NaN"}`;
 * -0 and a double Godot's JSON parser would round wrongly are
 * `{"$f64": "<16 hex digits, little-endian>"}`; an object key that starts
 * with `$` has one more `$` in front.
 */
export type BridgeResult =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: ErrorCode | (string & {}); message: string; functionName?: string; data?: unknown } };

/** With `{"progress": true}` in optionsJson, sent to the callback before the result. */
export interface BridgeProgress { id: number; progress: number }

/**
 * Markers understood inside argsJson: `{"$base64": "...", "$type"?: "Float32Array"}`
 * (bytes, Uint8Array by default), `{"$buffer": handle}` (a stored result buffer,
 * taken), `{"$bigint": "123"}`, `{"$number": "NaN" | "Infinity" | "-Infinity"}`,
 * `{"$f64": "<16 hex digits>"}`. Any other object with a key that starts with
 * one `$` is BAD_ARGUMENT: a key of your own that starts with `$` is sent with
 * one more `$` in front (`"$$bigint"` arrives as `"$bigint"`). A decimal string
 * or a whole number where the manifest says `bigint` becomes a BigInt.
 */
export interface WasmBridgeGlobal {
  readonly version: string;
  /** The pool behind the bridge, for JS code on the same page. */
  readonly pool: Pool;
  /** `onReady('{"ok":true}')` once the pool is ready (at once if it is); `onError('{"ok":false,"error":{...}}')` if it failed. */
  ready(onReady: (json: string) => void, onError?: (json: string) => void): void;
  isReady(): boolean;
  state(): 'loading' | 'ready' | 'failed';
  /** The start-up error as JSON, or ''. */
  error(): string;
  /** JSON of `FunctionInfo[]`; `[]` until ready. */
  functions(): string;
  /**
   * Starts a call; returns its id (0 when `callback` is not a function). The
   * callback runs later, never before this returns, with one JSON string
   * (`BridgeResult`, or `BridgeProgress` when asked for). Malformed JSON gives
   * a BAD_ARGUMENT result, never a throw. optionsJson: `{"timeout": ms, "progress": true}`.
   */
  call(functionName: string, argsJson: string, callback: (json: string) => void, optionsJson?: string): number;
  /** `call` under a name GDScript can use: on a JavaScriptObject, `call("call", ...)` is Godot's own Object.call. */
  invoke(functionName: string, argsJson: string, callback: (json: string) => void, optionsJson?: string): number;
  /** Cancels a call (it settles with CANCELLED); false when it already settled. */
  cancel(id: number): boolean;
  /** The bytes of a result buffer, removed from the store; null when unknown. Read in GDScript with `JavaScriptBridge.js_buffer_to_packed_byte_array`. */
  takeBuffer(handle: number): Uint8Array | null;
  releaseBuffer(handle: number): boolean;
  bufferCount(): number;
  /** `pool.stats()` as JSON. */
  stats(): string;
}

/** Wraps any pool (for pages that make their own). */
export declare function createBridge(pool: Pool, options?: { bufferTtl?: number; timeout?: number }): WasmBridgeGlobal;

/**
 * Starts a pool from `window.WasmBridgeConfig` and sets `window.WasmBridge`.
 * Loading godot.js as a script does this; a bundled app calls it (the package
 * declares no side effects, so a bare `import 'wasmbridge/godot'` may be dropped).
 * Calling it again returns the installed bridge.
 */
export declare function install(config?: WasmBridgeConfig): WasmBridgeGlobal;

/**
 * JSON.parse for text from Godot's JSON.stringify, which writes `\v` and raw
 * control characters that JSON does not allow; they are read as the characters
 * they stand for. Keys such as `__proto__` become own data properties.
 */
export declare function parseGodotJson(text: string): unknown;

/** What Godot's JSON parser (String::to_float) makes of number text. */
export declare function godotStrtod(text: string): number;

export declare const VERSION: string;
export declare const GODOT_INIT_TIMEOUT: number;

declare global {
  interface Window {
    WasmBridge?: WasmBridgeGlobal;
    WasmBridgeConfig?: WasmBridgeConfig;
  }
}

export type { FunctionInfo };
