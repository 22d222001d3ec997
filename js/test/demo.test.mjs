// The demo page (web/demo) end to end: served by `wasmbridge serve` with the
// demo guest's bundle next to it, as `wasmbridge demo` lays it out, and driven
// by clicks and typing as a person would. Screenshots of every section go to
// target/screenshots/demo-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, bundle, makeSite, startServer, launchBrowser, openPage, screenshotDir } from './harness.mjs';

const WORKERS = 3;
const DEMO_DIR = join(REPO, 'web', 'demo');

let server;
let browser;
/** The one page the tests walk through, in order, like a visitor would. */
let page;
let errors;
let closePage;

before(async () => {
  const files = Object.fromEntries(readdirSync(DEMO_DIR).map((name) => [name, readFileSync(join(DEMO_DIR, name))]));
  const site = makeSite('demo', { wasmbridge: bundle('demo-guest') }, files);
  server = await startServer(site);
  browser = await launchBrowser();
  ({ page, errors, close: closePage } = await openPage(browser, `${server.url}?workers=${WORKERS}`, { viewport: { width: 1280, height: 900 } }));
});

after(async () => {
  await closePage?.();
  await browser?.close();
  await server?.close();
});

const text = (selector) => page.locator(selector).innerText();

/** Waits until `selector`'s text contains `expected` (a string or a RegExp source). */
async function waitForText(selector, expected, { timeout = 30_000 } = {}) {
  const pattern = expected instanceof RegExp ? expected.source : expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    await page.waitForFunction(
      ([sel, src]) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ''),
      [selector, pattern],
      { timeout },
    );
  } catch {
    assert.fail(`${selector} never showed ${expected}; it shows ${JSON.stringify(await text(selector).catch(() => '(missing)'))}`);
  }
}

/** Pixels of a canvas, summarised in the page: a digest to compare, and how many pixels are not grey. */
function canvasSummary(selector) {
  return page.evaluate(async (sel) => {
    const canvas = /** @type {HTMLCanvasElement} */ (document.querySelector(sel));
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let notGray = 0;
    const levels = new Set();
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2]) notGray += 1;
      levels.add(data[i]);
    }
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data)), (b) => b.toString(16).padStart(2, '0')).join('');
    return { width: canvas.width, height: canvas.height, notGray, levels: levels.size, digest, pixels: data.length / 4 };
  }, selector);
}

async function shot(name, selector) {
  const path = join(screenshotDir(), `demo-${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path });
  else await page.screenshot({ path, fullPage: true });
}

/** Submits a big-number form by `how` (a click or Enter) and waits until its answer is in. */
async function submitAndWait(how, out) {
  await how();
  // The form marks its output busy while the call runs; the previous answer stays visible until then.
  await page.waitForSelector(`${out}:not([aria-busy])`, { timeout: 60_000 });
}

/** Applies the chosen filter and waits until the after canvas shows `filter` in `mode`. */
async function applyFilter(filter, mode) {
  await page.selectOption('#img-filter', filter);
  await page.setChecked('#img-split', mode === 'split');
  await page.click('#img-run');
  await page.waitForSelector(`#img-after[data-rendered="${filter}:${mode}"]`, { timeout: 60_000 });
  // A run started by changing the controls may still be replacing the picture; wait until nothing is running.
  await page.waitForSelector('#img-after:not(.busy)', { timeout: 60_000 });
  await waitForText('#img-time', mode === 'split' ? `split across ${WORKERS} workers` : 'on one worker');
}

test('the page loads the module, then reports its workers ready', { timeout: 60_000 }, async () => {
  await page.waitForSelector('#load[data-state="ready"]', { timeout: 30_000 });
  assert.equal(await text('#pool-status'), `${WORKERS} workers ready`);
  assert.equal(await text('#isolation-status'), 'cross-origin isolated');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.equal(await page.locator('main').getAttribute('inert'), null, 'the sections are usable once ready');
  assert.equal(await page.locator('.missing-note').count(), 0, 'every section finds its functions in the demo guest');
});

test('the calculator answers exactly and shows typed errors', { timeout: 60_000 }, async () => {
  await page.fill('#calc-a', '7');
  await page.fill('#calc-b', '2');
  await page.click('#calc-div');
  await waitForText('#calc-result', '= 3.5');
  assert.equal(await text('#calc-result'), '7 ÷ 2 = 3.5');
  assert.equal(await text('#calc-error'), '');

  await page.fill('#calc-b', '0');
  await page.click('#calc-div');
  await waitForText('#calc-error', 'GUEST_ERROR');
  assert.equal(await text('#calc-error'), 'GUEST_ERROR: division by zero: the divisor must be non-zero, got 0');
  assert.equal(await text('#calc-result'), '', 'no stale answer next to the error');
  assert.equal(await page.locator('#calc-error').evaluate((el) => getComputedStyle(el).color), 'rgb(201, 42, 42)', 'errors are red');
  await shot('calculator-error', '#calc');

  const cases = [
    ['#calc-add', '0.1', '0.2', '0.1 + 0.2 = 0.30000000000000004'],
    ['#calc-sub', '7', '2.5', '7 − 2.5 = 4.5'],
    ['#calc-mul', '-3', '4', '(-3) × 4 = -12'],
    ['#calc-mul', '12345678', '87654321', '12345678 × 87654321 = 1082152022374638'],
  ];
  for (const [button, a, b, expected] of cases) {
    await page.fill('#calc-a', a);
    await page.fill('#calc-b', b);
    await page.click(button);
    await waitForText('#calc-result', expected);
    assert.equal(await text('#calc-result'), expected);
    assert.equal(await text('#calc-error'), '', 'a success clears the previous error');
  }
  await shot('calculator', '#calc');

  await page.fill('#calc-a', '');
  await page.click('#calc-add');
  await waitForText('#calc-error', 'BAD_ARGUMENT');

  await page.click('#calc-clear');
  assert.equal(await page.inputValue('#calc-a'), '');
  assert.equal(await page.inputValue('#calc-b'), '');
  assert.equal(await text('#calc-result'), '');
  assert.equal(await text('#calc-error'), '');
});

test('big numbers: Fibonacci folded and expandable, factorisation of a 64-bit semiprime', { timeout: 120_000 }, async () => {
  assert.equal(await page.inputValue('#fib-n'), '1000');
  await submitAndWait(() => page.click('#fib-run'), '#fib-out');
  await waitForText('#fib-out', 'F(1000) has 209 digits');
  await waitForText('#fib-out', '… 89 more digits …');
  assert.match(await text('#fib-out'), /in [\d.]+ (µs|ms|s)/);
  await page.click('#fib-out >> text=Show all');
  const all = await text('#fib-out .digits');
  assert.equal(all.length, 209);
  assert.equal(all, '43466557686937456435688527675040625802564660517371780402481729089536555417949051890403879840079255169295922593080322634775209689623239873322471161642996440906533187938298969649928516003704476137795166849228875');

  await page.fill('#fib-n', '90');
  await submitAndWait(() => page.click('#fib-run'), '#fib-out');
  await waitForText('#fib-out', 'F(90) has 19 digits');
  assert.match(await text('#fib-out .digits'), /^2880067194370816120$/);

  assert.equal(await page.inputValue('#fac-n'), '1000000016000000063');
  await submitAndWait(() => page.click('#fac-run'), '#fac-out');
  await waitForText('#fac-out', '2 prime factors');
  assert.deepEqual(await page.locator('#fac-out .factor').allInnerTexts(), ['1000000007', '1000000009']);
  assert.match(await text('#fac-out'), /in [\d.]+ (µs|ms|s)/);
  await shot('big-numbers', '#bignum');

  // Repeated factors are grouped with a power; a prime says so; a typo is a typed error.
  await page.fill('#fac-n', '360');
  await submitAndWait(() => page.press('#fac-n', 'Enter'), '#fac-out');
  await waitForText('#fac-out', '6 prime factors');
  assert.deepEqual(await page.locator('#fac-out .factor').allInnerTexts(), ['23', '32', '5']);
  await page.fill('#fac-n', '18446744073709551557');
  await submitAndWait(() => page.click('#fac-run'), '#fac-out');
  await page.waitForSelector('#fac-out .prime-tag');
  assert.deepEqual(await page.locator('#fac-out .factor').allInnerTexts(), ['18446744073709551557']);
  await page.fill('#fac-n', '12a');
  await submitAndWait(() => page.click('#fac-run'), '#fac-out');
  await waitForText('#fac-out', 'BAD_ARGUMENT');
});

test('the image playground filters the test image, and split mode gives the same pixels', { timeout: 180_000 }, async () => {
  const source = await canvasSummary('#img-before');
  assert.deepEqual([source.width, source.height], [640, 400]);
  assert.ok(source.notGray > source.pixels / 2, 'the test image is colourful');

  await applyFilter('grayscale', 'single');
  const single = await canvasSummary('#img-after');
  assert.deepEqual([single.width, single.height], [640, 400]);
  assert.equal(single.notGray, 0, 'every pixel of the grayscale image has R = G = B');
  assert.ok(single.levels > 100, `the grayscale image keeps its tones (${single.levels} levels)`);
  // Rec. 601 luma of a few source pixels, within rounding.
  const check = await page.evaluate(() => {
    const get = (sel) => document.querySelector(sel).getContext('2d').getImageData(0, 0, 640, 400).data;
    const src = get('#img-before');
    const out = get('#img-after');
    let worst = 0;
    for (let i = 0; i < src.length; i += 4 * 997) {
      const luma = 0.299 * src[i] + 0.587 * src[i + 1] + 0.114 * src[i + 2];
      worst = Math.max(worst, Math.abs(out[i] - luma));
    }
    return worst;
  });
  assert.ok(check <= 1, `grayscale is Rec. 601 luma (worst difference ${check})`);
  assert.match(await text('#img-time'), /grayscale in [\d.]+ (µs|ms|s) on one worker/);

  await applyFilter('grayscale', 'split');
  const split = await canvasSummary('#img-after');
  assert.equal(split.digest, single.digest, 'split mode stitches exactly the single-call image');
  await shot('image-grayscale-split', '#image');

  // A blur reads rows around each band: the halo must make the seams invisible.
  await applyFilter('gaussianBlur', 'single');
  const blurred = await canvasSummary('#img-after');
  assert.notEqual(blurred.digest, source.digest);
  await applyFilter('gaussianBlur', 'split');
  assert.equal((await canvasSummary('#img-after')).digest, blurred.digest, 'split blur equals the single-call blur');
  await shot('image', '#image');
});

test('a picked or dropped image replaces the test image', { timeout: 120_000 }, async () => {
  await page.selectOption('#img-filter', 'invert');
  await page.setChecked('#img-split', false);
  const picture = await page.locator('#bignum').screenshot();
  await page.setInputFiles('#img-file', { name: 'numbers.png', mimeType: 'image/png', buffer: picture });
  // A PNG's size is in its IHDR chunk, right after the signature.
  const [width, height] = [picture.readUInt32BE(16), picture.readUInt32BE(20)];
  await waitForText('#img-size', `${width} × ${height}`);
  await page.waitForSelector('#img-after[data-rendered="invert:single"]:not(.busy)');
  const inverted = await page.evaluate(() => {
    const get = (sel) => { const c = document.querySelector(sel); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data; };
    const src = get('#img-before');
    const out = get('#img-after');
    let wrong = 0;
    for (let i = 0; i < src.length; i += 4) if (out[i] !== 255 - src[i] || out[i + 1] !== 255 - src[i + 1] || out[i + 2] !== 255 - src[i + 2]) wrong += 1;
    return { wrong, size: [document.querySelector('#img-after').width, document.querySelector('#img-after').height] };
  });
  assert.deepEqual(inverted, { wrong: 0, size: [width, height] });

  // Dropping a file anywhere on the playground: a 300×200 picture drawn in the page.
  await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(300, 200);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#0a7';
    ctx.fillRect(0, 0, 300, 200);
    const transfer = new DataTransfer();
    transfer.items.add(new File([await canvas.convertToBlob({ type: 'image/png' })], 'green.png', { type: 'image/png' }));
    const target = document.querySelector('#img-after');
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await waitForText('#img-size', '300 × 200');
  await page.waitForSelector('#img-after[data-rendered="invert:single"]:not(.busy)');
  const pixel = await page.evaluate(() => Array.from(document.querySelector('#img-after').getContext('2d').getImageData(150, 100, 1, 1).data));
  assert.deepEqual(pixel, [255 - 0x00, 255 - 0xaa, 255 - 0x77, 255]);
  assert.equal(await page.locator('#img-drop.dragging').count(), 0, 'the drop highlight goes away');

  await page.click('#img-reset');
  await waitForText('#img-size', '640 × 400');
});

test('matrices: the product moved to a worker and the one over shared regions on the threads are the same bits', { timeout: 120_000 }, async () => {
  // The page's matrices, made here the same way, for the corner it shows.
  const randomMatrix = (n, seed) => {
    const m = new Float32Array(n * n);
    let x = seed;
    for (let i = 0; i < m.length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      m[i] = (x >>> 0) / 2 ** 31 - 1;
    }
    return m;
  };
  for (const n of [128, 256]) {
    await page.selectOption('#mm-n', String(n));
    await page.click('#mm-run');
    await waitForText('#mm-out', `Moved to a worker ${n}×${n}`, { timeout: 60_000 });
    await waitForText('#mm-out', 'Both products are the same bits.', { timeout: 60_000 });
    const out = await text('#mm-out');
    assert.match(out, /Shared regions on \d+ threads?/);
    assert.equal(out.match(/[\d.]+ GFLOP\/s/g)?.length, 2, out);
    const a = randomMatrix(n, 1);
    const b = randomMatrix(n, 2);
    const shown = out.slice(out.indexOf('C[0..3][0..3]')).split('\n').slice(1, 4).map((row) => row.trim().split(/\s+/).map(Number));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let sum = 0;
        for (let p = 0; p < n; p++) sum += a[i * n + p] * b[p * n + j];
        assert.ok(Math.abs(shown[i][j] - sum) <= 0.0015, `C[${i}][${j}]: shown ${shown[i][j]}, expected ${sum.toFixed(4)}`);
      }
    }
  }
  await shot('matrices', '#matrices');
});

test('chart data: a signal downsampled to one point per pixel and binned, drawn on two canvases', { timeout: 60_000 }, async () => {
  // The card charts 100 000 points as soon as the page is ready.
  await waitForText('#chart-out', '100,000 points');
  let out = await text('#chart-out');
  const width = await page.evaluate(() => document.querySelector('#chart-line').clientWidth);
  assert.equal(Number(out.match(/→ ([\d,]+) drawn/)?.[1].replace(/,/g, '')), Math.max(3, width), out);
  assert.match(out, /histogram: 40 bins, 100,000 values counted/);
  assert.ok((await canvasSummary('#chart-line')).notGray > 100, 'the line is drawn');
  assert.ok((await canvasSummary('#chart-hist')).notGray > 100, 'the bins are drawn');
  await page.selectOption('#chart-points', '10000');
  await page.click('#chart-run');
  await waitForText('#chart-out', '10,000 points');
  out = await text('#chart-out');
  assert.match(out, /histogram: 40 bins, 10,000 values counted/);
  await shot('charts', '#charts');
});

test('game state: moves go through updateGameState, leaving the field ends the game; the seed\'s level is summarised', { timeout: 60_000 }, async () => {
  await page.click('#game-new');
  for (let i = 0; i < 3; i++) await page.click('#game [data-move="right"]');
  await waitForText('#game-out', 'score 3 at (430, 300)');
  await page.focus('#game-field');
  await page.keyboard.press('ArrowUp');
  await waitForText('#game-out', 'score 4 at (430, 290)');
  // 29 more moves up reach the top edge (y = 0, still on the field); the 30th leaves it.
  for (let i = 0; i < 30; i++) await page.click('#game [data-move="up"]');
  await waitForText('#game-out', 'game over');
  assert.match(await text('#game-out'), /score 33 at \(430, -10\)/);
  // A finished game takes no more moves: the state stays as it ended.
  await page.click('#game [data-move="down"]');
  await waitForText('#game-out', /score 33 at \(430, -10\)[\s\S]*game over[\s\S]*move in/);
  await page.click('#game-new');
  await waitForText('#game-out', 'New game');
  await page.click('#level-run');
  await waitForText('#level-out', 'Hero level 10: 2 enemies (1 goblin, 1 orc), 130 health in all');
  assert.match(await text('#level-out'), /nearest: the goblin at 70\.7/);
  await shot('game', '#game');
});

test('the dashboard shows every worker and counts the calls', { timeout: 60_000 }, async () => {
  await page.waitForFunction((n) => document.querySelectorAll('#stats-workers tr').length === n, WORKERS);
  const rows = await page.locator('#stats-workers tr').allInnerTexts();
  assert.equal(rows.length, WORKERS);
  for (const row of rows) assert.match(row, /ready/);
  // Every worker served some of the split bands.
  const calls = await page.locator('#stats-workers tr td:nth-child(4)').allInnerTexts();
  assert.ok(calls.every((c) => Number(c) > 0), `each worker ran calls: ${calls}`);
  await page.waitForFunction(() => Number(document.querySelector('#stats-calls').textContent.replace(/,/g, '')) >= 25);
  assert.match(await text('#stats-latency'), /[\d.]+ (µs|ms|s)/);
  await shot('dashboard', '#dashboard');
});

test('the fault buttons show each error code, and the pool carries on', { timeout: 120_000 }, async () => {
  const expectCode = async (button, code) => {
    await page.click(button);
    await page.waitForSelector(`#fault-out li[data-code="${code}"]`, { timeout: 30_000 });
  };
  await expectCode('#fault-bad', 'BAD_ARGUMENT');
  await expectCode('#fault-guest', 'GUEST_ERROR');
  await expectCode('#fault-unknown', 'UNKNOWN_FUNCTION');
  await expectCode('#fault-timeout', 'TIMEOUT');
  await expectCode('#fault-cancel', 'CANCELLED');
  assert.match(await text('#fault-out'), /did not finish within 50 ms/);

  // The stuck workers are replaced: restarts show up and every worker is ready again.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#stats-workers tr')];
    const restarts = rows.reduce((sum, r) => sum + Number(r.cells[5].textContent), 0);
    return restarts >= 1 && rows.every((r) => r.cells[1].textContent === 'ready');
  }, null, { timeout: 30_000 });
  // The dashboard refreshes every 250 ms; wait for it to catch up with the log.
  const codes = ['BAD_ARGUMENT', 'GUEST_ERROR', 'TIMEOUT', 'CANCELLED'];
  try {
    await page.waitForFunction((want) => want.every((code) => document.querySelector(`#stats-errors li[data-code="${code}"]`)), codes, { timeout: 5_000 });
  } catch {
    assert.fail(`errors by code should list ${codes}; it shows ${await page.locator('#stats-errors li').allInnerTexts()}`);
  }

  await page.fill('#calc-a', '1');
  await page.fill('#calc-b', '4');
  await page.click('#calc-div');
  await waitForText('#calc-result', '1 ÷ 4 = 0.25');
  await shot('faults', '#faults');
  await shot('dashboard-after-faults', '#dashboard');
  await shot('header', 'body > header');
  await shot('full');
});

test('the audio synth starts in ring mode, keeps its ring filled, and stops', { timeout: 60_000 }, async () => {
  await page.locator('#audio').scrollIntoViewIfNeeded();
  assert.equal(await page.locator('#audio .missing-note').count(), 0);
  assert.equal(await page.locator('#audio-stop').isDisabled(), true, 'nothing to stop yet');
  await page.click('#audio-start');
  await waitForText('#audio-mode', 'ring');
  assert.equal(await page.locator('#audio-stop').isDisabled(), false);
  await page.waitForTimeout(1500);
  const fill = await text('#audio-fill');
  assert.match(fill, /^\d+%$/, `fill is a number: ${fill}`);
  assert.ok(Number(fill.slice(0, -1)) > 0, `the producer keeps the ring filled: ${fill}`);
  const underruns = await text('#audio-underruns');
  assert.match(underruns, /^[\d,]+$/, `underruns is a number: ${underruns}`);
  assert.match(await text('#audio-state'), /playing · running/);
  assert.equal(await text('#audio-error'), '');
  await shot('audio', '#audio');

  await page.click('#audio-stop');
  await waitForText('#audio-state', /^stopped$/);
  assert.equal(await page.locator('#audio-start').isDisabled(), false, 'it can start again');
  assert.equal(await page.locator('#audio-stop').isDisabled(), true);
  // The exclusive worker the synth ran on is gone once stopped.
  await page.waitForFunction((n) => document.querySelectorAll('#stats-workers tr').length === n, WORKERS, { timeout: 5_000 });
  assert.deepEqual(errors, []);
});

test('the in-page benchmark fills its table and chart', { timeout: 120_000 }, async () => {
  await page.locator('#bench').scrollIntoViewIfNeeded();
  await page.click('#bench-run');
  await waitForText('#bench-progress', 'Done in', { timeout: 90_000 });
  const rows = await page.locator('#bench-out tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(rows.length, 4, 'call, fastCall, Promise.all, batch');
  const unit = { 'µs': 1e-3, ms: 1, s: 1000 };
  for (const [name, median, p99, perSecond] of rows) {
    assert.ok(Number(perSecond.replace(/,/g, '')) > 0, `${name}: calls/s ${perSecond}`);
    if (median === '–') continue;
    const ms = [median, p99].map((v) => { const m = v.match(/^([\d.]+) (µs|ms|s)$/); assert.ok(m, `${name}: ${v}`); return Number(m[1]) * unit[m[2]]; });
    assert.ok(ms[0] > 0 && ms[1] >= ms[0], `${name}: median ${median} ≤ p99 ${p99}`);
  }
  assert.match(rows[1][0], /fastCall/, 'the isolated test server measures the fast lane');
  assert.equal(rows.filter(([, median]) => median !== '–').length, 2, 'latency for the two sequential rows');
  assert.match(await text('#bench'), /cargo xtask bench/);
  const inked = await page.evaluate(() => {
    const c = document.querySelector('#bench-chart');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > d[i] + 60) n += 1;
    return n;
  });
  assert.ok(inked > 1000, `the chart has bars (${inked} blue pixels)`);
  assert.equal(await page.locator('#bench-out .error').count(), 0);
  await shot('benchmark', '#bench');
  // Both new sections in one picture, in page coordinates.
  const clip = await page.evaluate(() => {
    const [a, b] = ['#audio', '#bench'].map((sel) => document.querySelector(sel).getBoundingClientRect());
    const top = Math.min(a.top, b.top) + scrollY - 12;
    return { x: 0, y: top, width: document.documentElement.clientWidth, height: Math.max(a.bottom, b.bottom) + scrollY + 12 - top };
  });
  await page.screenshot({ path: join(screenshotDir(), 'demo-audio-bench.png'), fullPage: true, clip });
  assert.deepEqual(errors, []);
});

test('the page reads well at phone width', { timeout: 60_000 }, async () => {
  const phone = await openPage(browser, server.url, { viewport: { width: 390, height: 844 } });
  try {
    await phone.page.waitForSelector('#load[data-state="ready"]', { timeout: 30_000 });
    await phone.page.waitForSelector('#img-after[data-rendered]', { timeout: 60_000 });
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'nothing sticks out sideways at 390 px');
    await phone.page.fill('#calc-a', '7');
    await phone.page.fill('#calc-b', '0');
    await phone.page.click('#calc-div');
    await phone.page.waitForSelector('#calc-error:not(:empty)');
    await phone.page.screenshot({ path: join(screenshotDir(), 'demo-phone.png'), fullPage: true });
    assert.deepEqual(phone.errors, [], 'the phone-sized page logged errors');
  } finally {
    await phone.close();
  }
});

test('while the module downloads, a progress bar shows how much has arrived', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 400 } });
  const slow = await context.newPage();
  const logged = [];
  slow.on('pageerror', (e) => logged.push(`pageerror: ${e.message}`));
  slow.on('console', (m) => { if (m.type() === 'error') logged.push(`console: ${m.text()}`); });
  // Hand the .wasm to the page in 100 kB pieces, 100 ms apart, as a slow network would.
  await slow.addInitScript(() => {
    const realFetch = window.fetch;
    window.fetch = async (input, init) => {
      const response = await realFetch(input, init);
      if (!String(input).endsWith('.wasm')) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      let at = 0;
      const body = new ReadableStream({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          if (at >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(at, at + 100_000));
          at += 100_000;
        },
      });
      return new Response(body, { headers: response.headers });
    };
  });
  try {
    await slow.goto(server.url);
    await slow.waitForFunction(() => {
      const width = parseFloat(document.querySelector('#load-fill').style.width);
      return width > 0 && width < 100 && /Loading the module… \d+% of [\d.]+ [KM]B/.test(document.querySelector('#load-status').textContent);
    }, null, { timeout: 20_000 });
    assert.equal(await slow.locator('main').getAttribute('inert'), '', 'controls wait for the pool');
    assert.equal(await slow.locator('#badges').isVisible(), false);
    await slow.screenshot({ path: join(screenshotDir(), 'demo-loading.png') });
    await slow.waitForSelector('#load[data-state="ready"]', { timeout: 30_000 });
    assert.match(await slow.locator('#pool-status').innerText(), /^\d+ workers ready$/);
    assert.equal(await slow.locator('#load-progress').isVisible(), false, 'the bar goes once the pool is ready');
    assert.deepEqual(logged, []);
  } finally {
    await context.close();
  }
});

test('the page logged no errors', () => {
  assert.deepEqual(errors, []);
});
