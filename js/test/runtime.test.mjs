// The runtime in real Chromium, against bundles built by `wasmbridge build` and
// served by `wasmbridge serve`: the foundation's guarantees and the pool's
// fault tolerance, one behaviour per test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, makeSite, startServer, launchBrowser, openPage, runInPage } from './harness.mjs';

let server;
let browser;
let site;

/** The policy the README recommends: 'wasm-unsafe-eval' and nothing broader. */
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'";

before(async () => {
  site = makeSite('runtime', { demo: bundle('demo-guest'), guest: bundle('test-guest') });
  // Broken copies of the test guest for the INIT_FAILED tests.
  const broken = (dir, edit) => {
    rmSync(join(site, dir), { recursive: true, force: true });
    cpSync(bundle('test-guest'), join(site, dir), { recursive: true });
    const path = join(site, dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    edit(m, join(site, dir));
    // The edits break the plain module, so that is the one the pool must load.
    delete m.threads;
    writeFileSync(path, JSON.stringify(m));
  };
  broken('missing', (m) => { m.wasm = 'nothing-here.wasm'; delete m.files; });
  broken('corrupt', (m, dir) => { writeFileSync(join(dir, m.wasm), Buffer.from('\0asm\x01\0\0\0garbage that is not a module')); delete m.files; });
  broken('mime', (m, dir) => { cpSync(join(dir, m.wasm), join(dir, 'module.bin')); m.wasm = 'module.bin'; delete m.files; });
  broken('tampered', (m, dir) => { writeFileSync(join(dir, m.glue), `${readFileSync(join(dir, m.glue), 'utf8')}\n// changed after the build\n`); });
  broken('throws', (m, dir) => { writeFileSync(join(dir, m.glue), 'export default async function () { throw new Error("guest start failed on purpose"); }\n'); delete m.files; });
  // Bundles whose inlined manifest is from another build than their files, as
  // when a page's cached runtime outlives a deployment. The linked entry holds
  // the manifest as manifest.json's text.
  const stale = (dir, edit) => {
    rmSync(join(site, dir), { recursive: true, force: true });
    cpSync(bundle('test-guest'), join(site, dir), { recursive: true });
    const json = readFileSync(join(site, dir, 'manifest.json'), 'utf8');
    const m = JSON.parse(json);
    edit(m);
    delete m.threads;
    const entry = join(site, dir, 'wasmbridge.js');
    const linked = readFileSync(entry, 'utf8');
    assert.ok(linked.includes(json), 'the linked entry holds the manifest');
    writeFileSync(entry, linked.replace(json, JSON.stringify(m)));
  };
  // A release build names its module by content hash: an old manifest names one that is gone.
  stale('stale-name', (m) => { m.wasm = 'test_guest_bg.0123456789.wasm'; });
  // A debug build keeps the name: an old manifest's hash no longer matches.
  stale('stale-hash', (m) => { m.files[m.wasm].integrity = `sha256-${Buffer.alloc(32).toString('base64')}`; });
  const page = (csp) => `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><body></body>\n`;
  writeFileSync(join(site, 'favicon.ico'), '');
  writeFileSync(join(site, 'csp.html'), page(CSP));
  writeFileSync(join(site, 'csp-no-wasm.html'), page(CSP.replace(" 'wasm-unsafe-eval'", '')));
  server = await startServer(site);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const inPage = (fn, arg, expected = null) => runInPage(browser, server.url, fn, arg, expected);

test('the page is cross-origin isolated and the pool starts N workers', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 3 });
    const s = pool.stats();
    pool.close();
    return { isolated: crossOriginIsolated, poolIsolated: pool.isolated, workers: s.workers.map((w) => w.state), names: pool.functions.map((f) => f.name) };
  });
  assert.equal(r.isolated, true);
  assert.equal(r.poolIsolated, true);
  assert.deepEqual(r.workers, ['ready', 'ready', 'ready']);
  assert.ok(r.names.includes('echo') && r.names.includes('panicWith'));
  assert.ok(!r.names.some((n) => n.startsWith('__wasmbridge')), 'reserved exports are not callable');
});

test('the calculator gives exact answers and typed errors', async () => {
  const r = await inPage(async () => {
    const { createPool, WasmBridgeError } = await import('/demo/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const out = {
      add: await pool.call('add', 0.1, 0.2),
      subtract: await pool.api.subtract(7, 2.5),
      multiply: await pool.call({ fn: 'multiply', args: [-3, 4] }),
      divide: await pool.call('divide', 7, 2),
    };
    try { await pool.call('divide', 7, 0); } catch (e) {
      out.divZero = { isError: e instanceof WasmBridgeError && e instanceof Error, code: e.code, message: e.message, fn: e.functionName };
    }
    try { await pool.call('divide', 7, 'x'); } catch (e) { out.badType = { code: e.code, message: e.message }; }
    try { await pool.call('divide', 7); } catch (e) { out.badCount = { code: e.code, message: e.message }; }
    try { await pool.call('add', Number.NaN, 1); } catch (e) { out.nan = { code: e.code, message: e.message }; }
    out.after = await pool.call('divide', 1, 4);
    pool.close();
    return out;
  });
  assert.equal(r.add, 0.1 + 0.2);
  assert.equal(r.subtract, 4.5);
  assert.equal(r.multiply, -12);
  assert.equal(r.divide, 3.5);
  assert.deepEqual(r.divZero, { isError: true, code: 'GUEST_ERROR', message: 'division by zero: the divisor must be non-zero, got 0', fn: 'divide' });
  assert.equal(r.badType.code, 'BAD_ARGUMENT');
  assert.match(r.badType.message, /argument b must be number, got a string/);
  assert.equal(r.badCount.code, 'BAD_ARGUMENT');
  assert.match(r.badCount.message, /expects 2 arguments \(a, b\), got 1/);
  assert.equal(r.nan.code, 'BAD_ARGUMENT');
  assert.match(r.nan.message, /operand a must be a finite number, got NaN/);
  assert.equal(r.after, 0.25);
});

test('an unknown function rejects with UNKNOWN_FUNCTION', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const out = [];
    for (const name of ['nope', '__wasmbridge_init', 'default', 'initSync', 'constructor', '__proto__']) {
      try { await pool.call(name); out.push('resolved'); } catch (e) { out.push(e.code); }
    }
    pool.close();
    return out;
  });
  assert.deepEqual(r, Array(6).fill('UNKNOWN_FUNCTION'));
});

test('calls made before the pool is ready resolve once it is', async () => {
  const r = await inPage(async () => {
    const { Pool } = await import('/guest/wasmbridge.js');
    const pool = new Pool({ size: 2 });
    const early = [pool.call('add', 1, 2), pool.api.echo('early'), pool.call('nope').catch((e) => e.code)];
    const values = await Promise.all(early);
    await pool.ready;
    pool.close();
    return values;
  });
  assert.deepEqual(r, [3, 'early', 'UNKNOWN_FUNCTION']);
});

test('a worker sends the results of the first half of a long packed run before it runs the rest, so a long call after them does not hold them', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, lane: false });
    // Warm the worker's call path, so 600 adds take well under the worker's 1 ms flush.
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 2000 }, (_, j) => pool.call('add', j, 1)));
    const busy = pool.call('busy', 30);
    let resolved = 0;
    const adds = Array.from({ length: 600 }, (_, j) => pool.call('add', j, 1).then((v) => { resolved += 1; return v; }));
    // Runs after the 600 in the same worker, until cancelled() turns true at its timeout.
    let spinning = true;
    const spin = pool.call({ fn: 'spinUntilCancelled', timeout: 1500 }).then(() => 'returned', (e) => e.code).finally(() => { spinning = false; });
    await busy;
    const t0 = performance.now();
    while (resolved < 600 && spinning && performance.now() - t0 < 1000) await new Promise((res) => setTimeout(res, 5));
    const whileSpinning = spinning ? resolved : -1;
    const values = await Promise.all(adds);
    const spun = await spin;
    pool.close();
    return { whileSpinning, ok: values.every((v, j) => v === j + 1), spun };
  });
  assert.equal(r.ok, true);
  assert.equal(r.spun, 'TIMEOUT');
  // 600 packed calls and the spinning one: the worker sends the first 301
  // results once they outnumber the calls left; the rest wait for company
  // (or the 1 ms flush) behind the spinning call.
  assert.ok(r.whileSpinning >= 301, `${r.whileSpinning} of the 600 results had arrived while the last call spun`);
});

test('10 000 concurrent calls each resolve with their own result', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const n = 10_000;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.call('add', i, 0.5)));
    const wrong = results.filter((v, i) => v !== i + 0.5).length;
    const s = pool.stats();
    pool.close();
    return { wrong, count: results.length, calls: s.workers.reduce((a, w) => a + w.calls, 0), spread: s.workers.map((w) => w.calls > 0) };
  });
  assert.equal(r.count, 10_000);
  assert.equal(r.wrong, 0);
  assert.equal(r.calls, 10_000);
  assert.deepEqual(r.spread, [true, true], 'both workers took calls');
});

test('close() rejects calls in flight and later calls with POOL_CLOSED', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const inflight = pool.call('busy', 300).then(() => 'resolved', (e) => e.code);
    const queued = pool.call('add', 1, 1).then(() => 'resolved', (e) => e.code);
    await new Promise((r) => setTimeout(r, 50));
    pool.close();
    const later = await pool.call('add', 1, 1).then(() => 'resolved', (e) => e.code);
    return [await inflight, await queued, later, pool.stats().workers.length];
  });
  assert.deepEqual(r, ['POOL_CLOSED', 'POOL_CLOSED', 'POOL_CLOSED', 0]);
});

test('values of every kind cross both ways, and returned buffers are transferred', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const obj = { a: [1, 'two', null, true], nested: { big: 2n ** 64n } };
    const echoed = await pool.call('echo', obj);
    const bytes = await pool.call('bytes', 1 << 20);
    const input = new Uint8Array([1, 2, 3, 250]);
    const sum = await pool.call({ fn: 'sumBytes', args: [input], transfer: [input.buffer] });
    pool.close();
    return {
      same: JSON.stringify(echoed, (k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      bytesType: bytes.constructor.name, bytesLen: bytes.length, b1000: bytes[1000],
      sum, detached: input.byteLength,
    };
  });
  assert.equal(r.same, '{"a":[1,"two",null,true],"nested":{"big":"18446744073709551616n"}}');
  assert.equal(r.bytesType, 'Uint8Array');
  assert.equal(r.bytesLen, 1 << 20);
  assert.equal(r.b1000, 1000 % 251);
  assert.equal(r.sum, 256);
  assert.equal(r.detached, 0, 'a transferred argument is detached on the page');
});

test("transfer: 'auto' moves every argument buffer once, shares shared ones, and names a detached one", async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const outcome = (p) => p.then((value) => ({ value }), (e) => ({ code: e.code, message: e.message }));
    const input = new Uint8Array([1, 2, 3, 250]);
    const sum = await pool.call({ fn: 'sumBytes', args: [input], transfer: 'auto' });
    // Two arguments over one buffer: a transfer list naming it twice would throw.
    const both = new Uint8Array(8).fill(3);
    const twice = await outcome(pool.call({ fn: 'doubleInto', args: [both.subarray(0, 4), both.subarray(4)], transfer: 'auto' }));
    const shared = new Uint8Array(new SharedArrayBuffer(4)).fill(9);
    const sharedSum = await pool.call({ fn: 'sumBytes', args: [shared], transfer: 'auto' });
    const region = pool.shared(3);
    region.bytes.fill(5);
    const regionSum = await pool.call({ fn: 'sumBytes', args: [region], transfer: 'auto' });
    const copied = new Uint8Array([4, 4]);
    const defaultSum = await pool.call({ fn: 'sumBytes', args: [copied] });
    const detached = await outcome(pool.call({ fn: 'sumBytes', args: [input], transfer: 'auto' }));
    const batch = new Uint8Array([6, 6]);
    const batched = await pool.batch([{ fn: 'sumBytes', args: [batch], transfer: 'auto' }]);
    const scalars = await pool.call({ fn: 'add', args: [1, 2], transfer: 'auto' });
    const inFlight = pool.stats().inFlight;
    pool.close();
    return {
      sum, inputLength: input.byteLength, twice, bothLength: both.byteLength, sharedSum, sharedLength: shared.byteLength,
      regionSum, regionLength: region.bytes.byteLength, defaultSum, copiedLength: copied.byteLength, detached,
      batched: batched[0].value, batchLength: batch.byteLength, scalars, inFlight,
    };
  });
  assert.equal(r.sum, 256);
  assert.equal(r.inputLength, 0, 'the caller\'s buffer is detached after the call');
  assert.deepEqual(r.twice, { value: 4 }, 'a buffer two arguments share moves once');
  assert.equal(r.bothLength, 0);
  assert.equal(r.sharedSum, 36);
  assert.equal(r.sharedLength, 4, 'a SharedArrayBuffer view is shared, never transferred');
  assert.equal(r.regionSum, 15);
  assert.equal(r.regionLength, 3, 'a shared region stays attached');
  assert.equal(r.defaultSum, 8);
  assert.equal(r.copiedLength, 2, 'without transfer the arguments are copied (the default)');
  assert.equal(r.detached.code, 'BAD_ARGUMENT');
  assert.equal(r.detached.message, 'argument 1 of sumBytes is a detached ArrayBuffer (or a view of one): it was transferred before');
  assert.equal(r.batched, 12);
  assert.equal(r.batchLength, 0, 'a batch entry takes transfer: \'auto\' too');
  assert.equal(r.scalars, 3);
  assert.equal(r.inFlight, 0);
});

test('outputs: a &mut [u8] argument moves to the worker and back, written, as a view of the same shape', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const outcome = (p) => p.then((value) => ({ value }), (e) => ({ code: e.code, message: e.message }));
    const input = new Uint8Array([1, 2, 3, 200]);
    // The output is a view into the middle of a larger buffer the caller owns.
    const backing = new ArrayBuffer(16);
    new Uint8Array(backing).fill(77);
    const out = new Uint8Array(backing, 4, 4);
    const got = await pool.call({ fn: 'doubleInto', args: [input, out], outputs: [1] });
    const [view] = got.outputs;
    const result = {
      value: got.value, type: view.constructor.name, offset: view.byteOffset, length: view.length,
      written: Array.from(view), whole: Array.from(new Uint8Array(view.buffer)), bufferLength: view.buffer.byteLength,
      outLength: out.byteLength, inputKept: input.byteLength,
    };
    // With transfer: 'auto' the input moves too; the returned view can be passed again.
    const again = await pool.call({ fn: 'doubleInto', args: [new Uint8Array([5, 6, 7, 8]), view], transfer: 'auto', outputs: [1] });
    result.again = Array.from(again.outputs[0]);
    // One buffer for input and output, as a caller doing the work in place would.
    const inPlace = new Uint8Array([10, 20, 30, 40, 0, 0, 0, 0]);
    const placed = await pool.call({ fn: 'doubleInto', args: [inPlace.subarray(0, 4), inPlace.subarray(4)], outputs: [1] });
    result.inPlace = Array.from(new Uint8Array(placed.outputs[0].buffer));
    // A shared output is written where it is; what comes back is a view of the same memory.
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    const viaShared = await pool.call({ fn: 'doubleInto', args: [new Uint8Array([1, 1, 1, 1]), shared], outputs: [1] });
    result.shared = { page: Array.from(shared), returned: Array.from(viaShared.outputs[0]), same: viaShared.outputs[0].buffer instanceof SharedArrayBuffer };
    // A pinned handle and the fast lane's entry take outputs too (the lane passes such calls to the pool).
    const pin = await pool.pin();
    result.pinned = Array.from((await pin.call({ fn: 'doubleInto', args: [new Uint8Array([3]), new Uint8Array(1)], outputs: [1] })).outputs[0]);
    pin.release();
    result.fast = Array.from((await pool.fastCall({ fn: 'doubleInto', args: [new Uint8Array([4]), new Uint8Array(1)], outputs: [1] })).outputs[0]);
    result.bad = {
      range: await outcome(pool.call({ fn: 'doubleInto', args: [input, new Uint8Array(4)], outputs: [2] })),
      notView: await outcome(pool.call({ fn: 'add', args: [1, 2], outputs: [0] })),
      twice: await outcome(pool.call({ fn: 'doubleInto', args: [input, new Uint8Array(4)], outputs: [1, 1] })),
      notArray: await outcome(pool.call({ fn: 'doubleInto', args: [input, new Uint8Array(4)], outputs: 1 })),
      detached: await outcome(pool.call({ fn: 'doubleInto', args: [input, out], outputs: [1] })),
    };
    result.inFlight = pool.stats().inFlight;
    pool.close();
    return result;
  });
  assert.equal(r.value, 4);
  assert.equal(r.type, 'Uint8Array');
  assert.equal(r.offset, 4);
  assert.equal(r.length, 4);
  assert.deepEqual(r.written, [2, 4, 6, 144]);
  assert.deepEqual(r.whole, [77, 77, 77, 77, 2, 4, 6, 144, 77, 77, 77, 77, 77, 77, 77, 77], 'the whole buffer came back, only the view written');
  assert.equal(r.bufferLength, 16);
  assert.equal(r.outLength, 0, 'the view the caller passed is detached');
  assert.equal(r.inputKept, 4, 'without transfer the input is copied');
  assert.deepEqual(r.again, [10, 12, 14, 16]);
  assert.deepEqual(r.inPlace, [10, 20, 30, 40, 20, 40, 60, 80]);
  assert.deepEqual(r.shared.page, [2, 2, 2, 2]);
  assert.deepEqual(r.shared.returned, [2, 2, 2, 2]);
  assert.equal(r.shared.same, true);
  assert.deepEqual(r.pinned, [6]);
  assert.deepEqual(r.fast, [8]);
  for (const [name, e] of Object.entries(r.bad)) assert.equal(e.code, 'BAD_ARGUMENT', `${name}: ${JSON.stringify(e)}`);
  assert.equal(r.bad.range.message, 'outputs[0] of doubleInto must be the position of one of its 2 arguments (0 to 1), got number');
  assert.equal(r.bad.notView.message, 'argument 1 of add is an output, so it must be a typed array or DataView, got number');
  assert.equal(r.bad.twice.message, 'outputs[1] of doubleInto names argument 1 a second time');
  assert.match(r.bad.notArray.message, /^outputs of doubleInto must be an array of argument positions, got number$/);
  assert.equal(r.bad.detached.message, 'argument 2 of doubleInto is an output over a detached ArrayBuffer: it was transferred before');
  assert.equal(r.inFlight, 0);
});

test('a guest error keeps its code, message and data', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const e = await pool.call('fail', 'out of range', 'n must be below 10, got 12').catch((err) => err.toJSON());
    pool.close();
    return e;
  });
  assert.deepEqual(r, { code: 'OUT_OF_RANGE', message: 'n must be below 10, got 12', functionName: 'fail', data: { requested: 'out of range' } });
});

test('a panic rejects with PANIC, message and location, and the worker answers again', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    await pool.call('count', 5);
    const e = await pool.call('panicWith', 'the dragon ate the index').catch((err) => ({ code: err.code, message: err.message }));
    const again = await pool.call('add', 2, 3);
    const fresh = await pool.call('count', 1);
    const s = pool.stats().workers[0];
    pool.close();
    return { e, again, fresh, restarts: s.restarts, failures: s.failures };
  });
  assert.equal(r.e.code, 'PANIC');
  assert.match(r.e.message, /^panicWith panicked: the dragon ate the index at crates\/test-guest\/src\/lib\.rs:\d+:\d+$/);
  assert.equal(r.again, 5);
  assert.equal(r.fresh, 1, 're-instantiated: the counter started over');
  assert.equal(r.restarts, 1);
  assert.equal(r.failures, 1);
});

test('a timeout rejects with TIMEOUT, replaces the worker and re-dispatches the calls behind it', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, window: 8 });
    const t0 = performance.now();
    const stuck = pool.call({ fn: 'loopForever', timeout: 200 }).then(() => 'resolved', (e) => e.code);
    const behind = Array.from({ length: 5 }, (_, i) => pool.call('add', i, 1));
    const code = await stuck;
    const elapsed = performance.now() - t0;
    const values = await Promise.all(behind);
    const s = pool.stats();
    pool.close();
    return { code, elapsed, values, workers: s.workers.length, restarts: s.workers[0].restarts };
  });
  assert.equal(r.code, 'TIMEOUT');
  // Not before its 200 ms, and settled by the pool's timer rather than left to hang.
  assert.ok(r.elapsed >= 200 && r.elapsed < 5000, `timed out after ${r.elapsed} ms`);
  assert.deepEqual(r.values, [1, 2, 3, 4, 5]);
  assert.equal(r.workers, 1);
  assert.equal(r.restarts, 1);
});

test('cancelling: a queued call leaves at once; a running one stops cooperatively or is stopped', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, window: 1 });
    const running = new AbortController();
    const queued = new AbortController();
    const a = pool.call({ fn: 'spinUntilCancelled', signal: running.signal }).then(() => 'resolved', (e) => e.code);
    const b = pool.call({ fn: 'add', args: [1, 1], signal: queued.signal }).then(() => 'resolved', (e) => e.code);
    queued.abort();
    const bCode = await b;
    await new Promise((res) => setTimeout(res, 50));
    running.abort();
    const aCode = await a;
    await new Promise((res) => setTimeout(res, 300));
    const restartsAfterCooperative = pool.stats().workers[0].restarts;
    const hard = new AbortController();
    const c = pool.call({ fn: 'loopForever', signal: hard.signal }).then(() => 'resolved', (e) => e.code);
    setTimeout(() => hard.abort(), 50);
    const cCode = await c;
    const after = await pool.call('add', 20, 22);
    const pre = await pool.call({ fn: 'add', args: [1, 2], signal: AbortSignal.abort() }).catch((e) => e.code);
    const restarts = pool.stats().workers[0].restarts;
    pool.close();
    return { aCode, bCode, cCode, after, pre, restartsAfterCooperative, restarts };
  });
  assert.deepEqual([r.aCode, r.bCode, r.cCode, r.pre], ['CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
  assert.equal(r.restartsAfterCooperative, 0, 'the guest polled cancelled() and the worker survived');
  assert.equal(r.restarts, 1, 'the loop that never polls was hard-stopped');
  assert.equal(r.after, 42);
});

test('a worker terminated from outside rejects its calls with WORKER_LOST and is replaced', async () => {
  const r = await inPage(async () => {
    // Reach the Worker objects the way an outside actor (a crash, the browser) would end them.
    const workers = [];
    const Original = globalThis.Worker;
    globalThis.Worker = class extends Original { constructor(...a) { super(...a); workers.push(this); } };
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const slow = pool.call('busy', 2000).then(() => 'resolved', (e) => e.code);
    await new Promise((res) => setTimeout(res, 100));
    const victim = workers.find((w, i) => pool.stats().workers[i]?.busy) ?? workers[0];
    victim.terminate();
    const code = await slow;
    const values = await Promise.all([pool.call('add', 1, 1), pool.call('add', 2, 2), pool.call('add', 3, 3)]);
    // The replacement starts on its own; on a loaded machine that can take a while.
    for (let i = 0; i < 100 && pool.stats().workers.filter((w) => w.state === 'ready').length < 2; i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    const s = pool.stats();
    pool.close();
    return { code, values, live: s.workers.filter((w) => w.state === 'ready').length, spawned: workers.length };
  });
  assert.equal(r.code, 'WORKER_LOST');
  assert.deepEqual(r.values, [2, 4, 6]);
  assert.equal(r.live, 2);
  assert.equal(r.spawned, 3);
});

/** Page code: records the `kind` (and call count) of every message the pool's workers get and send; a flat call, an array, as `call`, and a flat value as `value`. */
const RECORD_MESSAGES = () => {
  const log = { sent: [], received: [] };
  const post = Worker.prototype.postMessage;
  const watched = new WeakSet();
  Worker.prototype.postMessage = function record(msg, transfer) {
    if (!watched.has(this)) {
      watched.add(this);
      this.addEventListener('message', (e) => {
        const kind = Array.isArray(e.data) ? 'value' : e.data?.kind;
        if (kind === 'results') log.received.push(`results×${e.data.results.length}`);
        else if (kind === 'packed-results') log.received.push(`packed-results×${e.data.ids.length}`);
        else if (kind !== 'progress') log.received.push(kind);
      });
    }
    // A packed message holds, per call, 4 header slots (the last one its argument count) and its arguments.
    const packed = (d) => { let n = 0; for (let at = 0; at < d.length; at += 4 + d[at + 3]) n += 1; return n; };
    if (msg?.kind === 'calls') log.sent.push(`calls×${msg.calls.length}`);
    else if (msg?.kind === 'packed') log.sent.push(`packed×${packed(msg.calls)}`);
    else if (Array.isArray(msg)) log.sent.push('call');
    else if (msg?.kind !== 'init' && msg?.kind !== 'module') log.sent.push(msg?.kind);
    return post.call(this, msg, transfer);
  };
  return log;
};

test('an idle worker gets a call as one flat message and answers flat; calls made while it is busy are coalesced', async () => {
  const r = await inPage(async (record) => {
    const log = (0, eval)(`(${record})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const sequential = [];
    // The recording listener runs after the pool's: one task later it has seen every message.
    const settle = () => new Promise((res) => setTimeout(res, 0));
    for (let i = 0; i < 3; i++) sequential.push(await pool.call('add', i, 10));
    await settle();
    const first = { sent: [...log.sent], received: [...log.received] };
    log.sent.length = 0;
    log.received.length = 0;
    const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.call('add', i, i)));
    await settle();
    pool.close();
    return { sequential, first, burst, sent: log.sent, received: log.received };
  }, RECORD_MESSAGES.toString());
  assert.deepEqual(r.sequential, [10, 11, 12]);
  assert.deepEqual(r.first.sent, ['call', 'call', 'call']);
  assert.deepEqual(r.first.received.filter((k) => k !== 'alive' && k !== 'ready'), ['value', 'value', 'value']);
  assert.deepEqual(r.burst, Array.from({ length: 100 }, (_, i) => 2 * i));
  assert.deepEqual(r.sent, ['call', 'packed×99'], 'the first call of the burst goes at once, the rest of the tick packed in one message');
  const answered = r.received.reduce((n, k) => n + (k === 'result' || k === 'value' ? 1 : Number(k.split('×')[1])), 0);
  assert.equal(answered, 100);
});

test('flat and coalesced calls mixed with timeouts and cancels each settle once, with their own value, in order', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    // A small byte window: a burst is sent in several messages while the rest waits in the queue.
    const pool = await createPool({ size: 1, windowBytes: 400, breakerThreshold: Infinity });
    const outcomes = [];
    const order = [];
    const promises = [];
    let plain = 0;
    const track = (i, kind, p) => promises.push(p.then(
      (value) => { outcomes[i] = { kind, ok: true, value }; if (kind === 'plain') order.push(i); },
      (e) => { outcomes[i] = { kind, ok: false, code: e.code }; },
    ));
    let i = 0;
    for (let round = 0; round < 15; round++) {
      // An idle worker: this one goes flat.
      track(i, 'plain', pool.call('add', i, 1)); plain += 1; i += 1;
      await promises[promises.length - 1];
      const aborts = [];
      for (let k = 0; k < 40; k++, i++) {
        if (k % 7 === 3) {
          const ac = new AbortController();
          aborts.push(ac);
          track(i, 'cancel', pool.call({ fn: 'add', args: [i, 1], signal: ac.signal }));
        } else if (k % 11 === 5) {
          track(i, 'timeout', pool.call({ fn: 'add', args: [i, 1], timeout: 1 }));
        } else if (k === 20) {
          // Stops when cancelled() turns true: its timeout ends it mid-burst, cooperatively.
          track(i, 'spin', pool.call({ fn: 'spinUntilCancelled', timeout: 5 }));
        } else {
          track(i, 'plain', pool.call('add', i, 1)); plain += 1;
        }
      }
      // Some cancels land while their calls wait in the queue, some while they are in flight.
      queueMicrotask(() => aborts[0]?.abort());
      setTimeout(() => { for (const ac of aborts) ac.abort(); }, round % 3);
      if (round % 2 === 0) await new Promise((res) => setTimeout(res, 2));
    }
    await Promise.all(promises);
    // Let late answers to abandoned calls arrive: none may settle anything again.
    await new Promise((res) => setTimeout(res, 300));
    const s = pool.stats();
    pool.close();
    return { outcomes, order, plain, total: i, count: s.functions.add.count + (s.functions.spinUntilCancelled?.count ?? 0), inFlight: s.inFlight, queued: s.queued };
  });
  assert.equal(r.outcomes.length, r.total);
  for (const [i, o] of r.outcomes.entries()) {
    if (o.ok) assert.equal(o.value, i + 1, `call ${i} (${o.kind}) got another call's value`);
    if (o.kind === 'plain') assert.ok(o.ok, `plain call ${i} failed with ${o.code}`);
    if (o.kind === 'cancel' && !o.ok) assert.equal(o.code, 'CANCELLED');
    if (o.kind === 'timeout' && !o.ok) assert.equal(o.code, 'TIMEOUT');
    if (o.kind === 'spin') assert.deepEqual([o.ok, o.code], [false, 'TIMEOUT']);
  }
  assert.equal(r.order.length, r.plain);
  assert.deepEqual(r.order, [...r.order].sort((a, b) => a - b), 'one worker answers in the order the calls were made');
  assert.equal(r.count, r.total, 'every call was counted once, so settled once');
  assert.equal(r.inFlight, 0);
  assert.equal(r.queued, 0);
});

test('a flat call and the coalesced calls behind it all reject with WORKER_LOST when their worker dies', async () => {
  const r = await inPage(async (record) => {
    const log = (0, eval)(`(${record})`)();
    const workers = [];
    const Original = globalThis.Worker;
    globalThis.Worker = class extends Original { constructor(...a) { super(...a); workers.push(this); } };
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const settled = [];
    const calls = [pool.call('busy', 3000), ...Array.from({ length: 50 }, (_, i) => pool.call('add', i, 1))]
      .map((p, i) => p.then(() => 'resolved', (e) => e.code).then((x) => { settled.push(i); return x; }));
    await new Promise((res) => setTimeout(res, 200));
    workers[0].terminate();
    const codes = await Promise.all(calls);
    const after = await pool.call('add', 2, 3);
    pool.close();
    return { codes, settled: settled.length, sent: log.sent.slice(0, 2), after };
  }, RECORD_MESSAGES.toString());
  assert.deepEqual(r.sent, ['call', 'packed×50'], 'the coalesced calls went packed');
  assert.deepEqual(r.codes, Array(51).fill('WORKER_LOST'));
  assert.equal(r.settled, 51);
  assert.equal(r.after, 5);
});

test('a burst of packed and other calls settles each call once, in order, with its own value or error', async () => {
  const r = await inPage(async (record) => {
    const log = (0, eval)(`(${record})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, breakerThreshold: Infinity });
    // Keeps the worker busy, so the burst behind it is coalesced.
    const first = pool.call('busy', 20);
    // Numbers only (packed), strings, BigInts, arrays and objects (not packed), a
    // guest error and a panic inside packed runs, a result that is a buffer and
    // one that cannot be sent back.
    const kinds = ['add', 'string', 'add', 'bigint', 'array', 'add', 'bytes', 'divide', 'error', 'add', 'object', 'panic', 'add', 'unsendable'];
    const expected = [];
    const promises = [];
    const settled = [];
    for (let i = 0; i < 140; i++) {
      const kind = kinds[i % kinds.length];
      let p;
      if (kind === 'add') { p = pool.call('add', i, 0.5); expected[i] = { ok: true, value: i + 0.5 }; }
      else if (kind === 'string') { p = pool.call('echo', `s${i}`); expected[i] = { ok: true, value: `s${i}` }; }
      else if (kind === 'bigint') { p = pool.call('echo', BigInt(i) * 10n ** 20n); expected[i] = { ok: true, value: `${BigInt(i) * 10n ** 20n}n` }; }
      else if (kind === 'array') { p = pool.call('echo', [i, 'x', i]); expected[i] = { ok: true, value: [i, 'x', i] }; }
      else if (kind === 'object') { p = pool.call('echo', { i }); expected[i] = { ok: true, value: { i } }; }
      else if (kind === 'bytes') { p = pool.call('bytes', 3); expected[i] = { ok: true, value: 'Uint8Array[0,1,2]' }; }
      else if (kind === 'divide') { p = pool.call('checkedDivide', i, 4); expected[i] = { ok: true, value: i / 4 }; }
      else if (kind === 'error') { p = pool.call('checkedDivide', i, 0); expected[i] = { ok: false, code: 'DIVIDE_BY_ZERO', message: `cannot divide ${i} by zero` }; }
      else if (kind === 'panic') { p = pool.call('checkedDivide', i, -1); expected[i] = { ok: false, code: 'PANIC' }; }
      else { p = pool.call('unsendable'); expected[i] = { ok: false, code: 'BAD_RESULT' }; }
      promises.push(p.then(
        (v) => { settled.push(i); return { ok: true, value: typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `Uint8Array[${v}]` : v }; },
        (e) => { settled.push(i); return { ok: false, code: e.code, message: e.message, callId: e.callId }; },
      ));
    }
    await first;
    const outcomes = await Promise.all(promises);
    const s = pool.stats();
    pool.close();
    return { outcomes, expected, settled, sent: log.sent, received: log.received, count: Object.values(s.functions).reduce((n, f) => n + f.count, 0) };
  }, RECORD_MESSAGES.toString());
  for (const [i, want] of r.expected.entries()) {
    const got = r.outcomes[i];
    if (want.ok) assert.deepEqual(got, want, `call ${i}`);
    else {
      assert.equal(got.code, want.code, `call ${i}: ${got.message}`);
      if (want.message) assert.equal(got.message, want.message);
      if (want.code === 'PANIC') assert.match(got.message, /^checkedDivide panicked: divisor -1 is negative/);
    }
  }
  assert.deepEqual(r.settled, Array.from({ length: 140 }, (_, i) => i), 'every call settled once, in the order it was made');
  assert.equal(r.count, 141, 'the statistics counted every call once');
  assert.ok(r.sent.some((k) => k.startsWith('packed×')), `some calls went packed: ${r.sent.join(' ')}`);
  assert.ok(r.sent.some((k) => k.startsWith('calls×')), `the others went as wire calls: ${r.sent.join(' ')}`);
  assert.ok(r.received.some((k) => k.startsWith('packed-results×')), `packed results came back: ${r.received.join(' ')}`);
});

test('calls kept per batch: spans over a small window, with a cancel, a timeout, a guest error and a panic among them, each settle once in order', async () => {
  const r = await inPage(async (record) => {
    const log = (0, eval)(`(${record})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    // 48 bytes per call of two numbers: about 8 calls per window, so the burst waits in the queue and leaves in spans.
    const pool = await createPool({ size: 1, windowBytes: 400, breakerThreshold: Infinity });
    const first = pool.call('busy', 30);
    const outcomes = [];
    const settlements = [];
    const order = [];
    const track = (i, kind, p) => p.then(
      (value) => { settlements.push(i); outcomes[i] = { kind, ok: true, value }; if (kind === 'add') order.push(i); },
      (e) => { settlements.push(i); outcomes[i] = { kind, ok: false, code: e.code }; },
    );
    const ac = new AbortController();
    const promises = [];
    for (let i = 0; i < 300; i++) {
      if (i === 40) promises.push(track(i, 'cancel', pool.call({ fn: 'add', args: [i, 1], signal: ac.signal })));
      else if (i === 120) promises.push(track(i, 'timeout', pool.call({ fn: 'busy', args: [5000], timeout: 50 })));
      else if (i === 150) promises.push(track(i, 'error', pool.call('checkedDivide', i, 0)));
      else if (i === 200) promises.push(track(i, 'panic', pool.call('checkedDivide', i, -1)));
      else promises.push(track(i, 'add', pool.call('add', i, 1)));
    }
    const during = pool.stats();
    ac.abort();
    await first;
    await Promise.all(promises);
    await new Promise((res) => setTimeout(res, 200));
    const s = pool.stats();
    pool.close();
    return {
      outcomes, order, settlements: settlements.length, distinct: new Set(settlements).size, sent: log.sent,
      during: { queued: during.queued, inFlight: during.inFlight, worker: during.workers[0].inFlight },
      after: { inFlight: s.inFlight, queued: s.queued, restarts: s.workers.reduce((n, w) => n + w.restarts, 0) },
      count: s.functions.add.count + s.functions.checkedDivide.count + s.functions.busy.count,
    };
  }, RECORD_MESSAGES.toString());
  assert.equal(r.settlements, 300, 'every call settled');
  assert.equal(r.distinct, 300, 'no call settled twice');
  for (const [i, o] of r.outcomes.entries()) {
    if (o.kind === 'add') assert.deepEqual([o.ok, o.value], [true, i + 1], `call ${i} got ${JSON.stringify(o)}`);
  }
  assert.deepEqual([r.outcomes[40].ok, r.outcomes[40].code], [false, 'CANCELLED']);
  assert.deepEqual([r.outcomes[120].ok, r.outcomes[120].code], [false, 'TIMEOUT']);
  assert.deepEqual([r.outcomes[150].ok, r.outcomes[150].code], [false, 'DIVIDE_BY_ZERO']);
  assert.deepEqual([r.outcomes[200].ok, r.outcomes[200].code], [false, 'PANIC']);
  assert.deepEqual(r.order, [...r.order].sort((a, b) => a - b), 'one worker answers in the order the calls were made, across the restart');
  assert.equal(r.order.length, 296);
  // The first call went flat; the burst waited in the queue and left in several packed messages of at most 8 calls.
  assert.equal(r.sent[0], 'call');
  const packed = r.sent.filter((k) => k.startsWith('packed×')).map((k) => Number(k.slice(7)));
  assert.ok(packed.length >= 30 && packed.every((n) => n <= 8), `packed messages: ${packed.join(' ')}`);
  assert.equal(r.during.inFlight, 301, 'calls kept per batch count as in flight');
  assert.equal(r.during.queued + r.during.worker, 301, `each call is queued or given to the worker: ${JSON.stringify(r.during)}`);
  assert.ok(r.during.worker <= 9, 'the worker holds no more than its window');
  assert.equal(r.count, 301, 'every call was counted once in its function\'s figures');
  assert.deepEqual([r.after.inFlight, r.after.queued], [0, 0]);
  // The panic replaced the worker; the timed-out busy call replaces it again if it had started.
  assert.ok(r.after.restarts >= 1 && r.after.restarts <= 2, `restarts: ${r.after.restarts}`);
});

test('close() rejects each call kept per batch once with POOL_CLOSED, those given to the worker and those still queued', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, windowBytes: 4096 });
    const first = pool.call('busy', 300).catch((e) => e.code);
    let settled = 0;
    const calls = Array.from({ length: 500 }, (_, i) => pool.call('add', i, 1).then(() => 'resolved', (e) => e.code).finally(() => { settled += 1; }));
    await new Promise((res) => setTimeout(res, 20));
    const before = pool.stats();
    pool.close();
    const codes = await Promise.all(calls);
    await new Promise((res) => setTimeout(res, 50));
    return { first: await first, codes, settled, before: { queued: before.queued, inFlight: before.inFlight, busy: before.workers[0].inFlight }, after: pool.stats().inFlight };
  });
  assert.equal(r.first, 'POOL_CLOSED');
  assert.ok(r.before.queued > 0 && r.before.busy > 1, `some calls were given to the worker, some waited: ${JSON.stringify(r.before)}`);
  assert.equal(r.before.inFlight, 501);
  assert.deepEqual(r.codes, Array(500).fill('POOL_CLOSED'));
  assert.equal(r.settled, 500);
  assert.equal(r.after, 0);
});

test('a packed call whose worker traps past the memory limit fails alone; the rest of its chunk runs on a fresh worker', async () => {
  const r = await inPage(async (record) => {
    const log = (0, eval)(`(${record})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, memoryLimit: 64 * 1024 * 1024 });
    const first = pool.call('busy', 20);
    const calls = [
      ...Array.from({ length: 20 }, (_, i) => pool.call('add', i, 1)),
      pool.call('hoard', 128),
      ...Array.from({ length: 40 }, (_, i) => pool.call('add', 100 + i, 1)),
    ].map((p) => p.then((v) => v, (e) => e.code));
    await first;
    const out = await Promise.all(calls);
    const s = pool.stats();
    pool.close();
    return { out, sent: log.sent, restarts: s.workers.reduce((n, w) => n + w.restarts, 0) };
  }, RECORD_MESSAGES.toString());
  assert.deepEqual(r.out.slice(0, 20), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(r.out[20], 'MEMORY_LIMIT');
  assert.deepEqual(r.out.slice(21), Array.from({ length: 40 }, (_, i) => 101 + i));
  assert.equal(r.sent[1], 'packed×61', 'the burst went as one packed message');
  assert.equal(r.restarts, 1);
});

for (const [dir, pattern] of [
  ['missing', /nothing-here\.wasm failed: 404/],
  ['corrupt', /not a valid WebAssembly module/],
  ['mime', /served as "application\/octet-stream", expected "application\/wasm"/],
  ['throws', /guest start failed on purpose/],
  ['tampered', /does not match its integrity hash sha256-/],
  ['no-such-bundle', /manifest\.json failed: 404/],
]) {
  test(`createPool rejects with INIT_FAILED naming the cause, not a timeout: ${dir}`, async () => {
    const r = await inPage(async (d) => {
      const { createPool } = await import('/guest/wasmbridge.js');
      const t0 = performance.now();
      try {
        await createPool({ bundle: `/${d}/`, size: 2 });
        return { code: 'resolved' };
      } catch (e) {
        return { code: e.code, message: e.message, ms: performance.now() - t0 };
      }
    }, dir, /status of 404|integrity/);
    assert.equal(r.code, 'INIT_FAILED', JSON.stringify(r));
    // The cause in the message shows the failure was seen where it happened,
    // not inferred from initTimeout running out.
    assert.match(r.message, pattern);
    assert.doesNotMatch(r.message, /did not report ready/);
  });
}

/** Records, in the page, the order of the pool's requests and worker starts. */
const RECORD_START = () => {
  const order = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    order.push(`fetch ${new URL(String(input), location.href).pathname}`);
    return realFetch(input, init);
  };
  const RealWorker = globalThis.Worker;
  globalThis.Worker = class extends RealWorker {
    constructor(url, options) {
      order.push('worker');
      super(url, options);
    }
  };
  return order;
};

test('with the manifest inlined, the module is requested as the workers start and manifest.json never', async () => {
  const r = await inPage(async (record) => {
    const order = (0, eval)(`(${record})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    const inlined = await createPool({ size: 2 });
    const sum = await inlined.call('add', 1, 2);
    inlined.close();
    const inlinedOrder = order.splice(0);
    const fetched = await createPool({ size: 1, manifest: false });
    const sum2 = await fetched.call('add', 2, 3);
    fetched.close();
    return {
      sum, sum2, inlinedOrder, fetchedOrder: order,
    };
  }, RECORD_START.toString());
  assert.equal(r.sum, 3);
  assert.equal(r.sum2, 5);
  // The test guest's bundle has a threaded module, which the isolated page runs.
  // Workers first (they take the longest to start), then the module, without waiting for any response; the
  // glue's download starts on the page too, so the workers' integrity checks find it in the cache.
  assert.deepEqual(r.inlinedOrder, ['worker', 'worker', 'fetch /guest/threads/test_guest_bg.wasm', 'fetch /guest/threads/test_guest.js']);
  assert.deepEqual(r.fetchedOrder, ['fetch /guest/manifest.json', 'worker', 'fetch /guest/threads/test_guest_bg.wasm', 'fetch /guest/threads/test_guest.js']);
  // That the entry imports every start-up module directly (one level of requests) is a property of the
  // source, checked by tests/tidy.rs; when the requests go out depends on the machine's load.
});

test('a bundle\'s runtime is one linked module; what loads later shares its classes, whatever URL the page imported it by', async () => {
  const r = await inPage(async () => {
    // A query, as a page busting caches would add: lane.js cannot import the entry by that URL.
    const { createPool, WasmBridgeError } = await import('/guest/wasmbridge.js?v=linked');
    const pool = await createPool({ size: 1, threads: false });
    let lane = null;
    try { await pool.fastCall('fail', 'NOPE', 'no'); } catch (e) { lane = { isError: e instanceof WasmBridgeError, code: e.code, viaLane: pool.stats().lane?.calls > 0 }; }
    pool.close();
    const requested = performance.getEntriesByType('resource').map((e) => new URL(e.name)).filter((u) => u.pathname.startsWith('/guest/')).map((u) => u.pathname.slice('/guest/'.length) + u.search);
    return { lane, requested };
  });
  // lane.js imports the entry by its plain URL (a second copy here), and takes the classes of the copy that ran first.
  assert.deepEqual(r.lane, { isError: true, code: 'NOPE', viaLane: true }, 'the lane\'s page half threw the class the page imported');
  assert.ok(r.requested.includes('wasmbridge.js?v=linked'), `the entry: ${r.requested}`);
  assert.ok(r.requested.includes('lane.js'), `the lane's page half loaded: ${r.requested}`);
  // Linked into the entry; the workers import none of these either (they may import protocol.js and error.js).
  for (const folded of ['pool.js', 'pool-call.js', 'pool-validate.js', 'pool-load.js', 'supervisor.js', 'shared.js', 'manifest.js', 'audio-worklet.js']) {
    assert.ok(!r.requested.includes(folded), `${folded} was requested: ${r.requested}`);
  }
});

test('a worker is named after the lock it holds, which it takes as its script starts', async () => {
  const r = await inPage(async () => {
    const names = [];
    const RealWorker = globalThis.Worker;
    globalThis.Worker = class extends RealWorker {
      constructor(url, options) {
        names.push(options?.name);
        super(url, options);
      }
    };
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2, threads: false });
    const held = (await navigator.locks.query()).held.map((l) => l.name);
    const sum = await pool.call('add', 1, 2);
    pool.close();
    return { names, held, sum };
  });
  assert.equal(r.sum, 3);
  assert.equal(r.names.length, 2);
  for (const name of r.names) {
    const m = name.match(/^wasmbridge-\d+ lock=(wasmbridge\/\S+)$/);
    assert.ok(m, `worker name ${name}`);
    assert.ok(r.held.includes(m[1]), `${m[1]} is held: ${r.held}`);
  }
});

test('the manifest option starts a pool without a manifest request; a bad one fails clearly', async () => {
  const r = await inPage(async (record) => {
    const order = (0, eval)(`(${record})`)();
    const manifest = await (await fetch('/guest/manifest.json')).json();
    order.splice(0);
    // The demo bundle's runtime, pointed at the test guest's bundle: its own inlined manifest does not apply there.
    const { createPool } = await import('/demo/wasmbridge.js');
    const pool = await createPool({ bundle: '/guest/', manifest, size: 1 });
    manifest.functions.length = 0; // the pool copied the option
    const echoed = await pool.call('echo', 'hi');
    pool.close();
    const used = order.splice(0);
    const outcome = (options) => createPool(options).then(() => 'resolved', (e) => `${e.code}: ${e.message}`);
    return {
      echoed, used,
      notAManifest: await outcome({ bundle: '/guest/', manifest: { wasm: 'x.wasm' } }),
      notAnObject: await outcome({ bundle: '/guest/', manifest: 'manifest.json' }),
      notData: await outcome({ bundle: '/guest/', manifest: { ...manifest, f: () => 1 } }),
    };
  }, RECORD_START.toString());
  assert.equal(r.echoed, 'hi');
  assert.deepEqual(r.used, ['worker', 'fetch /guest/threads/test_guest_bg.wasm', 'fetch /guest/threads/test_guest.js']);
  assert.equal(r.notAManifest, 'INIT_FAILED: the manifest option is not a wasmbridge manifest: expected wasm, glue and functions fields');
  assert.equal(r.notAnObject, "BAD_ARGUMENT: pool option manifest must be the bundle's manifest (an object) or false, got a string");
  assert.match(r.notData, /^BAD_ARGUMENT: pool option manifest must be plain data such as the parsed manifest\.json, got an object that cannot be copied/);
});

for (const [dir, pattern] of [
  ['stale-name', /test_guest_bg\.0123456789\.wasm failed: 404 Not Found: is the manifest \(http:\/\/[^)]*\/stale-name\/manifest\.js\) from another build than the bundle's files\?$/],
  ['stale-hash', /test_guest_bg\.wasm with the manifest's integrity sha256-A+=: .*: is the manifest \(http:\/\/[^)]*\/stale-hash\/manifest\.js\) from another build than the bundle's files\?$/],
]) {
  test(`an inlined manifest from another build rejects with INIT_FAILED saying so: ${dir}`, async () => {
    const r = await inPage(async (d) => {
      const { createPool } = await import(`/${d}/wasmbridge.js`);
      return createPool({ size: 1 }).then(() => ({ code: 'resolved' }), (e) => ({ code: e.code, message: e.message }));
    }, dir, /status of 404|integrity/);
    assert.equal(r.code, 'INIT_FAILED', JSON.stringify(r));
    assert.match(r.message, pattern);
  });
}

test('QUEUE_FULL past maxQueue', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, window: 1, maxQueue: 2 });
    const calls = Array.from({ length: 5 }, () => pool.call('busy', 20).then(() => 'ok', (e) => e.code));
    const out = await Promise.all(calls);
    pool.close();
    return out;
  });
  assert.deepEqual(r, ['ok', 'ok', 'ok', 'QUEUE_FULL', 'QUEUE_FULL']);
});

test('batch returns results in order with per-call errors, in one message per worker', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2, window: 10_000 });
    const calls = Array.from({ length: 1000 }, (_, i) => (i % 100 === 7 ? ['fail', 'e', `call ${i}`] : ['add', i, i]));
    calls.push(['nope']);
    const results = await pool.batch(calls);
    pool.close();
    return {
      n: results.length,
      okRight: results.every((x, i) => (i % 100 === 7 || i === 1000 ? !x.ok : x.ok && x.value === 2 * i)),
      err: results[7].ok ? null : { code: results[7].error.code, message: results[7].error.message },
      last: results[1000].error.code,
    };
  });
  assert.equal(r.n, 1001);
  assert.ok(r.okRight);
  assert.deepEqual(r.err, { code: 'E', message: 'call 7' });
  assert.equal(r.last, 'UNKNOWN_FUNCTION');
});

test('progress reaches onProgress, in order, ending at 1', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const seen = [];
    const value = await pool.call({ fn: 'withProgress', args: [10, 20], onProgress: (f) => seen.push(f) });
    pool.close();
    return { value, seen };
  });
  assert.equal(r.value, 10);
  assert.ok(r.seen.length >= 5, `saw ${r.seen.length} updates`);
  assert.deepEqual(r.seen, [...r.seen].sort((a, b) => a - b));
  assert.equal(r.seen.at(-1), 1);
});

test('a pinned handle keeps state on one worker and reports WORKER_LOST when it dies', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const pin = await pool.pin();
    const counts = [];
    for (let i = 0; i < 5; i++) counts.push(await pin.call('count', 1));
    const panicked = await pin.call('panicWith', 'reset').catch((e) => e.code);
    const afterPanic = await pin.call('count', 1);
    const lost = await pin.call({ fn: 'loopForever', timeout: 100 }).catch((e) => e.code);
    await new Promise((res) => setTimeout(res, 300));
    const later = await pin.call('count', 1).catch((e) => e.code);
    const poolStill = await pool.call('add', 1, 2);
    pool.close();
    return { counts, panicked, afterPanic, lost, later, isLost: pin.lost, poolStill };
  });
  assert.deepEqual(r.counts, [1, 2, 3, 4, 5]);
  assert.equal(r.panicked, 'PANIC');
  assert.equal(r.afterPanic, 1);
  assert.equal(r.lost, 'TIMEOUT');
  assert.equal(r.later, 'WORKER_LOST');
  assert.equal(r.isLost, true);
  assert.equal(r.poolStill, 3);
});

test('the circuit opens after repeated panics and closes after the cool-down', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, breakerThreshold: 3, breakerCooldown: 300 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await pool.call('panicWith', 'again').catch((e) => e.code));
    const other = await pool.call('add', 1, 1);
    const stats = pool.stats().functions.panicWith;
    await new Promise((res) => setTimeout(res, 350));
    const trial = await pool.call('panicWith', 'trial').catch((e) => e.code);
    const reopened = await pool.call('panicWith', 'x').catch((e) => e.code);
    pool.close();
    return { codes, other, circuit: stats.circuit, errors: stats.errors, trial, reopened };
  });
  assert.deepEqual(r.codes, ['PANIC', 'PANIC', 'PANIC', 'CIRCUIT_OPEN']);
  assert.equal(r.other, 2, 'other functions are not affected');
  assert.equal(r.circuit, 'open');
  assert.deepEqual(r.errors, { PANIC: 3, CIRCUIT_OPEN: 1 });
  assert.equal(r.trial, 'PANIC');
  assert.equal(r.reopened, 'CIRCUIT_OPEN');
});

test('a guest growing past memoryLimit fails with MEMORY_LIMIT and its instance is recycled', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1, memoryLimit: 64 << 20 });
    const first = await pool.call('hoard', 16);
    const e = await pool.call('hoard', 64).catch((err) => ({ code: err.code, message: err.message }));
    const after = await pool.call('hoard', 1);
    pool.close();
    return { first, e, after };
  });
  assert.equal(r.first, 16);
  assert.equal(r.e.code, 'MEMORY_LIMIT');
  assert.match(r.e.message, /over the limit of 67108864/);
  assert.equal(r.after, 1, 'the recycled instance starts empty');
});

test('stats report per-function counts, errors and latency percentiles', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => pool.call('add', i, i)));
    await pool.call('fail', 'nope', 'x').catch(() => {});
    await pool.call('nothing').catch(() => {});
    const s = pool.stats();
    pool.close();
    return s;
  });
  assert.equal(r.functions.add.count, 100);
  assert.ok(r.functions.add.p50 > 0 && r.functions.add.p99 >= r.functions.add.p50);
  assert.deepEqual(r.functions.fail.errors, { NOPE: 1 });
  assert.equal(r.functions.nothing, undefined, 'unknown names are rejected before they count');
  assert.equal(r.workers.length, 2);
  assert.equal(r.inFlight, 0);
});

test('the first workers start before the module is compiled and get their init once the page has checked the glue; a later worker checks it itself', async () => {
  const r = await inPage(async () => {
    const events = [];
    const Original = globalThis.Worker;
    globalThis.Worker = class extends Original {
      constructor(...a) { super(...a); events.push('worker'); }
      postMessage(msg, transfer) {
        if (msg?.kind === 'init') events.push(`${msg.module ? 'init+module' : 'init'}${msg.glueIntegrity ? ' checking' : ''}`);
        else if (msg?.kind === 'module') events.push('module');
        return super.postMessage(msg, transfer);
      }
    };
    const compile = WebAssembly.compileStreaming;
    WebAssembly.compileStreaming = (...a) => { events.push('compile'); return compile.apply(WebAssembly, a); };
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const response = await realFetch(input, init);
      if (String(input).endsWith('/test_guest.js')) events.push(init?.integrity ? 'glue checked' : 'glue fetched');
      return response;
    };
    const { createPool } = await import('/guest/wasmbridge.js');
    // Without the inlined manifest the workers get their init once manifest.json is in too.
    // The plain module: a threaded one's workers wait for threads.js too, which may come after the module.
    const fetched = await createPool({ size: 2, manifest: false, threads: false });
    fetched.close();
    const withFetch = events.splice(0);
    const pool = await createPool({ size: 2, threads: false });
    const start = events.splice(0);
    const panic = await pool.call('panicWith', 'boom').catch((e) => e.code);
    await new Promise((res) => setTimeout(res, 300));
    const sum = await pool.call('add', 2, 3);
    pool.close();
    globalThis.Worker = Original;
    WebAssembly.compileStreaming = compile;
    globalThis.fetch = realFetch;
    return { withFetch, start, later: events, panic, sum };
  });
  for (const events of [r.withFetch, r.start]) {
    // The workers start first; whether the module is compiled before the
    // glue is checked or after, each worker gets its init after the check
    // (saying the glue needs none) and the module once, with or after it.
    assert.deepEqual(events.slice(0, 2), ['worker', 'worker'], JSON.stringify(events));
    assert.deepEqual(events.filter((e) => e === 'compile' || e === 'glue checked').sort(), ['compile', 'glue checked'], JSON.stringify(events));
    const sent = events.filter((e) => e.startsWith('init') || e === 'module');
    assert.ok(['init,init,module,module', 'init+module,init+module'].includes(sent.join()), JSON.stringify(events));
    assert.ok(events.indexOf('glue checked') < events.findIndex((e) => e.startsWith('init')), JSON.stringify(events));
  }
  assert.equal(r.panic, 'PANIC');
  assert.deepEqual(r.later, ['worker', 'init+module checking'], 'the worker replacing the trapped one');
  assert.equal(r.sum, 5);
});

test('a worker given the glue with its integrity checks it before importing it, and reports a mismatch', async () => {
  const r = await inPage(async () => {
    const { initMessage } = await import('/guest/protocol.js');
    const manifest = await (await fetch('/guest/manifest.json')).json();
    const module = await WebAssembly.compileStreaming(fetch(`/guest/${manifest.wasm}`));
    const start = (dir) => new Promise((resolve) => {
      const worker = new Worker(`/${dir}/worker.js`, { type: 'module' });
      worker.onmessage = ({ data }) => {
        if (data.kind === 'alive') return;
        worker.terminate();
        resolve(data.kind === 'ready' ? 'ready' : `${data.kind}: ${data.error?.message}`);
      };
      worker.postMessage(initMessage({
        module, glue: new URL(`/${dir}/${manifest.glue}`, location.href).href, glueIntegrity: manifest.files[manifest.glue].integrity,
        functions: ['add'], control: null, lock: null, memoryLimit: 0,
      }));
    });
    return { same: await start('guest'), tampered: await start('tampered') };
  }, undefined, /integrity/);
  assert.equal(r.same, 'ready');
  assert.match(r.tampered, /^init-failed: the guest failed to start: Error: http:\/\/[^ ]+\/tampered\/test_guest\.js does not match its integrity hash sha256-\S+ \(.*\)$/);
});

/** Page code: a Worker class whose second instance gets its init and module messages only when `release()` is called. */
const HOLD_SECOND = () => {
  const held = [];
  let count = 0;
  const Original = globalThis.Worker;
  globalThis.Worker = class extends Original {
    constructor(...a) { super(...a); this.nth = count++; }
    postMessage(msg, transfer) {
      if (this.nth === 1 && held.release === undefined && (msg?.kind === 'init' || msg?.kind === 'module')) held.push(() => super.postMessage(msg, transfer));
      else super.postMessage(msg, transfer);
    }
  };
  return {
    release: () => { held.release = true; for (const send of held.splice(0)) send(); },
    restore: () => { globalThis.Worker = Original; },
  };
};

test("readyOn: 'first' resolves with one worker ready and the other joins; the default waits for every worker", async () => {
  const r = await inPage(async (holdSecond) => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const states = (pool) => pool.stats().workers.map((w) => w.state).sort();
    const untilReady = async (pool) => { while (states(pool).some((s) => s !== 'ready')) await new Promise((res) => setTimeout(res, 10)); };

    let hold = (0, eval)(`(${holdSecond})`)();
    const first = await createPool({ size: 2, readyOn: 'first' });
    const atFirst = states(first);
    const sums = await Promise.all([first.call('add', 1, 2), first.call('add', 3, 4)]);
    hold.release();
    await untilReady(first);
    const joined = states(first);
    first.close();
    hold.restore();

    hold = (0, eval)(`(${holdSecond})`)();
    const all = createPool({ size: 2 });
    const early = await Promise.race([all.then(() => 'resolved'), new Promise((res) => setTimeout(() => res('waiting'), 500))]);
    hold.release();
    const pool = await all;
    const atAll = states(pool);
    pool.close();
    hold.restore();
    const bad = await createPool({ size: 1, readyOn: 'one' }).catch((e) => `${e.code}: ${e.message}`);
    return { atFirst, sums, joined, early, atAll, bad };
  }, HOLD_SECOND.toString());
  assert.deepEqual(r.atFirst, ['ready', 'starting']);
  assert.deepEqual(r.sums, [3, 7]);
  assert.deepEqual(r.joined, ['ready', 'ready']);
  assert.equal(r.early, 'waiting', 'the default readyOn waits for the held worker');
  assert.deepEqual(r.atAll, ['ready', 'ready']);
  assert.equal(r.bad, "BAD_ARGUMENT: pool option readyOn must be 'all' or 'first', got a string");
});

test('the pool loads only the runtime modules it uses: the lane on an isolated page, audio when asked', async () => {
  const loaded = async (url) => {
    const { page, errors, close } = await openPage(browser, url);
    try {
      const r = await page.evaluate(async () => {
        const names = () => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.startsWith('/guest/')).map((p) => p.slice(7)).sort();
        const { createPool, startAudio } = await import('/guest/wasmbridge.js');
        const pool = await createPool({ size: 1 });
        const sum = await pool.call('add', 1, 2);
        const atFirstCall = names();
        // audio.js itself rejects the mode, so it was loaded by this call.
        const audio = await startAudio(pool, { sequence: null, mode: 'none' }).then(() => 'started', (e) => e.code);
        const afterAudio = names();
        pool.close();
        return { sum, atFirstCall, afterAudio, audio };
      });
      assert.deepEqual(errors, []);
      return r;
    } finally {
      await close();
    }
  };
  const plain = await startServer(site, { isolated: false });
  try {
    // The page's and its workers' requests alike: the linked entry (which holds
    // the pool, its helpers and the manifest) and the worker script.
    const runtime = ['wasmbridge.js', 'worker.js'];
    const isolated = await loaded(server.url);
    const notIsolated = await loaded(plain.url);
    for (const r of [isolated, notIsolated]) {
      assert.equal(r.sum, 3);
      assert.equal(r.audio, 'BAD_ARGUMENT');
      assert.ok(!r.atFirstCall.includes('audio.js') && r.afterAudio.includes('audio.js'), 'startAudio imports audio.js');
    }
    // The guest's own files (the glue the page prefetches, the threaded module's included) are not the runtime's.
    const modules = (names) => [...new Set(names)].filter((n) => n.endsWith('.js') || n.endsWith('.json')).filter((n) => !n.replace(/^threads\//, '').startsWith('test_guest'));
    // The test guest's bundle has a threaded module (built with --threads): only the isolated page runs it.
    // threads.js imports protocol.js: it also runs in workers, so it is not linked.
    assert.deepEqual(modules(isolated.atFirstCall), [...runtime, 'lane.js', 'lane-codec.js', 'threads.js', 'protocol.js'].sort());
    assert.deepEqual(modules(notIsolated.atFirstCall), [...runtime].sort());
  } finally {
    await plain.close();
  }
});

test('without cross-origin isolation the pool still works and stops abandoned calls by replacing the worker', async () => {
  const plain = await startServer(site, { isolated: false });
  const { page, errors, close } = await openPage(browser, plain.url);
  try {
    const r = await page.evaluate(async () => {
      const { createPool } = await import('/guest/wasmbridge.js');
      const pool = await createPool({ size: 2 });
      const sum = await pool.call('add', 40, 2);
      const ac = new AbortController();
      const spin = pool.call({ fn: 'spinUntilCancelled', signal: ac.signal }).catch((e) => e.code);
      setTimeout(() => ac.abort(), 50);
      const code = await spin;
      await new Promise((res) => setTimeout(res, 300));
      const after = await Promise.all([pool.call('add', 1, 1), pool.call('add', 2, 2)]);
      // A burst for busy workers goes packed; without a control block its results come back one by one.
      const burst = await Promise.all(Array.from({ length: 300 }, (_, i) => pool.call('add', i, 0.5)));
      const s = pool.stats();
      pool.close();
      return { isolated: crossOriginIsolated, poolIsolated: s.isolated, sum, code, after, burst, restarts: s.workers.reduce((a, w) => a + w.restarts, 0), live: s.workers.length };
    });
    assert.deepEqual(errors, []);
    assert.equal(r.isolated, false);
    assert.equal(r.poolIsolated, false);
    assert.equal(r.sum, 42);
    assert.deepEqual(r.burst, Array.from({ length: 300 }, (_, i) => i + 0.5));
    assert.equal(r.code, 'CANCELLED');
    assert.deepEqual(r.after, [2, 4]);
    assert.equal(r.restarts, 1, 'without a shared flag the guest cannot see cancelled(), so its worker was replaced');
    assert.equal(r.live, 2);
  } finally {
    await close();
    await plain.close();
  }
});

test("the README's Content-Security-Policy allows the pool, and it fails clearly without 'wasm-unsafe-eval'", async () => {
  const run = async (file) => {
    const { page, errors, close } = await openPage(browser, `${server.url}${file}`);
    try {
      const r = await page.evaluate(async () => {
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        const { createPool } = await import('/guest/wasmbridge.js');
        try {
          const pool = await createPool({ size: 1 });
          const v = await pool.call('add', 20, 22);
          pool.close();
          return { v, violations };
        } catch (e) {
          return { code: e.code, message: e.message, violations };
        }
      });
      return { ...r, errors };
    } finally {
      await close();
    }
  };
  const allowed = await run('csp.html');
  assert.equal(allowed.v, 42);
  assert.deepEqual(allowed.violations, []);
  assert.deepEqual(allowed.errors, []);
  const strict = await run('csp-no-wasm.html');
  assert.equal(strict.code, 'INIT_FAILED');
  assert.match(strict.message, /not a valid WebAssembly module|wasm|WebAssembly/i);
});

test('a result that cannot be sent to the page rejects with BAD_RESULT and the worker goes on', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const e = await pool.call('unsendable').catch((err) => ({ code: err.code, message: err.message }));
    const after = await pool.call('add', 1, 2);
    pool.close();
    return { e, after };
  });
  assert.equal(r.e.code, 'BAD_RESULT');
  assert.match(r.e.message, /cannot be sent to the page/);
  assert.equal(r.after, 3);
});

test('a pool with minSize < maxSize grows while every worker is busy and shrinks when idle', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ minSize: 1, maxSize: 3, idleTimeout: 300, window: 1 });
    const start = pool.stats().workers.length;
    let most = 0;
    const watch = setInterval(() => { most = Math.max(most, pool.stats().workers.filter((w) => w.state === 'ready').length); }, 20);
    const values = await Promise.all(Array.from({ length: 9 }, (_, i) => pool.call('busy', 150).then(() => i)));
    clearInterval(watch);
    await new Promise((res) => setTimeout(res, 1200));
    const end = pool.stats().workers.length;
    pool.close();
    return { start, most, end, values };
  });
  assert.equal(r.start, 1);
  assert.equal(r.most, 3, 'grew to maxSize');
  assert.equal(r.end, 1, 'shrank back to minSize');
  assert.deepEqual(r.values, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a worker above minSize is stopped only once it has been idle for idleTimeout in one stretch', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ minSize: 1, maxSize: 2, idleTimeout: 400, window: 1 });
    const ready = () => pool.stats().workers.filter((w) => w.state === 'ready').length;
    const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
    await Promise.all([pool.call('busy', 100), pool.call('busy', 100)]);
    const grown = ready();
    // Both workers get a call every 150 ms for 1.5 s: each is idle for less than 400 ms at a time.
    const used = [];
    for (let i = 0; i < 10; i++) {
      await Promise.all([pool.call('busy', 20), pool.call('busy', 20)]);
      used.push(ready());
      await sleep(130);
    }
    await sleep(1000);
    const end = ready();
    pool.close();
    return { grown, used, end };
  });
  assert.equal(r.grown, 2);
  assert.deepEqual(r.used, Array(10).fill(2), 'no worker in use was stopped');
  assert.equal(r.end, 1, 'the idle one was stopped');
});
