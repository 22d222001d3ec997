// Tests of crates/wasmbridge/runtime/ring.js and crates/wasmbridge/runtime/audio-worklet.js (node --test js/test/ring.test.mjs).
// Rust and JS are held to one layout two ways: every `pub const` of
// crates/wasmbridge-guest/src/ring.rs must equal LAYOUT here, and the GOLDEN_*
// byte images pinned by crates/wasmbridge-guest/tests/ring_layout.rs (which a
// native Rust ring must produce) must also come out of the same script run on
// the JS ring, and read back correctly when attached.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { LAYOUT, RingBuffer } from '../../crates/wasmbridge/runtime/ring.js';

const RING_RS = new URL('../../crates/wasmbridge-guest/src/ring.rs', import.meta.url);
const RING_LAYOUT_RS = new URL('../../crates/wasmbridge-guest/tests/ring_layout.rs', import.meta.url);

/** Sets both free-running indices, as Rust's `channel_starting_at` does. */
function startAt(ring, index) {
  const header = new Uint32Array(ring.buffer, 0, LAYOUT.HEADER_BYTES / 4);
  Atomics.store(header, LAYOUT.WRITE_OFFSET / 4, index);
  Atomics.store(header, LAYOUT.READ_OFFSET / 4, index);
}

function indices(ring) {
  const header = new Uint32Array(ring.buffer, 0, LAYOUT.HEADER_BYTES / 4);
  return [Atomics.load(header, LAYOUT.WRITE_OFFSET / 4), Atomics.load(header, LAYOUT.READ_OFFSET / 4)];
}

function hexLines(buffer) {
  const bytes = new Uint8Array(buffer);
  const lines = [];
  for (let i = 0; i < bytes.length; i += 64) {
    lines.push(Array.from(bytes.subarray(i, i + 64), (b) => b.toString(16).padStart(2, '0')).join(''));
  }
  return lines;
}

/** The `pub const NAME: &[&str] = &[ "..", .. ];` hex lines of ring_layout.rs. */
function golden(name) {
  const source = readFileSync(RING_LAYOUT_RS, 'utf8');
  const block = source.match(new RegExp(`pub const ${name}: &\\[&str\\] = &\\[([^\\]]*)\\];`));
  assert.ok(block, `${name} not found in ring_layout.rs`);
  return [...block[1].matchAll(/"([0-9a-f]+)"/g)].map((m) => m[1]);
}

function ringFromHex(lines) {
  const hex = lines.join('');
  const buffer = new SharedArrayBuffer(hex.length / 2);
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return RingBuffer.from(buffer);
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('every pub const of ring.rs equals LAYOUT in ring.js, and back', () => {
  const source = readFileSync(RING_RS, 'utf8');
  const rust = {};
  for (const m of source.matchAll(/^pub const ([A-Z0-9_]+): (?:usize|u32) = ([0-9a-fx_]+);$/gm)) {
    rust[m[1]] = Number(m[2].replaceAll('_', ''));
  }
  assert.ok(Object.keys(rust).length >= 20, `parsed only ${Object.keys(rust).length} constants from ring.rs`);
  assert.deepEqual({ ...LAYOUT }, rust);
});

test('the f32 script leaves the golden image pinned by ring_layout.rs', () => {
  // The script documented on GOLDEN_F32 in crates/wasmbridge-guest/tests/ring_layout.rs.
  const ring = RingBuffer.create(8, { kind: 'f32', channels: 2 });
  startAt(ring, 2 ** 32 - 4);
  assert.equal(ring.push(new Float32Array([1, 2, 3, 4, 5, 6])), 6);
  const four = new Float32Array(4);
  assert.equal(ring.pop(four), 4);
  assert.deepEqual([...four], [1, 2, 3, 4]);
  assert.equal(ring.push(new Float32Array([7, 8, 9, 10, 11, 12, 13])), 6);
  assert.equal(ring.push(new Float32Array([14, 15])), 0);
  const ten = new Float32Array(10);
  assert.equal(ring.pop(ten), 8);
  assert.deepEqual([...ten.subarray(0, 8)], [5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(ring.pop(new Float32Array(3)), 0);
  assert.equal(ring.push([20.5, -1.25]), 2);
  assert.deepEqual(hexLines(ring.buffer), golden('GOLDEN_F32'));
});

test('the u8 script leaves the golden image pinned by ring_layout.rs', () => {
  const ring = RingBuffer.create(4, { kind: 'u8' });
  assert.equal(ring.push(new Uint8Array([0xaa, 0xbb, 0xcc])), 3);
  const two = new Uint8Array(2);
  assert.equal(ring.pop(two), 2);
  assert.deepEqual([...two], [0xaa, 0xbb]);
  assert.equal(ring.push(new Uint8Array([1, 2, 3, 4])), 3);
  assert.deepEqual(hexLines(ring.buffer), golden('GOLDEN_U8'));
});

test('a ring written by Rust reads back in JS', () => {
  const f32 = ringFromHex(golden('GOLDEN_F32'));
  assert.equal(f32.kind, 'f32');
  assert.equal(f32.capacity, 8);
  assert.equal(f32.channels, 2);
  assert.equal(f32.available, 2);
  assert.equal(f32.free, 6);
  assert.deepEqual([f32.overruns, f32.overrunItems, f32.underruns, f32.underrunItems], [1, 2, 2, 4]);
  assert.deepEqual(indices(f32), [10, 8]);
  const out = new Float32Array(4);
  assert.equal(f32.pop(out), 2);
  assert.deepEqual([...out.subarray(0, 2)], [20.5, -1.25]);

  const u8 = ringFromHex(golden('GOLDEN_U8'));
  assert.equal(u8.kind, 'u8');
  assert.equal(u8.available, 4);
  const bytes = new Uint8Array(4);
  assert.equal(u8.pop(bytes), 4);
  assert.deepEqual([...bytes], [0xcc, 1, 2, 3]);
});

test('matches a plain array model, indices wrapping past 2^32', () => {
  const random = prng(0x5eed);
  for (let round = 0; round < 400; round++) {
    const capacity = 2 ** Math.floor(random() * 7);
    const channels = 1 + Math.floor(random() * Math.min(3, capacity));
    const kind = random() < 0.5 ? 'f32' : 'u8';
    const start = random() < 0.5 ? 2 ** 32 - 1 - Math.floor(random() * 200) : Math.floor(random() * 2 ** 32);
    const ring = RingBuffer.create(capacity, { kind, channels });
    startAt(ring, start);
    const model = [];
    const expected = { overruns: 0, overrunItems: 0, underruns: 0, underrunItems: 0 };
    let next = 0;
    let write = start;
    const value = (i) => (kind === 'f32' ? i : i % 251);
    for (let step = 0; step < 200; step++) {
      const len = Math.floor(random() * (2 * capacity + 3));
      const wanted = len - (len % channels);
      const context = `round ${round} step ${step}: cap ${capacity} ch ${channels} ${kind} start ${start}`;
      if (random() < 0.5) {
        const src = kind === 'f32' ? new Float32Array(len) : new Uint8Array(len);
        for (let i = 0; i < len; i++) src[i] = value(next + i);
        const free = capacity - model.length;
        const fits = Math.min(wanted, free - (free % channels));
        assert.equal(ring.push(src), fits, context);
        for (let i = 0; i < fits; i++) model.push(src[i]);
        next += fits;
        write = (write + fits) >>> 0;
        if (fits < wanted) {
          expected.overruns++;
          expected.overrunItems += wanted - fits;
        }
      } else {
        const dst = kind === 'f32' ? new Float32Array(len).fill(-1) : new Uint8Array(len).fill(255);
        const got = ring.pop(dst);
        assert.equal(got, Math.min(wanted, model.length), context);
        assert.deepEqual([...dst.subarray(0, got)], model.splice(0, got), context);
        assert.ok(dst.subarray(got).every((v) => v === (kind === 'f32' ? -1 : 255)), `${context}: wrote past its count`);
        if (got < wanted) {
          expected.underruns++;
          expected.underrunItems += wanted - got;
        }
      }
      assert.equal(ring.available, model.length, context);
      assert.equal(ring.free, capacity - model.length, context);
      const { overruns, overrunItems, underruns, underrunItems } = ring;
      assert.deepEqual({ overruns, overrunItems, underruns, underrunItems }, expected, context);
      assert.deepEqual(indices(ring), [write, (write - model.length) >>> 0], context);
    }
  }
});

test('a full ring across the 2^32 wrap', () => {
  const ring = RingBuffer.create(4, { kind: 'u8' });
  startAt(ring, 2 ** 32 - 2);
  assert.equal(ring.push([1, 2, 3, 4, 5]), 4);
  assert.equal(ring.free, 0);
  assert.deepEqual(indices(ring), [2, 2 ** 32 - 2]);
  const out = new Uint8Array(3);
  assert.equal(ring.pop(out), 3);
  assert.deepEqual([...out], [1, 2, 3]);
  assert.equal(ring.push([6, 7, 8]), 3);
  const all = new Uint8Array(4);
  assert.equal(ring.pop(all), 4);
  assert.deepEqual([...all], [4, 6, 7, 8]);
  assert.deepEqual(indices(ring), [5, 5]);
  assert.deepEqual([ring.overruns, ring.overrunItems, ring.underruns], [1, 1, 0]);
});

test('push and pop honour an explicit length and ignore nonsense ones', () => {
  const ring = RingBuffer.create(8, { kind: 'f32', channels: 2 });
  assert.equal(ring.push(new Float32Array([1, 2, 3, 4, 5, 6]), 4), 4);
  assert.equal(ring.push(new Float32Array([9]), 10), 0);
  assert.equal(ring.push(new Float32Array(2), -3), 0);
  assert.equal(ring.push(new Float32Array(2), NaN), 0);
  assert.equal(ring.overruns, 0);
  const out = new Float32Array(8);
  assert.equal(ring.pop(out, 3), 2);
  assert.deepEqual([...out.subarray(0, 2)], [1, 2]);
  assert.equal(ring.underruns, 0);
});

test('create and from reject what is not a valid ring', () => {
  assert.throws(() => RingBuffer.create(6), RangeError);
  assert.throws(() => RingBuffer.create(0), RangeError);
  assert.throws(() => RingBuffer.create(2 ** 29), RangeError);
  assert.throws(() => RingBuffer.create(4, { channels: 5 }), RangeError);
  assert.throws(() => RingBuffer.create(4, { channels: 0 }), RangeError);
  assert.throws(() => RingBuffer.create(4, { kind: 'f64' }), TypeError);
  assert.throws(() => RingBuffer.from(new SharedArrayBuffer(64)), TypeError);
  assert.throws(() => RingBuffer.from(new SharedArrayBuffer(256)), /magic/);
  assert.throws(() => RingBuffer.from(undefined), TypeError);

  const good = RingBuffer.create(8, { kind: 'f32', channels: 2 });
  const tamper = (offset, value) => {
    const copy = new SharedArrayBuffer(good.buffer.byteLength);
    new Uint8Array(copy).set(new Uint8Array(good.buffer));
    new Uint32Array(copy)[offset / 4] = value;
    return copy;
  };
  assert.throws(() => RingBuffer.from(tamper(LAYOUT.VERSION_OFFSET, 2)), /version 2/);
  assert.throws(() => RingBuffer.from(tamper(LAYOUT.KIND_OFFSET, 1)), /kind/);
  assert.throws(() => RingBuffer.from(tamper(LAYOUT.CAPACITY_OFFSET, 12)), RangeError);
  assert.throws(() => RingBuffer.from(tamper(LAYOUT.CAPACITY_OFFSET, 16)), /needs 256 bytes/);
  assert.throws(() => RingBuffer.from(tamper(LAYOUT.CHANNELS_OFFSET, 9)), RangeError);
  assert.equal(RingBuffer.from(good.buffer).capacity, 8);
  assert.equal(RingBuffer.byteLength(8, 'f32'), 224);
  assert.equal(RingBuffer.byteLength(8, 'u8'), 200);
});

test('the consumer and producer paths allocate nothing and use only Atomics.load/store', () => {
  // A static guard: no subarray/slice/set/new/literals/closures in the hot paths.
  for (const fn of [RingBuffer.prototype.pop, RingBuffer.prototype.push]) {
    const body = fn.toString();
    assert.doesNotMatch(body, /subarray|slice|\.set\(|new |\[\s*\]|=>|function|Atomics\.(?!load|store)/, fn.name);
  }
});

// A producer worker pushes TOTAL f32 of a known sequence (item i is i mod 2^24,
// exact in f32); the main thread polls without Atomics.wait, checking every
// item in order and a checksum.
const TOTAL = 10_000_000;
const PERIOD = 2 ** 24;
const PRODUCER = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.ringUrl).then(({ RingBuffer }) => {
  const ring = RingBuffer.from(workerData.buffer);
  const { total, period } = workerData;
  const chunk = new Float32Array(4096);
  const deadline = Date.now() + workerData.timeoutMs;
  let next = 0, round = 0, sum = 0, spins = 0;
  while (next < total) {
    round++;
    const want = Math.min(1 + ((round * 7919) % 4096), total - next);
    const room = Math.min(want, ring.free);
    if (room === 0) {
      if ((++spins & 0xffff) === 0 && Date.now() > deadline) throw new Error('producer timed out at ' + next);
      continue;
    }
    for (let k = 0; k < room; k++) { const v = (next + k) % period; chunk[k] = v; sum += v; }
    const n = ring.push(chunk, room);
    if (n !== room) throw new Error('push within free came up short: ' + n + ' of ' + room);
    next += n;
  }
  parentPort.postMessage({ sum, overruns: ring.overruns });
});
`;

test(`a worker pushes ${TOTAL} f32, the main thread pops them all in order`, async (t) => {
  const timeoutMs = 120_000;
  const ring = RingBuffer.create(1 << 14, { kind: 'f32' });
  const worker = new Worker(PRODUCER, {
    eval: true,
    workerData: { ringUrl: new URL('../../crates/wasmbridge/runtime/ring.js', import.meta.url).href, buffer: ring.buffer, total: TOTAL, period: PERIOD, timeoutMs },
  });
  let producerResult = null;
  let producerError = null;
  worker.on('message', (m) => { producerResult = m; });
  worker.on('error', (e) => { producerError = e; });

  const started = Date.now();
  const buffer = new Float32Array(3000);
  let next = 0;
  let sum = 0;
  let round = 0;
  let polls = 0;
  try {
    while (next < TOTAL) {
      // Spin for at most ~20 ms, then let the event loop deliver worker messages and errors.
      const sliceEnd = Date.now() + 20;
      while (next < TOTAL) {
        round++;
        const got = ring.pop(buffer, 1 + ((round * 104_729) % 3000));
        polls++;
        for (let k = 0; k < got; k++) {
          const expected = (next + k) % PERIOD;
          if (buffer[k] !== expected) assert.fail(`item ${next + k}: got ${buffer[k]}, expected ${expected}`);
          sum += buffer[k];
        }
        next += got;
        if ((polls & 0x3ff) === 0 && Date.now() > sliceEnd) break;
      }
      if (producerError) throw producerError;
      assert.ok(Date.now() - started < timeoutMs, `consumer timed out at item ${next}`);
      await yieldToEvents();
    }
    while (producerResult === null && producerError === null) {
      assert.ok(Date.now() - started < timeoutMs, 'producer never reported');
      await yieldToEvents();
    }
    if (producerError) throw producerError;
  } finally {
    await worker.terminate();
  }
  const seconds = (Date.now() - started) / 1000;
  assert.equal(ring.available, 0, 'more items than were pushed');
  assert.equal(producerResult.sum, sum, 'checksums differ');
  assert.equal(producerResult.overruns, 0);
  t.diagnostic(`ring stress: ${TOTAL} f32 in ${seconds.toFixed(2)} s (${(TOTAL / seconds / 1e6).toFixed(0)} M items/s), ${ring.underruns} short polls`);
});

test('the audio worklet de-interleaves, counts underruns, reports 4 times a second', async () => {
  const posted = [];
  const registered = new Map();
  globalThis.sampleRate = 48_000;
  globalThis.AudioWorkletProcessor = class {
    constructor() {
      this.port = { onmessage: null, postMessage: (m) => posted.push(structuredClone(m)) };
    }
  };
  globalThis.registerProcessor = (name, processor) => registered.set(name, processor);
  try {
    // A fresh instance: ring.js already imported this file where registerProcessor did not exist.
    await import('../../crates/wasmbridge/runtime/audio-worklet.js?worklet');
  } finally {
    delete globalThis.AudioWorkletProcessor;
    delete globalThis.registerProcessor;
  }
  const Player = registered.get('wasmbridge-ring-player');
  assert.ok(Player, 'not registered as wasmbridge-ring-player');

  const ring = RingBuffer.create(1024, { kind: 'f32', channels: 2 });
  const player = new Player({ processorOptions: { buffer: ring.buffer } });
  const outputs = [[new Float32Array(128), new Float32Array(128), new Float32Array(128)]];
  const render = () => assert.equal(player.process([], outputs), true);

  // Before the producer starts: silence, and no underrun counted.
  outputs[0][0].fill(7);
  render();
  assert.ok(outputs[0][0].every((v) => v === 0));
  assert.equal(ring.underruns, 0);

  // 100 frames of (L, R) = (f, -f): played, then 28 frames of silence, one underrun of 56 elements.
  const frames = new Float32Array(200);
  for (let f = 0; f < 100; f++) {
    frames[2 * f] = f + 1;
    frames[2 * f + 1] = -(f + 1);
  }
  assert.equal(ring.push(frames), 200);
  render();
  const [left, right, third] = outputs[0];
  for (let f = 0; f < 128; f++) {
    assert.equal(left[f], f < 100 ? f + 1 : 0, `left ${f}`);
    assert.equal(right[f], f < 100 ? -(f + 1) : 0, `right ${f}`);
    assert.equal(third[f], left[f], `output channel 2 plays ring channel 0 (${f})`);
  }
  assert.deepEqual([ring.underruns, ring.underrunItems], [1, 56]);

  // A full quantum available: no underrun.
  ring.push(new Float32Array(256).fill(0.5));
  render();
  assert.ok(left.every((v) => v === 0.5) && right.every((v) => v === 0.5));
  assert.equal(ring.underruns, 1);

  // Reports: 48000 × 0.25 / 128 = 93.75, so one every 94 quanta, carrying the counters of that moment.
  posted.length = 0;
  const reportedAt = [];
  for (let i = 1; i <= 94 * 3; i++) {
    render();
    if (posted.length > reportedAt.length) {
      reportedAt.push(i);
      assert.deepEqual([posted.at(-1).underruns, posted.at(-1).underrunItems], [ring.underruns, ring.underrunItems]);
    }
  }
  assert.equal(reportedAt.length, 3, `reports after quanta ${reportedAt}`);
  assert.deepEqual([reportedAt[1] - reportedAt[0], reportedAt[2] - reportedAt[1]], [94, 94]);
  const last = posted.at(-1);
  assert.equal(last.type, 'wasmbridge-ring-stats');
  assert.equal(last.started, true);
  assert.ok(last.underruns > 200, 'every empty quantum after the start counts');

  // Attaching through the port works too; a u8 ring is refused.
  const other = RingBuffer.create(256, { kind: 'f32', channels: 1 });
  player.port.onmessage({ data: { type: 'wasmbridge-ring-attach', buffer: other.buffer } });
  other.push(new Float32Array(128).fill(0.25));
  render();
  assert.ok(outputs[0].every((channel) => channel.every((v) => v === 0.25)), 'mono ring plays on every output');
  assert.throws(() => player.attach(RingBuffer.create(256, { kind: 'u8' }).buffer, 128), TypeError);
  assert.doesNotMatch(Player.prototype.process.toString(), /subarray|slice|\.set\(|\[\s*\]|=>|function|postMessage/);

  delete globalThis.sampleRate;
});
