// Shared-memory features in real Chromium, against bundles built by
// `wasmbridge build` (test-guest and demo-guest) and served by `wasmbridge
// serve`: the ring from a Rust guest in a worker to the page, the fast call
// lane (and its fallback on a page that is not cross-origin isolated), and
// shared regions (an image filter split across workers into one shared
// output). Timings are printed, never asserted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, runInPage, isolatedAndPlain } from './harness.mjs';

let server;
let plain;
let browser;

let fixture;

before(async () => {
  fixture = await isolatedAndPlain('shared', { demo: bundle('demo-guest'), guest: bundle('test-guest') });
  ({ server, plain, browser } = fixture);
});

after(async () => {
  await fixture?.close();
});

const inPage = (fn, arg, at = server) => runInPage(browser, at.url, fn, arg);

test('a Rust guest in a worker streams 10^7 f32 through a ring to the page: nothing lost, equal checksum', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const { RingBuffer } = await import('/guest/ring.js');
    const pool = await createPool({ size: 1 });
    const yieldToEvents = () => new Promise((resolve) => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(); c.port2.postMessage(0); });

    /** Consumes `count` samples; checks every one when `check`. */
    async function run(count, check) {
      const ring = RingBuffer.create(1 << 20, { kind: 'f32' });
      const dst = new Float32Array(1 << 16);
      const bits = new Uint32Array(dst.buffer);
      let got = 0;
      let hash = 0;
      let firstWrong = -1;
      let waits = 0;
      const t0 = performance.now();
      const producer = check ? pool.call('ringProduce', ring.buffer, count, 1 << 16) : pool.call('ringFlood', ring.buffer, count, 1 << 18);
      let failed = null;
      producer.catch((e) => { failed = e; });
      let slice = performance.now();
      while (got < count && !failed) {
        const n = ring.pop(dst, Math.min(dst.length, ring.available));
        if (n === 0) {
          waits += 1;
          await yieldToEvents();
          continue;
        }
        if (check) {
          for (let i = 0; i < n; i++) {
            if (firstWrong < 0 && dst[i] !== (got + i) % 16777216) firstWrong = got + i;
            hash = (Math.imul(hash, 31) + bits[i]) >>> 0;
          }
        }
        got += n;
        if (performance.now() - slice > 20) { await yieldToEvents(); slice = performance.now(); }
      }
      const ms = performance.now() - t0;
      const producerResult = await producer;
      return { got, hash, producerResult, firstWrong, ms, waits, overruns: ring.overruns, overrunItems: ring.overrunItems, left: ring.available };
    }

    const checked = await run(1e7, true);
    const fast = await run(1e8, false);
    pool.close();
    return { checked, fast };
  });
  const { checked, fast } = r;
  assert.equal(checked.got, 1e7);
  assert.equal(checked.firstWrong, -1, `sample ${checked.firstWrong} was not the one produced there`);
  assert.equal(checked.hash, checked.producerResult, 'the page computed the producer\'s checksum');
  assert.equal(checked.overruns, 0);
  assert.equal(checked.left, 0);
  assert.equal(fast.got, 1e8);
  assert.equal(fast.overruns, 0);
  const gbps = (x) => ((x.got * 4) / (x.ms / 1000) / 1e9).toFixed(2);
  console.log(`# ring worker→page: 10^7 f32 checked in ${checked.ms.toFixed(0)} ms (${gbps(checked)} GB/s incl. per-sample check); `
    + `transport alone (constant chunks, no per-sample work): 10^8 f32 in ${fast.ms.toFixed(0)} ms = ${gbps(fast)} GB/s (page found the ring empty ${fast.waits} times)`);
});

test('fast lane: 100 000 concurrent calls all correct, and its round trip against postMessage', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const n = 100_000;
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: n }, (_, i) => pool.fastCall('add', i, 0.5)));
    const allMs = performance.now() - t0;
    let wrong = 0;
    for (let i = 0; i < n; i++) if (results[i] !== i + 0.5) wrong += 1;
    // Sequential round trips: median of each, the same number of calls, interleaved in rounds.
    const lane = [];
    const post = [];
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 300; i++) { const t = performance.now(); await pool.fastCall('add', i, 1); lane.push(performance.now() - t); }
      for (let i = 0; i < 300; i++) { const t = performance.now(); await pool.call('add', i, 1); post.push(performance.now() - t); }
    }
    const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(p * (s.length - 1))]; };
    const stats = pool.stats();
    pool.close();
    return {
      wrong, allMs, lane50: pct(lane, 0.5), lane90: pct(lane, 0.9), post50: pct(post, 0.5), post90: pct(post, 0.9),
      addCount: stats.functions.add.count, exchanges: stats.lane.exchanges, wakes: stats.lane.wakes,
    };
  });
  assert.equal(r.wrong, 0);
  assert.equal(r.addCount, 100_000 + 6000, 'every lane call is counted in the pool stats');
  console.log(`# fast lane: 100 000 concurrent add calls in ${r.allMs.toFixed(0)} ms (${(100_000 / r.allMs * 1000).toFixed(0)} calls/s); `
    + `sequential round trip median ${(r.lane50 * 1000).toFixed(1)} µs (p90 ${(r.lane90 * 1000).toFixed(1)}) vs postMessage ${(r.post50 * 1000).toFixed(1)} µs (p90 ${(r.post90 * 1000).toFixed(1)}); `
    + `${r.wakes} of ${r.exchanges} lane exchanges had to wake the worker`);
});

test('fast lane: typed errors, results too big for the lane, fallbacks, timeouts and panics', async () => {
  const r = await inPage(async () => {
    const { createPool, WasmBridgeError } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const fail = async (p) => {
      try { await p; return 'resolved'; } catch (e) { return { isError: e instanceof WasmBridgeError, code: e.code, message: e.message, fn: e.functionName, data: e.data }; }
    };
    const long = 'é'.repeat(300);
    const out = {
      echoNumber: await pool.fastCall('echo', -1.5e300),
      echoString: await pool.fastCall('echo', 'héllo ✓'),
      echoNull: await pool.fastCall('echo', null),
      echoBool: await pool.fastCall('echo', true),
      // Does not fit the request: takes the normal path.
      echoLong: (await pool.fastCall('echo', long)) === long,
      // Fits the request, the result is a Uint8Array: posted back by the lane worker.
      bytes: Array.from(await pool.fastCall('bytes', 5)),
      sumBytes: await pool.fastCall('sumBytes', new Uint8Array([1, 2, 3])),
      guestError: await fail(pool.fastCall('fail', 'OUT_OF_RANGE', 'too far')),
      unknown: await fail(pool.fastCall('nope', 1)),
      badArg: await fail(pool.fastCall('add', 1, 'x')),
      panic: await fail(pool.fastCall('panicWith', 'lane boom')),
      afterPanic: await pool.fastCall('add', 2, 3),
      timeout: await fail(pool.fastCall({ fn: 'loopForever', args: [], timeout: 150 })),
      afterTimeout: await pool.fastCall('add', 4, 5),
    };
    const ac = new AbortController();
    const spinning = pool.fastCall({ fn: 'spinUntilCancelled', args: [], signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    out.cancelled = await fail(spinning);
    // A call takes its arguments when it is made: changing the array before
    // the lane sends it (as a longer string that would not fit) changes nothing.
    const mutable = ['short'];
    const mutated = pool.fastCall({ fn: 'echo', args: mutable });
    mutable[0] = 'é'.repeat(200);
    out.mutated = await mutated;
    out.afterCancel = await pool.fastCall('add', 6, 7);
    // Many at once, mixed with failures: each settles with its own outcome.
    const mixed = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? pool.fastCall('fail', 'E' + i, 'm' + i) : pool.fastCall('add', i, i))));
    out.mixedOk = mixed.every((m, i) => (i % 10 === 0 ? m.status === 'rejected' && m.reason.code === 'E' + i && m.reason.message === 'm' + i : m.value === 2 * i));
    out.stats = pool.stats().functions;
    out.normalStillWorks = await pool.call('add', 1, 1);
    pool.close();
    out.closed = await fail(pool.fastCall('add', 1, 1));
    return out;
  });
  assert.equal(r.echoNumber, -1.5e300);
  assert.equal(r.echoString, 'héllo ✓');
  assert.equal(r.echoNull, null);
  assert.equal(r.echoBool, true);
  assert.equal(r.echoLong, true);
  assert.deepEqual(r.bytes, [0, 1, 2, 3, 4]);
  assert.equal(r.sumBytes, 6);
  assert.deepEqual(r.guestError, { isError: true, code: 'OUT_OF_RANGE', message: 'too far', fn: 'fail', data: { requested: 'OUT_OF_RANGE' } });
  assert.equal(r.unknown.code, 'UNKNOWN_FUNCTION');
  assert.equal(r.badArg.code, 'BAD_ARGUMENT');
  assert.equal(r.panic.code, 'PANIC');
  assert.match(r.panic.message, /lane boom/);
  assert.equal(r.afterPanic, 5);
  assert.equal(r.timeout.code, 'TIMEOUT');
  assert.equal(r.afterTimeout, 9);
  assert.equal(r.cancelled.code, 'CANCELLED');
  assert.equal(r.afterCancel, 13);
  assert.equal(r.mutated, 'short');
  assert.equal(r.mixedOk, true);
  assert.equal(r.normalStillWorks, 2);
  assert.equal(r.closed.code, 'POOL_CLOSED');
  assert.equal(r.stats.panicWith.errors.PANIC, 1);
});

test('a guest that returns a promise: its result is awaited in order, in the lane (mid-exchange) and in a pool worker (mid-batch)', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    await pool.fastCall('add', 0, 0);
    const exchangesBefore = pool.stats().lane.exchanges;
    // Made in one tick: the lane sends them in one exchange, and the worker
    // awaits the promise between the second and the third call.
    const lane = await Promise.all([pool.fastCall('add', 1, 2), pool.fastCall('promiseOf', 4), pool.fastCall('add', 5, 6), pool.fastCall('promiseOf', 10)]);
    const exchanges = pool.stats().lane.exchanges - exchangesBefore;
    const again = await pool.fastCall('promiseOf', 21);
    pool.close();
    // A pool worker (no lane): a busy call first, so the rest leave packed behind it.
    const plain = await createPool({ size: 1, lane: false });
    const batch = await Promise.all([plain.call('busy', 20), ...Array.from({ length: 6 }, (_, i) => (i % 2 ? plain.call('promiseOf', i) : plain.call('add', i, 1)))]);
    plain.close();
    return { lane, exchanges, again, batch };
  });
  assert.deepEqual(r.lane, [3, 8, 11, 20]);
  assert.equal(r.exchanges, 1, 'the four calls went in one exchange');
  assert.equal(r.again, 42);
  assert.deepEqual(r.batch, [20, 1, 2, 3, 6, 5, 10]);
});

test('fast lane: the worker sleeps after a quiet period and says so; calls wake it, many at once, and racing it falling asleep', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    const lane = () => pool.stats().lane;
    /** Polls until the lane worker publishes SLEEPING; false if it never does within 5 s. */
    const untilAsleep = async () => {
      for (let i = 0; i < 500; i++) {
        if (lane().workerSleeping) return true;
        await new Promise((res) => setTimeout(res, 10));
      }
      return false;
    };
    // A timeout turns a call nobody wakes the worker for into a TIMEOUT instead of a hang.
    const add = (a, b) => pool.fastCall({ fn: 'add', args: [a, b], timeout: 10_000 });
    const out = { first: await add(1, 2) };
    out.asleep = await untilAsleep();
    const wakesBefore = lane().wakes;
    out.afterSleep = await add(2, 3);
    out.woken = lane().wakes - wakesBefore;
    // Many calls right after a wake-up.
    out.asleepAgain = await untilAsleep();
    const many = await Promise.all(Array.from({ length: 20_000 }, (_, i) => add(i, 0.25)));
    out.manyWrong = many.filter((v, i) => v !== i + 0.25).length;
    // Calls spaced from nothing to a few milliseconds apart, so that some
    // arrive while the worker spins, some while it goes to sleep, some while it sleeps.
    let raceWrong = 0;
    const before = lane();
    for (let i = 0; i < 400; i++) {
      if (i % 8 === 7) await new Promise((res) => setTimeout(res, i % 3));
      else { const until = performance.now() + (i % 8) * 0.01; while (performance.now() < until) { /* let the worker's spin run out */ } }
      if ((await add(i, 1)) !== i + 1) raceWrong += 1;
    }
    const after = lane();
    out.raceWrong = raceWrong;
    out.raceExchanges = after.exchanges - before.exchanges;
    out.raceWakes = after.wakes - before.wakes;
    out.raceSleeps = after.workerSleeps - before.workerSleeps;
    out.errors = pool.stats().functions.add.errors;
    pool.close();
    return out;
  });
  assert.equal(r.first, 3);
  assert.equal(r.asleep, true, 'the idle lane worker published SLEEPING');
  assert.equal(r.afterSleep, 5);
  assert.equal(r.woken, 1, 'the call to a sleeping worker notified it, once');
  assert.equal(r.asleepAgain, true);
  assert.equal(r.manyWrong, 0);
  assert.equal(r.raceWrong, 0);
  assert.deepEqual(r.errors, {});
  assert.equal(r.raceExchanges, 400);
  assert.ok(r.raceWakes > 0, 'calls after a pause of milliseconds found the worker asleep');
  assert.ok(r.raceWakes <= r.raceSleeps + 1, `the page notified only a worker that slept (${r.raceWakes} wakes, ${r.raceSleeps} sleeps)`);
  console.log(`# fast lane wake-ups: of 400 spaced calls ${r.raceWakes} woke the worker (${r.raceSleeps} sleeps)`);
});

test('fast lane: a lane worker killed mid-call fails that call with WORKER_LOST, reruns the calls behind it, and is replaced', async () => {
  const r = await inPage(async () => {
    // Reach the lane's Worker the way an outside actor (a crash, the browser) would end it.
    const lanes = [];
    const Original = globalThis.Worker;
    globalThis.Worker = class extends Original {
      constructor(url, options) { super(url, options); if (options?.name?.split(' ')[0] === 'wasmbridge-lane') lanes.push(this); }
    };
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 1 });
    await pool.fastCall('add', 0, 0);
    const slow = pool.fastCall('busy', 3000).then(() => 'resolved', (e) => e.code);
    const behind = Array.from({ length: 5 }, (_, i) => pool.fastCall('add', i, 10));
    await new Promise((res) => setTimeout(res, 200));
    const running = pool.stats().lane.inFlight;
    lanes[0].terminate();
    const code = await slow;
    const values = await Promise.all(behind);
    const after = await pool.fastCall('add', 20, 22);
    const s = pool.stats().lane;
    pool.close();
    return { code, values, after, running, lanes: lanes.length, restarts: s.restarts, state: s.state };
  });
  assert.equal(r.running, 6, 'busy and the five calls behind it went as one exchange');
  assert.equal(r.code, 'WORKER_LOST');
  assert.deepEqual(r.values, [10, 11, 12, 13, 14]);
  assert.equal(r.after, 42);
  assert.equal(r.lanes, 2, 'a new lane worker took its place');
  assert.equal(r.restarts, 1);
  assert.equal(r.state, 'ready');
});

test('fast lane falls back to postMessage on a page that is not cross-origin isolated', async () => {
  const r = await inPage(async () => {
    const { createPool, WasmBridgeError } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => pool.fastCall('add', i, 1)));
    let err = null;
    try { await pool.fastCall('fail', 'NOPE', 'no'); } catch (e) { err = { isError: e instanceof WasmBridgeError, code: e.code }; }
    let shared = null;
    try { pool.shared(16); } catch (e) { shared = { isError: e instanceof WasmBridgeError, code: e.code }; }
    const out = { isolated: crossOriginIsolated, poolIsolated: pool.isolated, allRight: results.every((v, i) => v === i + 1), err, shared };
    pool.close();
    return out;
  }, null, plain);
  assert.equal(r.isolated, false);
  assert.equal(r.poolIsolated, false);
  assert.equal(r.allRight, true);
  assert.deepEqual(r.err, { isError: true, code: 'NOPE' });
  assert.deepEqual(r.shared, { isError: true, code: 'NOT_ISOLATED' });
});

/**
 * Page code: `viaLane(pool, warm, make)` runs the call `make()` returns as the
 * one automatic routing sends to a sleeping lane to wake it, and says whether
 * it took the lane. `warm()` calls the same function harmlessly: nine calls
 * measure it (the pool samples one call in eight, the first one cold). Then it
 * waits for the lane to start and fall asleep, and makes `add` calls until the
 * next eligible call is the wake-up one (`stats().lane.wakeIn` 1). A sample
 * slower than the 1 ms that makes a function fast (on a loaded machine) makes
 * it try again, up to five times.
 */
const VIA_LANE = () => async (pool, warm, make) => {
  const lane = () => pool.stats().lane;
  const pause = () => new Promise((res) => setTimeout(res, 5));
  const describe = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, name: e.name, code: e.code, message: e.message, functionName: e.functionName, data: e.data ?? null }));
  let last = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    for (let i = 0; i < 9; i++) await warm().catch(() => {});
    for (let i = 0; i < 5000; i++) {
      const s = lane();
      if (s && s.state === 'ready' && s.workerSleeping && s.wakeIn === 1) break;
      if (s && s.state === 'ready' && !s.workerSleeping) await pause();
      else await pool.call('add', i, 0);
    }
    const before = lane();
    const outcome = describe(make());
    await new Promise((res) => setTimeout(res, 0));
    const tookLane = lane().calls - before.calls === 1 && before.wakeIn === 1 && before.workerSleeping;
    last = { tookLane, outcome: await outcome, attempts: attempt + 1 };
    if (tookLane) break;
  }
  return last;
};

test('automatic lane: small calls of fast functions take the lane by themselves and give what postMessage gives; lane: false sends none', async () => {
  const r = await inPage(async (viaLaneSource) => {
    const viaLane = (0, eval)(`(${viaLaneSource})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    const calls = {
      add: (pool) => pool.call('add', 40, 2.5),
      fail: (pool) => pool.call('fail', 'E_LANE', 'a message'),
      echo: (pool) => pool.call('echo', 'héllo ✓'),
    };
    const auto = await createPool({ size: 2 });
    const off = await createPool({ size: 2, lane: false });
    const out = { lane: {}, post: {} };
    for (const [name, make] of Object.entries(calls)) {
      out.lane[name] = await viaLane(auto, () => make(auto), () => make(auto));
      out.post[name] = (await make(off).then((v) => ({ ok: true, v }), (e) => ({ ok: false, name: e.name, code: e.code, message: e.message, functionName: e.functionName, data: e.data ?? null })));
    }
    // A long sequence: the same values either way, and nothing through the lane with lane: false.
    const seq = async (pool) => { const v = []; for (let i = 0; i < 300; i++) v.push(await pool.call('add', i, 0.5)); return v; };
    out.seqAuto = await seq(auto);
    out.seqOff = await seq(off);
    out.autoStats = auto.stats().lane;
    out.offLane = off.stats().lane;
    out.offFast = await off.fastCall('add', 1, 2);
    const single = await createPool({ size: 1 });
    await seq(single);
    out.singleLane = single.stats().lane;
    for (const p of [auto, off, single]) p.close();
    out.bad = await createPool({ size: 2, lane: 'yes' }).catch((e) => `${e.code}: ${e.message}`);
    return out;
  }, VIA_LANE.toString());
  for (const name of Object.keys(r.post)) {
    assert.equal(r.lane[name].tookLane, true, `${name} took the lane: ${JSON.stringify(r.lane[name])}`);
    assert.deepEqual(r.lane[name].outcome, r.post[name], `${name}: the same through the lane as through postMessage`);
  }
  assert.deepEqual(r.post.fail, { ok: false, name: 'WasmBridgeError', code: 'E_LANE', message: 'a message', functionName: 'fail', data: { requested: 'E_LANE' } });
  assert.deepEqual(r.seqAuto, r.seqOff);
  assert.equal(r.autoStats.auto, true);
  assert.equal(r.offLane, null, 'lane: false starts no lane for pool.call');
  assert.equal(r.offFast, 3, 'fastCall still uses the lane');
  assert.equal(r.singleLane, null, 'a pool of one worker keeps every call on it');
  assert.equal(r.bad, 'BAD_ARGUMENT: pool option lane must be true or false, got a string');
});

test('automatic lane: a stuck call that took the lane times out, exactly once, and the next call works', async () => {
  const r = await inPage(async (viaLaneSource) => {
    const viaLane = (0, eval)(`(${viaLaneSource})`)();
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2, cancelGrace: 50 });
    let settled = 0;
    // busy(0) measures busy as fast; the wake-up call is the stuck one.
    const stuck = await viaLane(pool, () => pool.call('busy', 0), () => {
      settled = 0;
      return pool.call({ fn: 'busy', args: [60_000], timeout: 300 }).finally(() => { settled += 1; });
    });
    await new Promise((res) => setTimeout(res, 300));
    const s = pool.stats().lane;
    const next = await pool.call('add', 2, 3);
    const nextFast = await pool.fastCall('add', 4, 5);
    pool.close();
    return { stuck, settled, restarts: s.restarts, next, nextFast };
  }, VIA_LANE.toString());
  assert.equal(r.stuck.tookLane, true);
  assert.equal(r.stuck.outcome.code, 'TIMEOUT');
  assert.equal(r.settled, 1);
  assert.equal(r.restarts, 1, 'the stuck lane worker was replaced');
  assert.equal(r.next, 5);
  assert.equal(r.nextFast, 9);
});

test('automatic lane: a page that is not cross-origin isolated never starts one', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/guest/wasmbridge.js');
    const pool = await createPool({ size: 2 });
    let wrong = 0;
    for (let i = 0; i < 300; i++) if ((await pool.call('add', i, 1)) !== i + 1) wrong += 1;
    const out = { isolated: crossOriginIsolated, wrong, lane: pool.stats().lane };
    pool.close();
    return out;
  }, null, plain);
  assert.equal(r.isolated, false);
  assert.equal(r.wrong, 0);
  assert.equal(r.lane, null);
});

test('shared regions: a blur split by row bands across all workers into one shared output equals the single-worker output byte for byte', async () => {
  const r = await inPage(async () => {
    const { createPool } = await import('/demo/wasmbridge.js');
    const { rowBands } = await import('/demo/shared.js');

    function image(w, h) {
      const data = new Uint8Array(w * h * 4);
      let x = 12345;
      for (let i = 0; i < data.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; data[i] = (x >>> 16) & 255; }
      return data;
    }

    /** Filters `pixels` in `bands` bands on a pool of `size` workers through shared regions. */
    async function split(pool, pixels, w, h, filter, params, parts) {
      const input = pool.shared(pixels.length);
      const output = pool.shared(pixels.length);
      input.bytes.set(pixels);
      const t0 = performance.now();
      const written = await Promise.all(rowBands(h, parts).map(([start, end]) =>
        pool.call('filterBandInto', filter, params, input, w, h, start, end, output)));
      const ms = performance.now() - t0;
      const out = output.bytes.slice();
      input.close();
      output.close();
      return { out, ms, written: written.reduce((a, b) => a + b, 0) };
    }

    const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
    const result = {};
    // Correctness: several filters, 4 workers, uneven bands, a window view. The
    // plain module: splitting one image across workers is its pattern (on the
    // threaded module regions live in one worker's memory and rayon splits).
    {
      const pool = await createPool({ size: 4, threads: false });
      const [w, h] = [193, 157];
      const pixels = image(w, h);
      for (const [filter, params, whole] of [
        ['gaussianBlur', '{"sigma": 2.5}', () => pool.call('gaussianBlur', pixels, w, h, 2.5)],
        ['boxBlur', '{"radius": 7}', () => pool.call('boxBlur', pixels, w, h, 7)],
        ['sharpen', '{"amount": 1.5}', () => pool.call('sharpen', pixels, w, h, 1.5)],
        ['invert', '', () => pool.call('invert', pixels, w, h)],
      ]) {
        const reference = await whole();
        const bands = await split(pool, pixels, w, h, filter, params, 7);
        result[filter] = { equal: equal(bands.out, reference), written: bands.written };
      }
      const workers = pool.stats().workers.filter((s) => s.calls > 0).length;
      result.workersUsed = workers;
      // A `{region, offset, length}` window is a view of just those bytes.
      const region = pool.shared(8);
      region.bytes.set([1, 2, 3, 4, 5, 6, 7, 8]);
      result.windowSum = await pool.call('grayscale', region.view(0, 4), 1, 1, 'rec601').then((px) => Array.from(px));
      region.close();
      try { await pool.call('grayscale', region, 1, 1, 'rec601'); } catch (e) { result.closedRegion = e.code; }
      pool.close();
    }
    // 3840×2160 Gaussian blur: 1 worker vs 2 workers, both through shared regions.
    {
      const [w, h] = [3840, 2160];
      const pixels = image(w, h);
      const params = '{"sigma": 3}';
      const one = await createPool({ size: 1, threads: false });
      await one.call('filterBandInto', 'gaussianBlur', params, new Uint8Array(4), 1, 1, 0, 1, new Uint8Array(4)); // warm up
      const a = await split(one, pixels, w, h, 'gaussianBlur', params, 1);
      const a2 = await split(one, pixels, w, h, 'gaussianBlur', params, 1);
      const reference = await one.call('gaussianBlur', pixels, w, h, 3);
      one.close();
      const two = await createPool({ size: 2, threads: false });
      await Promise.all([0, 1].map(() => two.call('filterBandInto', 'gaussianBlur', params, new Uint8Array(4), 1, 1, 0, 1, new Uint8Array(4))));
      const b = await split(two, pixels, w, h, 'gaussianBlur', params, 2);
      const b2 = await split(two, pixels, w, h, 'gaussianBlur', params, 2);
      two.close();
      result.big = {
        oneEqual: equal(a.out, reference), twoEqual: equal(b.out, reference),
        oneMs: Math.min(a.ms, a2.ms), twoMs: Math.min(b.ms, b2.ms), cores: navigator.hardwareConcurrency,
      };
    }
    return result;
  });
  for (const f of ['gaussianBlur', 'boxBlur', 'sharpen', 'invert']) {
    assert.equal(r[f].equal, true, `${f}: split output differs from the single-worker output`);
    assert.equal(r[f].written, 193 * 157 * 4);
  }
  assert.equal(r.workersUsed, 4, 'the bands ran on every worker');
  assert.equal(r.windowSum.length, 4);
  assert.equal(r.closedRegion, 'BAD_ARGUMENT');
  assert.equal(r.big.oneEqual, true);
  assert.equal(r.big.twoEqual, true);
  console.log(`# shared-region gaussian blur (sigma 3) of 3840×2160: 1 worker ${r.big.oneMs.toFixed(0)} ms, 2 workers ${r.big.twoMs.toFixed(0)} ms `
    + `(speed-up ${(r.big.oneMs / r.big.twoMs).toFixed(2)}× on ${r.big.cores} cores shared with other work)`);
});
