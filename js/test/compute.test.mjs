// The demo guest's compute functions through the pool in real Chromium: known
// answers, and for every bad input a typed error, after which the same
// worker (the pool has one) still answers correctly.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, makeSite, startServer, launchBrowser, openPage } from './harness.mjs';

let server;
let browser;
let page;
let errors;
let closePage;

before(async () => {
  server = await startServer(makeSite('compute', { demo: bundle('demo-guest') }));
  browser = await launchBrowser();
  ({ page, errors, close: closePage } = await openPage(browser, server.url));
  await page.evaluate(async () => {
    const { createPool } = await import('/demo/wasmbridge.js');
    globalThis.pool = await createPool({ size: 1 });
    globalThis.outcome = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, message: e.message }));
  });
});

after(async () => {
  await closePage?.();
  await browser?.close();
  await server?.close();
});

/** Runs `fn` in the page, then checks the one worker still answers and nothing was logged. */
async function inPool(fn, arg) {
  const r = await page.evaluate(fn, arg);
  assert.equal(await page.evaluate(() => pool.call('divide', 7, 2)), 3.5, 'the worker still answers');
  assert.equal(await page.evaluate(() => pool.stats().workers.length), 1);
  assert.deepEqual(errors, []);
  return r;
}

test('fibonacci is exact far past 2^53 and refuses bad n', async () => {
  const r = await inPool(async () => ({
    f90: await pool.call('fibonacci', 90),
    f100: await pool.call('fibonacci', 100),
    f100k: await pool.call('fibonacci', 100_000),
    cached: await pool.call('fibonacciCached', 300),
    negative: await outcome(pool.call('fibonacci', -1)),
    fraction: await outcome(pool.call('fibonacci', 2.5)),
    huge: await outcome(pool.call('fibonacci', 1e9)),
    reference: (() => { let a = 0n, b = 1n; for (let i = 0; i < 100_000; i++) [a, b] = [b, a + b]; return a.toString(); })(),
  }));
  assert.equal(r.f90, '2880067194370816120');
  assert.equal(r.f100, '354224848179261915075');
  assert.equal(r.f100k.length, 20_899);
  assert.equal(r.f100k, r.reference, 'equal to F(100000) computed with JS BigInt on the page')
  assert.equal(r.cached.length, 63);
  for (const e of [r.negative, r.fraction, r.huge]) assert.equal(e.code, 'BAD_ARGUMENT', JSON.stringify(e));
});

test('factorize and isPrime take strings and BigInts up to 2^64-1', async () => {
  const r = await inPool(async () => ({
    semiprime: await pool.call('factorize', '1000000016000000063'),
    max: await pool.call('factorize', 2n ** 64n - 1n),
    prime: await pool.call('isPrime', '18446744073709551557'),
    notPrime: await pool.call('isPrime', 2n ** 64n - 1n),
    small: await pool.call('factorize', 360),
    letters: await outcome(pool.call('factorize', 'abc')),
    over: await outcome(pool.call('factorize', '18446744073709551616')),
    negative: await outcome(pool.call('factorize', '-5')),
    zero: await outcome(pool.call('factorize', '0')),
    unsafe: await outcome(pool.call('factorize', 2 ** 60)),
  }));
  assert.deepEqual(r.semiprime, ['1000000007', '1000000009']);
  assert.deepEqual(r.max, ['3', '5', '17', '257', '641', '65537', '6700417']);
  assert.equal(r.prime, true);
  assert.equal(r.notPrime, false);
  assert.deepEqual(r.small, ['2', '2', '2', '3', '3', '5']);
  for (const e of [r.letters, r.over, r.negative, r.zero, r.unsafe]) {
    assert.equal(e.ok, false);
    assert.ok(['BAD_ARGUMENT', 'GUEST_ERROR'].includes(e.code), JSON.stringify(e));
  }
  assert.match(r.over.message, /18446744073709551616/);
});

test('matmul matches the definition and refuses mismatched shapes', async () => {
  const r = await inPool(async () => {
    const a = new Float64Array([1, 2, 3, 4, 5, 6]); // 2x3
    const b = new Float64Array([7, 8, 9, 10, 11, 12]); // 3x2
    return {
      f64: Array.from(await pool.call('matmulF64', a, b, 2, 3, 2)),
      f32: Array.from(await pool.call('matmulF32', new Float32Array(a), new Float32Array(b), 2, 3, 2)),
      mismatch: await outcome(pool.call('matmulF64', a, b, 3, 3, 2)),
      overflow: await outcome(pool.call('matmulF64', a, b, 2 ** 31, 2 ** 31, 2)),
    };
  });
  assert.deepEqual(r.f64, [58, 64, 139, 154]);
  assert.deepEqual(r.f32, [58, 64, 139, 154]);
  assert.equal(r.mismatch.code, 'BAD_ARGUMENT');
  assert.ok(['BAD_ARGUMENT', 'GUEST_ERROR'].includes(r.overflow.code));
});

test('image filters keep alpha, are exact on known pixels, and refuse bad shapes', async () => {
  const r = await inPool(async () => {
    const px = new Uint8Array([255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30, 100, 150, 200, 40]); // 2x2
    const filters = {
      gray601: Array.from(await pool.call('grayscale', px, 2, 2, 'rec601')),
      invert: Array.from(await pool.call('invert', px, 2, 2)),
      flatBlur: Array.from(await pool.call('gaussianBlur', new Uint8Array(4 * 16).fill(77), 4, 4, 2)),
      flatBox: Array.from(await pool.call('boxBlur', new Uint8Array(4 * 16).fill(9), 4, 4, 3)),
    };
    const bad = {
      short: await outcome(pool.call('invert', px, 3, 2)),
      overflow: await outcome(pool.call('grayscale', px, 2 ** 31, 2 ** 31, 'rec601')),
      standard: await outcome(pool.call('grayscale', px, 2, 2, 'rec2020')),
      sigma: await outcome(pool.call('gaussianBlur', px, 2, 2, -1)),
      band: await outcome(pool.call('filterBand', 'invert', '{}', px, 2, 2, 1, 5)),
      filter: await outcome(pool.call('filterBand', 'sepia', '{}', px, 2, 2, 0, 1)),
    };
    return { filters, bad };
  });
  const g = r.filters.gray601;
  assert.deepEqual([g[0], g[1], g[2], g[3]], [76, 76, 76, 10], 'Rec. 601: 0.299 × 255 = 76, alpha kept');
  assert.deepEqual([g[4], g[5], g[6], g[7]], [150, 150, 150, 20]);
  assert.deepEqual(r.filters.invert, [0, 255, 255, 10, 255, 0, 255, 20, 255, 255, 0, 30, 155, 105, 55, 40]);
  assert.ok(r.filters.flatBlur.every((v) => v === 77), 'blurring a flat image keeps it flat');
  assert.ok(r.filters.flatBox.every((v) => v === 9));
  for (const [name, e] of Object.entries(r.bad)) assert.equal(e.code, 'BAD_ARGUMENT', `${name}: ${JSON.stringify(e)}`);
  assert.match(r.bad.short.message, /16/);
});

test('one-channel grayscale: luma known answers, into a caller-provided shared region, and bad shapes', async () => {
  const r = await inPool(async () => {
    const px = new Uint8Array([255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30, 100, 150, 200, 40]); // 2x2
    const out = pool.shared(4);
    out.bytes.fill(7);
    const written = await pool.call('grayscaleLumaInto', px, 2, 2, 'rec709', out);
    const into = Array.from(out.bytes);
    out.close();
    return {
      luma601: Array.from(await pool.call('grayscaleLuma', px, 2, 2, 'rec601')),
      luma709: Array.from(await pool.call('grayscaleLuma', px, 2, 2, 'rec709')),
      rgba709: Array.from(await pool.call('grayscale', px, 2, 2, 'rec709')),
      empty: Array.from(await pool.call('grayscaleLuma', new Uint8Array(0), 0, 3, 'rec601')),
      written,
      into,
      mismatches: await (async () => {
        // The definition in 16-bit fixed point, on images whose pixel counts are not
        // multiples of the 4 and 16 pixels the simd128 paths take at once.
        const weights = { rec601: [19595, 38470, 7471], rec709: [13933, 46871, 4732] };
        const found = [];
        let x = 99;
        for (const [w, h] of [[1, 1], [3, 1], [17, 3], [33, 5], [64, 2]]) {
          const src = new Uint8Array(w * h * 4).map(() => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 16) & 255; });
          for (const standard of ['rec601', 'rec709']) {
            const [wr, wg, wb] = weights[standard];
            const want = Array.from({ length: w * h }, (_, i) => Math.floor((wr * src[4 * i] + wg * src[4 * i + 1] + wb * src[4 * i + 2] + 32768) / 65536));
            const luma = Array.from(await pool.call('grayscaleLuma', src, w, h, standard));
            const rgba = Array.from(await pool.call('grayscale', src, w, h, standard));
            const wantRgba = want.flatMap((y, i) => [y, y, y, src[4 * i + 3]]);
            if (luma.join() !== want.join()) found.push({ w, h, standard, luma, want });
            if (rgba.join() !== wantRgba.join()) found.push({ w, h, standard, rgba, wantRgba });
          }
        }
        return found;
      })(),
      bad: {
        short: await outcome(pool.call('grayscaleLuma', px, 3, 2, 'rec601')),
        standard: await outcome(pool.call('grayscaleLuma', px, 2, 2, 'rec2020')),
        width: await outcome(pool.call('grayscaleLuma', px, -2, 2, 'rec601')),
        outShort: await outcome(pool.call('grayscaleLumaInto', px, 2, 2, 'rec601', new Uint8Array(3))),
        outRgba: await outcome(pool.call('grayscaleLumaInto', px, 2, 2, 'rec601', new Uint8Array(16))),
        inShort: await outcome(pool.call('grayscaleLumaInto', px.subarray(4), 2, 2, 'rec601', new Uint8Array(4))),
      },
    };
  });
  // Rec. 601 in 16-bit fixed point: (19595 R + 38470 G + 7471 B + 2^15) >> 16.
  assert.deepEqual(r.luma601, [76, 150, 29, 141]);
  assert.deepEqual(r.luma709, [r.rgba709[0], r.rgba709[4], r.rgba709[8], r.rgba709[12]], 'luma is what grayscale writes into R, G and B');
  assert.deepEqual(r.luma709, [54, 182, 18, 143]);
  assert.deepEqual(r.empty, []);
  assert.deepEqual(r.mismatches, [], 'luma and grayscale equal the definition on odd sizes');
  assert.equal(r.written, 4);
  assert.deepEqual(r.into, r.luma709, 'the shared output holds the luma without a copy back');
  for (const [name, e] of Object.entries(r.bad)) assert.equal(e.code, 'BAD_ARGUMENT', `${name}: ${JSON.stringify(e)}`);
  assert.equal(r.bad.outShort.message, 'out: expected 2×2 = 4 bytes of luma, got 3');
  assert.equal(r.bad.outRgba.message, 'out: expected 2×2 = 4 bytes of luma, got 16');
});

test('grayscaleLumaInto writes into a caller-owned buffer moved to the worker and back (outputs, transfer: auto)', async () => {
  const r = await inPool(async () => {
    const w = 37, h = 11;
    const px = new Uint8Array(w * h * 4);
    let x = 7;
    for (let i = 0; i < px.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; px[i] = (x >>> 16) & 255; }
    const want = Array.from(await pool.call('grayscaleLuma', px, w, h, 'rec601'));
    const out = new Uint8Array(w * h).fill(1);
    const got = await pool.call({ fn: 'grayscaleLumaInto', args: [px, w, h, 'rec601', out], transfer: 'auto', outputs: [4] });
    const luma = got.outputs[0];
    const equal = Array.from(luma).join() === want.join();
    const [type, length] = [luma.constructor.name, luma.length];
    // The returned buffer is the caller's to reuse: the next frame goes into it.
    const next = await pool.call({ fn: 'grayscaleLumaInto', args: [new Uint8Array(w * h * 4).fill(255), w, h, 'rec601', luma], transfer: 'auto', outputs: [4] });
    return {
      written: got.value, equal, inputDetached: px.byteLength, outDetached: out.byteLength,
      type, length, reusedDetached: luma.byteLength, next: [...new Set(next.outputs[0])],
    };
  });
  assert.equal(r.written, 37 * 11);
  assert.equal(r.equal, true, 'the output equals grayscaleLuma');
  assert.equal(r.inputDetached, 0, 'the image moved, not copied');
  assert.equal(r.outDetached, 0, 'the view passed as output is detached: the result carries the buffer');
  assert.equal(r.type, 'Uint8Array');
  assert.equal(r.length, 37 * 11);
  assert.equal(r.reusedDetached, 0);
  assert.deepEqual(r.next, [255]);
});

test('box blur (simd128 running windows, f32 up to radius 48, f64 beyond) equals the clamped window mean computed on the page', async () => {
  const r = await inPool(async () => {
    function image(w, h, seed) {
      const data = new Uint8Array(w * h * 4);
      let x = seed;
      for (let i = 0; i < data.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; data[i] = (x >>> 16) & 255; }
      return data;
    }
    // The definition: each colour channel the mean over the (2r+1)² square, pixels
    // outside read as the nearest edge pixel, rounded half up (never a tie: the area is odd); alpha kept.
    function boxReference(src, w, h, r) {
      const out = new Uint8Array(src.length);
      const area = (2 * r + 1) ** 2;
      const clamp = (v, n) => Math.min(n - 1, Math.max(0, v));
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) {
            let sum = 0;
            for (let dy = -r; dy <= r; dy++) {
              for (let dx = -r; dx <= r; dx++) sum += src[(clamp(y + dy, h) * w + clamp(x + dx, w)) * 4 + c];
            }
            out[(y * w + x) * 4 + c] = Math.floor((2 * sum + area) / (2 * area));
          }
          out[(y * w + x) * 4 + 3] = src[(y * w + x) * 4 + 3];
        }
      }
      return out;
    }
    const mismatches = [];
    for (const [w, h, radius] of [[1, 1, 0], [1, 1, 3], [37, 23, 0], [37, 23, 1], [37, 23, 3], [37, 23, 7], [5, 40, 12], [64, 3, 40], [64, 3, 48], [20, 7, 49], [3, 120, 60]]) {
      const src = image(w, h, w * 1000 + h * 10 + radius);
      const got = await pool.call('boxBlur', src, w, h, radius);
      const want = boxReference(src, w, h, radius);
      const first = want.findIndex((v, i) => got[i] !== v);
      if (got.length !== want.length || first !== -1) mismatches.push({ w, h, radius, first, got: got[first], want: want[first] });
    }
    return { mismatches };
  });
  assert.deepEqual(r.mismatches, []);
});

test('matmul defaults to f32', async () => {
  const r = await inPool(async () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]); // 2x3
    const b = new Float32Array([7, 8, 9, 10, 11, 12]); // 3x2
    const c = await pool.call('matmul', a, b, 2, 3, 2);
    return {
      kind: c.constructor.name,
      c: Array.from(c),
      third: (await pool.call('matmul', new Float32Array([1 / 3]), new Float32Array([1]), 1, 1, 1))[0],
      mismatch: await outcome(pool.call('matmul', a, b, 3, 3, 2)),
    };
  });
  assert.equal(r.kind, 'Float32Array');
  assert.deepEqual(r.c, [58, 64, 139, 154]);
  assert.equal(r.third, Math.fround(1 / 3), 'single precision');
  assert.equal(r.mismatch.code, 'BAD_ARGUMENT');
});

test('chart data: series, LTTB downsampling and histograms', async () => {
  const r = await inPool(async () => {
    const n = 1_000_000;
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) { xs[i] = i; ys[i] = Math.sin(i / 1000); }
    const down = await pool.call('downsample', xs, ys, 1000);
    return {
      downLen: down.length, first: [down[0], down[1]], last: [down[down.length - 2], down[down.length - 1]],
      hist: JSON.parse(await pool.call('histogram', new Float64Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, Number.NaN]), 5)),
      line: JSON.parse(await pool.call('lineChart', '["a","b","c"]', new Float64Array([3, 1, 2]))),
      badBins: await outcome(pool.call('histogram', new Float64Array([1]), 0)),
      badLabels: await outcome(pool.call('lineChart', '["a"', new Float64Array([1]))),
      badThreshold: await outcome(pool.call('downsample', xs.subarray(0, 10), ys.subarray(0, 9), 5)),
    };
  });
  assert.equal(r.downLen, 2000, 'LTTB returns the requested number of points, interleaved x, y');
  assert.deepEqual(r.first, [0, 0]);
  assert.deepEqual(r.last, [999_999, Math.sin(999_999 / 1000)]);
  assert.deepEqual(r.hist.counts, [2, 2, 2, 2, 2]);
  assert.equal(r.hist.skipped, 1);
  assert.deepEqual(r.line.labels, ['a', 'b', 'c']);
  assert.deepEqual([r.line.min, r.line.max], [1, 3]);
  for (const e of [r.badBins, r.badLabels, r.badThreshold]) assert.equal(e.code, 'BAD_ARGUMENT', JSON.stringify(e));
});

test('game state moves by 10, ends outside 800x600, and errors name the field', async () => {
  const seed = { player: { name: 'Hero', level: 10, health: 100, position: { x: 100, y: 200 } }, enemies: [{ type: 'goblin', health: 50, position: { x: 150, y: 250 } }, { type: 'orc', health: 80, position: { x: 300, y: 400 } }] };
  const r = await inPool(async (seedData) => {
    const moved = JSON.parse(await pool.call('updateGameState', JSON.stringify({ x: 100, y: 100, score: 0, gameOver: false }), 'right'));
    const edge = JSON.parse(await pool.call('updateGameState', JSON.stringify({ x: 795, y: 100, score: 0, gameOver: false }), 'right'));
    const summary = JSON.parse(await pool.call('processGameData', JSON.stringify(seedData)));
    const wrongType = structuredClone(seedData);
    wrongType.enemies[1].position.x = 'a';
    return {
      moved, edge, summary,
      badInput: await outcome(pool.call('updateGameState', JSON.stringify({ x: 0, y: 0, score: 0, gameOver: false }), 'jump')),
      malformed: await outcome(pool.call('processGameData', '{"player": ')),
      wrongType: await outcome(pool.call('processGameData', JSON.stringify(wrongType))),
    };
  }, seed);
  assert.equal(r.moved.x, 110);
  assert.equal(r.moved.y, 100);
  assert.equal(r.moved.gameOver, false);
  assert.equal(r.edge.gameOver, true);
  assert.equal(JSON.stringify(r.summary).includes('goblin'), true);
  assert.equal(r.badInput.code, 'BAD_ARGUMENT');
  assert.equal(r.malformed.code, 'BAD_ARGUMENT');
  assert.equal(r.wrongType.code, 'BAD_ARGUMENT');
  assert.match(r.wrongType.message, /enemies\[1\]\.position\.x: expected a number, got "a"/);
});
