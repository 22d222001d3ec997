// wasmbridge: call Rust compiled to WebAssembly in a pool of Web Workers.
// The entry a page imports; `await createPool()` loads the bundle this file
// sits in. Types: wasmbridge.d.ts.
//
// In a bundle, `wasmbridge build` links this file and every module it
// imports into one (src/link.rs in the CLI), so a page loads the pool in one
// request. Unlinked (the npm package, for bundlers or served as it is),
// start-up waits for every module this file imports statically, level by
// level (the browser learns a module's imports only once it has that module),
// so every module a pool needs at start is imported here directly, one level
// deep, even those only pool.js uses: they all load side by side, the inlined
// manifest (manifest.js) with them. Only what a pool needs is here: the fast
// lane (lane.js) and the audio player (audio.js) are imported when first
// used, and RingBuffer comes straight from the module that defines it.

import './pool-call.js';
import './pool-validate.js';
import './pool-load.js';
import './supervisor.js';
import './manifest.js';
export { createPool, Pool } from './pool.js';
export { WasmBridgeError } from './error.js';
export { CODES } from './protocol.js';
export { SharedRegion, rowBands } from './shared.js';
export { RingBuffer } from './audio-worklet.js';

/**
 * Plays the demo guest's synthesizer (audio.js); the module loads on the
 * first call.
 * @type {import('./audio.d.ts').StartAudio}
 */
export async function startAudio(pool, options) {
  const audio = await import('./audio.js');
  return audio.startAudio(pool, options);
}
