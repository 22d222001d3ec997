// The pool's scheduler in Node.js, without a browser: pool.js from the
// runtime's source, its workers started through the `createWorker` option
// as Node worker_threads Workers that run the runtime's real worker.js
// (node-worker.mjs maps a browser worker's globals onto the thread) with
// the test guest's real glue and module, served by the real `wasmbridge
// serve`. Node has no Web Locks and the page here is not cross-origin
// isolated, so these runs have no death watch by lock and no control block:
// a worker that dies tells through its error event (NodeWorker below), and
// the running call is the first unanswered one, as on a page without
// isolation. The browser tiers cover the rest.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, bundle, makeSite, startServer } from './harness.mjs';

const RUNTIME = join(REPO, 'crates', 'wasmbridge', 'runtime');
const { Pool } = await import(pathToFileURL(join(RUNTIME, 'pool.js')).href);
const { wakeSpinsAfter } = await import(pathToFileURL(join(RUNTIME, 'lane.js')).href);
const { nextBudget, CAUGHT, PREEMPTED } = await import(pathToFileURL(join(RUNTIME, 'lane-worker.js')).href);
const { Deadlines } = await import(pathToFileURL(join(RUNTIME, 'pool-call.js')).href);
const WORKER_JS = pathToFileURL(join(RUNTIME, 'worker.js')).href;
const SHIM = new URL('./node-worker.mjs', import.meta.url);

/**
 * A worker_threads Worker behind the part of the Worker interface the pool
 * uses. `carried` counts the calls in each message the pool sent it (read
 * before the message leaves: a packed message's buffer is transferred). Node reports a
 * worker's end, unlike a browser: a worker that ends without the pool's
 * `terminate()` died, and says so through `onerror`, as a browser worker's
 * script error would.
 */
class NodeWorker {
  onmessage = null;
  onerror = null;
  onmessageerror = null;
  /** @type {number[]} */ carried = [];
  terminated = false;
  #thread;

  /** @param {string} name @param {{ script?: string | URL, eval?: boolean }} [how] the real worker.js unless told otherwise */
  constructor(name, how = {}) {
    this.name = name;
    this.#thread = new Worker(how.script ?? SHIM, { name, eval: how.eval ?? false, workerData: { worker: WORKER_JS } });
    // A test that fails before it closes its pool must not keep the process alive.
    this.#thread.unref();
    this.#thread.on('message', (data) => this.onmessage?.({ data }));
    this.#thread.on('messageerror', () => this.onmessageerror?.({}));
    this.#thread.on('error', (err) => this.onerror?.({ message: err.message, preventDefault() {} }));
    this.#thread.on('exit', (code) => {
      if (!this.terminated) this.onerror?.({ message: `the thread exited with code ${code}`, preventDefault() {} });
    });
  }

  postMessage(message, transfer = []) {
    this.carried.push(callsIn(message));
    this.#thread.postMessage(message, transfer);
  }

  terminate() {
    this.terminated = true;
    this.#thread.terminate();
  }

  /** Ends the thread from outside, as a crash would: the pool did not ask for it. */
  kill() {
    this.#thread.terminate();
  }
}

/** Calls a message carries: a flat call (an array) carries one, `calls` and `packed` several. */
function callsIn(message) {
  if (Array.isArray(message)) return 1;
  if (message.kind === 'calls') return message.calls.length;
  if (message.kind === 'packed') {
    let n = 0;
    for (let at = 0; at < message.calls.length; at += 4 + message.calls[at + 3]) n += 1;
    return n;
  }
  return 0;
}

let server;
/** Every pool made here: closed at the end even when a test timed out before its own close(). */
const pools = new Set();
before(async () => { server = await startServer(bundle('test-guest')); });
after(async () => {
  for (const pool of pools) pool.close();
  await server?.close();
});

/**
 * A pool of the test guest whose workers are NodeWorkers, every one kept in
 * `workers`; `make(name, n)` may start the n-th worker (from 0) differently.
 */
async function nodePool(options = {}, make = (name) => new NodeWorker(name)) {
  const workers = [];
  const pool = new Pool({
    bundle: server.url, size: 1, ...options,
    createWorker: (name) => {
      const w = make(name, workers.length);
      workers.push(w);
      return w;
    },
  });
  pools.add(pool);
  await pool.ready;
  return { pool, workers };
}

/** `createPool`, with the pool kept in `pools`. */
async function startPool(options) {
  const pool = new Pool(options);
  pools.add(pool);
  try {
    return await pool.ready;
  } catch (err) {
    pool.close();
    throw err;
  }
}

const outcome = (promise) => promise.then((value) => ({ value }), (e) => ({ code: e.code, message: e.message }));
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

test('dispatch: a call goes to the least busy ready worker', { timeout: 30_000 }, async () => {
  const { pool } = await nodePool({ size: 3 });
  try {
    const running = [pool.call('busy', 300), pool.call('busy', 300), pool.call('busy', 300)];
    assert.deepEqual(pool.stats().workers.map((w) => w.inFlight), [1, 1, 1], 'three calls on three idle workers, one each');
    // Each worker's instance counts the calls of its own: `count` says which worker ran a call.
    const counts = await Promise.all([pool.call('count', 1), pool.call('count', 1), pool.call('count', 1)]);
    assert.deepEqual(counts, [1, 1, 1], 'the calls behind them were spread, one per worker');
    await Promise.all(running);
  } finally {
    pool.close();
  }
});

test('coalescing: the calls given to a busy worker in one tick leave as one message', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1 });
  try {
    const sentBefore = workers[0].carried.length;
    const first = pool.call('busy', 100);
    const adds = Array.from({ length: 200 }, (_, i) => pool.call('add', i, 1));
    const values = await Promise.all(adds);
    assert.equal(await first, 100);
    assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => i + 1));
    const carried = workers[0].carried.slice(sentBefore).filter((n) => n > 0);
    assert.deepEqual(carried, [1, 200], 'the idle worker got the first call alone at once, the 200 behind it in one message');
  } finally {
    pool.close();
  }
});

test('timeout: a stuck call times out, its worker is stopped after cancelGrace and the calls behind it run on a new worker', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1, cancelGrace: 50 });
  try {
    const stuck = outcome(pool.call({ fn: 'loopForever', args: [], timeout: 200 }));
    const behind = Array.from({ length: 3 }, (_, i) => pool.call('add', i, 40));
    const r = await stuck;
    assert.equal(r.code, 'TIMEOUT');
    assert.equal(r.message, 'loopForever did not finish within 200 ms');
    assert.deepEqual(await Promise.all(behind), [40, 41, 42]);
    assert.equal(workers.length, 2, 'a new worker took the stuck one\'s place');
    assert.equal(workers[0].terminated, true, 'the stuck worker was terminated');
    assert.equal(pool.stats().workers[0].restarts, 1);
    assert.equal(await pool.call('add', 1, 1), 2);
  } finally {
    pool.close();
  }
});

test('pool timeout: calls kept per batch carry it: in time they resolve packed; behind a stuck call each times out once, never early', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1, timeout: 300, cancelGrace: 50 });
  try {
    const sentBefore = workers[0].carried.length;
    const first = pool.call('busy', 100);
    const adds = Array.from({ length: 200 }, (_, i) => pool.call('add', i, 1));
    assert.deepEqual(await Promise.all(adds), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.equal(await first, 100);
    assert.deepEqual(workers[0].carried.slice(sentBefore).filter((n) => n > 0), [1, 200], 'the 200 behind the first call left in one message, as without a timeout');

    // 2000 calls behind one that outlives them: they reach their deadline while it runs.
    const t0 = performance.now();
    const stuck = outcome(pool.call({ fn: 'loopForever', args: [], timeout: 1500 })).then((r) => ({ ...r, after: performance.now() - t0 }));
    const behind = Array.from({ length: 2000 }, (_, i) => outcome(pool.call('add', i, 1)).then((r) => ({ ...r, after: performance.now() - t0 })));
    assert.equal(pool.stats().inFlight, 2001);
    const results = await Promise.all(behind);
    for (const r of results) {
      assert.equal(r.code, 'TIMEOUT');
      assert.equal(r.message, 'add did not finish within 300 ms');
      assert.ok(r.after >= 300, `timed out after ${r.after} ms, before its 300 ms`);
    }
    assert.equal(pool.stats().functions.add.errors.TIMEOUT, 2000, 'each counted once');
    const last = Math.max(...results.map((r) => r.after));
    const s = await stuck;
    assert.equal(s.code, 'TIMEOUT');
    assert.ok(last < s.after, `the calls behind timed out at their own deadline (by ${last} ms), not when their worker was replaced (${s.after} ms)`);
    assert.equal(pool.stats().inFlight, 0);
    assert.equal(await pool.call('echo', 7), 7, 'the pool goes on, on a new worker');
    assert.equal(pool.stats().workers[0].restarts, 1);
  } finally {
    pool.close();
  }
});

test('maxQueue: calls kept per batch fill the workers\' windows before the queue, and past maxQueue reject with QUEUE_FULL as calls made one by one do', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1, window: 50, maxQueue: 100 });
  try {
    const sentBefore = workers[0].carried.length;
    const first = pool.call('busy', 100);
    const adds = Array.from({ length: 300 }, (_, i) => outcome(pool.call('add', i, 1)));
    const results = await Promise.all(adds);
    assert.equal(await first, 100);
    // 49 more fit the window beside the running call, 100 wait in the queue, the other 151 are refused.
    assert.deepEqual(results.slice(0, 149).map((r) => r.value), Array.from({ length: 149 }, (_, i) => i + 1));
    for (const r of results.slice(149)) assert.deepEqual(r, { code: 'QUEUE_FULL', message: 'the queue holds 100 calls, its limit (maxQueue) is 100' });
    const carried = workers[0].carried.slice(sentBefore).filter((n) => n > 0);
    assert.equal(carried[0], 1);
    assert.equal(carried[1], 49, 'the window\'s 49 left packed, in one message');
    assert.equal(carried.slice(1).reduce((a, b) => a + b, 0), 149);
  } finally {
    pool.close();
  }
});

test('cancellation: an aborted call rejects with CANCELLED; one still queued never reaches a worker', { timeout: 30_000 }, async () => {
  const { pool } = await nodePool({ size: 1, window: 1, cancelGrace: 50 });
  try {
    const first = pool.call('busy', 150);
    const controller = new AbortController();
    const cancelled = outcome(pool.call({ fn: 'count', args: [1], signal: controller.signal }));
    const after = pool.call('count', 1);
    controller.abort();
    assert.deepEqual(await cancelled, { code: 'CANCELLED', message: 'count was cancelled' });
    await first;
    assert.equal(await after, 1, 'the cancelled call never ran: the counter saw only the call after it');
    // A running call: abandoned, then its stuck worker is replaced.
    const running = new AbortController();
    const loop = outcome(pool.call({ fn: 'loopForever', args: [], signal: running.signal }));
    await sleep(50);
    running.abort();
    assert.equal((await loop).code, 'CANCELLED');
    assert.equal(await pool.call('add', 2, 3), 5);
    assert.equal(pool.stats().workers[0].restarts, 1);
  } finally {
    pool.close();
  }
});

test('exactly once: a call that timed out is not settled again by its late answer', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1, cancelGrace: 5_000 });
  try {
    const r = await outcome(pool.call({ fn: 'busy', args: [300], timeout: 50 }));
    assert.equal(r.code, 'TIMEOUT');
    // The worker answers at 300 ms, well within the grace: the answer frees it and settles nothing.
    assert.equal(await pool.call('add', 1, 2), 3);
    const s = pool.stats();
    assert.equal(s.functions.busy.count, 1, 'busy settled once');
    assert.deepEqual(s.functions.busy.errors, { TIMEOUT: 1 });
    assert.equal(s.workers[0].calls, 2, 'the worker answered both calls');
    assert.equal(workers.length, 1, 'the late answer came within the grace: no worker was replaced');
  } finally {
    pool.close();
  }
});

test('re-dispatch: after a trap the calls the worker had not started run on its successor', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1 });
  try {
    const panic = outcome(pool.call('panicWith', 'boom'));
    const behind = Array.from({ length: 5 }, (_, i) => pool.call('count', 1).then((n) => [i, n]));
    const r = await panic;
    assert.equal(r.code, 'PANIC');
    assert.match(r.message, /panicWith panicked: boom/);
    // The successor's fresh instance counts from zero, so the calls ran there, in order.
    assert.deepEqual(await Promise.all(behind), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    assert.equal(workers.length, 2);
    assert.equal(workers[0].terminated, true, 'the retired worker was stopped once it had handed everything back');
    assert.equal(pool.stats().workers[0].restarts, 1);
  } finally {
    pool.close();
  }
});

test('worker loss: a worker that dies fails its calls with WORKER_LOST and is replaced', { timeout: 30_000 }, async () => {
  const { pool, workers } = await nodePool({ size: 1 });
  try {
    const lost = outcome(pool.call('busy', 5_000));
    await sleep(100);
    workers[0].kill();
    const r = await lost;
    assert.equal(r.code, 'WORKER_LOST');
    assert.equal(r.message, 'worker 1 was lost (script error: the thread exited with code 1) while busy was in flight');
    assert.equal(await pool.call('add', 20, 22), 42);
    assert.equal(workers.length, 2);
    assert.equal(pool.stats().workers[0].restarts, 1);
  } finally {
    pool.close();
  }
});

test('init failure: a guest that fails to start rejects createPool with INIT_FAILED', { timeout: 30_000 }, async () => {
  // The test guest's bundle with a manifest that lists a function its module lacks: worker.js refuses it.
  const site = makeSite('scheduler-init-failed', { guest: bundle('test-guest') });
  const manifestPath = join(site, 'guest', 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.functions.push({ name: 'notExported', params: [], returns: 'number', doc: '' });
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const workers = [];
  const own = await startServer(site);
  try {
    const failed = await outcome(startPool({
      bundle: `${own.url}guest/`, size: 2,
      createWorker: (name) => { const w = new NodeWorker(name); workers.push(w); return w; },
    }));
    assert.equal(failed.code, 'INIT_FAILED');
    assert.match(failed.message, /the guest failed to start: Error: the manifest lists functions the module does not export: notExported/);
    assert.equal(workers.length, 2);
    assert.ok(workers.every((w) => w.terminated), 'every worker of the failed pool was stopped');
  } finally {
    await own.close();
  }
});

test('init timeout: a worker that never reports ready fails the start with INIT_FAILED', { timeout: 30_000 }, async () => {
  const silent = (name) => new NodeWorker(name, { script: 'setInterval(() => {}, 1000);', eval: true });
  const workers = [];
  const r = await outcome(startPool({
    bundle: server.url, size: 1, initTimeout: 300,
    createWorker: (name) => { const w = silent(name); workers.push(w); return w; },
  }));
  assert.equal(r.code, 'INIT_FAILED');
  assert.equal(r.message, 'a worker did not report ready within 300 ms');
  assert.equal(workers[0].terminated, true);
});

test('start-failure cap: when replacements keep failing to start, the pool gives up after maxRespawnFailures', { timeout: 30_000 }, async () => {
  // The first worker is real; every later one is a script that throws as it loads.
  const broken = "throw new Error('broken worker script');";
  const { pool, workers } = await nodePool({ size: 1, maxRespawnFailures: 2 }, (name, n) => (n === 0 ? new NodeWorker(name) : new NodeWorker(name, { script: broken, eval: true })));
  try {
    const panic = outcome(pool.call('panicWith', 'boom'));
    const behind = outcome(pool.call('add', 1, 2));
    assert.equal((await panic).code, 'PANIC');
    const r = await behind;
    assert.equal(r.code, 'INIT_FAILED');
    assert.match(r.message, /^workers keep failing to start \(a worker failed to start: script error: broken worker script\); the pool gave up$/);
    assert.equal(workers.length, 3, 'the trapped worker and two failed replacements: then no more');
    const later = await outcome(pool.call('add', 1, 2));
    assert.equal(later.code, 'INIT_FAILED');
    await sleep(100);
    assert.equal(workers.length, 3, 'the pool started no worker after it gave up');
  } finally {
    pool.close();
  }
});

/**
 * A pool made as on a cross-origin isolated page: Node has SharedArrayBuffer
 * and Atomics (waitAsync on this side, wait in the workers), so the pool
 * gives its workers control blocks and may start the fast lane.
 */
async function isolatedPool(options) {
  globalThis.crossOriginIsolated = true;
  try {
    // The plain module: the threaded one starts nested workers, which Node's worker threads lack.
    return await nodePool({ threads: false, ...options });
  } finally {
    delete globalThis.crossOriginIsolated;
  }
}

test('isolated: an abandoned running call is asked to stop through the control block, and its worker is kept', { timeout: 30_000 }, async () => {
  const { pool, workers } = await isolatedPool({ size: 1, cancelGrace: 300 });
  try {
    assert.equal(pool.isolated, true);
    const r = await outcome(pool.call({ fn: 'spinUntilCancelled', args: [], timeout: 100 }));
    assert.equal(r.code, 'TIMEOUT');
    assert.equal(await pool.call('add', 1, 2), 3);
    await sleep(400);
    assert.equal(workers.length, 1, 'the guest saw cancelled() and returned: its worker was not replaced');
    assert.equal(pool.stats().workers[0].restarts, 0);
  } finally {
    pool.close();
  }
});

test('fast lane: its worker is supervised as the pool\'s are: a stuck call gets it replaced, and so does its death', { timeout: 30_000 }, async () => {
  const { pool, workers } = await isolatedPool({ size: 1, cancelGrace: 50 });
  try {
    const lanes = () => workers.filter((w) => w.name === 'wasmbridge-lane');
    assert.equal(await pool.fastCall('add', 1, 2), 3);
    assert.equal(lanes().length, 1);
    const stuck = await outcome(pool.fastCall({ fn: 'loopForever', args: [], timeout: 200 }));
    assert.equal(stuck.code, 'TIMEOUT');
    assert.equal(await pool.fastCall('add', 2, 3), 5);
    assert.equal(lanes().length, 2, 'the stuck lane worker was replaced');
    assert.equal(lanes()[0].terminated, true);
    const lost = outcome(pool.fastCall('busy', 5_000));
    await sleep(100);
    lanes()[1].kill();
    assert.deepEqual(await lost, { code: 'WORKER_LOST', message: 'the lane worker was lost (script error: the thread exited with code 1) while busy was in flight' });
    assert.equal(await pool.fastCall('add', 3, 4), 7);
    assert.equal(lanes().length, 3);
    assert.equal(pool.stats().lane.restarts, 2);
  } finally {
    pool.close();
  }
});

test('deadlines: one timer expires every unsettled call once, in deadline order, never early, and settled calls do not pile up', { timeout: 30_000 }, async () => {
  const clock = () => performance.timeOrigin + performance.now();
  const expired = [];
  const deadlines = new Deadlines((call) => expired.push({ call, at: clock() }));
  const watch = (ms) => {
    const due = clock() + ms;
    const call = { deadline: due, due, settled: false };
    deadlines.add(call);
    return call;
  };
  // Out of order, with equal deadlines among them, and some settled before theirs.
  const calls = [40, 5, 25, 5, 60, 15, 0, 35].map(watch);
  for (const i of [2, 4]) {
    calls[i].settled = true;
    deadlines.settle();
  }
  // A later shorter deadline re-arms the one timer.
  calls.push(watch(1));
  await new Promise((resolve) => setTimeout(resolve, 150));
  const want = calls.filter((c) => !c.settled);
  assert.equal(expired.length, want.length, 'each unsettled call expired once');
  assert.deepEqual(new Set(expired.map((e) => e.call)), new Set(want));
  for (const { call, at } of expired) assert.ok(at >= call.due, `expired ${call.due - at} ms before its deadline`);
  for (let i = 1; i < expired.length; i++) assert.ok(expired[i - 1].call.due <= expired[i].call.due, 'in deadline order');
  // The pool learns a call left the heap: it is no longer watched, so its settling is not counted.
  assert.ok(expired.every((e) => e.call.watched === false));
  assert.equal(deadlines.heap.length, 0);
  assert.equal(deadlines.timer, 0, 'no timer left once the heap is empty');

  // 10 000 calls settled long before their deadline: the heap keeps about the live ones.
  const live = [];
  for (let i = 0; i < 10_000; i++) {
    const call = watch(60_000);
    if (i % 100 === 0) live.push(call);
    else {
      call.settled = true;
      deadlines.settle();
    }
  }
  assert.ok(deadlines.heap.length <= 2 * live.length + 64, `the heap holds ${deadlines.heap.length} calls for ${live.length} live`);
  for (let i = 1; i < deadlines.heap.length; i++) assert.ok(deadlines.heap[(i - 1) >> 1].deadline <= deadlines.heap[i].deadline, 'a heap');
  deadlines.clear();
  assert.equal(deadlines.heap.length, 0);
  assert.equal(deadlines.timer, 0);
});

test('fast lane: the spins of both halves adapt to what they catch', () => {
  // The worker: a spin that caught the request doubles the budget (up to 0.25 ms).
  assert.equal(nextBudget(0.02, CAUGHT, 0), 0.04);
  assert.equal(nextBudget(0.2, CAUGHT, 0), 0.25);
  // A request that came 30 µs after the call, when the spin had given up
  // after 2 µs: the next spin covers twice that gap, instead of shrinking and
  // making every later call of a steady stream wake the worker.
  assert.equal(nextBudget(0.002, 0.03, 5), 0.06);
  assert.equal(nextBudget(0.002, 0.2, 5), 0.25);
  // Unless the operating system cut the spin short: no core is free, and a
  // longer spin would only hold the page off its core. Then it halves.
  assert.equal(nextBudget(0.1, PREEMPTED, 5), 0.05);
  // A pause longer than the longest spin halves it, down to 2 µs, and every
  // 8th miss tries 20 µs again.
  assert.equal(nextBudget(0.02, 5, 1), 0.01);
  assert.equal(nextBudget(0.002, 5, 3), 0.002);
  assert.equal(nextBudget(0.002, 5, 8), 0.02);
  // The page, after waking a sleeping worker: twice the spins after a catch
  // (256 to 4096), half after a miss, so they fade out when no core is free.
  assert.equal(wakeSpinsAfter(2048, true), 4096);
  assert.equal(wakeSpinsAfter(4096, true), 4096);
  assert.equal(wakeSpinsAfter(100, true), 256);
  assert.equal(wakeSpinsAfter(2048, false), 1024);
  assert.equal(wakeSpinsAfter(256, false), 128);
});

test('createWorker: a value that is not a function is BAD_ARGUMENT; a factory that throws fails the start with INIT_FAILED', { timeout: 30_000 }, async () => {
  assert.throws(() => new Pool({ bundle: server.url, createWorker: 'worker.js' }), {
    code: 'BAD_ARGUMENT', message: 'pool option createWorker must be a function, got a string',
  });
  const r = await outcome(startPool({ bundle: server.url, size: 1, createWorker: () => { throw new Error('no workers here'); } }));
  assert.deepEqual(r, { code: 'INIT_FAILED', message: 'a worker could not be created: no workers here' });
});
