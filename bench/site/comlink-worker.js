// Comlink 4.4.2 exposing the demo guest's wasm-bindgen glue (the same module
// wasmbridge runs), as a Comlink user would write it.
import * as Comlink from './comlink.mjs';
import { loadGuest } from './guest.js';

Comlink.expose(await loadGuest('plain'));
self.postMessage('comlink-ready');
