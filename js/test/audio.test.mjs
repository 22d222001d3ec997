// Audio streaming in real Chromium: the demo guest's synth (compute::synth)
// rendered in a worker straight into a SharedArrayBuffer ring, played by the
// AudioWorklet (crates/wasmbridge/runtime/audio-worklet.js) through crates/wasmbridge/runtime/audio.js; the same through an
// OfflineAudioContext against a direct render; and the fallback without
// cross-origin isolation. Needs the demo-guest bundle (`wasmbridge build -p demo-guest`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, runInPage, isolatedAndPlain } from './harness.mjs';

let server;
let plain;
let browser;

/** A fixed sequence: chords, rests, pans, a saw with band-limiting and a short envelope. */
const SONG = {
  bpm: 132, stepsPerBeat: 4, waveform: 'saw', bandLimited: true, gain: 0.2,
  adsr: { attack: 0.004, decay: 0.08, sustain: 0.5, release: 0.12 },
  steps: [48, null, [60, 64, 67], null, { note: 72, velocity: 0.7, length: 2, pan: -0.6 }, null, 55, { note: 79, pan: 0.8 },
    [57, 60, 64], null, 45, null, { note: 76, length: 3 }, null, [52, 59], 64.5],
};

let fixture;

before(async () => {
  fixture = await isolatedAndPlain('audio', { demo: bundle('demo-guest') });
  ({ server, plain, browser } = fixture);
});

after(async () => {
  await fixture?.close();
});

const inPage = (fn, arg, at = server) => runInPage(browser, at.url, fn, arg);

test('10 s of the synth through the ring and the AudioWorklet while the main thread is blocked 50 ms every 200 ms', async () => {
  const r = await inPage(async (song) => {
    const { createPool } = await import('/demo/wasmbridge.js');
    const { startAudio } = await import('/demo/audio.js');
    const pool = await createPool({ size: 1 });
    const stream = await startAudio(pool, { sequence: song });
    const start = stream.stats();
    const t0 = performance.now();
    const fills = [];
    let blocked = 0;
    const blocker = setInterval(() => {
      fills.push(stream.stats().fill);
      const t = performance.now();
      while (performance.now() - t < 50) { /* the page's main thread is busy */ }
      blocked += 1;
    }, 200);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    clearInterval(blocker);
    const s = stream.stats();
    const seconds = (performance.now() - t0) / 1000;
    const context = { state: stream.context.state, sampleRate: stream.context.sampleRate, baseLatency: stream.context.baseLatency, outputLatency: stream.context.outputLatency };
    await stream.stop();
    const after = pool.stats();
    pool.close();
    return { start, s, seconds, blocked, context, minFill: Math.min(...fills), workers: after.workers.length };
  }, SONG);
  const played = (r.s.frames - r.start.frames) / 48_000;
  console.log(`# audio: ${played.toFixed(2)} s played in ${r.seconds.toFixed(2)} s of wall time, main thread blocked ${r.blocked}× 50 ms; `
    + `underruns ${r.s.underruns} (render quanta short of samples), overruns ${r.s.overruns}, lowest ring fill seen ${(r.minFill * 100).toFixed(0)}%, `
    + `context ${JSON.stringify(r.context)}`);
  assert.equal(r.s.mode, 'ring');
  assert.equal(r.s.error, null);
  assert.ok(r.blocked >= 40, `the main thread was blocked ${r.blocked} times`);
  assert.ok(played > 9, `the context played ${played} s in 10 s`);
  assert.equal(r.s.overruns, 0, 'the producer writes only when the ring has room');
  // The target is 0, reached when the machine is not shared with other work;
  // the count is printed above. A producer that does not keep up starves most
  // of the 3750 quanta; other load on the 2 cores cost up to 171 (4.6 %).
  assert.ok(r.s.underruns < 375, `${r.s.underruns} underruns of ${Math.round(played * 375)} quanta`);
  assert.equal(r.workers, 1, 'stop() released the exclusive worker');
});

test('an OfflineAudioContext render through the ring and the worklet equals the direct render within 1e-6', async () => {
  const r = await inPage(async (song) => {
    const { createPool } = await import('/demo/wasmbridge.js');
    const { startAudio } = await import('/demo/audio.js');
    const pool = await createPool({ size: 1 });
    const frames = 48_000 * 2;
    const context = new OfflineAudioContext({ numberOfChannels: 2, length: frames, sampleRate: 48_000 });
    // A ring that holds the whole render, filled by the worker before rendering starts.
    const stream = await startAudio(pool, { sequence: song, context, ringFrames: 1 << 17, maxFrames: frames });
    for (let i = 0; i < 500 && stream.ring.available < frames * 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const rendered = await context.startRendering();
    const reference = await pool.call('synthRender', JSON.stringify(song), frames);
    let maxDiff = 0;
    let peak = 0;
    for (let c = 0; c < 2; c++) {
      const channel = rendered.getChannelData(c);
      for (let i = 0; i < frames; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(channel[i] - reference[2 * i + c]));
        peak = Math.max(peak, Math.abs(reference[2 * i + c]));
      }
    }
    const s = stream.stats();
    await stream.stop();
    pool.close();
    return { maxDiff, peak, underruns: s.underruns, frames: s.frames, length: rendered.length };
  }, SONG);
  console.log(`# offline render through the worklet: max |difference| from the direct render ${r.maxDiff} (peak ${r.peak.toFixed(3)})`);
  assert.equal(r.length, 96_000);
  assert.ok(r.peak > 0.05, 'the sequence is audible');
  assert.ok(r.maxDiff <= 1e-6, `max difference ${r.maxDiff}`);
  assert.equal(r.underruns, 0);
  assert.equal(r.frames, 96_000);
});

test('a bad sequence rejects startAudio with BAD_ARGUMENT and leaves no worker behind', async () => {
  const r = await inPage(async () => {
    const { createPool, WasmBridgeError } = await import('/demo/wasmbridge.js');
    const { startAudio } = await import('/demo/audio.js');
    const pool = await createPool({ size: 1 });
    const out = {};
    try { await startAudio(pool, { sequence: { bpm: 0, steps: [] } }); } catch (e) { out.error = { isError: e instanceof WasmBridgeError, code: e.code, message: e.message }; }
    try { await startAudio(pool, { sequence: { steps: [60] }, chunkFrames: 512 }); } catch (e) { out.chunk = e.code; }
    out.workers = pool.stats().workers.length;
    pool.close();
    return out;
  });
  assert.deepEqual(r.error, { isError: true, code: 'BAD_ARGUMENT', message: 'bpm: expected a number in 1..=1000, got 0' });
  assert.equal(r.chunk, 'BAD_ARGUMENT');
  assert.equal(r.workers, 1);
});

test('without cross-origin isolation the synth plays from scheduled buffers instead', async () => {
  const r = await inPage(async (song) => {
    const { createPool } = await import('/demo/wasmbridge.js');
    const { startAudio } = await import('/demo/audio.js');
    const pool = await createPool({ size: 1 });
    const stream = await startAudio(pool, { sequence: song });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const s = stream.stats();
    await stream.stop();
    pool.close();
    return { isolated: crossOriginIsolated, s };
  }, SONG, plain);
  console.log(`# audio fallback (not isolated): ${JSON.stringify(r.s)}`);
  assert.equal(r.isolated, false);
  assert.equal(r.s.mode, 'buffers');
  assert.equal(r.s.error, null);
  assert.ok(r.s.frames >= 2 * 48_000, `${r.s.frames} frames scheduled in 2 s`);
});
