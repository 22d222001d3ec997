// The chaos test: tens of thousands of calls mixing normal calls, panics,
// timeouts, cancels, batches and pinned calls while workers are terminated
// from outside at random. Afterwards every call has settled exactly once with
// an outcome allowed for its kind, every value is right, and nothing leaked:
// no worker, no call, and no memory (Chromium's resident memory ends within
// MEMORY_BOUND of where it stood after the first waves).
//
// Bounded by default (40 waves, the CI tier). WASMBRIDGE_CHAOS_MINUTES=N runs
// waves for N minutes instead, sampling memory as it goes: `cargo xtask chaos
// --minutes N` (xtask/src/chaos.rs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, makeSite, startServer, launchBrowser, openPage } from './harness.mjs';
import { chromiumResidentBytes } from './memory.mjs';

const MIB = 2 ** 20;
/**
 * How far above the first sample the last may end: resident memory moves by
 * tens of MiB as heaps grow and shrink; a leak of one instance per trap (the
 * bug this guards against) costs far more over a run.
 */
const MEMORY_BOUND = 96 * MIB;
const MINUTES = Number(process.env.WASMBRIDGE_CHAOS_MINUTES ?? 0);
if (!(Number.isFinite(MINUTES) && MINUTES >= 0)) {
  throw new Error(`WASMBRIDGE_CHAOS_MINUTES must be a number of minutes ≥ 0, got ${JSON.stringify(process.env.WASMBRIDGE_CHAOS_MINUTES)}`);
}

let server;
let browser;

before(async () => {
  server = await startServer(makeSite('chaos', { guest: bundle('test-guest') }));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('chaos: 20 000+ calls, every one settles once with an allowed outcome, nothing leaks', { timeout: (MINUTES * 60 + 600) * 1000 }, async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await page.exposeFunction('residentBytes', chromiumResidentBytes);
    const r = await page.evaluate(async ({ waves, perWave, seed, minutes, boundMib }) => {
      const live = new Set();
      let spawned = 0;
      const Original = globalThis.Worker;
      globalThis.Worker = class extends Original {
        constructor(...a) { super(...a); spawned += 1; live.add(this); }
        terminate() { live.delete(this); super.terminate(); }
      };
      // Terminated "from outside": bypasses the pool and the bookkeeping above on purpose.
      const killFromOutside = (w) => { live.delete(w); Original.prototype.terminate.call(w); };

      let s = seed >>> 0;
      const rand = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };

      const { createPool } = await import('/guest/wasmbridge.js');
      const SIZE = 3;
      // Without the automatic fast lane: once `add` answers within a millisecond its
      // calls may route through the lane's own worker, a fourth live worker that
      // the count below would take for a leak. The lane has its own fault tests.
      const pool = await createPool({ size: SIZE, window: 32, cancelGrace: 30, breakerThreshold: 1e9, lane: false });
      const allowed = {
        add: ['WORKER_LOST'],
        panic: ['PANIC', 'WORKER_LOST'],
        timeout: ['TIMEOUT', 'WORKER_LOST'],
        cancelSpin: ['CANCELLED', 'WORKER_LOST'],
        cancelAdd: ['CANCELLED', 'WORKER_LOST'],
        batch: ['WORKER_LOST'],
        pinned: ['WORKER_LOST'],
      };
      const outcomes = {};
      const bad = [];
      let issued = 0;
      let settledCount = 0;
      let doubleSettled = 0;
      let kills = 0;

      const track = (kind, promise, expected) => {
        issued += 1;
        let settled = false;
        const done = (ok, valueOrErr) => {
          if (settled) { doubleSettled += 1; return; }
          settled = true;
          settledCount += 1;
          const key = ok ? `${kind}:ok` : `${kind}:${valueOrErr?.code}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (ok) {
            if (expected !== undefined && !Object.is(valueOrErr, expected)) bad.push(`${kind}: got ${valueOrErr}, expected ${expected}`);
            if (expected === undefined && kind !== 'pinned' && kind !== 'cancelAdd') bad.push(`${kind}: resolved with ${valueOrErr}`);
          } else if (!allowed[kind].includes(valueOrErr?.code)) {
            bad.push(`${kind}: ${valueOrErr?.code} ${valueOrErr?.message}`);
          }
        };
        return promise.then((v) => done(true, v), (e) => done(false, e));
      };

      const ready = () => pool.stats().workers.filter((w) => w.state === 'ready').length;
      // Replacements start on their own; a worker killed before it held its
      // lock is only noticed at initTimeout, so allow for that.
      const settle = async () => {
        for (let waited = 0; waited < 12_000 && ready() !== SIZE; waited += 100) await new Promise((res) => setTimeout(res, 100));
        await new Promise((res) => setTimeout(res, 300));
      };
      // The baseline comes once the first waves have grown the heaps to their working size.
      const WARM_UP = 4;
      const samples = [];
      const sample = async (wave) => samples.push({ wave, seconds: Math.round((performance.now() - t0) / 1000), mib: Math.round((await residentBytes()) / 2 ** 20) });
      const t0 = performance.now();
      const endAt = t0 + minutes * 60_000;
      let lastSample = t0;
      let pin = await pool.pin();
      let wave = 0;
      for (; minutes > 0 ? performance.now() < endAt : wave < waves; wave++) {
        const work = [];
        for (let i = 0; i < perWave; i++) {
          const x = rand();
          const a = Math.floor(rand() * 1e6);
          if (x < 0.80) {
            work.push(track('add', pool.call('add', a, 0.5), a + 0.5));
          } else if (x < 0.82) {
            work.push(track('panic', pool.call('panicWith', `chaos ${a}`)));
          } else if (x < 0.825) {
            work.push(track('timeout', pool.call({ fn: 'loopForever', timeout: 20 + Math.floor(rand() * 30) })));
          } else if (x < 0.83) {
            const ac = new AbortController();
            setTimeout(() => ac.abort(), Math.floor(rand() * 20));
            work.push(track('cancelSpin', pool.call({ fn: 'spinUntilCancelled', signal: ac.signal })));
          } else if (x < 0.86) {
            const ac = new AbortController();
            const p = pool.call({ fn: 'add', args: [a, 1], signal: ac.signal });
            if (rand() < 0.5) ac.abort(); else setTimeout(() => ac.abort(), 1);
            work.push(track('cancelAdd', p.then((v) => { if (v !== a + 1) throw new Error(`wrong ${v}`); return v; })));
          } else if (x < 0.98) {
            const n = 20;
            const calls = Array.from({ length: n }, (_, j) => ['add', a, j]);
            issued += 0;
            work.push(pool.batch(calls).then((results) => Promise.all(results.map((res, j) =>
              track('batch', res.ok ? Promise.resolve(res.value) : Promise.reject(res.error), a + j)))));
          } else {
            if (pin.lost) { pin.release(); pin = await pool.pin(); }
            work.push(track('pinned', pin.call('count', 1)));
          }
        }
        if (rand() < 0.5) {
          const victims = [...live];
          const victim = victims[Math.floor(rand() * victims.length)];
          setTimeout(() => { if (victim && live.has(victim)) { kills += 1; killFromOutside(victim); } }, Math.floor(rand() * 30));
        }
        await Promise.all(work);
        if (wave === WARM_UP) {
          await settle();
          await sample(wave);
        } else if (performance.now() - lastSample > 10_000) {
          lastSample = performance.now();
          await sample(wave);
        }
      }
      pin.release();
      await settle();
      if (samples.length === 0) await sample(wave);
      // Stopped workers give their memory back in a moment, not at once: the
      // last sample is the first within the bound, or the one after 5 s.
      for (let i = 0; i < 50; i++) {
        const mib = (await residentBytes()) / 2 ** 20;
        if (mib - samples[0].mib <= boundMib) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await sample(wave);
      const check = await Promise.all(Array.from({ length: 300 }, (_, i) => pool.call('add', i, i)));
      const stats = pool.stats();
      const liveBeforeClose = live.size;
      pool.close();
      return {
        issued, settledCount, doubleSettled, bad: bad.slice(0, 10), badCount: bad.length, outcomes, kills, spawned, waves: wave, samples,
        checkOk: check.every((v, i) => v === 2 * i), liveBeforeClose, liveAfterClose: live.size,
        poolWorkers: stats.workers.filter((w) => w.state === 'ready').length, inFlight: stats.inFlight, queued: stats.queued, SIZE,
      };
    }, { waves: 40, perWave: 300, seed: 20261122, minutes: MINUTES, boundMib: MEMORY_BOUND / MIB });

    console.log(`chaos: ${r.issued} calls in ${r.waves} waves, ${r.kills} workers killed from outside, ${r.spawned} workers spawned in all`);
    console.log(`chaos outcomes: ${JSON.stringify(r.outcomes)}`);
    console.log(`chaos memory (Chromium resident, MiB by second): ${r.samples.map((m) => `${m.seconds}s ${m.mib}`).join(', ')}`);
    assert.deepEqual(errors, []);
    assert.ok(r.issued >= 20_000, `only ${r.issued} calls`);
    assert.equal(r.settledCount, r.issued, 'every call settled');
    assert.equal(r.doubleSettled, 0, 'no call settled twice');
    assert.deepEqual(r.bad, [], `${r.badCount} calls had outcomes not allowed for their kind`);
    assert.ok(r.kills > 0, 'workers were killed from outside');
    assert.ok((r.outcomes['timeout:TIMEOUT'] ?? 0) > 0 && (r.outcomes['panic:PANIC'] ?? 0) > 0 && (r.outcomes['cancelSpin:CANCELLED'] ?? 0) > 0);
    assert.ok(r.checkOk, 'the pool answers correctly afterwards');
    assert.equal(r.inFlight, 0);
    assert.equal(r.queued, 0);
    assert.equal(r.poolWorkers, r.SIZE, 'the pool is back to its size');
    assert.equal(r.liveBeforeClose, r.SIZE, 'no worker leaked: live workers equal the pool size');
    assert.equal(r.liveAfterClose, 0, 'close() terminated every worker');
    const first = r.samples[0].mib;
    const last = r.samples.at(-1).mib;
    assert.ok((last - first) * MIB <= MEMORY_BOUND, `resident memory ended ${last - first} MiB above where it started (bound ${MEMORY_BOUND / MIB} MiB)`);
  } finally {
    await close();
  }
});
