// Plays the demo guest's synthesizer (crates/compute/src/synth.rs) without
// the page's main thread in the audio path.
//
//   import { startAudio } from './audio.js';
//   const stream = await startAudio(pool, { sequence: { bpm: 120, waveform: 'saw', steps: [60, 64, 67, null] } });
//   stream.stats();   // { mode, underruns, overruns, fill, frames, error }
//   await stream.stop();
//
// Ring mode (the page is cross-origin isolated): a worker of its own (an
// exclusive pin) runs the guest's `synthStream`, which renders one chunk
// (≤ 2 render quanta) whenever the ring has room for it and copies it
// straight from wasm memory into the SharedArrayBuffer ring (one copy per
// sample), sleeping in Atomics.wait otherwise; the AudioWorklet
// (audio-worklet.js) pops one render quantum per process() call. The ring is
// kept full, so the latency is the ring's capacity (4096 frames, 85 ms, by
// default) plus at most one chunk, and a blocked main thread cannot starve it.
//
// Buffers mode (the fallback without isolation): a pinned worker renders
// 100 ms blocks (`synthNext`, returned by postMessage, transferred) that the
// main thread schedules back to back as AudioBufferSourceNodes, 400 ms ahead.
// It depends on the main thread: a block scheduled too late is an underrun.

import { RingBuffer, LAYOUT } from './ring.js';
import { WasmBridgeError } from './error.js';
import { CODES } from './protocol.js';

const SAMPLE_RATE = 48_000;
const CHANNELS = 2;
const QUANTUM = 128;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {import('./pool.js').Pool} pool a pool of the demo guest (or any guest with the synth functions)
 * @param {import('./audio.d.ts').AudioOptions} options
 * @returns {Promise<import('./audio.d.ts').AudioStream>}
 */
export async function startAudio(pool, options) {
  const sequence = typeof options?.sequence === 'string' ? options.sequence : JSON.stringify(options?.sequence ?? null);
  const mode = options?.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'ring' && mode !== 'buffers') {
    throw new WasmBridgeError(CODES.BAD_ARGUMENT, `mode: expected 'auto', 'ring' or 'buffers', got ${String(mode)}`);
  }
  const ring = mode === 'ring' || (mode === 'auto' && pool.isolated);
  if (ring && !pool.isolated) {
    throw new WasmBridgeError(CODES.NOT_ISOLATED, 'ring mode needs a cross-origin isolated page (COOP/COEP); use mode "auto" or "buffers"');
  }
  const ownContext = !options.context;
  const context = options.context ?? new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
  try {
    if (context.sampleRate !== SAMPLE_RATE) {
      throw new WasmBridgeError(CODES.BAD_ARGUMENT, `context: expected a sample rate of ${SAMPLE_RATE} Hz, got ${context.sampleRate}`);
    }
    return ring
      ? await startRing(pool, context, ownContext, sequence, options)
      : await startBuffers(pool, context, ownContext, sequence, options);
  } catch (err) {
    if (ownContext) await context.close().catch(() => {});
    throw err;
  }
}

/** Resumes a real-time context (an OfflineAudioContext is started by its owner), without waiting forever on autoplay policy. */
async function resume(context) {
  if (typeof AudioContext === 'function' && context instanceof AudioContext && context.state !== 'running') {
    await Promise.race([context.resume(), sleep(1000)]);
  }
}

async function startRing(pool, context, ownContext, sequence, options) {
  const ringFrames = options.ringFrames ?? 4096;
  const chunkFrames = options.chunkFrames ?? QUANTUM;
  if (!Number.isInteger(chunkFrames) || chunkFrames < 1 || chunkFrames > 2 * QUANTUM || chunkFrames > ringFrames) {
    throw new WasmBridgeError(CODES.BAD_ARGUMENT, `chunkFrames: expected 1..${Math.min(2 * QUANTUM, ringFrames)} (at most two render quanta), got ${chunkFrames}`);
  }
  let ring;
  try {
    ring = RingBuffer.create(ringFrames * CHANNELS, { kind: 'f32', channels: CHANNELS });
  } catch (err) {
    throw new WasmBridgeError(CODES.BAD_ARGUMENT, `ringFrames: ${err.message}`);
  }
  await context.audioWorklet.addModule(new URL('./audio-worklet.js', import.meta.url).href);
  const node = new AudioWorkletNode(context, 'wasmbridge-ring-player', {
    numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [CHANNELS], processorOptions: { buffer: ring.buffer },
  });
  const handle = await pool.pin({ exclusive: true });
  const abort = new AbortController();
  let error = null;
  let ended = false;
  // maxFrames (0: until stopped) ends the stream after that many frames: a fixed render.
  const producer = handle.call({ fn: 'synthStream', args: [ring.buffer, sequence, chunkFrames, options.maxFrames ?? 0], signal: abort.signal, timeout: 0 })
    .then(() => { ended = true; }, (e) => { ended = true; if (e.code !== CODES.CANCELLED) error = e; });
  // The first chunk, or the producer's refusal (a bad sequence is a BAD_ARGUMENT here).
  const deadline = performance.now() + 10_000;
  while (ring.available === 0 && !ended && performance.now() < deadline) await sleep(1);
  if (!error && ring.available === 0 && !ended) {
    error = new WasmBridgeError(CODES.TIMEOUT, 'synthStream wrote nothing into the ring within 10 s', { functionName: 'synthStream' });
  }
  if (error) {
    abort.abort();
    handle.release();
    throw error;
  }
  node.connect(options.destination ?? context.destination);
  await resume(context);
  const header = new Uint32Array(ring.buffer, 0, LAYOUT.HEADER_BYTES / 4);
  let stopped = null;
  return {
    context,
    node,
    ring,
    stats: () => ({
      mode: 'ring',
      underruns: ring.underruns,
      overruns: ring.overruns,
      fill: ring.available / ring.capacity,
      frames: Atomics.load(header, LAYOUT.READ_OFFSET / 4) / CHANNELS,
      error,
    }),
    stop() {
      stopped ??= (async () => {
        abort.abort();
        await producer;
        node.disconnect();
        handle.release();
        if (ownContext) await context.close().catch(() => {});
      })();
      return stopped;
    },
  };
}

async function startBuffers(pool, context, ownContext, sequence, options) {
  const blockFrames = options.blockFrames ?? 4800;
  const lead = (options.leadMs ?? 400) / 1000;
  const handle = await pool.pin({ exclusive: true });
  let id;
  try {
    id = await handle.call({ fn: 'synthOpen', args: [sequence], timeout: 0 });
  } catch (err) {
    handle.release();
    throw err;
  }
  const gain = context.createGain();
  gain.connect(options.destination ?? context.destination);
  const sources = new Set();
  let next = 0;
  let underruns = 0;
  let frames = 0;
  let busy = false;
  let stopped = null;
  let error = null;
  const fill = async () => {
    if (busy || stopped || error) return;
    busy = true;
    try {
      while (!stopped && (next === 0 || next - context.currentTime < lead)) {
        const data = await handle.call({ fn: 'synthNext', args: [id, blockFrames], timeout: 0 });
        if (stopped) break;
        const buffer = context.createBuffer(CHANNELS, blockFrames, SAMPLE_RATE);
        const left = buffer.getChannelData(0);
        const right = buffer.getChannelData(1);
        for (let i = 0; i < blockFrames; i++) {
          left[i] = data[2 * i];
          right[i] = data[2 * i + 1];
        }
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.connect(gain);
        const now = context.currentTime;
        if (next === 0) next = now + 0.05;
        else if (next < now) { underruns += 1; next = now + 0.01; }
        source.start(next);
        source.onended = () => sources.delete(source);
        sources.add(source);
        next += blockFrames / SAMPLE_RATE;
        frames += blockFrames;
      }
    } catch (err) {
      error = err;
    } finally {
      busy = false;
    }
  };
  await fill();
  if (error) {
    handle.release();
    throw error;
  }
  await resume(context);
  const timer = setInterval(fill, 25);
  return {
    context,
    node: gain,
    stats: () => ({
      mode: 'buffers', underruns, overruns: 0, fill: Math.max(0, Math.min(1, (next - context.currentTime) / lead)), frames, error,
    }),
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        for (const s of sources) { try { s.stop(); } catch { /* not started */ } }
        gain.disconnect();
        await handle.call({ fn: 'synthClose', args: [id], timeout: 1000 }).catch(() => {});
        handle.release();
        if (ownContext) await context.close().catch(() => {});
      })();
      return stopped;
    },
  };
}
