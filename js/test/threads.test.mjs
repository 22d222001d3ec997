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
  // A SharedBytes / SharedBytesMut parameter is a Uint8Array to the manifest, the .d.ts and the checks.
  const { readFileSync } = await import('node:fs');
  const manifest = JSON.parse(readFileSync(`${bundle('test-guest')}/manifest.json`, 'utf8'));
  const fill = manifest.functions.find((f) => f.name === 'regionFill');
  assert.deepEqual(fill.params.map((p) => p.type), ['Uint8Array', 'number', 'string']);
  const dts = readFileSync(`${bundle('test-guest')}/test_guest.d.ts`, 'utf8');
  assert.match(dts, /export function regionCopy\(src: Uint8Array, out: Uint8Array\): number;/);
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

test('thread workers are named after the glue they import as their script starts, and run the pool\'s rayon work', async () => {
  const { page, errors, context, close } = await openPage(browser, server.url);
  try {
    const r = await page.evaluate(async () => {
      const manifest = await (await fetch('/guest/manifest.json')).json();
      const { createPool } = await import('/guest/wasmbridge.js');
      globalThis.pool = await createPool({ size: 1, threads: 2 });
      return { glue: new URL(`/guest/${manifest.threads.glue}`, location.href).href, threads: await pool.call('parThreads') };
    });
    const cdp = await context.newCDPSession(page);
    const { targetInfos } = await cdp.send('Target.getTargets');
    await cdp.detach();
    const titles = targetInfos.filter((t) => t.type === 'worker' && t.url.endsWith('/thread-worker.js')).map((t) => t.title).sort();
    assert.deepEqual(titles, [`wasmbridge-thread-1 glue=${r.glue}`, `wasmbridge-thread-2 glue=${r.glue}`]);
    assert.equal(r.threads, 2);
    await page.evaluate(() => pool.close());
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
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

/**
 * The demo guest's `…Shared` filters and `matmulShared` over regions, for
 * several sizes, in one pool per setting of `threads`: the digests of their
 * outputs next to those of the copying functions (`gaussianBlur`, `boxBlur`,
 * `grayscale`, `matmul`) on the same input, and whether the regions lived in
 * the guest's memory.
 */
async function sharedDigests(settings) {
  const { createPool } = await import('/demo/wasmbridge.js');
  const digest = async (bytes) => {
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice()));
    return Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  };
  const image = (w, h, seed) => {
    const px = new Uint8Array(w * h * 4);
    let x = seed;
    for (let i = 0; i < px.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; px[i] = x & 255; }
    return px;
  };
  const out = {};
  for (const threads of settings) {
    const pool = await createPool({ size: 1, threads });
    const shared = [];
    const copied = [];
    const placed = new Set();
    for (const [w, h, seed] of [[1, 1, 5], [17, 9, 77], [64, 37, 2463534242], [320, 241, 99], [1023, 65, 1234]]) {
      const px = image(w, h, seed);
      const src = pool.shared(px.length);
      const dst = pool.shared(px.length);
      placed.add(src.inGuestMemory);
      src.bytes.set(px);
      await pool.call('gaussianBlurShared', src, w, h, 2, dst);
      shared.push(await digest(dst.bytes));
      await pool.call('boxBlurShared', src, w, h, 3, dst);
      shared.push(await digest(dst.bytes));
      await pool.call('grayscaleShared', src, w, h, 'rec709');
      shared.push(await digest(src.bytes));
      copied.push(await digest(await pool.call('gaussianBlur', px, w, h, 2)));
      copied.push(await digest(await pool.call('boxBlur', px, w, h, 3)));
      copied.push(await digest(await pool.call('grayscale', px, w, h, 'rec709')));
      src.close();
      dst.close();
    }
    // matmulShared over regions holding f32s, against the copying matmul; the
    // last case passes windows 2 bytes into their regions, which the guest
    // cannot read as f32s in place (it copies them, and writes back bytes).
    for (const [m, k, n, seed, skew] of [[1, 1, 1, 3, 0], [5, 7, 3, 11, 0], [64, 300, 33, 99, 0], [130, 64, 257, 7, 0], [9, 40, 21, 5, 2]]) {
      const floats = (len, s) => Float32Array.from(image(len, 1, s).subarray(0, len), (x) => x / 16 - 8);
      const a = floats(m * k, seed);
      const b = floats(k * n, seed + 1);
      const region = (floats) => {
        const r = pool.shared(floats.byteLength + skew);
        r.bytes.set(new Uint8Array(floats.buffer), skew);
        return r;
      };
      const [ra, rb, rc] = [region(a), region(b), region(new Float32Array(m * n))];
      placed.add(ra.inGuestMemory);
      const at = (r, len) => (skew ? r.view(skew, len) : r);
      await pool.call('matmulShared', at(ra, a.byteLength), at(rb, b.byteLength), m, k, n, at(rc, m * n * 4));
      shared.push(await digest(rc.bytes.subarray(skew)));
      copied.push(await digest(new Uint8Array((await pool.call('matmul', a, b, m, k, n)).buffer)));
      for (const r of [ra, rb, rc]) r.close();
    }
    out[String(threads)] = { module: pool.stats().module.kind, shared, copied, placed: [...placed] };
    pool.close();
  }
  return out;
}

test('shared regions: the …Shared filters and matmulShared read and write regions, byte-identical to the copying path, on the threaded and the plain module', async () => {
  const r = await runInPage(browser, server.url, sharedDigests, [false, 1, 2]);
  assert.equal(r.false.module, 'plain');
  assert.deepEqual(r.false.placed, [false], 'on the plain module a region is a buffer of its own');
  for (const threads of [1, 2]) {
    assert.equal(r[threads].module, 'threaded');
    assert.deepEqual(r[threads].placed, [true], 'on the threaded module a region lives in the guest memory');
    assert.deepEqual(r[threads].shared, r[threads].copied, `${threads} threads`);
    assert.deepEqual(r[threads].shared, r.false.shared, `${threads} threads against the plain module`);
  }
  assert.deepEqual(r.false.shared, r.false.copied);
  assert.equal(r.false.shared.length, 20);
});

test('shared regions on the threaded module: the guest reads them in place at the region\'s address, without growing its memory by their size', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const fnv = (bytes) => { let h = 0x811c9dc5; for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0; return h; };
    const out = {};
    for (const threads of [2, false]) {
      const pool = await createPool({ size: 1, threads });
      const big = pool.shared(8 << 20);
      for (let i = 0; i < big.byteLength; i += 4096) big.bytes[i] = (i >>> 12) & 255;
      const memoryAtAllocation = big.buffer.byteLength;
      const checksum = fnv(big.bytes);
      const first = Array.from(await pool.call('regionInfo', big));
      const second = Array.from(await pool.call('regionInfo', big.view(4096, 100)));
      const small = pool.shared(3);
      small.bytes.set([1, 2, 3]);
      const fill = Array.from(await pool.call('regionFill', small, 0x1ff, ''));
      const copy = await pool.call('regionCopy', small, big.view(0, 5));
      out[threads] = {
        inGuestMemory: big.inGuestMemory, byteOffset: big.byteOffset, memoryAtAllocation, first, second, checksum,
        small: Array.from(small.bytes), copy, copied: Array.from(big.bytes.subarray(0, 5)), fill,
      };
      pool.close();
    }
    return out;
  });
  const threaded = r[2];
  assert.equal(threaded.inGuestMemory, true);
  assert.deepEqual(threaded.first.slice(0, 3), [1, threaded.byteOffset, 8 << 20], 'in place, at the region\'s address');
  assert.deepEqual(threaded.second.slice(0, 3), [1, threaded.byteOffset + 4096, 100], 'a window is in place too');
  assert.ok(threaded.first[4] < threaded.memoryAtAllocation + (8 << 20), `the guest memory grew from ${threaded.memoryAtAllocation} to ${threaded.first[4]} bytes: the region was copied`);
  assert.equal(threaded.second[4], threaded.first[4]);
  assert.deepEqual(threaded.small, [255, 255, 255], 'SharedBytesMut wrote the region in place');
  assert.deepEqual(threaded.fill, [1, threaded.fill[1]]);
  assert.deepEqual(threaded.copied, [255, 255, 255, 0, 0]);
  const plain = r.false;
  assert.equal(plain.inGuestMemory, false);
  assert.equal(plain.first[0], 0, 'the plain module copies');
  assert.equal(plain.first[3], plain.checksum);
  assert.equal(threaded.first[3], threaded.checksum);
  assert.deepEqual(plain.small, [255, 255, 255], 'the copy of a SharedBytesMut went back into the region');
  assert.deepEqual(plain.copied, [255, 255, 255, 0, 0]);
  assert.equal(plain.copy, threaded.copy);
});

test('shared regions: a panic keeps the regions\' bytes and the next call reads them in the new worker\'s memory; close() frees a range for the next region', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const fnv = (bytes) => { let h = 0x811c9dc5; for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0; return h; };
    const out = {};
    for (const threads of [2, false]) {
      const pool = await createPool({ size: 1, threads });
      // close() frees the range: the next region of that size takes it, and the memory does not grow.
      const a = pool.shared(100_000);
      const at = a.byteOffset;
      const size = a.buffer.byteLength;
      a.close();
      const closed = await pool.call('regionInfo', a).then(() => null, (e) => e.code);
      const b = pool.shared(100_000);
      const reused = b.inGuestMemory ? b.byteOffset === at && b.buffer.byteLength === size : null;
      const kept = pool.shared(1 << 20);
      for (let i = 0; i < kept.byteLength; i++) kept.bytes[i] = (i * 7) & 255;
      const want = fnv(kept.bytes);
      const target = pool.shared(64);
      target.bytes.fill(9);
      const oldBuffer = kept.buffer;
      const panic = await pool.call('regionFill', target, 1, 'stopped halfway').then(() => null, (e) => [e.code, e.message]);
      const after = Array.from(await pool.call('regionInfo', kept));
      const restarts = pool.stats().workers[0].restarts;
      const twice = await pool.call('regionCopy', kept, kept).then(() => null, (e) => [e.code, e.message]);
      const o = {
        panic, want, after, keptOffset: kept.byteOffset, moved: kept.buffer !== oldBuffer, target: Array.from(target.bytes.subarray(0, 4)),
        restarts, twice, closed, reused,
      };
      pool.close();
      out[threads] = o;
    }
    return out;
  }, null, /stopped halfway|same shared region twice/);
  const threaded = r[2];
  assert.equal(threaded.panic[0], 'PANIC');
  assert.match(threaded.panic[1], /^regionFill panicked: stopped halfway at crates\/test-guest\/src\/regions\.rs:\d+:\d+$/);
  assert.equal(threaded.restarts, 1);
  assert.equal(threaded.moved, true, 'the region moved into the new worker\'s memory');
  assert.deepEqual(threaded.after.slice(0, 4), [1, threaded.keptOffset, 1 << 20, threaded.want], 'in place in the new memory, every byte kept');
  assert.deepEqual(threaded.target, [1, 1, 1, 1], 'in place, the writes made before the panic are in the region');
  assert.equal(threaded.twice[0], 'PANIC');
  assert.match(threaded.twice[1], /same shared region twice, once as SharedBytesMut/);
  assert.equal(threaded.closed, 'BAD_ARGUMENT');
  assert.equal(threaded.reused, true);
  const plain = r.false;
  assert.equal(plain.panic[0], 'PANIC');
  assert.deepEqual(plain.target, [9, 9, 9, 9], 'a copy is not written back after a panic');
  assert.deepEqual(plain.after.slice(2, 4), [1 << 20, plain.want]);
  assert.equal(plain.twice, null, 'copies never alias');
  assert.equal(plain.closed, 'BAD_ARGUMENT');
});

test('shared regions on the threaded module: calls that pass one run on the worker that holds it; another pinned worker is refused', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2, threads: 1 });
    const region = pool.shared(16);
    const infos = await Promise.all(Array.from({ length: 6 }, () => pool.call('regionInfo', region).then((i) => Array.from(i))));
    const busy = pool.stats().workers.map((w) => w.calls);
    // A worker of its own, with a memory of its own.
    const other = await pool.pin({ exclusive: true });
    const refused = await other.call('regionInfo', region).then(() => null, (e) => [e.code, e.message]);
    pool.close();
    return { inPlace: infos.map((i) => i[0]), busy, refused };
  });
  assert.deepEqual(r.inPlace, [1, 1, 1, 1, 1, 1]);
  assert.equal(r.busy.filter((n) => n > 0).length, 1, `every region call ran on one worker: ${r.busy}`);
  assert.equal(r.refused[0], 'BAD_ARGUMENT');
  assert.match(r.refused[1], /^regionInfo: a shared region it was given lives in worker \d+, expected one of the pinned handle's worker \d+$/);
});

test('shared regions: a region call behind a stuck call on the region worker rejects with WORKER_LOST, and the region\'s bytes move into the replacement\'s memory', async () => {
  const r = await runInPage(browser, server.url, async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const fnv = (bytes) => { let h = 0x811c9dc5; for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0; return h; };
    const pool = await createPool({ size: 1, threads: 2, cancelGrace: 50 });
    const region = pool.shared(300_000);
    for (let i = 0; i < region.byteLength; i++) region.bytes[i] = (i * 13) & 255;
    const want = fnv(region.bytes);
    const before = region.byteOffset;
    const stuck = pool.call({ fn: 'loopForever', args: [], timeout: 300 }).then(() => 'resolved', (e) => e.code);
    const behind = pool.call('regionInfo', region).then(() => 'resolved', (e) => [e.code, e.message]);
    const codes = [await stuck, await behind];
    const after = Array.from(await pool.call('regionInfo', region));
    const stats = pool.stats();
    pool.close();
    return { codes, after, want, offset: region.byteOffset, before, restarts: stats.workers[0].restarts, still: fnv(region.bytes) };
  });
  assert.equal(r.codes[0], 'TIMEOUT');
  assert.equal(r.codes[1][0], 'WORKER_LOST');
  assert.equal(r.restarts, 1);
  assert.deepEqual(r.after.slice(0, 4), [1, r.offset, 300_000, r.want], 'in place in the replacement\'s memory, every byte kept');
  assert.equal(r.still, r.want);
});
