// Types of the audio module (audio.js, the `wasmbridge/audio` entry): the demo
// guest's synthesizer played through a ring and an AudioWorklet.

import type { Pool } from './wasmbridge.js';
import type { RingBuffer } from './ring.js';

export interface SynthSequence {
  bpm?: number;
  stepsPerBeat?: number;
  waveform?: 'sine' | 'saw' | 'square' | 'triangle';
  bandLimited?: boolean;
  adsr?: { attack?: number; decay?: number; sustain?: number; release?: number };
  gain?: number;
  loop?: boolean;
  tuning?: number;
  /** null: rest; a MIDI note; `{note, velocity, length, pan}`; or an array of those (a chord). */
  steps: Array<null | number | { note: number; velocity?: number; length?: number; pan?: number } | Array<number | { note: number; velocity?: number; length?: number; pan?: number }>>;
}

export interface AudioOptions {
  /** The sequence (an object or its JSON) for the guest's synthStream / synthOpen. */
  sequence: SynthSequence | string;
  /** An AudioContext at 48 kHz to play in; default: a new one, closed by stop(). */
  context?: BaseAudioContext;
  /** Where to connect; default `context.destination`. */
  destination?: AudioNode;
  /** Ring capacity in frames (a power of two, ring mode); default 4096 (85 ms). */
  ringFrames?: number;
  /** Frames the worker renders at a time (ring mode), at most 256 (two render quanta); default 128. */
  chunkFrames?: number;
  /** Ring mode: stop producing after this many frames (default 0: until stop()). */
  maxFrames?: number;
  /** Buffers mode: frames per block (default 4800) and how far ahead to schedule (default 400 ms). */
  blockFrames?: number;
  leadMs?: number;
  /** 'ring' (needs isolation), 'buffers' (postMessage + AudioBufferSourceNodes) or 'auto' (default). */
  mode?: 'auto' | 'ring' | 'buffers';
}

export interface AudioStats {
  mode: 'ring' | 'buffers';
  /** Render quanta (ring) or buffers (buffers mode) that came too late, since the start. */
  underruns: number;
  /** Pushes the producer could not complete (0 by construction: it writes only when there is room). */
  overruns: number;
  /** How full the ring (or the schedule ahead) is, 0..1. */
  fill: number;
  /** Frames played (ring) or scheduled (buffers) so far. */
  frames: number;
  /** Set when the producer stopped with an error. */
  error: Error | null;
}

export interface AudioStream {
  readonly context: BaseAudioContext;
  readonly node: AudioNode;
  /** Ring mode only: the ring (ring.js) the worklet plays from. */
  readonly ring?: RingBuffer;
  stats(): AudioStats;
  stop(): Promise<void>;
}

/**
 * Plays the demo guest's synth (or any guest with `synthStream`, `synthOpen` and
 * `synthNext`): through a ring and an AudioWorklet when the page is cross-origin
 * isolated, as scheduled AudioBuffers otherwise.
 */
export declare function startAudio(pool: Pool<any>, options: AudioOptions): Promise<AudioStream>;

export type StartAudio = typeof startAudio;
