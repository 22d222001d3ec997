// The reference page of `cargo xtask bench` (bench/site/references.*) in real
// Chromium: OpenCV.js and TensorFlow.js load from the npm packages, and on the
// bench's own inputs they compute what the demo guest computes, within the
// differences the README states (grayscale, box blur and matmul equal; OpenCV's
// Gaussian rounds its own fixed-point kernel, off by at most 1). This keeps
// the bench page from rotting; it times nothing.

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
  server = await startServer(makeSite('references', { simd: bundle('demo-guest') }, files));
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
    assert.equal(r.kernel.samples.length, 1);
    assert.equal(r.endToEnd.samples.length, 1);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
