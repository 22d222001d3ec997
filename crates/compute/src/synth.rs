//! A small deterministic synthesizer for the audio-streaming demo: oscillators
//! (sine, saw, square, triangle; saw and square optionally band-limited with
//! PolyBLEP), a linear ADSR envelope, and a step sequencer that plays a looped
//! pattern of notes and chords on up to [`MAX_VOICES`] voices.
//!
//! [`Synth::render`] writes interleaved stereo `f32` at [`SAMPLE_RATE`]. Every
//! value depends only on the sequence and on the index of the frame, never on
//! how rendering is split into calls: rendering 128 frames 375 times gives
//! exactly the samples of one call for 48 000 frames. That is what lets a
//! worker stream the synth through a ring buffer while a test renders the same
//! sequence in one go as the reference.
//!
//! A sequence is JSON (camelCase keys, every key optional but `steps`):
//!
//! ```json
//! { "bpm": 120, "stepsPerBeat": 4, "waveform": "saw", "bandLimited": true,
//!   "adsr": { "attack": 0.005, "decay": 0.1, "sustain": 0.7, "release": 0.1 },
//!   "gain": 0.25, "loop": true, "tuning": 440,
//!   "steps": [60, null, { "note": 67, "velocity": 0.8, "length": 2, "pan": -0.5 }, [60, 64, 67]] }
//! ```
//!
//! A step is `null` (a rest), a MIDI note number (69 is A4 = `tuning` Hz;
//! fractions detune), an object `{note, velocity 0..=1, length in steps, pan
//! -1..=1}`, or an array of those (a chord). `length` is how long the gate
//! stays open, so the release starts `length` steps after the note.

use serde::Deserialize;
use std::f64::consts::TAU;
use thiserror::Error;

/// Frames per second of every render.
pub const SAMPLE_RATE: u32 = 48_000;
/// Interleaved output channels (left, right).
pub const CHANNELS: usize = 2;
/// Notes that can sound at once; a new note beyond them takes over the oldest voice.
pub const MAX_VOICES: usize = 16;
/// Longest pattern, in steps.
pub const MAX_STEPS: usize = 4096;
/// Longest attack, decay or release, in seconds.
pub const MAX_ENVELOPE_SECONDS: f32 = 60.0;

/// Why a sequence was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SynthError {
    #[error("expected a synth sequence as JSON, got an error: {0}")]
    Json(String),
    #[error("{name}: expected {expected}, got {got}")]
    InvalidParameter {
        name: String,
        expected: &'static str,
        got: String,
    },
}

/// The shape of one oscillator period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Waveform {
    #[default]
    Sine,
    Saw,
    Square,
    Triangle,
}

/// Attack, decay and release in seconds, sustain as a level in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Adsr {
    pub attack: f32,
    pub decay: f32,
    pub sustain: f32,
    pub release: f32,
}

impl Default for Adsr {
    fn default() -> Self {
        Adsr {
            attack: 0.005,
            decay: 0.1,
            sustain: 0.7,
            release: 0.1,
        }
    }
}

/// One note of a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// MIDI note number (69 = A4 at the sequence's tuning); may be fractional.
    pub note: f32,
    /// `0..=1`.
    pub velocity: f32,
    /// Gate length in steps, `> 0`.
    pub length: f32,
    /// `-1` (left) ..= `1` (right), equal-power.
    pub pan: f32,
}

/// A validated sequence: what [`Synth`] plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub bpm: f32,
    pub steps_per_beat: u32,
    pub waveform: Waveform,
    pub band_limited: bool,
    pub adsr: Adsr,
    pub gain: f32,
    pub looped: bool,
    pub tuning: f32,
    /// One entry per step; an empty entry is a rest.
    pub steps: Vec<Vec<Note>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SequenceJson {
    #[serde(default = "default_bpm")]
    bpm: f32,
    #[serde(default = "default_steps_per_beat")]
    steps_per_beat: u32,
    #[serde(default)]
    waveform: Waveform,
    #[serde(default = "yes")]
    band_limited: bool,
    #[serde(default)]
    adsr: Adsr,
    #[serde(default = "default_gain")]
    gain: f32,
    #[serde(default = "yes", rename = "loop")]
    looped: bool,
    #[serde(default = "default_tuning")]
    tuning: f32,
    steps: Vec<Option<StepJson>>,
}

fn default_bpm() -> f32 {
    120.0
}
fn default_steps_per_beat() -> u32 {
    4
}
fn yes() -> bool {
    true
}
fn default_gain() -> f32 {
    0.25
}
fn default_tuning() -> f32 {
    440.0
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StepJson {
    // Chord first: an untagged struct would also accept `[60, 64, 67]` as `{note, velocity, length}`.
    Chord(Vec<NoteJson>),
    One(NoteJson),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NoteJson {
    Number(f32),
    Full(FullNoteJson),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullNoteJson {
    note: f32,
    #[serde(default = "one")]
    velocity: f32,
    #[serde(default = "one")]
    length: f32,
    #[serde(default)]
    pan: f32,
}

fn one() -> f32 {
    1.0
}

fn within(
    name: &str,
    expected: &'static str,
    value: f32,
    lo: f32,
    hi: f32,
) -> Result<(), SynthError> {
    if value >= lo && value <= hi {
        Ok(())
    } else {
        Err(SynthError::InvalidParameter {
            name: name.to_string(),
            expected,
            got: value.to_string(),
        })
    }
}

impl Note {
    fn from_json(json: NoteJson) -> Note {
        match json {
            NoteJson::Number(note) => Note {
                note,
                velocity: 1.0,
                length: 1.0,
                pan: 0.0,
            },
            NoteJson::Full(f) => Note {
                note: f.note,
                velocity: f.velocity,
                length: f.length,
                pan: f.pan,
            },
        }
    }

    fn validate(&self, step: usize) -> Result<(), SynthError> {
        let name = |field: &str| format!("steps[{step}].{field}");
        within(
            &name("note"),
            "a MIDI note number in 0..=127",
            self.note,
            0.0,
            127.0,
        )?;
        within(
            &name("velocity"),
            "a number in 0..=1",
            self.velocity,
            0.0,
            1.0,
        )?;
        within(
            &name("length"),
            "a number of steps in 0.001..=1024",
            self.length,
            0.001,
            1024.0,
        )?;
        within(&name("pan"), "a number in -1..=1", self.pan, -1.0, 1.0)
    }
}

impl Sequence {
    /// Parses and validates a sequence (see the module documentation).
    pub fn from_json(json: &str) -> Result<Sequence, SynthError> {
        let raw: SequenceJson =
            serde_json::from_str(json).map_err(|e| SynthError::Json(e.to_string()))?;
        let steps = raw
            .steps
            .into_iter()
            .map(|step| match step {
                None => Vec::new(),
                Some(StepJson::One(n)) => vec![Note::from_json(n)],
                Some(StepJson::Chord(ns)) => ns.into_iter().map(Note::from_json).collect(),
            })
            .collect();
        let sequence = Sequence {
            bpm: raw.bpm,
            steps_per_beat: raw.steps_per_beat,
            waveform: raw.waveform,
            band_limited: raw.band_limited,
            adsr: raw.adsr,
            gain: raw.gain,
            looped: raw.looped,
            tuning: raw.tuning,
            steps,
        };
        sequence.validate()?;
        Ok(sequence)
    }

    /// Checks every number is finite and in range.
    pub fn validate(&self) -> Result<(), SynthError> {
        within("bpm", "a number in 1..=1000", self.bpm, 1.0, 1000.0)?;
        if !(1..=64).contains(&self.steps_per_beat) {
            return Err(SynthError::InvalidParameter {
                name: "stepsPerBeat".into(),
                expected: "an integer in 1..=64",
                got: self.steps_per_beat.to_string(),
            });
        }
        within("gain", "a number in 0..=1", self.gain, 0.0, 1.0)?;
        within(
            "tuning",
            "a frequency in 100..=1000 Hz",
            self.tuning,
            100.0,
            1000.0,
        )?;
        let seconds = "seconds in 0..=60";
        within(
            "adsr.attack",
            seconds,
            self.adsr.attack,
            0.0,
            MAX_ENVELOPE_SECONDS,
        )?;
        within(
            "adsr.decay",
            seconds,
            self.adsr.decay,
            0.0,
            MAX_ENVELOPE_SECONDS,
        )?;
        within(
            "adsr.sustain",
            "a level in 0..=1",
            self.adsr.sustain,
            0.0,
            1.0,
        )?;
        within(
            "adsr.release",
            seconds,
            self.adsr.release,
            0.0,
            MAX_ENVELOPE_SECONDS,
        )?;
        if self.steps.len() > MAX_STEPS {
            return Err(SynthError::InvalidParameter {
                name: "steps".into(),
                expected: "at most 4096 steps",
                got: self.steps.len().to_string(),
            });
        }
        for (i, step) in self.steps.iter().enumerate() {
            if step.len() > MAX_VOICES {
                return Err(SynthError::InvalidParameter {
                    name: format!("steps[{i}]"),
                    expected: "a chord of at most 16 notes",
                    got: step.len().to_string(),
                });
            }
            for note in step {
                note.validate(i)?;
            }
        }
        Ok(())
    }

    /// Frames from one step to the next (fractional).
    pub fn frames_per_step(&self) -> f64 {
        f64::from(SAMPLE_RATE) * 60.0 / (f64::from(self.bpm) * f64::from(self.steps_per_beat))
    }
}

/// An ADSR envelope with its times converted to frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    attack: u32,
    decay: u32,
    sustain: f32,
    release: u32,
}

fn frames_of(seconds: f32) -> u32 {
    (f64::from(seconds) * f64::from(SAMPLE_RATE)).round() as u32
}

impl Envelope {
    pub fn new(adsr: &Adsr) -> Envelope {
        Envelope {
            attack: frames_of(adsr.attack),
            decay: frames_of(adsr.decay),
            sustain: adsr.sustain.clamp(0.0, 1.0),
            release: frames_of(adsr.release),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Idle,
    Attack,
    Decay,
    Sustain,
    Release,
}

/// Where one voice is in its envelope. Linear segments computed from the frame
/// count within the segment (not accumulated), so no rounding drift:
/// attack from the level the gate opened at up to 1, decay down to sustain,
/// sustain while the gate is open, release from the level the gate closed at
/// down to 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvelopeState {
    stage: Stage,
    n: u32,
    from: f32,
    level: f32,
}

impl Default for EnvelopeState {
    fn default() -> Self {
        EnvelopeState {
            stage: Stage::Idle,
            n: 0,
            from: 0.0,
            level: 0.0,
        }
    }
}

impl EnvelopeState {
    /// Opens the gate: the attack starts from the current level (so a stolen voice does not click).
    pub fn gate_on(&mut self) {
        self.from = self.level;
        self.stage = Stage::Attack;
        self.n = 0;
    }

    /// Closes the gate: the release starts from the current level.
    pub fn gate_off(&mut self) {
        if self.stage != Stage::Idle && self.stage != Stage::Release {
            self.from = self.level;
            self.stage = Stage::Release;
            self.n = 0;
        }
    }

    /// True when the voice is silent and free.
    pub fn is_idle(&self) -> bool {
        self.stage == Stage::Idle
    }

    /// The level of this frame; advances by one frame.
    pub fn next(&mut self, env: &Envelope) -> f32 {
        loop {
            match self.stage {
                Stage::Idle => {
                    self.level = 0.0;
                    return 0.0;
                }
                Stage::Attack if self.n >= env.attack => self.enter(Stage::Decay),
                Stage::Attack => {
                    self.level =
                        self.from + (1.0 - self.from) * (self.n as f32 / env.attack as f32);
                    break;
                }
                Stage::Decay if self.n >= env.decay => self.enter(Stage::Sustain),
                Stage::Decay => {
                    self.level = 1.0 - (1.0 - env.sustain) * (self.n as f32 / env.decay as f32);
                    break;
                }
                Stage::Sustain => {
                    self.level = env.sustain;
                    break;
                }
                Stage::Release if self.n >= env.release => self.enter(Stage::Idle),
                Stage::Release => {
                    self.level = self.from * (1.0 - self.n as f32 / env.release as f32);
                    break;
                }
            }
        }
        self.n = self.n.saturating_add(1);
        self.level
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        self.n = 0;
    }
}

/// The PolyBLEP residual that smooths a unit step at phase 0 over one sample each side.
fn poly_blep(t: f64, dt: f64) -> f64 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// One sample of `waveform` at `phase` in `[0, 1)`, advancing `dt` cycles per
/// sample; in `[-1, 1]` (band-limited saw and square overshoot slightly less
/// than PolyBLEP's ±1 correction allows, never more than 2).
pub fn oscillator(waveform: Waveform, phase: f64, dt: f64, band_limited: bool) -> f64 {
    match waveform {
        Waveform::Sine => (TAU * phase).sin(),
        Waveform::Saw => {
            let naive = 2.0 * phase - 1.0;
            if band_limited {
                naive - poly_blep(phase, dt)
            } else {
                naive
            }
        }
        Waveform::Square => {
            let naive = if phase < 0.5 { 1.0 } else { -1.0 };
            if band_limited {
                naive + poly_blep(phase, dt) - poly_blep((phase + 0.5).fract(), dt)
            } else {
                naive
            }
        }
        Waveform::Triangle => 1.0 - 4.0 * (phase - 0.5).abs(),
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Voice {
    phase: f64,
    dt: f64,
    amplitude: f32,
    left: f32,
    right: f32,
    /// Frames until the gate closes; 0 once closed.
    gate: u64,
    started: u64,
    env: EnvelopeState,
}

/// Plays a [`Sequence`]; see the module documentation.
#[derive(Debug, Clone)]
pub struct Synth {
    sequence: Sequence,
    envelope: Envelope,
    voices: [Voice; MAX_VOICES],
    frame: u64,
    next_step: u64,
    frames_per_step: f64,
    finished: bool,
}

impl Synth {
    pub fn new(sequence: Sequence) -> Synth {
        Synth {
            envelope: Envelope::new(&sequence.adsr),
            frames_per_step: sequence.frames_per_step(),
            finished: sequence.steps.is_empty(),
            sequence,
            voices: [Voice::default(); MAX_VOICES],
            frame: 0,
            next_step: 0,
        }
    }

    /// [`Sequence::from_json`], then [`Synth::new`].
    pub fn from_json(json: &str) -> Result<Synth, SynthError> {
        Ok(Synth::new(Sequence::from_json(json)?))
    }

    pub fn sequence(&self) -> &Sequence {
        &self.sequence
    }

    /// Frames rendered so far.
    pub fn frames(&self) -> u64 {
        self.frame
    }

    /// True once a sequence that does not loop has played every step and every voice is silent.
    pub fn is_finished(&self) -> bool {
        self.finished && self.voices.iter().all(|v| v.env.is_idle())
    }

    /// Renders `out.len() / 2` frames, interleaved left/right, continuing where
    /// the last call stopped. A trailing odd element is set to 0.
    pub fn render(&mut self, out: &mut [f32]) {
        let mut frames = out.chunks_exact_mut(CHANNELS);
        for frame in &mut frames {
            let (left, right) = self.next_frame();
            frame[0] = left;
            frame[1] = right;
        }
        for x in frames.into_remainder() {
            *x = 0.0;
        }
    }

    /// A new buffer of `frames` rendered frames.
    pub fn render_frames(&mut self, frames: usize) -> Vec<f32> {
        let mut out = vec![0.0; frames * CHANNELS];
        self.render(&mut out);
        out
    }

    fn next_frame(&mut self) -> (f32, f32) {
        // Step k starts at the first frame ≥ k·frames_per_step.
        while !self.finished && self.frame as f64 >= self.next_step as f64 * self.frames_per_step {
            let len = self.sequence.steps.len() as u64;
            let index = (self.next_step % len) as usize;
            self.next_step += 1;
            if !self.sequence.looped && self.next_step >= len {
                self.finished = true;
            }
            for i in 0..self.sequence.steps[index].len() {
                let note = self.sequence.steps[index][i];
                self.trigger(note);
            }
        }
        let (mut left, mut right) = (0.0f64, 0.0f64);
        let waveform = self.sequence.waveform;
        let band_limited = self.sequence.band_limited;
        for voice in &mut self.voices {
            if voice.env.is_idle() {
                continue;
            }
            if voice.gate > 0 {
                voice.gate -= 1;
                if voice.gate == 0 {
                    voice.env.gate_off();
                }
            }
            let level = voice.env.next(&self.envelope);
            let sample = oscillator(waveform, voice.phase, voice.dt, band_limited)
                * f64::from(level * voice.amplitude);
            left += sample * f64::from(voice.left);
            right += sample * f64::from(voice.right);
            voice.phase += voice.dt;
            if voice.phase >= 1.0 {
                voice.phase -= 1.0;
            }
        }
        self.frame += 1;
        (
            (left as f32).clamp(-1.0, 1.0),
            (right as f32).clamp(-1.0, 1.0),
        )
    }

    fn trigger(&mut self, note: Note) {
        if note.velocity == 0.0 {
            return;
        }
        // A free voice, else the one started longest ago (lowest index on ties).
        let mut pick = 0;
        for (i, v) in self.voices.iter().enumerate() {
            if v.env.is_idle() {
                pick = i;
                break;
            }
            if v.started < self.voices[pick].started {
                pick = i;
            }
        }
        let frequency =
            f64::from(self.sequence.tuning) * ((f64::from(note.note) - 69.0) / 12.0).exp2();
        let angle = (f64::from(note.pan) + 1.0) * std::f64::consts::FRAC_PI_4;
        let gate = (f64::from(note.length) * self.frames_per_step)
            .round()
            .max(1.0) as u64;
        let voice = &mut self.voices[pick];
        if voice.env.is_idle() {
            voice.phase = 0.0;
        }
        voice.dt = frequency / f64::from(SAMPLE_RATE);
        voice.amplitude = note.velocity * self.sequence.gain;
        voice.left = angle.cos() as f32;
        voice.right = angle.sin() as f32;
        voice.gate = gate;
        voice.started = self.frame;
        voice.env.gate_on();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one_note(waveform: &str, note: f32, band_limited: bool) -> Synth {
        let json = format!(
            r#"{{"waveform": "{waveform}", "bandLimited": {band_limited}, "loop": false, "gain": 1,
                "adsr": {{"attack": 0, "decay": 0, "sustain": 1, "release": 0}},
                "bpm": 1, "stepsPerBeat": 1, "steps": [{{"note": {note}, "pan": -1}}]}}"#
        );
        Synth::from_json(&json).unwrap()
    }

    fn left(out: &[f32]) -> Vec<f32> {
        out.chunks_exact(2).map(|f| f[0]).collect()
    }

    fn zero_crossings(signal: &[f32]) -> usize {
        signal
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    #[test]
    fn envelope_has_the_adsr_shape() {
        let adsr = Adsr {
            attack: 0.01,
            decay: 0.02,
            sustain: 0.5,
            release: 0.03,
        };
        let env = Envelope::new(&adsr);
        assert_eq!((env.attack, env.decay, env.release), (480, 960, 1440));
        let mut state = EnvelopeState::default();
        state.gate_on();
        let mut levels: Vec<f32> = (0..4800).map(|_| state.next(&env)).collect();
        state.gate_off();
        levels.extend((0..2000).map(|_| state.next(&env)));
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(levels[0], 0.0));
        assert!(
            close(levels[240], 0.5),
            "half way up the attack: {}",
            levels[240]
        );
        assert!(
            levels[..480].windows(2).all(|w| w[1] > w[0]),
            "attack rises"
        );
        assert!(close(levels[480], 1.0), "peak after the attack");
        assert!(
            close(levels[960], 0.75),
            "half way down the decay: {}",
            levels[960]
        );
        assert!(
            levels[480..1440].windows(2).all(|w| w[1] < w[0]),
            "decay falls"
        );
        assert!(
            levels[1440..4800].iter().all(|&l| close(l, 0.5)),
            "sustain holds"
        );
        assert!(
            close(levels[4800], 0.5),
            "release starts at the sustain level"
        );
        assert!(
            close(levels[4800 + 720], 0.25),
            "half way down the release: {}",
            levels[4800 + 720]
        );
        assert!(
            levels[4800..4800 + 1440].windows(2).all(|w| w[1] < w[0]),
            "release falls"
        );
        assert!(
            levels[4800 + 1440..].iter().all(|&l| l == 0.0),
            "silent after the release"
        );
        assert!(state.is_idle());
    }

    #[test]
    fn release_during_attack_starts_from_the_current_level() {
        let env = Envelope::new(&Adsr {
            attack: 0.01,
            decay: 0.0,
            sustain: 1.0,
            release: 0.01,
        });
        let mut state = EnvelopeState::default();
        state.gate_on();
        let mut last = 0.0;
        for _ in 0..240 {
            last = state.next(&env);
        }
        state.gate_off();
        let first = state.next(&env);
        assert!(
            (first - last).abs() < 0.01 && first <= last,
            "{first} after {last}"
        );
    }

    #[test]
    fn frequency_by_zero_crossings() {
        for waveform in ["sine", "saw", "square", "triangle"] {
            for band_limited in [false, true] {
                for (note, hz) in [(69.0, 440.0), (57.0, 220.0), (81.0, 880.0)] {
                    let mut synth = one_note(waveform, note, band_limited);
                    let out = synth.render_frames(SAMPLE_RATE as usize);
                    let crossings = zero_crossings(&left(&out)) as f64;
                    assert!(
                        (crossings - 2.0 * hz).abs() <= 2.0,
                        "{waveform} (band limited: {band_limited}) at {hz} Hz: {crossings} zero crossings in 1 s"
                    );
                }
            }
        }
    }

    #[test]
    fn band_limiting_softens_the_saw_edge() {
        let naive = left(&one_note("saw", 93.0, false).render_frames(4800));
        let smooth = left(&one_note("saw", 93.0, true).render_frames(4800));
        let biggest_jump = |s: &[f32]| {
            s.windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(
            biggest_jump(&smooth) < biggest_jump(&naive),
            "{} vs {}",
            biggest_jump(&smooth),
            biggest_jump(&naive)
        );
        assert!(smooth.iter().all(|s| s.abs() <= 1.0));
    }

    const SONG: &str = r#"{"bpm": 140, "waveform": "saw", "adsr": {"attack": 0.01, "decay": 0.05, "sustain": 0.6, "release": 0.08},
        "steps": [60, null, {"note": 67, "velocity": 0.8, "length": 2, "pan": -0.5}, [60, 64, 67], 72, null, 48.5, {"note": 55, "pan": 1}]}"#;

    #[test]
    fn rendering_is_deterministic_and_independent_of_chunking() {
        let whole = Synth::from_json(SONG).unwrap().render_frames(100_000);
        assert_eq!(
            whole,
            Synth::from_json(SONG).unwrap().render_frames(100_000)
        );
        for chunk in [1usize, 128, 333, 4096] {
            let mut synth = Synth::from_json(SONG).unwrap();
            let mut pieces = Vec::new();
            while pieces.len() < whole.len() {
                let n = chunk.min((whole.len() - pieces.len()) / 2);
                pieces.extend(synth.render_frames(n));
            }
            assert_eq!(pieces, whole, "rendered in chunks of {chunk} frames");
        }
        assert!(whole.iter().any(|&s| s.abs() > 0.05), "the song is audible");
        assert!(whole.iter().all(|&s| s.abs() <= 1.0));
    }

    #[test]
    fn notes_start_on_their_steps_and_pan_between_channels() {
        let json = r#"{"bpm": 60, "stepsPerBeat": 1, "loop": false, "adsr": {"attack": 0, "decay": 0, "sustain": 1, "release": 0},
            "steps": [null, {"note": 69, "pan": -1, "length": 0.5}, null, {"note": 69, "pan": 1}]}"#;
        let out = Synth::from_json(json).unwrap().render_frames(4 * 48_000);
        let (l, r): (Vec<f32>, Vec<f32>) = out.chunks_exact(2).map(|f| (f[0], f[1])).unzip();
        let loud = |s: &[f32]| s.iter().any(|x| x.abs() > 0.01);
        assert!(
            !loud(&l[..48_000]) && !loud(&r[..48_000]),
            "step 0 is a rest"
        );
        assert!(
            loud(&l[48_000..72_000]) && !loud(&r[48_000..96_000]),
            "step 1 plays hard left for half a step"
        );
        assert!(!loud(&l[72_010..]), "its gate closed after half a step");
        assert!(
            loud(&r[144_000..]) && !loud(&l[144_000..]),
            "step 3 plays hard right"
        );
        // The first sample of a step is its note's phase 0.
        assert_eq!(l[47_999], 0.0);
    }

    #[test]
    fn a_sequence_that_does_not_loop_finishes() {
        let json = r#"{"loop": false, "bpm": 600, "adsr": {"release": 0.01}, "steps": [60, 62]}"#;
        let mut synth = Synth::from_json(json).unwrap();
        synth.render_frames(48_000);
        assert!(synth.is_finished());
        assert!(synth.render_frames(128).iter().all(|&s| s == 0.0));
        let looped = r#"{"bpm": 600, "steps": [60, 62]}"#;
        let mut synth = Synth::from_json(looped).unwrap();
        let tail = synth.render_frames(48_000).split_off(90_000);
        assert!(
            tail.iter().any(|&s| s != 0.0),
            "a looped sequence keeps playing"
        );
    }

    #[test]
    fn bad_sequences_are_refused_with_the_field_named() {
        let err = |json: &str| Synth::from_json(json).unwrap_err().to_string();
        assert!(err("{").starts_with("expected a synth sequence as JSON"));
        assert!(err(r#"{"steps": [], "tempo": 1}"#).contains("unknown field"));
        assert_eq!(
            err(r#"{"bpm": 0, "steps": []}"#),
            "bpm: expected a number in 1..=1000, got 0"
        );
        assert_eq!(
            err(r#"{"steps": [60, {"note": 200}]}"#),
            "steps[1].note: expected a MIDI note number in 0..=127, got 200"
        );
        assert_eq!(
            err(r#"{"adsr": {"sustain": 2}, "steps": []}"#),
            "adsr.sustain: expected a level in 0..=1, got 2"
        );
        assert!(err(r#"{"waveform": "noise", "steps": []}"#).contains("unknown variant"));
        let silent = Synth::from_json(r#"{"steps": []}"#)
            .unwrap()
            .render_frames(256);
        assert!(silent.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn an_odd_buffer_gets_a_zero_tail() {
        let mut out = vec![9.0f32; 5];
        Synth::from_json(SONG).unwrap().render(&mut out);
        assert_eq!(out[4], 0.0);
    }
}
