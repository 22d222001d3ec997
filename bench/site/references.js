// The reference page: the demo guest (simd128 bundle) against the libraries a
// web developer would pick for the same job, OpenCV.js for images and
// TensorFlow.js (wasm backend) for matmul, in one cross-origin isolated page.
// Each case is measured two ways: kernel-only (timed inside a worker, our
// kernel through kernel-worker.js, theirs through reference-worker.js, both
// with the copies into and out of the wasm heap) and end to end (timed on the
// page: a call with its input transferred to the worker and its output
// transferred back; ours through `pool.call` with `transfer: 'auto'`).
//
// Issue 17 compares matmul with the same number of threads on both sides, so
// `setupThreads(n)` adds a second pair of contenders: our `--threads` module
// (threads/, a pool of one worker whose guest runs n rayon threads; kernel-only
// through kernel-worker.js, which starts the same threads) as 'oursThreads', and a second TensorFlow.js worker with n XNNPACK threads as
// 'tfjsThreads' (a backend is set up once per worker, and the thread count
// must be set before it is, so the 1-thread worker cannot be reused).

import { createPool } from './simd/wasmbridge.js';
import { workerClient } from './worker-client.js';
import * as data from './data.js';

const W = 1920;
const H = 1080;
const N = 512;

/** The cases: our function and arguments, and the library that does the same. */
export const CASES = {
  grayscaleLuma: { ours: 'grayscaleLuma', args: (px) => [px, W, H, 'rec601'], reference: 'opencv', make: () => data.image(W, H), bytes: W * H * 4 },
  gaussian: { ours: 'gaussianBlur', args: (px) => [px, W, H, 2], reference: 'opencv', make: () => data.image(W, H), bytes: W * H * 4 },
  box3: { ours: 'boxBlur', args: (px) => [px, W, H, 3], reference: 'opencv', make: () => data.image(W, H), bytes: W * H * 4 },
  matmulF32_512: { ours: 'matmulF32', args: ({ a, b }) => [a, b, N, N, N], reference: 'tfjs', make: () => data.matrices(N, Float32Array), flops: 2 * N ** 3 },
};

const env = { pool: null, ours: null, opencv: null, tfjs: null, oursThreads: null, oursThreadsKernel: null, tfjsThreads: null };

/** Starts every contender; resolves with what each one runs (versions, threads). */
export async function setup({ tfjsThreads = 1 } = {}) {
  env.pool = await createPool({ size: 1 });
  env.ours = workerClient('./kernel-worker.js', { type: 'module', name: 'kernels-simd' }, { cmd: 'init', impl: 'simd' });
  env.opencv = workerClient('./reference-worker.js', { name: 'opencv' }, { cmd: 'init', impl: 'opencv' });
  env.tfjs = workerClient('./reference-worker.js', { name: 'tfjs' }, { cmd: 'init', impl: 'tfjs', threads: tfjsThreads });
  const [, opencv, tfjs] = await Promise.all([env.ours.ready, env.opencv.ready, env.tfjs.ready]);
  return { isolated: globalThis.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency, opencv, tfjs };
}

/**
 * Starts the same-thread-count contenders: our `--threads` bundle with
 * `threads` threads and TensorFlow.js with as many; resolves with what each
 * one runs (our module's kind and threads, TensorFlow.js's info).
 */
export async function setupThreads(threads) {
  const { createPool: createThreadsPool } = await import('./threads/wasmbridge.js');
  env.tfjsThreads = workerClient('./reference-worker.js', { name: `tfjs-${threads}` }, { cmd: 'init', impl: 'tfjs', threads });
  env.oursThreads = await createThreadsPool({ size: 1, threads });
  env.oursThreadsKernel = workerClient('./kernel-worker.js', { type: 'module', name: `kernels-threads-${threads}` }, { cmd: 'init', impl: 'threads', threads });
  await env.oursThreadsKernel.ready;
  return { ours: env.oursThreads.stats().module, tfjs: await env.tfjsThreads.ready };
}

/** The worker client of a reference contender ('opencv', 'tfjs', 'tfjsThreads'). */
function referenceOf(contender) {
  const client = env[contender];
  if (!client?.ask) throw new Error(`no reference contender ${contender}: call setup (and setupThreads for tfjsThreads) first`);
  return client;
}

const given = new Set();

/** Kernel-only: `reps` samples (ms per call) timed inside the contender's worker. */
export async function kernel(contender, id, reps) {
  if (contender === 'ours') return env.ours.ask({ cmd: 'run', kernel: id, reps, batch: 1 });
  if (contender === 'oursThreads') return env.oursThreadsKernel.ask({ cmd: 'run', kernel: id, reps, batch: 1 });
  const client = referenceOf(contender);
  if (!given.has(`${contender}/${id}`)) {
    await client.ask({ cmd: 'input', kernel: id, input: inputOf(id) });
    given.add(`${contender}/${id}`);
  }
  return client.ask({ cmd: 'run', kernel: id, reps });
}

/** The buffers to move with an input. */
const buffersOf = (x) => (ArrayBuffer.isView(x) ? [x.buffer] : [x.a.buffer, x.b.buffer]);

/** A fresh copy of a case's input, made outside the timed region (moving detaches it). */
function copyOf(x) {
  return ArrayBuffer.isView(x) ? x.slice() : { a: x.a.slice(), b: x.b.slice() };
}

/** One call from the page, input moved to the worker and output moved back. */
function callFrom(contender, id, x) {
  const c = CASES[id];
  if (contender === 'ours') return env.pool.call({ fn: c.ours, args: c.args(x), transfer: 'auto' });
  if (contender === 'oursThreads') return env.oursThreads.call({ fn: c.ours, args: c.args(x), transfer: 'auto' });
  return referenceOf(contender).ask({ cmd: 'call', kernel: id, input: x }, buffersOf(x));
}

const inputs = new Map();
function inputOf(id) {
  if (!inputs.has(id)) inputs.set(id, CASES[id].make());
  return inputs.get(id);
}

/** End to end: `reps` samples (ms per call) timed on the page, after one warm-up call. */
export async function endToEnd(contender, id, reps) {
  const x = inputOf(id);
  const copies = Array.from({ length: reps + 1 }, () => copyOf(x));
  let out = await callFrom(contender, id, copies[0]);
  const samples = [];
  for (let r = 1; r <= reps; r++) {
    const t0 = performance.now();
    out = await callFrom(contender, id, copies[r]);
    samples.push(performance.now() - t0);
  }
  return { samples, check: data.checksum(out) };
}

/**
 * How far one contender's output is from another's on the same input (by
 * default ours against the case's reference): the largest difference and how
 * many values differ, over every value for one-channel outputs, over R, G and
 * B for RGBA ones (OpenCV blurs alpha, we keep it), and the largest
 * magnitude in the first output (the scale of the difference). `rounding: true` (matmul
 * only) takes matrices whose products and sums round in f32
 * (data.roundingMatrices), where the bench's own inputs are exact in any
 * summation order, so the difference the order makes shows.
 */
export async function compare(id, { ours: a = 'ours', theirs: b = CASES[id].reference, rounding = false } = {}) {
  const x = rounding ? data.roundingMatrices(N) : inputOf(id);
  const ours = await callFrom(a, id, copyOf(x));
  const theirs = await callFrom(b, id, copyOf(x));
  if (ours.length !== theirs.length) return { error: `lengths differ: ours ${ours.length}, reference ${theirs.length}` };
  const rgba = ours.length === W * H * 4;
  let maxDiff = 0;
  let differing = 0;
  let compared = 0;
  let maxAbs = 0;
  for (let i = 0; i < ours.length; i++) {
    if (rgba && i % 4 === 3) continue;
    compared += 1;
    const d = Math.abs(ours[i] - theirs[i]);
    if (d > 0) differing += 1;
    if (d > maxDiff) maxDiff = d;
    maxAbs = Math.max(maxAbs, Math.abs(ours[i]));
  }
  return { maxDiff, differing, compared, maxAbs };
}

export function close() {
  env.pool?.close();
  env.oursThreads?.close();
  for (const k of ['ours', 'opencv', 'tfjs', 'oursThreadsKernel', 'tfjsThreads']) env[k]?.worker.terminate();
}
