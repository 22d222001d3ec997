// An AudioWorkletProcessor that plays interleaved f32 audio from a ring buffer
// (ring.js) filled by another thread: a worker, or a Rust guest through
// `wasmbridge_guest::ring::SharedRing<f32>`.
//
//   await context.audioWorklet.addModule(new URL('./audio-worklet.js', import.meta.url));
//   const ring = RingBuffer.create(16384, { kind: 'f32', channels: 2 });
//   const node = new AudioWorkletNode(context, 'wasmbridge-ring-player', {
//     outputChannelCount: [2],
//     processorOptions: { buffer: ring.buffer },   // or later: node.port.postMessage({ type: 'wasmbridge-ring-attach', buffer })
//   });
//   node.port.onmessage = (e) => showStats(e.data); // { type: 'wasmbridge-ring-stats', underruns, ... } about 4 times a second
//
// Each process() pops one render quantum (128 frames × ring channels) into a
// preallocated interleaved scratch array and de-interleaves it into the
// outputs: output channel c plays ring channel c mod channels (so a mono ring
// fills every output channel). When fewer frames are available it plays what
// there is, then silence, and the ring counts one underrun (and the missing
// elements). Until the first sample has arrived it plays silence without
// counting, so a player started before its producer does not report a burst of
// underruns. It never waits and allocates nothing in process(); the counters
// are posted to the port at most every 250 ms. That postMessage does allocate
// (structured clone), but it is 4 times a second rather than 375, off the
// per-quantum path; the object it sends is preallocated and reused.

import { RingBuffer } from './ring.js';

/** Frames per process() call unless the outputs say otherwise. */
const QUANTUM = 128;
/** Seconds between two stats messages. */
const REPORT_SECONDS = 0.25;

/**
 * @typedef {object} RingPlayerStats
 * @property {'wasmbridge-ring-stats'} type
 * @property {number} underruns   pops that came up short (see RingBuffer.underruns)
 * @property {number} underrunItems elements missing from them
 * @property {number} overruns    the producer's overruns, read from the ring
 * @property {number} available   elements waiting in the ring
 * @property {boolean} started    whether any sample has arrived yet
 */

class RingPlayer extends AudioWorkletProcessor {
  /** @param {{processorOptions?: {buffer?: SharedArrayBuffer}}} [options] */
  constructor(options) {
    super();
    /** @type {RingBuffer | null} */
    this.ring = null;
    /** @type {Float32Array} */
    this.scratch = new Float32Array(0);
    this.started = false;
    this.framesSinceReport = 0;
    this.reportEvery = Math.max(1, Math.round(sampleRate * REPORT_SECONDS));
    /** @type {RingPlayerStats} */
    this.stats = { type: 'wasmbridge-ring-stats', underruns: 0, underrunItems: 0, overruns: 0, available: 0, started: false };
    this.port.onmessage = (event) => {
      const data = event.data;
      if (data && data.type === 'wasmbridge-ring-attach') this.attach(data.buffer, QUANTUM);
    };
    const buffer = options?.processorOptions?.buffer;
    if (buffer) this.attach(buffer, QUANTUM);
  }

  /**
   * Plays from this ring from now on (allocates: only on attach, never per quantum).
   * @param {SharedArrayBuffer} buffer
   * @param {number} frames
   */
  attach(buffer, frames) {
    const ring = RingBuffer.from(buffer);
    if (ring.kind !== 'f32') throw new TypeError(`the ring player needs an f32 ring, got ${ring.kind}`);
    this.scratch = new Float32Array(frames * ring.channels);
    this.ring = ring;
    this.started = false;
  }

  /**
   * @param {Float32Array[][]} _inputs
   * @param {Float32Array[][]} outputs
   */
  process(_inputs, outputs) {
    const output = outputs[0];
    if (!output || output.length === 0) return true;
    const frames = output[0].length;
    const ring = this.ring;
    let got = 0;
    if (ring !== null) {
      const channels = ring.channels;
      // A render quantum larger than planned: grow once, then never again.
      if (this.scratch.length < frames * channels) this.scratch = new Float32Array(frames * channels);
      if (!this.started && ring.available > 0) this.started = true;
      if (this.started) got = ring.pop(this.scratch, frames * channels) / channels;
      const scratch = this.scratch;
      for (let c = 0; c < output.length; c++) {
        const out = output[c];
        const from = c % channels;
        for (let i = 0; i < got; i++) out[i] = scratch[i * channels + from];
        for (let i = got; i < frames; i++) out[i] = 0;
      }
    } else {
      for (let c = 0; c < output.length; c++) output[c].fill(0);
    }
    this.framesSinceReport += frames;
    if (this.framesSinceReport >= this.reportEvery) {
      this.framesSinceReport = 0;
      this.report();
    }
    return true;
  }

  /** Posts the counters (off the per-quantum path: about 4 times a second). */
  report() {
    const ring = this.ring;
    const stats = this.stats;
    stats.underruns = ring ? ring.underruns : 0;
    stats.underrunItems = ring ? ring.underrunItems : 0;
    stats.overruns = ring ? ring.overruns : 0;
    stats.available = ring ? ring.available : 0;
    stats.started = this.started;
    this.port.postMessage(stats);
  }
}

registerProcessor('wasmbridge-ring-player', RingPlayer);
