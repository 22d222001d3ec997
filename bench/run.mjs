// The runner of `cargo xtask bench`: serves target/bench/site with the real
// `wasmbridge serve`, drives headless Chromium through every section (printing
// progress), and writes report.json, report.md, report.html and report.png.
//
//   node bench/run.mjs --bin target/debug/wasmbridge --out target/bench [--quick]
//
// xtask lays out the site first (bench/site/*, two demo-guest bundles, comlink,
// the Go module) and builds crates/compute/examples/native_bench, which this
// runner calls once per round of each kernel (--native-bin PATH).

import { existsSync, readFileSync, writeFileSync, statSync, readdirSync, mkdirSync, copyFileSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg, cpus } from 'node:os';
import { gzipSync, brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { writeReports } from './report.mjs';
import { stats, fmtMs, fmt } from './stats.mjs';
import { VENDOR_FILES } from './reference-files.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const OUT = resolve(arg('--out', join(REPO, 'target', 'bench')));
const SITE = join(OUT, 'site');
const QUICK = process.argv.includes('--quick');
/** `--only SECTION` (references, threads, …): just that section, on a site xtask laid out before (for a short run). */
const ONLY = arg('--only', null);
process.env.WASMBRIDGE_BIN = resolve(arg('--bin', process.env.WASMBRIDGE_BIN ?? join(REPO, 'target', 'debug', 'wasmbridge')));

const { startServer, launchBrowser } = await import('../js/test/harness.mjs');

const t0 = Date.now();
function log(...a) {
  const s = Math.round((Date.now() - t0) / 1000);
  console.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`, ...a);
}

/**
 * impl → [reps, batch, warmup?]; native (the native_bench binary) gets as many
 * rounds as the most. Batches make every sample last tens of ms: on a loaded
 * machine a sample of a few ms is either untouched or hit by a whole time
 * slice of another process, which swings per-call figures several-fold.
 */
const KERNELS = [
  { id: 'call', label: 'empty call into the module, add(1, 2)', impls: { plain: [7, 200000], simd: [7, 200000], go: [7, 2000] } },
  { id: 'fib90', label: 'fibonacci(90): Rust exact (decimal string), JS and Go float64', impls: { plain: [7, 20000], simd: [7, 20000], js: [7, 200000], go: [7, 2000] }, native: true },
  { id: 'fibRec30', label: 'fibonacci(30), naive recursion (JS only)', impls: { js: [5, 1] } },
  { id: 'factorize', label: 'factorize(1000000016000000063), Rust: Fermat + Pollard–Brent', impls: { plain: [7, 1000], simd: [7, 1000] }, native: true },
  { id: 'trialDivision', label: 'the same by trial division (the seed\'s method)', impls: { plain: [2, 1, false], go: [2, 1, false] }, native: true },
  { id: 'matmul256', label: 'matmul 256² f64 (JS: blocked; Go: the seed\'s blocked [][]float64)', impls: { plain: [10, 1], simd: [10, 1], js: [5, 1], go: [5, 1] }, native: true },
  { id: 'matmulNaive256', label: 'matmul 256² f64, naive i-j-k (JS)', impls: { js: [5, 1] } },
  { id: 'matmulF32_256', label: 'matmul 256² f32', impls: { plain: [10, 1], simd: [10, 1] }, native: true },
  { id: 'matmul512', label: 'matmul 512² f64', impls: { plain: [5, 1], simd: [5, 1], js: [3, 1], go: [3, 1] }, native: true },
  { id: 'matmulNaive512', label: 'matmul 512² f64, naive i-j-k (JS)', impls: { js: [3, 1] } },
  { id: 'matmulF32_512', label: 'matmul 512² f32', impls: { plain: [5, 1], simd: [5, 1] }, native: true },
  { id: 'grayscale', label: 'grayscale 1920×1080 RGBA (Rec. 601)', impls: { plain: [10, 1], simd: [10, 1], js: [10, 1], go: [10, 1] }, native: true },
  { id: 'gaussian', label: 'gaussian blur σ=2, 1920×1080 RGBA', impls: { plain: [7, 1], simd: [7, 1], js: [5, 1] }, native: true },
  { id: 'fib100000', label: 'fibonacci(100000), exact (JS: BigInt fast doubling)', impls: { plain: [7, 1], simd: [7, 1], js: [5, 1] }, native: true },
];
const IMPLS = ['plain', 'simd', 'js', 'go', 'native'];

/** The cases of the references section: our kernel against OpenCV.js or TensorFlow.js. */
const MIB = 1 << 20;
const IMAGE_BYTES = 1920 * 1080 * 4;
const REFERENCE_CASES = [
  { id: 'grayscaleLuma', label: 'grayscale 1920×1080 RGBA → one luma byte per pixel (Rec. 601) vs OpenCV cvtColor RGBA2GRAY', reference: 'opencv', bytes: IMAGE_BYTES },
  { id: 'gaussian', label: 'gaussian σ=2 (13 taps), 1920×1080 RGBA vs OpenCV GaussianBlur 13×13, BORDER_REPLICATE', reference: 'opencv', bytes: IMAGE_BYTES },
  { id: 'box3', label: 'box blur r=3, 1920×1080 RGBA vs OpenCV blur 7×7, BORDER_REPLICATE', reference: 'opencv', bytes: IMAGE_BYTES },
  { id: 'matmulF32_512', label: 'matmul 512² f32 vs TensorFlow.js matMul (wasm backend, XNNPACK, 1 thread)', reference: 'tfjs', flops: 2 * 512 ** 3 },
  // Issue 17's goal with the same number of threads on both sides: our --threads
  // module (threads/) against a second TensorFlow.js worker, 2 threads each;
  // ours kernel-only in kernel-worker.js, which starts the same rayon threads.
  { id: 'matmulF32_512', key: 'matmulF32_512_2threads', threads: 2, label: 'matmul 512² f32, 2 threads each: our --threads module vs TensorFlow.js matMul (XNNPACK, 2 threads)', reference: 'tfjsThreads', flops: 2 * 512 ** 3 },
];

// ---- set-up ----

const goSkipped = existsSync(join(OUT, 'go-skipped.txt')) ? readFileSync(join(OUT, 'go-skipped.txt'), 'utf8').trim() : null;
const hasGo = !goSkipped && existsSync(join(SITE, 'go', 'main.wasm'));

const results = {
  date: new Date().toISOString(),
  quick: QUICK,
  env: {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    go: hasGo ? tryRun('go', ['version']) : (goSkipped ?? 'skipped: no go'),
    commit: tryRun('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    dirty: tryRun('git', ['-C', REPO, 'status', '--porcelain']).length > 0,
  },
  sections: {},
  errors: [],
};

/**
 * Writes file.br and file.gz next to every text and wasm file of the site, as
 * a deployment would: `wasmbridge serve` sends them instead of compressing on
 * every request (which a debug build of the server does slowly, and which
 * would then dominate the start-up figures).
 */
function precompress(dir) {
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) { walk(p); continue; }
      if (!/\.(wasm|js|mjs|json|html)$/.test(e.name)) continue;
      const mtime = statSync(p).mtimeMs;
      if (existsSync(`${p}.br`) && statSync(`${p}.br`).mtimeMs >= mtime && existsSync(`${p}.gz`)) continue;
      const bytes = readFileSync(p);
      writeFileSync(`${p}.gz`, gzipSync(bytes, { level: 9 }));
      writeFileSync(`${p}.br`, brotliCompressSync(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: bytes.length > 1 << 20 ? 9 : 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
      n += 1;
    }
  };
  walk(dir);
  if (n) log(`precompressed ${n} files (.br, .gz)`);
}

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

log(`wasmbridge bench: site ${SITE}${QUICK ? ' (quick)' : ''}; load average ${results.env.loadavgStart.join(' ')} on ${results.env.cores} cores`);
// The reference libraries, from js/node_modules (npm ci installs them).
mkdirSync(join(SITE, 'vendor'), { recursive: true });
for (const [name, from] of Object.entries(VENDOR_FILES)) copyFileSync(from, join(SITE, name));
precompress(SITE);
const server = await startServer(SITE);
// `gc()` in the pages: a throughput round starts on a collected heap, so one
// contender's garbage (100 000 message events of the raw echo) is not
// collected in the next contender's time.
const browser = await launchBrowser({ args: ['--js-flags=--expose-gc'] });
results.env.chromium = browser.version();
log(`serving at ${server.url}; Chromium ${results.env.chromium}`);

async function freshPage(path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('crash', () => errors.push('page crashed'));
  page.setDefaultTimeout(300_000);
  await page.goto(server.url + path);
  return { page, context, errors };
}

let main;
try {
  if (ONLY === 'references') {
    await section('references', () => references());
    throw new Error('ONLY');
  }
  main = await freshPage('bench.html');
  await main.page.waitForFunction(() => window.benchLoaded === true, null, { timeout: 30_000 });
  const info = await main.page.evaluate(() => window.bench.setup());
  Object.assign(results.env, info);
  log(`page ready: crossOriginIsolated=${info.isolated}, hardwareConcurrency=${info.hardwareConcurrency}, Go: ${info.goStatus}`);
  const ev = (fn, ...args) => main.page.evaluate(([f, a]) => window.bench[f](...a), [fn, args]);

  await section('latency', () => latency(ev));
  await section('latencyPinned', () => latencyPinned());
  await section('throughput', () => throughput(ev));
  await section('largeData', () => largeData(ev));
  await section('kernels', () => kernels(ev));
  await section('scaling', () => scaling(ev));
  await section('threads', () => threads(ev));
  await section('ring', () => ring(ev));
  await main.context.close();
  if (ONLY) throw new Error('ONLY');
  await section('references', () => references());
  await section('startup', () => startup());
  await section('sizes', () => sizes());
  await section('godot', () => godot(info));
  await section('fastLane', () => fastLane());
} catch (e) {
  if (e.message !== 'ONLY') {
    results.errors.push(`run aborted: ${e.stack ?? e}`);
    log(`ERROR: ${e.stack ?? e}`);
  }
} finally {
  if (main?.errors.length) results.errors.push(...main.errors);
  results.env.loadavgEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  results.seconds = Math.round((Date.now() - t0) / 1000);
}

async function section(name, f) {
  if (ONLY && name !== ONLY) return;
  log(`== ${name}`);
  try {
    results.sections[name] = await f();
  } catch (e) {
    results.sections[name] = { error: String(e.stack ?? e) };
    results.errors.push(`${name}: ${e.message ?? e}`);
    log(`   ${name} failed: ${e.message ?? e}`);
  }
}

// ---- call latency ----

async function latency(ev) {
  const rounds = QUICK ? 2 : 5;
  const n = QUICK ? 300 : 1000;
  const names = ['postMessage', 'wasmbridge', 'fastCall', 'comlink'];
  if (hasGo) names.push('go');
  const per = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const res = await ev('latencyRound', name, n, r === 0 ? 300 : 100);
      per[name].push(res);
    }
    log(`   round ${r + 1}/${rounds}: ` + names.map((k) => `${k} p50 ${fmt(per[k][r].p50)} µs (grouped ${fmt(per[k][r].grouped)})`).join(', '));
  }
  const out = { rounds, callsPerRound: n, contenders: {} };
  for (const name of names) {
    const rs = per[name];
    out.contenders[name] = {
      p50: stats(rs.map((x) => x.p50)), p90: stats(rs.map((x) => x.p90)), p99: stats(rs.map((x) => x.p99)),
      mean: stats(rs.map((x) => x.mean)),
      grouped: stats(rs.map((x) => x.grouped)),
      samples: rs.flatMap((x) => x.samples),
    };
  }
  const ratio = (a, b, key = 'p50') => stats(per[a].map((x, i) => x[key] / per[b][i][key]));
  out.ratios = {
    wasmbridgeOverFloor: ratio('wasmbridge', 'postMessage'),
    wasmbridgeOverFloorGrouped: ratio('wasmbridge', 'postMessage', 'grouped'),
    comlinkOverWasmbridge: ratio('comlink', 'wasmbridge'),
  };
  if (per.fastCall) out.ratios.fastCallOverFloor = ratio('fastCall', 'postMessage');
  if (per.go) out.ratios.goOverWasmbridge = ratio('go', 'wasmbridge');
  if (!hasGo) out.goSkipped = goSkipped ?? 'skipped: no go';
  return out;
}

// ---- call latency, renderer pinned to one core ----

/**
 * The postMessage-class contenders again, in a second Chromium whose every
 * process runs under `taskset -c 0`: on 2 cores an unpinned round trip jumps
 * between a ~25 µs regime (the reply handled on the same core) and a ~55 µs
 * one (the other core woken), and a round tends to stay in one of them, so
 * only pinned figures give stable ratios. The fast lane spins on a
 * SharedArrayBuffer and needs a core of its own: it is measured unpinned
 * only (the latency section).
 */
async function latencyPinned() {
  const wrapper = join(OUT, 'chromium-pinned');
  writeFileSync(wrapper, `#!/bin/sh\nexec taskset -c 0 ${process.env.CHROMIUM ?? '/usr/bin/chromium'} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const before = process.env.CHROMIUM;
  process.env.CHROMIUM = wrapper;
  const pinned = await launchBrowser().finally(() => {
    if (before === undefined) delete process.env.CHROMIUM;
    else process.env.CHROMIUM = before;
  });
  try {
    const context = await pinned.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(300_000);
    await page.goto(server.url + 'bench.html');
    await page.waitForFunction(() => window.benchLoaded === true, null, { timeout: 30_000 });
    await page.evaluate(() => window.bench.setup());
    const ev = (fn, ...args) => page.evaluate(([f, a]) => window.bench[f](...a), [fn, args]);
    const rounds = QUICK ? 3 : 7;
    const n = QUICK ? 300 : 1000;
    const names = ['postMessage', 'wasmbridge', 'comlink'];
    const per = Object.fromEntries(names.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length];
        per[name].push(await ev('latencyRound', name, n, r === 0 ? 300 : 100));
      }
      log(`   pinned round ${r + 1}/${rounds}: ` + names.map((k) => `${k} p50 ${fmt(per[k][r].p50)} µs (grouped ${fmt(per[k][r].grouped)})`).join(', '));
    }
    const ratio = (a, b, key = 'p50') => stats(per[a].map((x, i) => x[key] / per[b][i][key]));
    return {
      rounds, callsPerRound: n, pinned: 'taskset -c 0 (every Chromium process)',
      contenders: Object.fromEntries(names.map((k) => [k, {
        p50: stats(per[k].map((x) => x.p50)), p90: stats(per[k].map((x) => x.p90)), mean: stats(per[k].map((x) => x.mean)), grouped: stats(per[k].map((x) => x.grouped)),
      }])),
      ratios: {
        wasmbridgeOverFloor: ratio('wasmbridge', 'postMessage'),
        wasmbridgeOverFloorGrouped: ratio('wasmbridge', 'postMessage', 'grouped'),
        comlinkOverWasmbridge: ratio('comlink', 'wasmbridge'),
      },
    };
  } finally {
    await pinned.close();
  }
}

// ---- throughput ----

async function throughput(ev) {
  const rounds = 5;
  const n = QUICK ? 20_000 : 100_000;
  const modes = ['onePerCall', 'batch', 'coalesced', 'comlink'];
  if (hasGo) modes.push('goSeed');
  const per = Object.fromEntries(modes.map((k) => [k, []]));
  const failed = Object.fromEntries(modes.map((k) => [k, []]));
  const errors = {};
  for (const mode of modes) await ev('throughputRound', mode, Math.min(n, 20_000)).catch(() => {}); // warm-up, not counted
  for (let r = 0; r < rounds; r++) {
    for (const i of modes.keys()) {
      const mode = modes[(i + r) % modes.length];
      try {
        const res = await ev('throughputRound', mode, n);
        per[mode].push(res.callsPerSecond);
        failed[mode].push(res.failed ?? 0);
      } catch (e) {
        errors[mode] = String(e.message ?? e).split('\n')[0];
        per[mode].push(NaN);
      }
    }
    log(`   round ${r + 1}/${rounds}: ` + modes.map((k) => `${k} ${Math.round(per[k][r] / 1000)}k/s${failed[k][r] ? ` (${failed[k][r]} failed)` : ''}`).join(', '));
  }
  const out = { rounds, calls: n, modes: {}, failed: {}, errors };
  for (const m of modes) {
    out.modes[m] = stats(per[m]) ?? { error: errors[m] ?? 'no result' };
    if (failed[m].some((x) => x > 0)) out.failed[m] = failed[m];
  }
  const ratio = (a, b) => stats(per[a].map((x, i) => x / per[b][i]));
  out.ratios = {
    coalescedOverOnePerCall: ratio('coalesced', 'onePerCall'),
    batchOverOnePerCall: ratio('batch', 'onePerCall'),
    coalescedOverComlink: ratio('coalesced', 'comlink'),
  };
  return out;
}

// ---- large data ----

async function largeData(ev) {
  const sizes = QUICK ? [1, 16] : [1, 16, 64];
  const modes = ['rawClone', 'rawTransfer', 'poolClone', 'poolTransfer', 'poolShared'];
  const out = { sizes, modes, results: {} };
  for (const mib of sizes) {
    const reps = mib >= 64 ? 5 : mib >= 16 ? 5 : 9;
    out.results[mib] = {};
    for (const mode of modes) {
      try {
        const res = await ev('largeData', mib, mode, reps);
        out.results[mib][mode] = stats(res.samples);
      } catch (e) {
        out.results[mib][mode] = { error: String(e.message ?? e).split('\n')[0] };
      }
    }
    log(`   ${mib} MiB: ` + modes.map((m) => `${m} ${fmt(out.results[mib][m]?.median)} ms`).join(', '));
  }
  return out;
}

// ---- compute kernels ----

async function kernels(ev) {
  const nativeBin = arg('--native-bin', null);
  const nativeError = nativeBin && existsSync(nativeBin) ? null : `no native bench binary (${nativeBin ?? 'pass --native-bin'})`;
  const native = (id) => JSON.parse(execFileSync(nativeBin, [id, '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 }));
  const out = { list: [], nativeError, goSkipped: hasGo ? null : (goSkipped ?? 'skipped: no go') };
  for (const k of KERNELS) {
    // Rounds: each round takes one sample of every implementation, in rotated
    // order (native: one run of the native binary), so ratios compare samples
    // taken under the same load.
    const impls = IMPLS.filter((i) => (i === 'native' ? k.native : k.impls[i]));
    const samples = Object.fromEntries(impls.map((i) => [i, []]));
    const checks = {};
    const notes = {};
    const repsOf = (i) => (i === 'native' ? Math.max(...Object.values(k.impls).map((s) => s[0])) : k.impls[i][0]);
    for (const i of impls) {
      if (i === 'native' && nativeError) notes[i] = { error: nativeError };
      if (i === 'go' && !hasGo) notes[i] = { skipped: goSkipped ?? 'skipped: no go' };
      if (QUICK && i !== 'native' && k.impls[i][2] === false) notes[i] = { skipped: 'quick run' };
      if (QUICK && i === 'native' && k.id === 'trialDivision') notes[i] = { skipped: 'quick run' };
    }
    const rounds = Math.max(...impls.map((i) => (QUICK ? Math.min(repsOf(i), 3) : repsOf(i))));
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < impls.length; j++) {
        const impl = impls[(j + r) % impls.length];
        if (notes[impl] || r >= (QUICK ? Math.min(repsOf(impl), 3) : repsOf(impl))) { samples[impl].push(NaN); continue; }
        try {
          if (impl === 'native') {
            const res = native(k.id);
            samples.native.push(res.samples[0]);
            checks.native = res.check;
          } else {
            const [, batch, warmup = true] = k.impls[impl];
            const res = await ev('kernel', impl, k.id, 1, batch, warmup);
            if (res.unsupported) throw new Error('unsupported');
            samples[impl].push(res.samples[0]);
            checks[impl] = res.check;
          }
        } catch (e) {
          notes[impl] = { error: String(e.message ?? e).split('\n')[0] };
          samples[impl].push(NaN);
        }
      }
    }
    const row = { id: k.id, label: k.label, impls: {}, ratios: {} };
    for (const i of impls) {
      const st = stats(samples[i]);
      row.impls[i] = notes[i] ?? (st ? { ...st, check: checks[i], samples: samples[i].filter(Number.isFinite) } : { error: 'no samples' });
    }
    const perRound = (a, b) => (samples[a] && samples[b] ? stats(samples[a].map((x, n) => x / samples[b][n])) : null);
    for (const [name, a, b] of [['simdOverNative', 'simd', 'native'], ['plainOverNative', 'plain', 'native'], ['goOverPlain', 'go', 'plain'], ['jsOverPlain', 'js', 'plain'], ['plainOverSimd', 'plain', 'simd']]) {
      const st = perRound(a, b);
      if (st) row.ratios[name] = st;
    }
    out.list.push(row);
    log(`   ${k.id}: ` + Object.entries(row.impls).map(([i, v]) => `${i} ${v.median !== undefined ? fmtMs(v.median) : (v.error ?? v.skipped)}`).join(', '));
  }
  await ev('closeKernelWorkers');
  return out;
}

// ---- references: OpenCV.js and TensorFlow.js in one page with ours ----

/**
 * Each case: ours and the reference end to end (timed on the page, input
 * moved to the worker, output moved back) and kernel-only (timed inside the
 * worker), plus the native kernel, one sample of each per round in rotated
 * order, so every ratio compares samples taken under the same load.
 */
async function references() {
  const nativeBin = arg('--native-bin', null);
  const native = nativeBin && existsSync(nativeBin) ? (id) => JSON.parse(execFileSync(nativeBin, [id, '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 })) : null;
  // 15 rounds, as in the threads section: the 2-thread pairs swing from one
  // round to the next on 2 cores.
  const rounds = QUICK ? 5 : 15;
  const load = [loadavg()[0]];
  const { page, context, errors } = await freshPage('references.html');
  try {
    await page.waitForFunction(() => window.referencesLoaded === true, null, { timeout: 30_000 });
    const info = await page.evaluate(() => window.references.setup({ tfjsThreads: 1 }));
    log(`   OpenCV.js build ${info.opencv.build}; TensorFlow.js ${info.tfjs.version} (${info.tfjs.backend}, ${info.tfjs.threads} thread(s), simd ${info.tfjs.simd}); isolated ${info.isolated}`);
    const ev = (f, ...a) => page.evaluate(([name, args]) => window.references[name](...args), [f, a]);
    info.threads = await ev('setupThreads', 2);
    if (info.threads.ours.kind !== 'threaded' || info.threads.ours.threads !== 2) throw new Error(`the 2-thread pool runs ${JSON.stringify(info.threads.ours)}, not the threaded module with 2 threads`);
    if (info.threads.tfjs.threads !== 2) throw new Error(`TensorFlow.js runs ${info.threads.tfjs.threads} thread(s), not 2`);
    log(`   2 threads each: ours ${info.threads.ours.kind} (${info.threads.ours.threads} threads), TensorFlow.js ${info.threads.tfjs.threads} threads`);
    const out = { rounds, info, cases: [] };
    for (const c of REFERENCE_CASES) {
      const ours = c.threads ? 'oursThreads' : 'ours';
      const contenders = { oursEndToEnd: () => ev('endToEnd', ours, c.id, 1), referenceEndToEnd: () => ev('endToEnd', c.reference, c.id, 1) };
      contenders.oursKernel = () => ev('kernel', ours, c.id, 1);
      contenders.referenceKernel = () => ev('kernel', c.reference, c.id, 1);
      if (native && !c.threads) contenders.native = async () => native(c.id);
      const names = Object.keys(contenders);
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      const checks = {};
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < names.length; j++) {
          const name = names[(j + r) % names.length];
          const res = await contenders[name]();
          samples[name].push(res.samples[0]);
          checks[name] = res.check;
        }
      }
      const perRound = (a, b) => stats(samples[a].map((x, i) => x / samples[b][i]));
      const rate = (ms) => (c.flops ? c.flops / ms / 1e6 : c.bytes / MIB / (ms / 1000));
      const row = { id: c.key ?? c.id, label: c.label, reference: c.reference, threads: c.threads ?? 1, unit: c.flops ? 'GFLOP/s' : 'MiB/s', contenders: {}, checks };
      for (const n of names) row.contenders[n] = { ...stats(samples[n]), rate: stats(samples[n].map(rate)) };
      row.ratios = { endToEnd: perRound('oursEndToEnd', 'referenceEndToEnd') };
      row.ratios.kernel = perRound('oursKernel', 'referenceKernel');
      if (samples.native) row.ratios.oursKernelOverNative = perRound('oursKernel', 'native');
      if (c.threads) {
        // The two outputs, compared value by value on the bench's matrices (exact in f32
        // in any summation order) and on matrices whose sums round.
        const pair = { ours, theirs: c.reference };
        row.compare = { exact: await ev('compare', c.id, pair), rounding: await ev('compare', c.id, { ...pair, rounding: true }) };
      }
      out.cases.push(row);
      log(`   ${row.id}: ` + names.map((n) => `${n} ${fmtMs(row.contenders[n].median)}`).join(', ') + `; ours / ${c.reference}: end to end ${fmt(row.ratios.endToEnd.median, 2)}×, kernel ${fmt(row.ratios.kernel.median, 2)}×` + (row.compare ? `; outputs: max difference ${row.compare.exact.maxDiff} (bench matrices), ${row.compare.rounding.maxDiff.toExponential(1)} on values up to ${fmt(row.compare.rounding.maxAbs, 2)} (rounding matrices)` : ''));
    }
    await page.evaluate(() => window.references.close());
    if (errors.length) throw new Error(errors.join('; '));
    load.push(loadavg()[0]);
    out.loadavg = load;
    return out;
  } finally {
    await context.close();
  }
}

// ---- parallel scaling ----

async function scaling(ev) {
  const counts = [1, 2, 3, 4];
  const reps = QUICK ? 3 : 5;
  const out = { image: '3840×2160', filter: 'gaussianBlur σ=2', counts, results: {}, sharedResults: {} };
  for (const n of counts) {
    const res = await ev('scaling', n, reps);
    out.results[n] = { ...stats(res.samples), check: res.check, halo: res.halo };
    log(`   ${n} worker(s), filterBand on transferred bands: ${fmtMs(out.results[n].median)} (checksum ${res.check})`);
  }
  const checks = new Set(counts.map((n) => out.results[n].check));
  out.outputsAgree = checks.size === 1;
  for (const n of counts) {
    const res = await ev('scalingShared', n, reps);
    if (res.unavailable) { out.sharedResults = { unavailable: res.unavailable }; break; }
    out.sharedResults[n] = { ...stats(res.samples), check: res.check };
    log(`   ${n} worker(s), filterBandInto on shared regions: ${fmtMs(out.sharedResults[n].median)} (checksum ${res.check})`);
  }
  return out;
}

// ---- issue 17: the threaded module, 1 and 2 threads against the plain one ----

/**
 * One pool of one worker per contender (the plain module, and the threaded
 * module with 1 and 2 threads), one sample of each per round in rotated
 * order, timed on the page; every output's checksum must agree.
 */
async function threads(ev) {
  const labels = {
    gaussian4k: 'gaussian σ=2, 3840×2160 RGBA',
    gaussian4kShared: 'gaussian σ=2, 3840×2160 RGBA, input and output in shared regions (in place on the threaded module)',
    matmulF32_512: 'matmul 512² f32',
    matmulF32_512Shared: 'matmul 512² f32, A, B and C in shared regions (in place on the threaded module)',
  };
  const contenders = ['plain', 1, 2];
  // The same split natively (compute::parallel on rayon pools of 1 and 2
  // threads, native_bench KERNEL@N), one sample per round between the
  // browser's: what these two cores give a parallel kernel at that moment.
  const nativeKernel = { gaussian4k: 'gaussian4k', gaussian4kShared: 'gaussian4k', matmulF32_512: 'matmulF32_512', matmulF32_512Shared: 'matmulF32_512' };
  const nativeBin = arg('--native-bin', null);
  const native = nativeBin && existsSync(nativeBin)
    ? (id, t) => JSON.parse(execFileSync(nativeBin, [`${id}@${t}`, '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 })).samples[0]
    : null;
  // 15 rounds: on this 2-core machine a 2-thread ratio swings from one round
  // to the next (native ones too), so its median wants more rounds than the
  // other sections' figures.
  const rounds = QUICK ? 5 : 15;
  const load = [loadavg()[0]];
  const modules = await ev('threadsSetup', contenders);
  for (const c of contenders.slice(1)) {
    if (modules[c]?.kind !== 'threaded' || modules[c].threads !== c) throw new Error(`the ${c}-thread pool runs ${JSON.stringify(modules[c])}, not the threaded module`);
  }
  const out = { rounds, modules, cases: [], nativeError: native ? null : `no native bench binary (${nativeBin ?? 'pass --native-bin'})` };
  try {
    for (const kase of ['gaussian4k', 'gaussian4kShared', 'matmulF32_512', 'matmulF32_512Shared']) {
      for (const c of contenders) await ev('threadsSample', c, kase); // warm-up, not counted
      const all = native ? [...contenders, 'native1', 'native2'] : contenders;
      const samples = Object.fromEntries(all.map((c) => [c, []]));
      const checks = new Set();
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < all.length; j++) {
          const c = all[(j + r) % all.length];
          if (c === 'native1' || c === 'native2') {
            samples[c].push(native(nativeKernel[kase], Number(c.slice(-1))));
            continue;
          }
          const res = await ev('threadsSample', c, kase);
          if (kase.endsWith('Shared') && c !== 'plain' && res.inGuestMemory !== true) throw new Error(`${kase}: the ${c}-thread pool's regions are not in the guest memory`);
          samples[c].push(res.ms);
          checks.add(res.check);
        }
      }
      const perRound = (a, b) => stats(samples[a].map((x, i) => x / samples[b][i]));
      const row = {
        id: kase, label: labels[kase],
        contenders: Object.fromEntries(all.map((c) => [c, stats(samples[c])])),
        // Speed-ups: how many times faster 2 threads are than 1, and than the plain module.
        speedup: { twoOverOne: perRound(1, 2), twoOverPlain: perRound('plain', 2), oneOverPlain: perRound('plain', 1), ...(native ? { nativeTwoOverOne: perRound('native1', 'native2') } : {}) },
        outputsAgree: checks.size === 1,
      };
      if (!row.outputsAgree) throw new Error(`${kase}: the contenders' outputs differ (checksums ${[...checks].join(', ')})`);
      out.cases.push(row);
      const nat = native ? `; native rayon ${fmt(row.speedup.nativeTwoOverOne.median, 2)}× (1 thread ${fmtMs(row.contenders.native1.median)}, 2 threads ${fmtMs(row.contenders.native2.median)})` : '';
      log(`   ${kase}: plain ${fmtMs(row.contenders.plain.median)}, 1 thread ${fmtMs(row.contenders[1].median)}, 2 threads ${fmtMs(row.contenders[2].median)}; 2 threads ${fmt(row.speedup.twoOverOne.median, 2)}× one thread${nat}`);
    }
  } finally {
    await ev('threadsClose');
  }
  load.push(loadavg()[0]);
  out.loadavg = load;
  return out;
}

// ---- ring throughput ----

async function ring(ev) {
  const rounds = 3;
  const count = QUICK ? 16 << 20 : 64 << 20;
  await ev('ringRound', 8 << 20); // warm-up, not counted
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const res = await ev('ringRound', count);
    if (!res.ok) throw new Error(`ring round ${r + 1}: got ${res.got} of ${count}, sum ${res.sum} vs ${res.expected}, first wrong ${res.firstWrong}, producer overruns ${res.producer?.overruns}`);
    per.push(res);
    log(`   round ${r + 1}/${rounds}: ${count} f32 in ${fmt(res.ms, 0)} ms = ${fmt(res.gbps, 2)} GB/s (checksum ok; page found the ring empty ${res.empty} times)`);
  }
  await ev('closeRingWorker');
  return {
    producer: 'plain JS module worker (bench/site/ring-worker.js) pushing chunks of 1 Mi f32',
    consumer: 'the page, pop into a preallocated 1 Mi Float32Array, summing every element (the time includes that check)',
    capacity: 1 << 22, count, bytes: count * 4, rounds,
    gbps: stats(per.map((x) => x.gbps)), ms: stats(per.map((x) => x.ms)),
    checksums: per.map((x) => ({ sum: x.sum, expected: x.expected, ok: x.ok })),
  };
}

// ---- start-up ----

async function startup() {
  const impls = ['wasmbridge', 'comlink'];
  if (hasGo) impls.push('go');
  const runs = QUICK ? 3 : 5;
  const per = Object.fromEntries(impls.map((k) => [k, { script: [], nav: [] }]));
  for (let r = 0; r < runs; r++) {
    for (const i of impls.keys()) {
      const impl = impls[(i + r) % impls.length];
      const { page, context, errors } = await freshPage(`start.html?impl=${impl}`);
      await page.waitForFunction(() => window.__startup !== undefined, null, { timeout: 30_000 });
      const s = await page.evaluate(() => window.__startup);
      await context.close();
      if (s.error || s.value !== 3) throw new Error(`${impl} start-up failed: ${s.error ?? `add(1, 2) gave ${s.value}`} ${errors.join('; ')}`);
      per[impl].script.push(s.firstResult - s.scriptStart);
      per[impl].nav.push(s.firstResult);
    }
  }
  const out = { runs, impls: {} };
  for (const impl of impls) out.impls[impl] = { script: stats(per[impl].script), navigation: stats(per[impl].nav) };
  log('   ' + impls.map((k) => `${k} ${fmt(out.impls[k].script.median)} ms (from navigation ${fmt(out.impls[k].navigation.median)} ms)`).join(', '));
  return out;
}

// ---- sizes ----

function sizes() {
  const out = {};
  for (const b of ['plain', 'simd', 'readme']) {
    const m = JSON.parse(readFileSync(join(SITE, b, 'manifest.json'), 'utf8'));
    const f = m.files[m.wasm];
    const glue = m.files[m.glue];
    const runtime = Object.entries(m.files).filter(([name]) => name.endsWith('.js') && name !== m.glue).reduce((s, [, v]) => s + v.size, 0);
    out[b] = { wasm: f.size, gzip: f.gzip, glue: glue?.size ?? 0, runtimeJs: runtime, functions: m.functions.length };
  }
  if (hasGo) {
    const bytes = readFileSync(join(SITE, 'go', 'main.wasm'));
    const gz = gzipSync(bytes, { level: zlibConstants.Z_BEST_COMPRESSION }).length;
    out.go = { wasm: bytes.length, gzip: gz, glue: statSync(join(SITE, 'go', 'wasm_exec.js')).size, functions: 5 };
  } else {
    out.go = { skipped: goSkipped ?? 'skipped: no go' };
  }
  log('   ' + Object.entries(out).map(([k, v]) => `${k} ${v.wasm ?? '–'} B (gzip ${v.gzip ?? '–'} B)`).join(', '));
  return out;
}

// ---- Godot round trip and the fast lane ----

async function godot() {
  const { godotRoundTrip } = await import('./godot.mjs');
  return godotRoundTrip({ browser, log, stats, quick: QUICK, out: OUT, bin: process.env.WASMBRIDGE_BIN });
}

function fastLane() {
  return { measured: 'in the call latency section (fastCall row)' };
}

// ---- reports ----

await browser.close().catch(() => {});
await server.close().catch(() => {});
const files = await writeReports(results, OUT);
log(`reports: ${files.join(', ')}`);
// The screenshot needs a browser again; the report is a self-contained file.
try {
  const b = await launchBrowser();
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(pathToFileURL(join(OUT, 'report.html')).href);
  await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
  await b.close();
  log(`screenshot: ${join(OUT, 'report.png')}`);
} catch (e) {
  log(`screenshot failed: ${e.message}`);
  results.errors.push(`screenshot: ${e.message}`);
}
log(`done in ${Math.round((Date.now() - t0) / 1000)} s${results.errors.length ? `; ${results.errors.length} error(s): ${results.errors.join(' | ')}` : ''}`);
process.exit(results.errors.some((e) => e.startsWith('run aborted')) ? 1 : 0);
