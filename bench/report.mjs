// Turns the runner's results into report.json, report.md and report.html
// (tables, goals and inline SVG charts; no external code or fonts).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMs, fmt, fmtTick } from './stats.mjs';

const IMPL_NAMES = { plain: 'Rust wasm', simd: 'Rust wasm simd128', js: 'plain JS', go: 'Go wasm (seed)', native: 'native Rust' };
const COLORS = {
  postMessage: '#868e96', wasmbridge: '#d9480f', fastCall: '#f08c00', comlink: '#1c7ed6', go: '#0b9fc4',
  onePerCall: '#868e96', batch: '#e8590c', coalesced: '#d9480f', goSeed: '#0b9fc4',
  plain: '#d9480f', simd: '#a61e4d', js: '#c9a400', native: '#2b8a3e',
  rawClone: '#adb5bd', rawTransfer: '#495057', poolClone: '#ffa94d', poolTransfer: '#d9480f', poolShared: '#a61e4d',
  script: '#d9480f', gzip: '#d9480f', wasm: '#ffa94d',
};
const LABELS = {
  postMessage: 'raw postMessage echo (floor)', wasmbridge: 'wasmbridge pool.call', fastCall: 'wasmbridge pool.fastCall (fast lane)',
  comlink: 'Comlink 4.4.2 proxy', go: 'Go wasm, seed bridge',
  onePerCall: 'one message per call (raw worker)', batch: 'pool.batch', coalesced: 'pool.call × n, coalesced (Promise.all)',
  goSeed: 'Go seed callGoFunctions (Promise.all)',
  rawClone: 'raw echo, structured clone', rawTransfer: 'raw echo, transfer', poolClone: 'pool.call invert, cloned',
  poolTransfer: 'pool.call invert, transferred', poolShared: 'pool.call invert, shared region',
};

const get = (o, path) => path.split('.').reduce((x, k) => (x === undefined || x === null ? undefined : x[k]), o);
const kernel = (r, id) => r.sections.kernels?.list?.find((k) => k.id === id)?.impls ?? {};
const kratio = (r, id, name) => r.sections.kernels?.list?.find((k) => k.id === id)?.ratios?.[name];
const med = (s) => s?.median;
const spread = (s, d = 2) => (s && s.n > 1 ? `${fmt(s.p25 ?? s.min, d)}–${fmt(s.p75 ?? s.max, d)}` : 'single run');

/** Every goal of issue 7, judged from this run only. */
export function goals(r) {
  const lat = r.sections.latency ?? {};
  const thr = r.sections.throughput ?? {};
  const sz = r.sections.sizes ?? {};
  const g = [];
  const add = (goal, value, ok, measured, reason, spreadText, timing = true) => {
    const met = value === undefined || value === null || !Number.isFinite(value) ? null : ok(value);
    g.push({ goal, value, met, measured, spread: spreadText, reason: met === false || met === null ? reason : '', timing });
  };
  const rounds = (st) => (st ? `${spread(st)} over ${st.n} rounds` : '');
  const ratioOf = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : undefined);
  const load = `machine shared with other work (load average ${r.env.loadavgStart?.[0]}→${r.env.loadavgEnd?.[0]} on ${r.env.cores} cores)`;

  const f = lat.ratios?.wasmbridgeOverFloor;
  add('pool.call round trip ≤ 1.15× the postMessage floor (p50)', med(f), (v) => v <= 1.15,
    `${fmt(med(f), 2)}× (p50 ${fmt(med(lat.contenders?.wasmbridge?.p50))} µs vs ${fmt(med(lat.contenders?.postMessage?.p50))} µs)`,
    `pool.call adds ${fmt(med(lat.contenders?.wasmbridge?.p50) - med(lat.contenders?.postMessage?.p50))} µs per round trip to the bare echo: the runtime's own work on both sides (argument check, call record, a microtask flush, the worker's async run loop, result batching)`, rounds(f));
  const c = lat.ratios?.comlinkOverWasmbridge;
  add('pool.call ≥ 1.5× faster than Comlink (p50)', med(c), (v) => v >= 1.5,
    `${fmt(med(c), 2)}× (Comlink p50 ${fmt(med(lat.contenders?.comlink?.p50))} µs; in throughput, coalesced pool.call is ${fmt(med(thr.ratios?.coalescedOverComlink), 1)}× Comlink)`,
    `a sequential call is one postMessage round trip for both (floor ${fmt(med(lat.contenders?.postMessage?.p50))} µs); pool.call's work on top costs about as much as Comlink's, so neither can be 1.5× faster one call at a time`, rounds(c));
  const t = thr.ratios?.coalescedOverOnePerCall;
  add('coalesced throughput ≥ 10× one message per call', med(t), (v) => v >= 10,
    `${fmt(med(t), 1)}× (${fmt(med(thr.modes?.coalesced) / 1000, 0)}k vs ${fmt(med(thr.modes?.onePerCall) / 1000, 0)}k calls/s)`,
    'per-call JavaScript work (a promise, a call record, a wire entry and a result on each side) bounds it, and at most 64 calls are in flight per worker (window), so 100 000 calls still take ≥ 1 563 messages each way', rounds(t));
  const mm = kernel(r, 'matmul256');
  const r4 = kratio(r, 'matmul256', 'goOverPlain');
  const v4 = med(r4);
  add('Rust wasm ≥ 3× faster than Go wasm on the seed\'s matmul (256² f64)', v4, (v) => v >= 3,
    `${fmt(v4, 1)}× (Go ${fmtMs(med(mm.go))}, Rust ${fmtMs(med(mm.plain))}; 512²: ${fmt(ratioOf(med(kernel(r, 'matmul512').go), med(kernel(r, 'matmul512').plain)), 1)}×)`,
    mm.go?.skipped ?? 'see the kernel table', rounds(r4));
  const call = kernel(r, 'call');
  const r5 = kratio(r, 'call', 'goOverPlain');
  const v5 = med(r5);
  add('Rust wasm ≥ 200× faster than Go wasm per call (empty call from JS)', v5, (v) => v >= 200,
    `${fmt(v5, 0)}× (Go ${fmtMs(med(call.go))}, Rust ${fmtMs(med(call.plain))}; simd build ${fmtMs(med(call.simd))})`, call.go?.skipped ?? `a Rust call takes ${fmtMs(med(call.plain))} here, so the load of other processes moves the ratio a lot (per-round ratios ${fmt(r5?.min, 0)}–${fmt(r5?.max, 0)}×)`, rounds(r5));
  const rustGz = Math.max(sz.plain?.gzip ?? NaN, sz.simd?.gzip ?? NaN);
  const v6 = ratioOf(sz.go?.gzip, rustGz);
  add('demo guest ≤ 1/20 of the Go module, gzip', v6, (v) => v >= 20,
    `1/${fmt(v6, 1)} (Rust ${fmt(rustGz / 1024, 1)} KiB vs Go ${fmt(sz.go?.gzip / 1024, 1)} KiB gzip)`,
    sz.go?.skipped ?? 'the demo guest exports 30+ functions and links num-bigint, serde_json, the image filters, chart, game and audio code; the Go module has 5 small functions but carries the Go runtime', '', false);
  const readmeGz = sz.readme?.gzip;
  add('README guest (mean, slowCount; wasmbridge new) ≤ 12 KB gzip', readmeGz, (v) => v <= 12 * 1000,
    `${fmt(readmeGz / 1000, 1)} KB gzip (${fmt(sz.readme?.wasm / 1000, 1)} KB raw), 1/${fmt(ratioOf(sz.go?.gzip, readmeGz), 0)} of the Go module`,
    'a release build with the injected profile and wasm-opt -O3', '', false);
  for (const [id, name] of [['grayscale', 'grayscale 1920×1080'], ['gaussian', 'gaussian blur 1920×1080']]) {
    const k = kernel(r, id);
    const rr = kratio(r, id, 'simdOverNative');
    const v = med(rr);
    add(`wasm (simd128) / native ≤ 1.2× for ${name}`, v, (x) => x <= 1.2,
      `${fmt(v, 2)}× (${fmtMs(med(k.simd))} vs ${fmtMs(med(k.native))}; plain wasm ${fmt(med(kratio(r, id, 'plainOverNative')), 2)}×)`,
      'the wasm figure includes the glue copying the 8 MiB image into wasm memory and the result out again', rounds(rr));
  }
  for (const n of [256, 512]) {
    const k = kernel(r, `matmul${n}`);
    const rr = kratio(r, `matmul${n}`, 'simdOverNative');
    const v = med(rr);
    add(`wasm simd128 / native ≤ 2.0× for matmul ${n}² (f64)`, v, (x) => x <= 2,
      `${fmt(v, 2)}× (${fmtMs(med(k.simd))} vs ${fmtMs(med(k.native))}; f32: ${fmt(med(kratio(r, `matmulF32_${n}`, 'simdOverNative')), 2)}×)`,
      'the wasm figure includes the glue copying a and b into wasm memory and the product out', rounds(rr));
  }
  const fz = kernel(r, 'factorize');
  const td = kernel(r, 'trialDivision');
  const v9 = ratioOf(med(td.go), med(fz.plain));
  add('factorize ≥ 1000× faster than the seed\'s trial division', v9, (v) => v >= 1000,
    `${fmt(v9, 0)}× (Rust wasm ${fmtMs(med(fz.plain))} vs Go trial division ${fmtMs(med(td.go))}; vs Rust wasm trial division ${fmt(ratioOf(med(td.plain), med(fz.plain)), 0)}×)`,
    td.go?.skipped ?? 'see the kernel table');
  const fb = kernel(r, 'fib100000');
  const v10 = Math.max(med(fb.plain) ?? NaN, med(fb.simd) ?? NaN);
  add('fibonacci(100000) well under 50 ms (met: ≤ 25 ms, the slower of the two wasm builds)', v10, (v) => v <= 25,
    `${fmtMs(v10)} (plain ${fmtMs(med(fb.plain))}, simd ${fmtMs(med(fb.simd))}; native ${fmtMs(med(fb.native))})`, 'see the kernel table');
  // Issue 6: the fast lane, the ring and 2-worker scaling.
  const fl = lat.contenders?.fastCall;
  const floor = med(lat.contenders?.postMessage?.p50);
  add('issue 6: fast lane median round trip ≤ 5 µs (pool.fastCall p50)', med(fl?.p50), (v) => v <= 5,
    `${fmt(med(fl?.p50))} µs (${fmt(med(lat.ratios?.fastCallOverFloor), 2)}× the postMessage floor of ${fmt(floor)} µs, same rounds)`,
    fl ? `even the bare postMessage echo takes ${fmt(floor)} µs here and the fast lane is ${fmt(med(lat.ratios?.fastCallOverFloor), 2)}× that: each call still crosses to another thread and back, which on ${r.env.cores} cores shared with other work costs far more than 5 µs (crates/wasmbridge/runtime/lane.js spins only with a core to spare)` : (r.sections.fastLane?.pending ?? 'pool.fastCall was not measured'), rounds(fl?.p50));
  const rg = r.sections.ring;
  add('issue 6: ring throughput ≥ 1 GB/s, bulk f32 worker → page', med(rg?.gbps), (v) => v >= 1,
    rg?.gbps ? `${fmt(med(rg.gbps), 2)} GB/s (${rg.count / (1 << 20)} Mi f32 = ${rg.bytes / (1 << 20)} MiB per round in ${fmtMs(med(rg.ms))}; JS producer worker, checksum verified every round)` : '–',
    rg?.error ? rg.error.split('\n')[0] : 'push and pop copy element by element in JS index loops (crates/wasmbridge/runtime/ring.js, no TypedArray.set) and the page also sums every element to verify the checksum, about 3 passes over the data on 2 shared cores', rounds(rg?.gbps));
  const sc = r.sections.scaling ?? {};
  const su = (res) => ratioOf(res?.[1]?.median, res?.[2]?.median);
  const sT = su(sc.results);
  const sS = sc.sharedResults?.unavailable ? undefined : su(sc.sharedResults);
  const bestShared = Number.isFinite(sS) && !(sT >= sS);
  const best = bestShared ? sS : sT;
  add('issue 6: gaussian blur 3840×2160 on 2 workers ≥ 1.7× faster than on 1', best, (v) => v >= 1.7,
    `${fmt(best, 2)}× with ${bestShared ? 'shared regions (filterBandInto)' : 'transferred bands (filterBand)'}, the better path (transferred bands ${fmt(sT, 2)}×: ${fmtMs(sc.results?.[1]?.median)} → ${fmtMs(sc.results?.[2]?.median)}; shared regions ${fmt(sS, 2)}×: ${fmtMs(sc.sharedResults?.[1]?.median)} → ${fmtMs(sc.sharedResults?.[2]?.median)})`,
    `two workers need two idle cores; this machine has ${r.env.cores} (hardwareConcurrency ${r.env.hardwareConcurrency}), shared with other work and with the page's own thread splitting and joining the bands`, '');
  // Issue 17: the demo guest against the libraries a web developer would pick, same page, same rounds.
  const rc = (id) => r.sections.references?.cases?.find((c) => c.id === id);
  const refGoal = (id, goal, ratioName, ok, what) => {
    const c = rc(id);
    const st = c?.ratios?.[ratioName];
    const ours = ratioName === 'endToEnd' ? c?.contenders?.oursEndToEnd : c?.contenders?.oursKernel;
    const theirs = ratioName === 'endToEnd' ? c?.contenders?.referenceEndToEnd : c?.contenders?.referenceKernel;
    add(goal, med(st), ok, `${fmt(med(st), 2)}× (${fmtMs(med(ours))} vs ${fmtMs(med(theirs))})`, what, rounds(st));
  };
  refGoal('matmulF32_512', 'matmul 512² f32 ≤ 0.8× TensorFlow.js wasm, same threads (1), kernel-only', 'kernel', (v) => v <= 0.8, 'our single-threaded f32 matmul against XNNPACK\'s packed GEMM');
  const m2 = rc('matmulF32_512_2threads');
  refGoal('matmulF32_512_2threads', 'matmul 512² f32 ≤ 0.8× TensorFlow.js wasm, 2 threads each (end to end)', 'endToEnd', (v) => v <= 0.8,
    `our --threads module (rayon, 2 threads) against TensorFlow.js with 2 XNNPACK threads, both timed on the page with the inputs moved; outputs: max difference ${m2?.compare?.exact?.maxDiff ?? '–'} on the bench matrices, ${m2?.compare?.rounding?.maxDiff?.toExponential(1) ?? '–'} on values up to ${fmt(m2?.compare?.rounding?.maxAbs, 2)} where f32 sums round`);
  refGoal('grayscaleLuma', 'grayscale end to end (one-channel output, transferred input) ≤ 1.0× OpenCV.js', 'endToEnd', (v) => v <= 1.0, 'one move of 8 MB each way plus wasm-bindgen\'s copy into wasm memory');
  refGoal('box3', 'box blur r=3 ≤ 0.6× OpenCV.js, end to end', 'endToEnd', (v) => v <= 0.6, 'the running window is bound by memory traffic over the 8 MB image');
  const ga = rc('gaussian')?.ratios?.endToEnd;
  add('gaussian σ=2 ≥ 8× faster than OpenCV.js, end to end', ga ? 1 / med(ga) : undefined, (v) => v >= 8, `${fmt(ga ? 1 / med(ga) : undefined, 1)}× faster`,
    'OpenCV.js 4.5 runs its scalar fixed-point path', ga ? `${fmt(1 / ga.p75, 1)}–${fmt(1 / ga.p25, 1)}× over ${ga.n} rounds` : '');
  // Issue 14's goals: the pinned latency section for the postMessage-class ratio.
  const lp = r.sections.latencyPinned ?? {};
  const pf = lp.ratios?.wasmbridgeOverFloor;
  add('issue 14: pool.call ≤ 1.05× the postMessage floor (p50, renderer pinned to one core)', med(pf), (v) => v <= 1.05,
    `${fmt(med(pf), 2)}× (p50 ${fmt(med(lp.contenders?.wasmbridge?.p50))} µs vs ${fmt(med(lp.contenders?.postMessage?.p50))} µs; 20 calls timed together ${fmt(med(lp.ratios?.wasmbridgeOverFloorGrouped), 2)}×, ${fmt(med(lp.contenders?.wasmbridge?.grouped), 2)} vs ${fmt(med(lp.contenders?.postMessage?.grouped), 2)} µs per call; Comlink ${fmt(med(lp.contenders?.comlink?.p50))} µs, ${fmt(med(lp.ratios?.comlinkOverWasmbridge), 2)}× pool.call)`,
    lp.error ? lp.error.split('\n')[0] : 'the runtime\'s own work on both sides of one call (call record, argument check, settlement) on top of the echo', rounds(pf));
  add('issue 14: coalesced small calls ≥ 15× one message per call and ≥ 2 M calls/s', med(t), (v) => v >= 15 && med(thr.modes?.coalesced) >= 2e6,
    `${fmt(med(t), 1)}×, ${fmt(med(thr.modes?.coalesced) / 1000, 0)}k calls/s`, 'calls are kept per batch (a promise per call, nothing else that lives until the answer); in profiles both threads now wait on each other for most of a run: the window (windowBytes) and the round trip between refills bound it', rounds(t));
  const flp = lat.contenders?.fastCall?.p50;
  // The page clock of an isolated page ticks every 5 µs: a call of 2–4 µs
  // times as 0 or 5, so the p50 of calls timed one by one says little. The
  // goal's figure is the median per-call time of groups of 20 calls timed
  // back to back (resolution 0.25 µs); the one-by-one p50 is shown beside it.
  const flg = lat.contenders?.fastCall?.grouped;
  add('issue 14: fast lane median ≤ 3 µs (pool.fastCall, unpinned, a free core; median per call of 20 timed back to back)', med(flg), (v) => v <= 3,
    `${fmt(med(flg), 2)} µs per call, 20 timed together; timed one by one: p50 ${fmt(med(flp))} µs, mean ${fmt(med(lat.contenders?.fastCall?.mean))} µs`, 'the page clock of an isolated page ticks every 5 µs, so one call timed alone reads 0 or 5 µs; 20 timed together resolve 0.25 µs', rounds(flg));
  const th = (id) => r.sections.threads?.cases?.find((c) => c.id === id);
  const thGoal = (id, goal, what) => {
    const st = th(id)?.speedup?.twoOverOne;
    const nat = th(id)?.speedup?.nativeTwoOverOne;
    const natText = nat ? `; native rayon, same rounds: ${fmt(med(nat), 2)}× (${fmtMs(med(th(id)?.contenders?.native1))} → ${fmtMs(med(th(id)?.contenders?.native2))})` : '';
    add(goal, med(st), (v) => v >= 1.8, `${fmt(med(st), 2)}× (1 thread ${fmtMs(med(th(id)?.contenders?.[1]))}, 2 threads ${fmtMs(med(th(id)?.contenders?.[2]))}, plain module ${fmtMs(med(th(id)?.contenders?.plain))})${natText}`,
      r.sections.threads?.error ? r.sections.threads.error.split('\n')[0] : what, rounds(st));
  };
  thGoal('gaussian4k', 'issue 17: gaussian 3840×2160 on 2 threads ≥ 1.8× one thread (threaded module, one pool worker)', 'both threads need an idle core; the page, the pool worker and the image move in and out share the same 2 cores');
  thGoal('gaussian4kShared', 'issue 17: gaussian 3840×2160 on 2 threads ≥ 1.8× one thread, no copy of the image beyond the one into shared memory (gaussianBlurShared, regions in the guest memory)', 'input and output are regions inside the guest memory, read and written in place; what is left is the kernel itself on 2 cores shared with the page');
  thGoal('matmulF32_512', 'issue 17: matmul 512² f32 on 2 threads ≥ 1.8× one thread', 'rows of the result split over rayon threads; the copy of both inputs into wasm memory is not parallel');
  thGoal('matmulF32_512Shared', 'issue 17: matmul 512² f32 on 2 threads ≥ 1.8× one thread, A, B and C in shared regions (matmulShared, regions in the guest memory)', 'no copy in or out; what is left is the product itself, the call and one wake-up per thread');
  for (const x of g) if (x.met === false && x.timing && Math.max(r.env.loadavgStart?.[0] ?? 0, r.env.loadavgEnd?.[0] ?? 0) > r.env.cores) x.reason += `; ${load}`;
  return g;
}

// ---- markdown ----

function mdTable(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const cellMs = (s) => (s?.median !== undefined ? `${fmtMs(s.median)} <sub>${s.n > 1 ? `${fmtMs(s.p25)}–${fmtMs(s.p75)}` : '1 run'}</sub>` : (s?.skipped ?? s?.error ?? ''));
const cellMsPlain = (s) => (s?.median !== undefined ? `${fmtMs(s.median)} (${s.n > 1 ? `${fmtMs(s.p25)}–${fmtMs(s.p75)}` : '1 run'})` : (s?.skipped ?? s?.error ?? ''));

function markdown(r, gl) {
  const L = [];
  const S = r.sections;
  L.push(`# wasmbridge benchmark report`, '');
  L.push(`Run ${r.date} (${r.seconds} s) · commit ${r.env.commit}${r.env.dirty ? ' + uncommitted changes' : ''} · Chromium ${r.env.chromium}, headless · ${r.env.cores} × ${r.env.cpu} · load average ${r.env.loadavgStart?.join(' ')} → ${r.env.loadavgEnd?.join(' ')} · ${r.env.go || 'no go'} · cross-origin isolated: ${r.env.isolated}${r.quick ? ' · QUICK RUN' : ''}`, '');
  L.push('Every figure is a median over repeated runs, with its spread (p25–p75 unless noted); every ratio compares figures of this run, computed round by round where the rounds were interleaved. The machine is shared with other work, so absolute figures move between runs; ratios move less.', '');
  L.push('## Goals', '');
  L.push(mdTable(['goal', 'measured', 'spread', 'status'], gl.map((x) => [x.goal, x.measured, x.spread ?? '', x.met === true ? '**met**' : x.met === false ? `**not met**: ${x.reason}` : `not measured: ${x.reason}`])), '');

  const lat = S.latency;
  if (lat?.contenders) {
    L.push('## Call latency (sequential round trips, add(i, 1), one worker)', '');
    L.push(`${lat.rounds} rounds × ${lat.callsPerRound} calls per contender, order rotated each round. Figures in µs: median of the rounds' percentiles (min–max of the rounds).`, '');
    L.push(mdTable(['contender', 'p50 µs', 'p90 µs', 'p99 µs', 'mean µs', 'per call, 20 timed together, µs'], Object.entries(lat.contenders).map(([k, v]) => [LABELS[k] ?? k, `${fmt(v.p50.median)} (${fmt(v.p50.min)}–${fmt(v.p50.max)})`, `${fmt(v.p90.median)} (${fmt(v.p90.min)}–${fmt(v.p90.max)})`, `${fmt(v.p99.median)} (${fmt(v.p99.min)}–${fmt(v.p99.max)})`, fmt(v.mean.median), v.grouped ? `${fmt(v.grouped.median, 2)} (${fmt(v.grouped.min, 2)}–${fmt(v.grouped.max, 2)})` : '–'])));
    if (lat.goSkipped) L.push('', `Go: ${lat.goSkipped}`);
    L.push('', `Ratios (p50, per round): pool.call / floor ${fmt(lat.ratios.wasmbridgeOverFloor?.median, 2)}×; Comlink / pool.call ${fmt(lat.ratios.comlinkOverWasmbridge?.median, 2)}×${lat.ratios.fastCallOverFloor ? `; fastCall / floor ${fmt(lat.ratios.fastCallOverFloor.median, 2)}×` : ''}${lat.ratios.goOverWasmbridge ? `; Go bridge / pool.call ${fmt(lat.ratios.goOverWasmbridge.median, 2)}×` : ''}.`, '');
  }
  const lp = S.latencyPinned;
  if (lp?.contenders) {
    L.push(`## Call latency, renderer pinned (${lp.pinned}; ${lp.rounds} rounds × ${lp.callsPerRound} calls, order rotated)`, '');
    L.push(mdTable(['contender', 'p50 µs', 'p90 µs', 'mean µs', 'per call, 20 timed together, µs'], Object.entries(lp.contenders).map(([k, v]) => [LABELS[k] ?? k, `${fmt(v.p50.median)} (${fmt(v.p50.min)}–${fmt(v.p50.max)})`, fmt(v.p90.median), fmt(v.mean.median), v.grouped ? `${fmt(v.grouped.median, 2)} (${fmt(v.grouped.min, 2)}–${fmt(v.grouped.max, 2)})` : '–'])), '');
    L.push(`Ratios (p50, per round): pool.call / floor ${fmt(lp.ratios.wasmbridgeOverFloor.median, 2)}× (${fmt(lp.ratios.wasmbridgeOverFloor.p25, 2)}–${fmt(lp.ratios.wasmbridgeOverFloor.p75, 2)}); Comlink / pool.call ${fmt(lp.ratios.comlinkOverWasmbridge.median, 2)}×.`, '');
  }
  const thr = S.throughput;
  if (thr?.modes) {
    L.push(`## Throughput (${thr.calls.toLocaleString('en')} small calls, one worker)`, '');
    L.push(mdTable(['way of sending', 'calls/s (median)', 'min–max', 'vs one message per call', 'failed calls per round'], Object.entries(thr.modes).map(([k, v]) => (v.median === undefined ? [LABELS[k] ?? k, v.error ?? '', '', '', ''] : [LABELS[k] ?? k, Math.round(v.median).toLocaleString('en'), `${Math.round(v.min).toLocaleString('en')}–${Math.round(v.max).toLocaleString('en')}`, `${fmt(v.median / thr.modes.onePerCall?.median, 2)}×`, thr.failed?.[k] ? thr.failed[k].join(', ') : '0']))), '');
    if (thr.failed?.goSeed) L.push(`The seed's bridge fails every call still unanswered 10 s after it was issued (its per-call timeout); with ${thr.calls.toLocaleString('en')} calls queued at once the last ones time out, so its figure counts only the calls that succeeded.`, '');
    L.push(`Per-round ratios: coalesced / one-per-call ${fmt(thr.ratios.coalescedOverOnePerCall?.median, 2)}×, batch / one-per-call ${fmt(thr.ratios.batchOverOnePerCall?.median, 2)}×, coalesced / Comlink ${fmt(thr.ratios.coalescedOverComlink?.median, 2)}×.`, '');
  }
  const ld = S.largeData;
  if (ld?.results) {
    L.push('## Large data (round trips, ms)', '');
    L.push(`The raw echo worker is the pure transport figure; \`pool.call('invert')\` also copies the pixels into wasm memory, inverts them and returns a new buffer (always transferred back). Shared region: ${ld.shared}.`, '');
    L.push(mdTable(['size', ...ld.modes.map((m) => LABELS[m] ?? m)], ld.sizes.map((mib) => [`${mib} MiB`, ...ld.modes.map((m) => cellMsPlain(ld.results[mib][m]))])), '');
  }
  const ks = S.kernels;
  if (ks?.list) {
    L.push('## Compute kernels (time per call inside a worker, no messaging)', '');
    const impls = ['plain', 'simd', 'js', 'go', 'native'];
    L.push(mdTable(['kernel', ...impls.map((i) => IMPL_NAMES[i]), 'simd / native', 'Go / Rust', 'JS / Rust'], ks.list.map((k) => {
      const ratio = (name) => (k.ratios?.[name] ? `${fmt(k.ratios[name].median, 2)}× (${fmt(k.ratios[name].p25, 2)}–${fmt(k.ratios[name].p75, 2)})` : '');
      return [k.label, ...impls.map((i) => cellMsPlain(k.impls[i])), ratio('simdOverNative'), ratio('goOverPlain'), ratio('jsOverPlain')];
    })), '');
    L.push('Time per call: median (p25–p75) over rounds; each round takes one sample of every implementation in rotated order (native: one run of the native binary), and the ratio columns are medians of the per-round ratios. Go / Rust and JS / Rust compare with the plain (non-simd) Rust build.', '');
    L.push('Rust columns call the demo guest\'s wasm-bindgen exports directly (arguments copied into wasm memory and results out, as in a real call); the Go column calls the seed-style functions registered with syscall/js (bytes copied with CopyBytesToGo/ToJS); native runs crates/compute/examples/native_bench.rs (release, default target CPU), with a copy of the image for grayscale as the guest makes. Checks: ' +
      ks.list.map((k) => `${k.id} ${[...new Set(Object.values(k.impls).filter((v) => v.check !== undefined).map((v) => String(v.check)))].join(' / ')}`).join('; ') + '.', '');
    if (ks.goSkipped) L.push(`Go: ${ks.goSkipped}.`, '');
  }
  const rf = S.references;
  if (rf?.cases) {
    L.push('## References: OpenCV.js and TensorFlow.js (same page, same rounds)', '');
    L.push(`OpenCV.js: @techstark/opencv-js 4.5.2 (build ${rf.info.opencv.build}, single-threaded); TensorFlow.js: @tensorflow/tfjs-core + tfjs-backend-wasm ${rf.info.tfjs.version}, backend ${rf.info.tfjs.backend}, ${rf.info.tfjs.threads} thread(s), simd ${rf.info.tfjs.simd}. Ours: the demo guest's simd128 release bundle. ${rf.rounds} rounds, one sample of each contender per round in rotated order; load average ${rf.loadavg?.join(' → ')}. End to end: timed on the page, the input moved to a worker and the output moved back (ours: \`pool.call\` with \`transfer: 'auto'\`). Kernel-only: timed inside the worker, with the copies into and out of the wasm heap on both sides (wasm-bindgen's for ours; \`Mat.data.set\`/\`slice\`, \`tensor2d\`/\`dataSync\` for theirs). Native: crates/compute/examples/native_bench.rs, scalar paths. The 2-thread row: ours is the \`--threads\` module of the same guest (threads/, one pool worker, 2 rayon threads; kernel-only in a kernel worker that starts the same threads), TensorFlow.js a second worker with ${rf.info.threads?.tfjs?.threads ?? '–'} XNNPACK threads (its backend caps at hardwareConcurrency / 2 unless the worker reports more cores).`, '');
    const cell = (c, n) => (c.contenders[n] ? `${fmtMs(c.contenders[n].median)} (${fmtMs(c.contenders[n].p25)}–${fmtMs(c.contenders[n].p75)}); ${fmt(c.contenders[n].rate?.median, c.unit === 'GFLOP/s' ? 1 : 0)} ${c.unit}` : '');
    const ratio = (st) => (st ? `${fmt(st.median, 2)}× (${fmt(st.p25, 2)}–${fmt(st.p75, 2)})` : '');
    L.push(mdTable(['case', 'ours, end to end', 'reference, end to end', 'ours, kernel', 'reference, kernel', 'native', 'ours / reference, end to end', 'ours / reference, kernel'], rf.cases.map((c) => [c.label, cell(c, 'oursEndToEnd'), cell(c, 'referenceEndToEnd'), cell(c, 'oursKernel'), cell(c, 'referenceKernel'), cell(c, 'native'), ratio(c.ratios.endToEnd), ratio(c.ratios.kernel)])), '');
  }
  const su = S.startup;
  if (su?.impls) {
    L.push('## Start-up and size', '');
    L.push(`Fresh page load in a new browser context, ${su.runs} runs each: from the page script's first line (everything else loaded after it) to the first result of add(1, 2); and from navigation start.`, '');
    L.push(mdTable(['contender', 'script start → first result', 'navigation → first result'], Object.entries(su.impls).map(([k, v]) => [LABELS[k] ?? k, cellMsPlain(v.script), cellMsPlain(v.navigation)])), '');
  }
  const sz = S.sizes;
  if (sz) {
    L.push(mdTable(['module', 'wasm bytes', 'gzip bytes', 'JS glue bytes', 'functions'], Object.entries(sz).map(([k, v]) => [k === 'plain' ? 'demo guest (release)' : k === 'simd' ? 'demo guest (release, simd128)' : k === 'readme' ? 'README guest (release)' : 'Go seed module (go build)', v.wasm?.toLocaleString('en') ?? v.skipped, v.gzip?.toLocaleString('en') ?? '', v.glue?.toLocaleString('en') ?? '', v.functions ?? ''])), '');
  }
  const sc = S.scaling;
  if (sc?.results) {
    L.push(`## Parallel scaling (${sc.filter}, ${sc.image}, row bands over a pool of N workers)`, '');
    L.push(`This machine has ${r.env.cores} cores (navigator.hardwareConcurrency ${r.env.hardwareConcurrency}), shared with other work: beyond ${r.env.cores} workers no speed-up is possible. Outputs of every N agree: ${sc.outputsAgree}.`, '');
    const base = sc.results[1]?.median;
    const baseS = sc.sharedResults?.[1]?.median;
    L.push(mdTable(['workers', 'filterBand, transferred bands', 'speed-up', 'filterBandInto, shared regions', 'speed-up'], sc.counts.map((n) => [n, cellMsPlain(sc.results[n]), `${fmt(base / sc.results[n]?.median, 2)}×`, sc.sharedResults?.unavailable ?? cellMsPlain(sc.sharedResults?.[n]), baseS ? `${fmt(baseS / sc.sharedResults[n]?.median, 2)}×` : ''])), '');
  }
  const tr = S.threads;
  if (tr?.cases) {
    L.push('## Threads (issue 17: the `--threads` module of the simd128 demo guest, one pool worker, timed on the page)', '');
    L.push(`Contenders interleaved round by round (${tr.rounds} rounds), inputs moved with \`transfer: 'auto'\`; every contender's output equal. Load average ${tr.loadavg?.join(' → ')}.`, '');
    if (tr.nativeError) L.push(`Native columns: ${tr.nativeError}.`, '');
    else L.push('Native columns: the same split of the same kernel (compute::parallel) on rayon pools of 1 and 2 threads, crates/compute/examples/native_bench.rs with `KERNEL@N`, one run per round between the browser\'s samples (the gaussian on a 3840×2160 image for both gaussian rows): what the two cores give a parallel kernel under the same load.', '');
    const span = (x) => (x ? `${fmt(x.median, 2)}× (${fmt(x.p25, 2)}–${fmt(x.p75, 2)})` : '');
    L.push(mdTable(['case', 'plain module', 'threaded, 1 thread', 'threaded, 2 threads', '2 threads vs 1', '2 threads vs plain', 'native, 1 thread', 'native, 2 threads', 'native 2 vs 1'], tr.cases.map((c) => [c.label, cellMsPlain(c.contenders.plain), cellMsPlain(c.contenders[1]), cellMsPlain(c.contenders[2]), span(c.speedup.twoOverOne), `${fmt(c.speedup.twoOverPlain.median, 2)}×`, c.contenders.native1 ? cellMsPlain(c.contenders.native1) : '', c.contenders.native2 ? cellMsPlain(c.contenders.native2) : '', span(c.speedup.nativeTwoOverOne)])), '');
  } else if (tr?.error) {
    L.push('## Threads', '', `Failed: ${tr.error.split('\n')[0]}`, '');
  }
  const rg = S.ring;
  if (rg?.gbps || rg?.error) {
    L.push('## Ring throughput (bulk f32, worker → page, RingBuffer of crates/wasmbridge/runtime/ring.js)', '');
    L.push(rg.error ? `Failed: ${rg.error.split('\n')[0]}` : `Producer: ${rg.producer} (js/test/shared.test.mjs uses a Rust-guest producer instead). Consumer: ${rg.consumer}. Ring of ${rg.capacity / (1 << 20)} Mi f32; ${rg.rounds} rounds of ${rg.count / (1 << 20)} Mi f32 (${rg.bytes / (1 << 20)} MiB) after a warm-up round: **${fmt(med(rg.gbps), 2)} GB/s** median (${fmt(rg.gbps.min, 2)}–${fmt(rg.gbps.max, 2)}), ${fmtMs(med(rg.ms))} per round; checksum ${rg.checksums.every((c) => c.ok) ? 'equal to the expected one in every round, nothing lost' : '**wrong**'}.`, '');
  }
  L.push('## Godot round trip and fast lane', '');
  const gd = S.godot;
  if (gd?.rounds) {
    L.push(`- Godot round trip: GDScript \`await WasmBridge.call("add", [i, 1])\` in a real Godot 4.6 web engine (single-threaded export), ${gd.rounds} rounds × ${gd.calls} sequential calls: p50 ${fmt(gd.p50?.median)} µs (${fmt(gd.p50?.min)}–${fmt(gd.p50?.max)} over rounds), p90 ${fmt(gd.p90?.median)} µs, p99 ${fmt(gd.p99?.median)} µs; the same page's pool.call p50 ${fmt(gd.poolP50?.median)} µs in rounds between them, so GDScript adds ${fmt(gd.overheadP50?.median)} µs at p50 (${fmt(gd.overheadP50?.min)}–${fmt(gd.overheadP50?.max)} over rounds).${gd.note ? ' ' + gd.note : ''}`);
  } else {
    L.push(`- Godot round trip: **pending**: ${gd?.pending ?? gd?.error ?? 'not run'}`);
  }
  const fl = S.latency?.contenders?.fastCall;
  L.push(`- Fast lane (pool.fastCall): ${S.fastLane?.pending ? `**pending**: ${S.fastLane.pending}` : fl ? `p50 ${fmt(fl.p50.median)} µs (${fmt(fl.p50.min)}–${fmt(fl.p50.max)}), p99 ${fmt(fl.p99.median)} µs; ${fmt(S.latency.ratios.fastCallOverFloor?.median, 2)}× the postMessage floor and ${fmt(fl.p50.median / S.latency.contenders.wasmbridge.p50.median, 2)}× pool.call, in the same rounds (call latency section)` : (S.fastLane?.measured ?? '')}`, '');
  if (r.errors.length) L.push('## Errors during the run', '', ...r.errors.map((e) => `- ${e.split('\n')[0]}`), '');
  return L.join('\n') + '\n';
}

// ---- HTML with inline SVG ----

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars with whiskers; rows: {label, value, lo, hi, color, text}. */
function hbars(rows, { log = false, width = 1100, unit = (v) => fmt(v), title = '' } = {}) {
  rows = rows.filter((r) => Number.isFinite(r.value) && r.value > 0);
  if (rows.length === 0) return '';
  const labelW = width < 700 ? 150 : 300;
  const textW = 110;
  const rowH = 24;
  const plotW = width - labelW - textW;
  const top = title ? 22 : 6;
  const h = top + rows.length * rowH + 22;
  const max = Math.max(...rows.map((r) => r.hi ?? r.value), ...rows.map((r) => r.value)) * 1.05;
  const min = log ? Math.min(...rows.map((r) => r.lo ?? r.value), ...rows.map((r) => r.value)) / 1.5 : 0;
  const x = log ? (v) => labelW + (plotW * Math.log(v / min)) / Math.log(max / min) : (v) => labelW + (plotW * v) / max;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" class="chart">`;
  if (title) s += `<text x="0" y="14" class="ct">${esc(title)}</text>`;
  const ticks = log ? logTicks(min, max, plotW) : linTicks(max);
  for (const t of ticks) s += `<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${h - 20}" class="grid"/><text x="${x(t)}" y="${h - 6}" class="tick" text-anchor="middle">${esc(unit(t))}</text>`;
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    s += `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end" class="lbl">${esc(r.label)}</text>`;
    s += `<rect x="${labelW}" y="${y + 4}" width="${Math.max(1, x(r.value) - labelW)}" height="${rowH - 8}" fill="${r.color ?? '#888'}" rx="2"/>`;
    if (Number.isFinite(r.lo) && Number.isFinite(r.hi)) {
      s += `<line x1="${x(Math.max(r.lo, log ? min : 0))}" x2="${x(r.hi)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" class="whisk"/>`;
      s += `<line x1="${x(Math.max(r.lo, log ? min : 0))}" x2="${x(Math.max(r.lo, log ? min : 0))}" y1="${y + 7}" y2="${y + rowH - 7}" class="whisk"/><line x1="${x(r.hi)}" x2="${x(r.hi)}" y1="${y + 7}" y2="${y + rowH - 7}" class="whisk"/>`;
    }
    s += `<text x="${width - textW + 8}" y="${y + 16}" class="val">${esc(r.text ?? unit(r.value))}</text>`;
  });
  return s + '</svg>';
}

function linTicks(max) {
  const step = 10 ** Math.floor(Math.log10(max / 4));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => max / s <= 6) ?? step * 10;
  const out = [];
  for (let t = 0; t <= max; t += nice) out.push(t);
  return out;
}

function logTicks(min, max, plotW = 1000) {
  const out = [];
  // 1-3-10 steps while there is room for them, else powers of ten only.
  const decades = Math.log10(max / min);
  const steps = plotW / Math.max(decades, 0.5) >= 120 ? [1, 3] : [1];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of steps) {
      const t = m * 10 ** e;
      if (t >= min && t <= max) out.push(t);
    }
  }
  return out;
}

/** Latency histograms on a shared log axis, one strip per contender. */
function histograms(lat) {
  const names = Object.keys(lat.contenders);
  const all = names.flatMap((n) => lat.contenders[n].samples).filter((v) => v > 0);
  if (all.length === 0) return '';
  const sorted = [...all].sort((a, b) => a - b);
  const lo = Math.max(1, sorted[0] * 0.9);
  const hi = sorted[Math.floor(sorted.length * 0.999)] * 1.1;
  const bins = 60;
  const width = 1100;
  const labelW = 300;
  const plotW = width - labelW - 40;
  const stripH = 54;
  const h = names.length * stripH + 28;
  const bx = (v) => Math.floor((bins * Math.log(v / lo)) / Math.log(hi / lo));
  const x = (v) => labelW + (plotW * Math.log(v / lo)) / Math.log(hi / lo);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" class="chart">`;
  for (const t of logTicks(lo, hi, plotW)) s += `<line x1="${x(t)}" x2="${x(t)}" y1="0" y2="${h - 22}" class="grid"/><text x="${x(t)}" y="${h - 8}" class="tick" text-anchor="middle">${t} µs</text>`;
  names.forEach((n, i) => {
    const counts = new Array(bins).fill(0);
    let over = 0;
    for (const v of lat.contenders[n].samples) {
      if (v > hi) over += 1;
      else counts[Math.min(bins - 1, Math.max(0, bx(Math.max(v, lo))))] += 1;
    }
    const peak = Math.max(...counts);
    const y0 = i * stripH;
    s += `<text x="${labelW - 8}" y="${y0 + 24}" text-anchor="end" class="lbl">${esc(LABELS[n] ?? n)}</text>`;
    s += `<text x="${labelW - 8}" y="${y0 + 40}" text-anchor="end" class="small">p50 ${fmt(lat.contenders[n].p50.median)} · p99 ${fmt(lat.contenders[n].p99.median)} µs${over ? ` · ${over} beyond` : ''}</text>`;
    counts.forEach((cnt, b) => {
      if (!cnt) return;
      const bh = ((stripH - 10) * cnt) / peak;
      const xa = labelW + (plotW * b) / bins;
      s += `<rect x="${xa}" y="${y0 + stripH - 4 - bh}" width="${plotW / bins - 1}" height="${bh}" fill="${COLORS[n] ?? '#888'}"/>`;
    });
    const p50 = lat.contenders[n].p50.median;
    s += `<line x1="${x(p50)}" x2="${x(p50)}" y1="${y0 + 4}" y2="${y0 + stripH - 4}" class="p50"/>`;
  });
  return s + '</svg>';
}

function htmlTable(head, rows) {
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Markdown-ish cell text to HTML: only `code`, **bold** and <sub>. */
const cell = (t) => esc(t).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>').replace(/&lt;sub&gt;(.*?)&lt;\/sub&gt;/g, '<sub>$1</sub>');

function html(r, gl, md) {
  const S = r.sections;
  const parts = [];
  const badge = (m) => (m === true ? '<span class="ok">met</span>' : m === false ? '<span class="bad">not met</span>' : '<span class="na">not measured</span>');
  parts.push(`<h1>wasmbridge benchmark report</h1><p class="meta">${esc(`Run ${r.date} (${r.seconds} s) · commit ${r.env.commit}${r.env.dirty ? ' + uncommitted changes' : ''} · Chromium ${r.env.chromium} headless · ${r.env.cores} × ${r.env.cpu} · load average ${r.env.loadavgStart?.join(' ')} → ${r.env.loadavgEnd?.join(' ')} · ${r.env.go || 'no go'} · cross-origin isolated: ${r.env.isolated}${r.quick ? ' · QUICK RUN' : ''}`)}</p>`);
  parts.push('<p>Every figure is a median over repeated runs with its spread; every ratio compares figures of this run. The machine is shared with other work, so absolute figures move between runs.</p>');
  parts.push('<h2>Goals</h2>' + htmlTable(['goal', 'measured', 'spread', 'status', 'why not'], gl.map((x) => [cell(x.goal), cell(x.measured), cell(x.spread ?? ''), badge(x.met), cell(x.reason)])));

  const lat = S.latency;
  if (lat?.contenders) {
    parts.push(`<h2>Call latency</h2><p>Sequential round trips of add(i, 1) to one worker: ${lat.rounds} rounds × ${lat.callsPerRound} calls per contender, order rotated. Histograms of every sample (log axis; the line marks the median p50).</p>`);
    parts.push(histograms(lat));
    parts.push(hbars(Object.entries(lat.contenders).map(([k, v]) => ({ label: LABELS[k] ?? k, value: v.p50.median, lo: v.p50.min, hi: v.p50.max, color: COLORS[k], text: `${fmt(v.p50.median)} µs p50` })), { unit: (v) => `${fmt(v, 0)} µs`, title: 'p50 round trip, µs (whiskers: min–max over rounds)' }));
    parts.push(mdSection(md, '## Call latency'));
  }
  const thr = S.throughput;
  if (thr?.modes) {
    parts.push(`<h2>Throughput</h2>`);
    parts.push(hbars(Object.entries(thr.modes).filter(([, v]) => v.median !== undefined).map(([k, v]) => ({ label: LABELS[k] ?? k, value: v.median, lo: v.min, hi: v.max, color: COLORS[k], text: `${Math.round(v.median / 1000)}k calls/s` })), { unit: (v) => `${Math.round(v / 1000)}k`, title: `${thr.calls.toLocaleString('en')} small calls, calls/s (whiskers: min–max of ${thr.rounds} rounds)` }));
    parts.push(mdSection(md, '## Throughput'));
  }
  const ld = S.largeData;
  if (ld?.results) {
    parts.push('<h2>Large data</h2>');
    for (const mib of ld.sizes) {
      parts.push(hbars(ld.modes.map((m) => ({ label: LABELS[m] ?? m, value: ld.results[mib][m]?.median, lo: ld.results[mib][m]?.p25, hi: ld.results[mib][m]?.p75, color: COLORS[m], text: fmtMs(ld.results[mib][m]?.median) })), { unit: fmtTick, title: `${mib} MiB round trip, ms (whiskers p25–p75)` }));
    }
    parts.push(mdSection(md, '## Large data'));
  }
  const ks = S.kernels;
  if (ks?.list) {
    parts.push('<h2>Compute kernels</h2><p>Time per call inside a worker; log axis; whiskers p25–p75.</p><div class="grid2">');
    for (const k of ks.list) {
      parts.push(`<div>${hbars(['plain', 'simd', 'js', 'go', 'native'].map((i) => ({ label: IMPL_NAMES[i], value: k.impls[i]?.median, lo: k.impls[i]?.p25, hi: k.impls[i]?.p75, color: COLORS[i], text: fmtMs(k.impls[i]?.median) })), { log: true, width: 590, unit: fmtTick, title: k.label })}</div>`);
    }
    parts.push('</div>');
    parts.push(mdSection(md, '## Compute kernels'));
  }
  if (S.startup?.impls) {
    parts.push('<h2>Start-up and size</h2>');
    parts.push(hbars(Object.entries(S.startup.impls).map(([k, v]) => ({ label: LABELS[k] ?? k, value: v.script.median, lo: v.script.p25, hi: v.script.p75, color: COLORS[k], text: fmtMs(v.script.median) })), { unit: fmtTick, title: 'script start → first result, fresh page load (whiskers p25–p75)' }));
    const sz = S.sizes ?? {};
    parts.push(hbars(Object.entries(sz).filter(([, v]) => v.gzip).map(([k, v]) => ({ label: k === 'go' ? 'Go seed module' : k === 'readme' ? 'README guest' : `demo guest (${k})`, value: v.gzip / 1024, color: k === 'go' ? COLORS.go : COLORS.plain, text: `${fmt(v.gzip / 1024, 1)} KiB gzip` })), { unit: (v) => `${fmt(v, 0)} KiB`, title: 'module size, gzip (KiB)' }));
    parts.push(mdSection(md, '## Start-up and size'));
  }
  const sc = S.scaling;
  if (sc?.results) {
    parts.push('<h2>Parallel scaling</h2>');
    const rows = sc.counts.map((n) => ({ label: `${n} worker${n > 1 ? 's' : ''}, filterBand`, value: sc.results[n]?.median, lo: sc.results[n]?.p25, hi: sc.results[n]?.p75, color: COLORS.plain, text: `${fmtMs(sc.results[n]?.median)} · ${fmt(sc.results[1]?.median / sc.results[n]?.median, 2)}×` }));
    if (sc.sharedResults && !sc.sharedResults.unavailable) {
      for (const n of sc.counts) rows.push({ label: `${n} worker${n > 1 ? 's' : ''}, shared regions`, value: sc.sharedResults[n]?.median, lo: sc.sharedResults[n]?.p25, hi: sc.sharedResults[n]?.p75, color: COLORS.simd, text: `${fmtMs(sc.sharedResults[n]?.median)} · ${fmt(sc.sharedResults[1]?.median / sc.sharedResults[n]?.median, 2)}×` });
    }
    parts.push(hbars(rows, { unit: fmtTick, title: `${sc.filter} on ${sc.image}: wall time (speed-up vs 1 worker)` }));
    parts.push(mdSection(md, '## Parallel scaling'));
  }
  if (S.ring?.gbps || S.ring?.error) parts.push('<h2>Ring throughput</h2>' + mdSection(md, '## Ring throughput'));
  if (S.references?.cases) parts.push('<h2>References</h2>' + mdSection(md, '## References'));
  parts.push('<h2>Godot round trip and fast lane</h2>' + mdSection(md, '## Godot round trip and fast lane'));
  if (r.errors.length) parts.push('<h2>Errors during the run</h2>' + mdSection(md, '## Errors during the run'));
  const css = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212529;max-width:1240px;margin:24px auto;padding:0 24px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #dee2e6;padding-bottom:4px}
.meta{color:#495057;font-size:13px}table{border-collapse:collapse;margin:10px 0 16px;font-size:13px;width:100%}
th,td{border:1px solid #dee2e6;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f1f3f5}tbody tr:nth-child(even){background:#f8f9fa}
sub{color:#868e96}code{background:#f1f3f5;padding:0 3px;border-radius:3px}.ok{background:#2b8a3e;color:#fff;padding:1px 8px;border-radius:10px;white-space:nowrap}
.bad{background:#c92a2a;color:#fff;padding:1px 8px;border-radius:10px;white-space:nowrap}.na{background:#868e96;color:#fff;padding:1px 8px;border-radius:10px;white-space:nowrap}
.chart{display:block;margin:8px 0}.chart .lbl{font-size:12px;fill:#212529}.chart .small{font-size:10.5px;fill:#495057}.chart .val{font-size:12px;fill:#212529}
.chart .tick{font-size:10.5px;fill:#868e96}.chart .ct{font-size:13px;font-weight:600;fill:#212529}.chart .grid{stroke:#e9ecef}.chart .whisk{stroke:#212529;stroke-width:1.2}
.chart .p50{stroke:#212529;stroke-width:1.5;stroke-dasharray:3 2}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:4px 24px}.md p{margin:6px 0}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wasmbridge benchmark report</title><style>${css}</style></head><body>${parts.join('\n')}</body></html>\n`;
}

/** The tables and paragraphs of one markdown section, rendered to HTML (headings dropped). */
function mdSection(md, heading) {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) return '';
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  const body = lines.slice(start + 1, end);
  const out = [];
  let table = [];
  const flush = () => {
    if (table.length >= 2) {
      const rows = table.map((l) => l.replace(/^\|\s?|\s?\|$/g, '').split(' | '));
      out.push(htmlTable(rows[0].map(cell), rows.slice(2).map((r) => r.map(cell))));
    }
    table = [];
  };
  for (const l of body) {
    if (l.startsWith('|')) { table.push(l); continue; }
    flush();
    if (l.startsWith('- ')) out.push(`<p>• ${cell(l.slice(2))}</p>`);
    else if (l.trim()) out.push(`<p>${cell(l)}</p>`);
  }
  flush();
  return `<div class="md">${out.join('\n')}</div>`;
}

/** Writes report.json, report.md and report.html into `dir`; returns their paths. */
export async function writeReports(results, dir) {
  const gl = goals(results);
  results.goals = gl;
  const md = markdown(results, gl);
  const files = [join(dir, 'report.json'), join(dir, 'report.md'), join(dir, 'report.html')];
  writeFileSync(files[0], JSON.stringify(results, null, 1));
  writeFileSync(files[1], md);
  writeFileSync(files[2], html(results, gl, md));
  return files;
}
