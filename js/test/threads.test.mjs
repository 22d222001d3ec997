// The threaded module (`wasmbridge build --threads`) in real Chromium: the
// demo guest's parallel kernels give the bytes of the plain module for every
// thread count, a page that is not cross-origin isolated runs the plain
// module and says so, and the pool's guarantees hold when the work runs on
// thread workers: a panic in a rayon task becomes PANIC and the next call
// succeeds, cancel and timeout reach a parallel kernel, and close() leaves no
// thread worker behind (counted through the DevTools protocol's targets).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, openPage, runInPage, isolatedAndPlain } from './harness.mjs';

let server;
let plain;
let browser;

let fixture;

before(async () => {
  fixture = await isolatedAndPlain('threads', { demo: bundle('demo-guest'), guest: bundle('test-guest') });
  ({ server, plain, browser } = fixture);
});

after(async () => {
  await fixture?.close();
});

test('both bundles carry a threaded module next to the plain one', async () => {
  for (const name of ['demo-guest', 'test-guest']) {
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync(`${bundle(name)}/manifest.json`, 'utf8'));
    assert.match(manifest.threads.wasm, /^threads\//);
    assert.ok(manifest.files[manifest.threads.wasm].integrity.startsWith('sha256-'));
    assert.notEqual(manifest.threads.wasm, manifest.wasm);
  }
});

/**
 * Runs the demo guest's parallel kernels over several sizes in one pool per
 * setting of the `threads` option and returns, per setting, what the pool
 * ran and a digest of every result.
 */
async function kernelDigests(settings) {
  const { createPool } = await import('/demo/wasmbridge.js');
  const digest = async (value) => {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice()));
    return Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  };
  const image = (w, h) => {
    const px = new Uint8Array(w * h * 4);
    let x = 2463534242;
    for (let i = 0; i < px.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; px[i] = x & 255; }
    return px;
  };
  const matrix = (rows, cols, seed) => Float32Array.from({ length: rows * cols }, (_, i) => ((i * seed) % 113) / 7 - 8);
  const out = {};
  for (const threads of settings) {
    const pool = await createPool({ size: 1, threads });
    const results = [];
    for (const [w, h] of [[1, 1], [17, 9], [64, 37], [320, 241]]) {
      const src = image(w, h);
      results.push(await digest(await pool.call('gaussianBlur', src, w, h, 2)));
      results.push(await digest(await pool.call('boxBlur', src, w, h, 3)));
      results.push(await digest(await pool.call('grayscale', src, w, h, 'rec709')));
    }
    // The last shape crosses the blocking's edges (depth past 256, columns past 1024), where the bands share one packing of B.
    for (const [m, k, n] of [[1, 1, 1], [5, 7, 3], [33, 65, 17], [130, 128, 129], [70, 259, 1033]]) {
      const a = matrix(m, k, 7919);
      const b = matrix(k, n, 104729);
      results.push(await digest(await pool.call('matmul', a, b, m, k, n)));
      results.push(await digest(await pool.call('matmulF64', Float64Array.from(a), Float64Array.from(b), m, k, n)));
    }
    out[String(threads)] = { module: pool.stats().module, results };
    pool.close();
  }
  return out;
}

test('threaded and plain modules give byte-identical results over sizes and 1, 2 and 4 threads', async () => {
  const r = await runInPage(browser, server.url, kernelDigests, [false, 1, 2, 4]);
  assert.equal(r.false.module.kind, 'plain');
  assert.match(r.false.module.reason, /threads is false/);
  for (const threads of [1, 2, 4]) {
    assert.deepEqual(r[threads].module, { kind: 'threaded', threads, reason: r[threads].module.reason });
    assert.deepEqual(r[threads].results, r.false.results, `${threads} threads`);
  }
  assert.equal(r.false.results.length, 22);
});

test('a threaded bundle on a page that is not cross-origin isolated runs the plain module and says so', async () => {
  const isolated = await runInPage(browser, server.url, kernelDigests, ['auto']);
  const r = await runInPage(browser, plain.url, kernelDigests, ['auto']);
  assert.equal(isolated.auto.module.kind, 'threaded');
  assert.equal(r.auto.module.kind, 'plain');
  assert.equal(r.auto.module.threads, 0);
  assert.match(r.auto.module.reason, /not cross-origin isolated/);
  assert.deepEqual(r.auto.results, isolated.auto.results);
});

test('rayon work runs on the thread workers, as many as the threads option says', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const out = {};
    out.bad = await Promise.all([0, 1.5, 'all', true].map((threads) => createPool({ threads }).then(() => null, (e) => [e.code, e.message])));
    for (const threads of [1, 2]) {
      const pool = await createPool({ size: 1, threads });
      out[threads] = { count: await pool.call('parThreads'), distinct: await pool.call('parDistinctThreads', 16, 10) };
      // The fast lane's worker starts no threads: rayon runs on it alone.
      out[threads].lane = await pool.fastCall('parThreads');
      pool.close();
    }
    return out;
  });
  for (const [code, message] of r.bad) {
    assert.equal(code, 'BAD_ARGUMENT');
    assert.match(message, /^pool option threads must be 'auto', false or a whole number of threads from 1 to 256, got /);
  }
  assert.deepEqual(r[1], { count: 1, distinct: 1, lane: 1 });
  assert.equal(r[2].lane, 1);
  assert.equal(r[2].count, 2);
  assert.equal(r[2].distinct, 2, 'both threads took tasks');
});

test('a panic inside a rayon task becomes PANIC with its message, and the next call succeeds', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, threads: 2 });
    const queued = pool.call('add', 40, 2);
    const panic = await pool.call('parPanicWith', 'band 15 broke').then(() => null, (e) => ({ code: e.code, message: e.message, fn: e.functionName }));
    const behind = await queued;
    const next = await pool.call('parDistinctThreads', 8, 5);
    const after = await pool.call('add', 1, 2);
    const stats = pool.stats();
    pool.close();
    return { panic, behind, next, after, restarts: stats.workers[0].restarts, errors: stats.functions.parPanicWith.errors };
  }, null, /band 15 broke/);
  assert.equal(r.panic.code, 'PANIC');
  assert.equal(r.panic.fn, 'parPanicWith');
  assert.match(r.panic.message, /^parPanicWith panicked in a thread: band 15 broke at crates\/test-guest\/src\/parallel\.rs:\d+:\d+$/);
  assert.equal(r.behind, 42);
  assert.ok(r.next >= 1);
  assert.equal(r.after, 3);
  assert.equal(r.restarts, 1, 'the pool worker and its threads were replaced');
  assert.deepEqual(r.errors, { PANIC: 1 });
});

test('cancel reaches every thread of a parallel kernel: it stops without a hard stop', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    // A long grace: a kernel that ignored the cancel would hold the worker that long, then cost it.
    const pool = await createPool({ size: 1, threads: 2, cancelGrace: 3000 });
    const controller = new AbortController();
    const call = pool.call({ fn: 'parSpinUntilCancelled', args: [], signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    const code = await call.then(() => 'resolved', (e) => e.code);
    const t0 = performance.now();
    const next = await pool.call('add', 2, 3);
    const waited = performance.now() - t0;
    const stats = pool.stats();
    pool.close();
    return { code, next, waited, restarts: stats.workers[0].restarts };
  });
  assert.equal(r.code, 'CANCELLED');
  assert.equal(r.next, 5);
  assert.equal(r.restarts, 0, 'the kernel stopped by itself');
  assert.ok(r.waited < 3000, `the next call waited ${r.waited} ms, as long as the grace`);
});

/** Counts the page's thread workers (nested ones included) through the DevTools protocol. */
async function threadWorkers(context, page) {
  const cdp = await context.newCDPSession(page);
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    return targetInfos.filter((t) => t.type === 'worker' && t.url.endsWith('/thread-worker.js')).length;
  } finally {
    await cdp.detach();
  }
}

/** Waits until `count()` returns `want`, for at most 10 s (Chromium takes a moment to end a worker with nested workers). */
async function until(count, want) {
  let last;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    last = await count();
    if (last === want) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}

test('a timeout stops a parallel kernel that ignores cancel, with its threads; close() leaves no thread worker', async () => {
  const { page, errors, context, close } = await openPage(browser, server.url);
  try {
    const count = () => threadWorkers(context, page);
    await page.evaluate(async () => {
      const { createPool } = await import('/guest/wasmbridge.js');
      globalThis.pool = await createPool({ size: 2, threads: 2, cancelGrace: 50 });
    });
    assert.equal(await count(), 4);
    const r = await page.evaluate(async () => {
      const code = await pool.call({ fn: 'parLoopForever', args: [], timeout: 300 }).then(() => 'resolved', (e) => e.code);
      const next = await Promise.all([pool.call('add', 1, 1), pool.call('parThreads')]);
      return { code, next, restarts: pool.stats().workers.map((w) => w.restarts).sort() };
    });
    assert.equal(r.code, 'TIMEOUT');
    assert.deepEqual(r.next, [2, 2]);
    assert.deepEqual(r.restarts, [0, 1]);
    assert.equal(await until(count, 4), 4, 'the stopped worker took its two threads with it');
    await page.evaluate(() => pool.close());
    assert.equal(await until(count, 0), 0);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
