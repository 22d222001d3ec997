// The reference page of `cargo xtask bench` (bench/site/references.*) in real
// Chromium: OpenCV.js and TensorFlow.js load from the npm packages, and on the
// bench's own inputs they compute what the demo guest computes, within the
// differences the README states (grayscale, box blur and matmul equal; OpenCV's
// Gaussian rounds its own fixed-point kernel, off by at most 1), and matmul
// with 2 threads on each side (our --threads module, TensorFlow.js with 2
// XNNPACK threads) is equal too, or within the stated bound where f32 sums
// round. This keeps the bench page from rotting; it times nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bundle, makeSite, startServer, launchBrowser, openPage } from './harness.mjs';
import { PAGE_FILES, VENDOR_FILES, pageFile } from '../../bench/reference-files.mjs';

let server;
let browser;

before(async () => {
  const files = {};
  for (const f of PAGE_FILES) files[f] = readFileSync(pageFile(f));
  for (const [f, from] of Object.entries(VENDOR_FILES)) files[f] = readFileSync(from);
  // The demo-guest bundle the browser tier builds carries the `--threads`
  // module too: served as threads/ it is what the bench's threads/ is.
  server = await startServer(makeSite('references', { simd: bundle('demo-guest'), threads: bundle('demo-guest') }, files));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the reference page loads OpenCV.js and TensorFlow.js, and their outputs match ours within the stated differences', async () => {
  const { page, errors, close } = await openPage(browser, `${server.url}references.html`);
  try {
    await page.waitForFunction(() => window.referencesLoaded === true, null, { timeout: 30_000 });
    const r = await page.evaluate(async () => {
      const info = await window.references.setup();
      const out = { info };
      for (const id of ['grayscaleLuma', 'box3', 'gaussian', 'matmulF32_512']) out[id] = await window.references.compare(id);
      // One timed call of each kind, so a broken path fails here rather than in the bench.
      out.kernel = await window.references.kernel('opencv', 'box3', 1);
      out.endToEnd = await window.references.endToEnd('tfjs', 'matmulF32_512', 1);
      // Issue 17's same-thread-count pair: our --threads module and TensorFlow.js, 2 threads each.
      out.threads = await window.references.setupThreads(2);
      const pair = { ours: 'oursThreads', theirs: 'tfjsThreads' };
      out.threadsExact = await window.references.compare('matmulF32_512', pair);
      out.threadsRounding = await window.references.compare('matmulF32_512', { ...pair, rounding: true });
      out.oneThreadRounding = await window.references.compare('matmulF32_512', { rounding: true });
      out.oursSplit = await window.references.compare('matmulF32_512', { ours: 'oursThreads', theirs: 'ours', rounding: true });
      out.tfjsSplit = await window.references.compare('matmulF32_512', { ours: 'tfjsThreads', theirs: 'tfjs', rounding: true });
      out.threadsEndToEnd = await window.references.endToEnd('oursThreads', 'matmulF32_512', 1);
      out.threadsKernel = await window.references.kernel('tfjsThreads', 'matmulF32_512', 1);
      out.oursThreadsKernel = await window.references.kernel('oursThreads', 'matmulF32_512', 1);
      out.oursOneThreadKernel = await window.references.kernel('ours', 'matmulF32_512', 1);
      window.references.close();
      return out;
    });
    assert.equal(r.info.isolated, true);
    assert.match(r.info.opencv.build, /^4\.5\.\d/, 'the package 4.5.2 reports the OpenCV build it carries');
    assert.equal(r.info.tfjs.version, '4.22.0');
    assert.equal(r.info.tfjs.backend, 'wasm');
    assert.equal(r.info.tfjs.threads, 1);
    // cvtColor's 8-bit RGBA→GRAY is the same 16-bit fixed-point Rec. 601 luma as ours, and
    // blur the same rounded mean over the replicated border: equal, byte for byte.
    assert.equal(r.grayscaleLuma.maxDiff, 0, JSON.stringify(r.grayscaleLuma));
    assert.equal(r.box3.maxDiff, 0, JSON.stringify(r.box3));
    // GaussianBlur rounds its own fixed-point kernel: about one value in nine differs, by 1.
    assert.ok(r.gaussian.maxDiff <= 1, JSON.stringify(r.gaussian));
    assert.ok(r.gaussian.differing < r.gaussian.compared / 4, JSON.stringify(r.gaussian));
    // The bench matrices hold multiples of 1/8 whose products and sums are exact in f32.
    assert.equal(r.matmulF32_512.maxDiff, 0, JSON.stringify(r.matmulF32_512));
    // Two threads each: our --threads module really runs 2 rayon threads, and TensorFlow.js
    // 2 XNNPACK threads (it would cap at hardwareConcurrency / 2 = 1 here unless told).
    assert.deepEqual([r.threads.ours.kind, r.threads.ours.threads], ['threaded', 2], JSON.stringify(r.threads.ours));
    assert.equal(r.threads.tfjs.threads, 2, JSON.stringify(r.threads.tfjs));
    assert.equal(r.threads.tfjs.multithread, true);
    // On the bench matrices the 2-thread outputs are equal, as the 1-thread ones are.
    assert.equal(r.threadsExact.maxDiff, 0, JSON.stringify(r.threadsExact));
    // Where f32 sums round, splitting over threads changes neither side's result (each
    // output element is summed by one thread in the same order), so the 2-thread pair
    // differs exactly as the 1-thread pair does: only by the kernels' own summation
    // orders, measured at 9.3e-6 on values up to 9.31 (2^-20 of the largest); the bound
    // is 2^-17 of the largest magnitude.
    assert.equal(r.oursSplit.maxDiff, 0, JSON.stringify(r.oursSplit));
    assert.equal(r.tfjsSplit.maxDiff, 0, JSON.stringify(r.tfjsSplit));
    assert.equal(r.threadsRounding.maxDiff, r.oneThreadRounding.maxDiff, JSON.stringify([r.threadsRounding, r.oneThreadRounding]));
    assert.ok(r.threadsRounding.maxDiff > 0, 'the rounding inputs round: the kernels sum in different orders');
    assert.ok(r.threadsRounding.maxDiff <= r.threadsRounding.maxAbs * 2 ** -17, JSON.stringify(r.threadsRounding));
    assert.equal(r.threadsEndToEnd.samples.length, 1);
    assert.equal(r.threadsKernel.samples.length, 1);
    // The threaded kernel timed inside its own worker computes what the plain one does.
    assert.equal(r.oursThreadsKernel.samples.length, 1);
    assert.equal(r.oursThreadsKernel.check, r.oursOneThreadKernel.check);
    assert.equal(r.kernel.samples.length, 1);
    assert.equal(r.endToEnd.samples.length, 1);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
