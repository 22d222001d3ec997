// wasmbridge: call Rust compiled to WebAssembly in a pool of Web Workers.
// The entry a page imports; `await createPool()` loads the bundle this file
// sits in. Types: wasmbridge.d.ts.

export { createPool, Pool } from './pool.js';
export { WasmBridgeError } from './error.js';
export { CODES } from './protocol.js';
export { SharedRegion, rowBands } from './shared.js';
export { RingBuffer } from './ring.js';
export { startAudio } from './audio.js';
