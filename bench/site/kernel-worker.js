// Times compute kernels inside a worker, with no messaging in the timed
// region: `{ cmd: 'init', impl }` with impl 'plain' | 'simd' (the Rust demo
// guest's glue and module), 'threads' (its `--threads` module, with
// `{ threads }` rayon threads), 'js' (kernels.js) or 'go' (the seed's Go module),
// then `{ cmd: 'run', kernel, reps, batch, warmup }` answers `{ samples, check }`:
// one sample per rep, the mean time of `batch` back-to-back calls in ms.
// Inputs are built on a kernel's first run and kept for its later runs.

import * as data from './data.js';
import * as js from './kernels.js';
import { loadGuest } from './guest.js';

let impl = '';
/** @type {Record<string, () => (() => any)>} kernel → set-up returning the call to time */
let table = {};

const IMG = { w: 1920, h: 1080 };
const SIGMA = 2;

function rustTable(g) {
  const mm = (n, T, f) => () => { const { a, b } = data.matrices(n, T); return () => f(a, b, n, n, n); };
  return {
    call: () => () => g.add(1, 2),
    fib90: () => () => g.fibonacci(90),
    factorize: () => () => g.factorize(data.SEMIPRIME),
    trialDivision: () => () => g.trialDivision(data.SEMIPRIME),
    matmul256: mm(256, Float64Array, g.matmulF64),
    matmul512: mm(512, Float64Array, g.matmulF64),
    matmulF32_256: mm(256, Float32Array, g.matmulF32),
    matmulF32_512: mm(512, Float32Array, g.matmulF32),
    grayscale: () => { const px = data.image(IMG.w, IMG.h); return () => g.grayscale(px, IMG.w, IMG.h, 'rec601'); },
    grayscaleLuma: () => { const px = data.image(IMG.w, IMG.h); return () => g.grayscaleLuma(px, IMG.w, IMG.h, 'rec601'); },
    gaussian: () => { const px = data.image(IMG.w, IMG.h); return () => g.gaussianBlur(px, IMG.w, IMG.h, SIGMA); },
    box3: () => { const px = data.image(IMG.w, IMG.h); return () => g.boxBlur(px, IMG.w, IMG.h, 3); },
    fib100000: () => () => g.fibonacci(100000),
  };
}

function jsTable() {
  const mm = (n, f) => () => { const { a, b } = data.matrices(n); return () => f(a, b, n, n, n); };
  return {
    fib90: () => () => js.fibIterative(90),
    fibRec30: () => () => js.fibRecursive(30),
    matmul256: mm(256, js.matmulBlocked),
    matmul512: mm(512, js.matmulBlocked),
    matmulNaive256: mm(256, js.matmulNaive),
    matmulNaive512: mm(512, js.matmulNaive),
    grayscale: () => { const px = data.image(IMG.w, IMG.h); return () => js.grayscale(px); },
    gaussian: () => { const px = data.image(IMG.w, IMG.h); return () => js.gaussianBlur(px, IMG.w, IMG.h, SIGMA); },
    fib100000: () => () => js.fibBig(100000),
  };
}

function goTable(go) {
  const mm = (n) => () => {
    const { a, b } = data.matrices(n);
    const ab = new Uint8Array(a.buffer);
    const bb = new Uint8Array(b.buffer);
    return () => new Float64Array(go.matrixMultiply(ab, bb, n, n, n).buffer);
  };
  return {
    call: () => () => go.add(1, 2),
    fib90: () => () => go.fibonacci(90),
    trialDivision: () => () => go.factorize(data.SEMIPRIME),
    matmul256: mm(256),
    matmul512: mm(512),
    grayscale: () => { const px = data.image(IMG.w, IMG.h); return () => go.grayscale(px); },
  };
}

/**
 * The demo guest's `--threads` module (the site's threads/ bundle) with
 * `count` rayon threads, started as a pool worker starts them (the runtime's
 * threads.js: thread workers sharing the module and its memory), so its
 * kernels are timed here like the others. The control block only serves
 * cancellation, which nothing here asks for.
 */
async function loadThreadedGuest(count) {
  const base = new URL('./threads/', import.meta.url);
  const manifest = await (await fetch(new URL('manifest.json', base))).json();
  const glueUrl = new URL(manifest.threads.glue, base).href;
  const module = await WebAssembly.compileStreaming(fetch(new URL(manifest.threads.wasm, base)));
  const glue = await import(glueUrl);
  await glue.default({ module_or_path: module });
  glue.__wasmbridge_init?.();
  const { startThreads } = await import(new URL('threads.js', base).href);
  const { CONTROL } = await import(new URL('protocol.js', base).href);
  await startThreads({ glue, glueUrl, module, count, control: new SharedArrayBuffer(CONTROL.SLOTS * 4), channel: `kernel-worker-threads-${count}` });
  return glue;
}

async function init(which, threads) {
  impl = which;
  if (which === 'plain' || which === 'simd') {
    table = rustTable(await loadGuest(which));
  } else if (which === 'threads') {
    table = rustTable(await loadThreadedGuest(threads));
  } else if (which === 'js') {
    table = jsTable();
  } else if (which === 'go') {
    await import('./go/wasm_exec.js');
    const go = new globalThis.Go();
    const { instance } = await WebAssembly.instantiateStreaming(fetch('./go/main.wasm'), go.importObject);
    const seen = new Promise((resolve) => {
      // main() announces itself with postMessage({cmd: 'goReady'}); keep that from the page.
      const post = self.postMessage.bind(self);
      self.postMessage = (m, t) => { if (m && m.cmd === 'goReady') { self.postMessage = post; resolve(); } else post(m, t); };
    });
    go.run(instance);
    await seen;
    table = goTable(globalThis);
  } else {
    throw new Error(`unknown implementation ${which}`);
  }
  return Object.keys(table);
}

function check(v) {
  if (typeof v === 'number' || typeof v === 'string') return String(v).slice(0, 24) + (String(v).length > 24 ? `…(${String(v).length} chars)` : '');
  if (Array.isArray(v)) return v.join('×');
  if (ArrayBuffer.isView(v)) return data.checksum(v);
  return String(v);
}

/** Prepared calls (inputs built once per kernel), and whether each had its warm-up. */
const prepared = new Map();

function run(kernel, reps, batch, warmup = true) {
  const make = table[kernel];
  if (!make) return { unsupported: true };
  let p = prepared.get(kernel);
  if (!p) {
    p = { f: make(), last: undefined };
    // The first call of a kernel is a warm-up (JIT, memory growth), and gives the checked value.
    if (warmup) p.last = p.f();
    prepared.set(kernel, p);
  }
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) p.last = p.f();
    samples.push((performance.now() - t0) / batch);
  }
  return { samples, check: check(p.last) };
}

self.onmessage = async (e) => {
  const { id, cmd } = e.data;
  try {
    let value;
    if (cmd === 'init') value = await init(e.data.impl, e.data.threads);
    else if (cmd === 'run') value = run(e.data.kernel, e.data.reps, e.data.batch, e.data.warmup ?? true);
    self.postMessage({ id, ok: true, value });
  } catch (err) {
    self.postMessage({ id, ok: false, error: `${impl}: ${err && err.stack ? err.stack : err}` });
  }
};
