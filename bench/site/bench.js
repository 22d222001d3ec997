// The page side of `cargo xtask bench`: bench/run.mjs opens bench.html and
// calls these functions with page.evaluate, one section or row at a time.

import { createPool } from './plain/wasmbridge.js';
import * as Comlink from './comlink.mjs';
import { createGoBridge } from './go/bridge.js';
import * as data from './data.js';
import { workerClient } from './worker-client.js';

const env = {};

/** A client of the raw postMessage echo worker: one message per call. */
function rawClient() {
  const worker = new Worker('./echo-worker.js');
  let next = 1;
  const pending = new Map();
  worker.onmessage = (e) => {
    const done = pending.get(e.data.id);
    pending.delete(e.data.id);
    done(e.data);
  };
  const send = (msg, transfer) => new Promise((resolve) => {
    const id = next++;
    pending.set(id, resolve);
    worker.postMessage({ id, ...msg }, transfer);
  });
  return {
    add: (a, b) => send({ a, b }).then((d) => d.r),
    echo: (buf, move) => send({ buf, move }, move ? [buf] : []).then((d) => d.buf),
    close: () => worker.terminate(),
  };
}

/** Starts every contender once; later sections reuse them. */
export async function setup() {
  env.raw = rawClient();
  env.pool = await createPool({ size: 1 });
  const cw = new Worker('./comlink-worker.js', { type: 'module' });
  await new Promise((resolve, reject) => {
    cw.addEventListener('message', resolve, { once: true });
    cw.addEventListener('error', (e) => reject(new Error(`comlink worker: ${e.message}`)), { once: true });
  });
  env.comlink = Comlink.wrap(cw);
  env.go = null;
  env.goError = null;
  try {
    const bridge = createGoBridge();
    await Promise.race([bridge.ready, new Promise((_, rej) => setTimeout(() => rej(new Error('Go worker not ready within 20 s')), 20000))]);
    env.go = bridge;
  } catch (e) {
    env.goError = String(e.message || e);
  }
  return {
    isolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
    goStatus: env.go ? 'ok' : env.goError,
  };
}

/** The small-argument call of each contender: add(i, 1). */
function contenders() {
  const list = {
    postMessage: (i) => env.raw.add(i, 1),
    wasmbridge: (i) => env.pool.call('add', i, 1),
    comlink: (i) => env.comlink.add(i, 1),
  };
  list.fastCall = (i) => env.pool.fastCall('add', i, 1);
  if (env.go) list.go = (i) => env.go.callGoFunction('add', i, 1);
  return list;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function summary(samplesMs) {
  const s = Array.from(samplesMs).sort((a, b) => a - b);
  const us = (x) => Math.round(x * 1e4) / 10;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { p50: us(percentile(s, 0.5)), p90: us(percentile(s, 0.9)), p99: us(percentile(s, 0.99)), mean: us(mean) };
}

/** Calls timed together for `grouped` in latencyRound. */
const GROUP = 20;

/**
 * One round of sequential round trips for one contender; latencies in µs,
 * each call timed alone (p50, p90, p99, mean) and, `grouped`, the median per
 * call over groups of GROUP calls timed back to back.
 */
export async function latencyRound(name, n, warmup = 200) {
  const f = contenders()[name];
  if (!f) return { unavailable: true };
  for (let i = 0; i < warmup; i++) await f(i);
  const t = new Float64Array(n);
  let last;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    last = await f(i);
    t[i] = performance.now() - t0;
  }
  if (last !== n) throw new Error(`${name}: add(${n - 1}, 1) gave ${last}`);
  // The page clock ticks every 5 µs on an isolated page, too coarse for one
  // call of a few µs: the same calls again, timed GROUP at a time back to
  // back, give a per-call figure with a resolution of 5/GROUP µs.
  const groups = new Float64Array(Math.floor(n / GROUP));
  for (let g = 0; g < groups.length; g++) {
    const t0 = performance.now();
    for (let i = 0; i < GROUP; i++) last = await f(i);
    groups[g] = (performance.now() - t0) / GROUP;
  }
  const grouped = summary(groups);
  return { ...summary(t), grouped: grouped.p50, samples: Array.from(t, (x) => Math.round(x * 1e4) / 10) };
}

/** One round of n concurrent small calls for one way of sending them; calls/s. */
export async function throughputRound(mode, n) {
  // A heap left full by the previous contender would be collected in this
  // one's time (the bench's browser exposes gc; elsewhere this is a no-op).
  globalThis.gc?.();
  const idx = Array.from({ length: n }, (_, i) => i);
  let run;
  switch (mode) {
    case 'onePerCall': run = () => Promise.all(idx.map((i) => env.raw.add(i, 1))); break;
    case 'batch': run = async () => (await env.pool.batch(idx.map((i) => ['add', i, 1]))).map((r) => r.value); break;
    case 'coalesced': run = () => Promise.all(idx.map((i) => env.pool.call('add', i, 1))); break;
    case 'comlink': run = () => Promise.all(idx.map((i) => env.comlink.add(i, 1))); break;
    case 'goSeed': {
      if (!env.go) return { unavailable: true };
      // The seed's callGoFunctions is a Promise.all, which rejects as soon as
      // its 10 s per-call timeout fails one call; settle all to count them.
      const t0 = performance.now();
      const settled = await Promise.allSettled(idx.map((i) => env.go.callGoFunction('add', i, 1)));
      const ms = performance.now() - t0;
      const failed = settled.filter((x) => x.status === 'rejected').length;
      return { ms, callsPerSecond: (n - failed) / (ms / 1000), failed };
    }
    default: throw new Error(`unknown mode ${mode}`);
  }
  const t0 = performance.now();
  const out = await run();
  const ms = performance.now() - t0;
  if (out[n - 1] !== n) throw new Error(`${mode}: call ${n - 1} gave ${out[n - 1]}`);
  return { ms, callsPerSecond: n / (ms / 1000), failed: 0 };
}

/** Round trips of `mib` MiB: raw clone / transfer, and pool.call('invert') cloned / transferred; ms per rep. */
export async function largeData(mib, mode, reps) {
  const bytes = mib << 20;
  const w = 1024;
  const h = bytes / (w * 4);
  let buf = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) buf[i] = i & 255;
  const once = {
    rawClone: async () => { await env.raw.echo(buf.buffer, false); },
    rawTransfer: async () => { buf = new Uint8Array(await env.raw.echo(buf.buffer, true)); },
    poolClone: async () => { await env.pool.call('invert', buf, w, h); },
    poolTransfer: async () => { buf = await env.pool.call({ fn: 'invert', args: [buf, w, h], transfer: [buf.buffer] }); },
    poolShared: async () => { await env.pool.call('invert', region, w, h); },
  }[mode];
  let region = null;
  if (mode === 'poolShared') {
    region = env.pool.shared(bytes);
    region.bytes.set(buf);
  }
  await once(); // warm-up: grows the worker's memory once
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
  }
  region?.close();
  if (buf.byteLength !== bytes) throw new Error(`${mode}: got ${buf.byteLength} bytes back, sent ${bytes}`);
  return { samples };
}

// ---- kernels, in workers ----

const kernelWorkers = new Map();

function kernelWorker(impl) {
  let k = kernelWorkers.get(impl);
  if (k) return k;
  k = workerClient('./kernel-worker.js', { type: 'module', name: `kernels-${impl}` }, { cmd: 'init', impl });
  kernelWorkers.set(impl, k);
  return k;
}

/** Times one kernel of one implementation inside its worker: ms per call, one sample per rep. */
export async function kernel(impl, name, reps, batch = 1, warmup = true) {
  const k = kernelWorker(impl);
  await k.ready;
  return k.ask({ cmd: 'run', kernel: name, reps, batch, warmup });
}

/** Ends the kernel workers (they hold large buffers). */
export function closeKernelWorkers() {
  for (const k of kernelWorkers.values()) k.worker.terminate();
  kernelWorkers.clear();
}

// ---- parallel scaling ----

let bigImage = null;

/** A gaussian blur of a 3840×2160 image split into `workers` row bands over a pool of that size; ms per rep. */
export async function scaling(workers, reps, sigma = 2) {
  const w = 3840;
  const h = 2160;
  bigImage ??= data.image(w, h);
  const { createPool: createSimdPool } = await import('./simd/wasmbridge.js');
  const pool = await createSimdPool({ size: workers });
  try {
    const params = JSON.stringify({ sigma });
    const halo = await pool.call('filterHalo', 'gaussianBlur', params);
    const once = async () => {
      const bands = [];
      for (let b = 0; b < workers; b++) {
        const start = Math.floor((h * b) / workers);
        const end = Math.floor((h * (b + 1)) / workers);
        const lo = Math.max(0, start - halo);
        const hi = Math.min(h, end + halo);
        const window = bigImage.slice(lo * w * 4, hi * w * 4);
        bands.push(pool.call({ fn: 'filterBand', args: ['gaussianBlur', params, window, w, h, start, end], transfer: [window.buffer] }).then((out) => ({ start, out })));
      }
      const out = new Uint8Array(w * h * 4);
      for (const { start, out: band } of await Promise.all(bands)) out.set(band, start * w * 4);
      return out;
    };
    const first = await once();
    const samples = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await once();
      samples.push(performance.now() - t0);
    }
    return { samples, halo, check: data.checksum(first) };
  } finally {
    pool.close();
  }
}

/**
 * The same split as `scaling`, with the image and the output in shared
 * regions and `filterBandInto` (no pixels through postMessage).
 */
export async function scalingShared(workers, reps, sigma = 2) {
  const w = 3840;
  const h = 2160;
  bigImage ??= data.image(w, h);
  const { createPool: createSimdPool } = await import('./simd/wasmbridge.js');
  const pool = await createSimdPool({ size: workers });
  try {
    const params = JSON.stringify({ sigma });
    const src = pool.shared(w * h * 4);
    const dst = pool.shared(w * h * 4);
    src.bytes.set(bigImage);
    const once = async () => {
      const calls = [];
      for (let b = 0; b < workers; b++) {
        const start = Math.floor((h * b) / workers);
        const end = Math.floor((h * (b + 1)) / workers);
        calls.push(pool.call('filterBandInto', 'gaussianBlur', params, src, w, h, start, end, dst));
      }
      await Promise.all(calls);
    };
    await once();
    const check = data.checksum(dst.bytes);
    const samples = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await once();
      samples.push(performance.now() - t0);
    }
    src.close();
    dst.close();
    return { samples, check };
  } finally {
    pool.close();
  }
}

// ---- ring throughput ----

let ringWorker = null;

/**
 * One round of bulk f32 from a plain JS worker to the page through a
 * RingBuffer (crates/wasmbridge/runtime/ring.js): the worker pushes `count` elements in chunks of
 * `chunk`, the page pops them into a preallocated Float32Array and checks
 * every element (a running sum plus the first element of every pop). The
 * time includes that check. GB/s = count × 4 bytes / time.
 */
export async function ringRound(count, capacity = 1 << 22, chunk = 1 << 20) {
  const { RingBuffer } = await import('./plain/ring.js');
  if (!ringWorker) {
    ringWorker = new Worker('./ring-worker.js', { type: 'module', name: 'ring-producer' });
    await new Promise((resolve, reject) => {
      ringWorker.addEventListener('message', resolve, { once: true });
      ringWorker.addEventListener('error', (e) => reject(new Error(`ring worker: ${e.message}`)), { once: true });
    });
  }
  const ring = RingBuffer.create(capacity, { kind: 'f32', channels: 1 });
  const dst = new Float32Array(chunk);
  const done = new Promise((resolve) => ringWorker.addEventListener('message', (e) => resolve(e.data), { once: true }));
  const yieldToEvents = () => new Promise((resolve) => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(); c.port2.postMessage(0); });
  let got = 0;
  let sum = 0;
  let firstWrong = -1;
  let empty = 0;
  const t0 = performance.now();
  ringWorker.postMessage({ buffer: ring.buffer, count, chunk });
  let slice = t0;
  while (got < count) {
    const avail = ring.available;
    if (avail === 0) {
      empty += 1;
      if (performance.now() - slice > 20) { await yieldToEvents(); slice = performance.now(); }
      continue;
    }
    const n = ring.pop(dst, avail < dst.length ? avail : dst.length);
    if (firstWrong < 0 && dst[0] !== (got & 0xffff)) firstWrong = got;
    let s = 0;
    for (let i = 0; i < n; i++) s += dst[i];
    sum += s;
    got += n;
  }
  const ms = performance.now() - t0;
  const producer = await done;
  const blocks = Math.floor(count / 65536);
  let expected = blocks * (65535 * 65536) / 2;
  for (let i = blocks * 65536; i < count; i++) expected += i & 0xffff;
  return {
    count, bytes: count * 4, ms, gbps: (count * 4) / (ms / 1000) / 1e9, got, sum, expected, ok: got === count && sum === expected && firstWrong < 0 && producer.overruns === 0 && ring.available === 0,
    firstWrong, empty, producer,
  };
}

/** Ends the ring producer worker. */
export function closeRingWorker() {
  ringWorker?.terminate();
  ringWorker = null;
}

// ---- issue 17: the threaded module against the plain one ----

/** One pool of one worker per contender: 'plain' (threads: false) or a thread count. */
const threadPools = new Map();
/** Per contender of the threads section: the input and output regions of `gaussian4kShared`, made once. */
const threadRegions = new Map();
/** Per contender: the regions of A, B and C of `matmulF32_512Shared`, made once. */
const threadMatrices = new Map();
let matrices = null;

/** Starts every contender's pool; says which module each one runs. */
export async function threadsSetup(contenders) {
  const { createPool: createThreadsPool } = await import('./threads/wasmbridge.js');
  const modules = {};
  for (const c of contenders) {
    const pool = await createThreadsPool({ size: 1, threads: c === 'plain' ? false : c });
    threadPools.set(String(c), pool);
    modules[c] = pool.stats().module;
  }
  return modules;
}

/**
 * One sample of a case on a contender's pool, timed on the page: the input is
 * copied before the clock starts and moved to the worker (`transfer: 'auto'`),
 * so the only copy timed is the one into the guest's memory.
 */
export async function threadsSample(contender, kase) {
  const pool = threadPools.get(String(contender));
  if (kase === 'gaussian4k') {
    const w = 3840;
    const h = 2160;
    bigImage ??= data.image(w, h);
    const input = bigImage.slice();
    const t0 = performance.now();
    const out = await pool.call({ fn: 'gaussianBlur', args: [input, w, h, 2], transfer: 'auto' });
    return { ms: performance.now() - t0, check: data.checksum(out) };
  }
  if (kase === 'gaussian4kShared') {
    // The regions are made and filled once per pool: the one copy into shared
    // memory. On the threaded module they live in the guest memory and the
    // call reads and writes them in place; on the plain one the guest copies
    // the input in and the output back (SharedBytes, SharedBytesMut).
    const w = 3840;
    const h = 2160;
    bigImage ??= data.image(w, h);
    let regions = threadRegions.get(String(contender));
    if (!regions) {
      regions = { src: pool.shared(bigImage.length), dst: pool.shared(bigImage.length) };
      regions.src.bytes.set(bigImage);
      threadRegions.set(String(contender), regions);
    }
    const t0 = performance.now();
    await pool.call('gaussianBlurShared', regions.src, w, h, 2, regions.dst);
    return { ms: performance.now() - t0, check: data.checksum(regions.dst.bytes), inGuestMemory: regions.src.inGuestMemory };
  }
  if (kase === 'matmulF32_512Shared') {
    // A, B and C in regions made and filled once per pool: on the threaded
    // module the product reads and writes them where they lie.
    const n = 512;
    matrices ??= data.roundingMatrices(n);
    let regions = threadMatrices.get(String(contender));
    if (!regions) {
      const bytes = n * n * 4;
      regions = { a: pool.shared(bytes), b: pool.shared(bytes), c: pool.shared(bytes) };
      new Float32Array(regions.a.bytes.buffer, regions.a.bytes.byteOffset, n * n).set(matrices.a);
      new Float32Array(regions.b.bytes.buffer, regions.b.bytes.byteOffset, n * n).set(matrices.b);
      threadMatrices.set(String(contender), regions);
    }
    const t0 = performance.now();
    await pool.call('matmulShared', regions.a, regions.b, n, n, n, regions.c);
    const c = new Float32Array(regions.c.bytes.buffer, regions.c.bytes.byteOffset, n * n);
    return { ms: performance.now() - t0, check: data.checksum(c), inGuestMemory: regions.a.inGuestMemory };
  }
  if (kase === 'matmulF32_512') {
    const n = 512;
    matrices ??= data.roundingMatrices(n);
    const a = matrices.a.slice();
    const b = matrices.b.slice();
    const t0 = performance.now();
    const out = await pool.call({ fn: 'matmul', args: [a, b, n, n, n], transfer: 'auto' });
    return { ms: performance.now() - t0, check: data.checksum(out) };
  }
  throw new Error(`unknown threads case ${kase}`);
}

export function threadsClose() {
  for (const pool of threadPools.values()) pool.close();
  threadPools.clear();
  threadRegions.clear();
  threadMatrices.clear();
}
