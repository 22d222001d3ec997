//! The synthesizer of `compute::synth`, three ways:
//!
//! - `synthRender(sequenceJson, frames)`: the first `frames` frames of a
//!   sequence, interleaved stereo `f32` at 48 kHz (the reference render);
//! - `synthOpen` / `synthNext` / `synthClose`: a synth kept in this instance
//!   (call them through one pinned handle), rendering on where it stopped:
//!   what a page without cross-origin isolation plays from;
//! - `synthStream(ring, sequenceJson, chunkFrames, maxFrames)`: keeps a
//!   SharedArrayBuffer ring (`crates/wasmbridge/runtime/ring.js`, 2 channels) filled until cancelled,
//!   for an AudioWorklet to play (wasm32 only: the ring lives in JS).
//!
//! Why the guest writes the ring itself: it renders a chunk into a scratch
//! buffer in its own memory and `SharedRing::push` copies it into the
//! SharedArrayBuffer with one `TypedArray.set`: one copy per sample, no
//! allocation per chunk. Returning a `Float32Array` and pushing it from JS
//! would copy twice (wasm memory → a new JS array, then an element loop into
//! the ring) and allocate a new array per chunk.

use crate::args::{bad, u32_arg, usize_arg};
use compute::synth::{Synth, CHANNELS, SAMPLE_RATE};
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

/// Longest single render: 10 minutes.
const MAX_RENDER_FRAMES: usize = 600 * SAMPLE_RATE as usize;
/// Synths one instance keeps open at once.
const MAX_OPEN: usize = 64;

thread_local! {
    static OPEN: RefCell<(u32, BTreeMap<u32, Synth>)> = const { RefCell::new((0, BTreeMap::new())) };
}

fn frames_arg(frames: f64) -> Result<usize> {
    let n = usize_arg("frames", frames)?;
    if n > MAX_RENDER_FRAMES {
        return Err(Error::bad_argument(format!(
            "frames: expected at most {MAX_RENDER_FRAMES} (10 minutes), got {n}"
        )));
    }
    Ok(n)
}

/// The first `frames` frames of `sequenceJson` (see `compute::synth`), interleaved L, R at 48 kHz.
#[wasm_bindgen(js_name = "synthRender")]
pub fn synth_render(sequence_json: String, frames: f64) -> Result<Vec<f32>> {
    let frames = frames_arg(frames)?;
    let mut synth = Synth::from_json(&sequence_json).map_err(bad)?;
    Ok(synth.render_frames(frames))
}

/// Keeps a synth for `sequenceJson` in this instance; returns its handle for `synthNext`.
#[wasm_bindgen(js_name = "synthOpen")]
pub fn synth_open(sequence_json: String) -> Result<u32> {
    let synth = Synth::from_json(&sequence_json).map_err(bad)?;
    OPEN.with(|open| {
        let (next, synths) = &mut *open.borrow_mut();
        if synths.len() >= MAX_OPEN {
            return Err(Error::new(
                "TOO_MANY_SYNTHS",
                format!(
                    "this instance already keeps {MAX_OPEN} synths open; close one with synthClose"
                ),
            ));
        }
        *next = next.wrapping_add(1).max(1);
        synths.insert(*next, synth);
        Ok(*next)
    })
}

/// The next `frames` frames of the synth `handle`, continuing where the last call stopped.
#[wasm_bindgen(js_name = "synthNext")]
pub fn synth_next(handle: f64, frames: f64) -> Result<Vec<f32>> {
    let handle = u32_arg("handle", handle)?;
    let frames = frames_arg(frames)?;
    OPEN.with(|open| match open.borrow_mut().1.get_mut(&handle) {
        Some(synth) => Ok(synth.render_frames(frames)),
        None => Err(Error::bad_argument(format!(
            "handle: no open synth {handle} in this instance (closed, or opened on another worker)"
        ))),
    })
}

/// Forgets the synth `handle`; false when there was none.
#[wasm_bindgen(js_name = "synthClose")]
pub fn synth_close(handle: f64) -> Result<bool> {
    let handle = u32_arg("handle", handle)?;
    Ok(OPEN.with(|open| open.borrow_mut().1.remove(&handle).is_some()))
}

/// Checks a chunk size against a ring of `capacity` elements; in frames.
pub fn chunk_frames(chunk_frames: f64, capacity: usize) -> Result<usize> {
    let chunk = usize_arg("chunkFrames", chunk_frames)?;
    if chunk == 0 || chunk * CHANNELS > capacity {
        return Err(Error::bad_argument(format!(
            "chunkFrames: expected 1..={} frames (the ring's capacity), got {chunk}",
            capacity / CHANNELS
        )));
    }
    Ok(chunk)
}

/// Renders `sequenceJson` into `ring` (a 2-channel f32 ring made by
/// `RingBuffer.create` in crates/wasmbridge/runtime/ring.js) for as long as it is not cancelled, or
/// until `maxFrames` frames (0: no limit) are in the ring; returns the frames
/// written. It writes a chunk of `chunkFrames` whenever the ring has room for
/// one, so the ring stays full to within one chunk, and otherwise sleeps with
/// `Atomics.wait` (allowed in a worker) until about that much has been played.
/// Nothing is buffered outside the ring but the one chunk being written.
/// Cancelling the call (its `AbortSignal`) ends it with `CANCELLED`.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(js_name = "synthStream")]
pub fn synth_stream(
    ring: js_sys::SharedArrayBuffer,
    sequence_json: String,
    chunk_frames: f64,
    max_frames: f64,
) -> Result<f64> {
    use wasmbridge_guest::ring::{SharedRing, READ_OFFSET};
    let mut ring =
        SharedRing::<f32>::attach(&ring).map_err(|e| Error::bad_argument(format!("ring: {e}")))?;
    if ring.geometry().channels() as usize != CHANNELS {
        return Err(Error::bad_argument(format!(
            "ring: expected a ring of 2 channels, got {}",
            ring.geometry().channels()
        )));
    }
    let chunk = self::chunk_frames(chunk_frames, ring.geometry().capacity() as usize)?;
    let max_frames = usize_arg("maxFrames", max_frames)?;
    let mut synth = Synth::from_json(&sequence_json).map_err(bad)?;
    let header = js_sys::Int32Array::new_with_byte_offset_and_length(
        ring.buffer(),
        0,
        (READ_OFFSET / 4 + 1) as u32,
    );
    let mut scratch = vec![0.0f32; chunk * CHANNELS];
    let mut written = 0usize;
    loop {
        if wasmbridge_guest::cancelled() {
            return Err(Error::cancelled());
        }
        let want = if max_frames == 0 {
            chunk
        } else {
            chunk.min(max_frames - written)
        };
        if want == 0 {
            return Ok(written as f64);
        }
        let free = ring.free() / CHANNELS;
        if free >= want {
            let samples = &mut scratch[..want * CHANNELS];
            synth.render(samples);
            ring.push(samples);
            written += want;
            continue;
        }
        // Nobody notifies the ring (the worklet never waits or notifies), so
        // this is a sleep until about `want − free` frames have been played.
        let read = js_sys::Atomics::load(&header, (READ_OFFSET / 4) as u32).unwrap_or(0);
        let ms = ((want - free) as f64 * 1000.0 / f64::from(SAMPLE_RATE)).max(0.25);
        let _ = js_sys::Atomics::wait_with_timeout(&header, (READ_OFFSET / 4) as u32, read, ms);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SONG: &str = r#"{"waveform": "square", "steps": [60, [64, 67], null, 72]}"#;

    #[test]
    fn open_next_close_continue_the_reference_render() {
        let reference = synth_render(SONG.into(), 3000.0).unwrap();
        let handle = synth_open(SONG.into()).unwrap();
        let mut joined = synth_next(f64::from(handle), 1000.0).unwrap();
        joined.extend(synth_next(f64::from(handle), 2000.0).unwrap());
        assert_eq!(joined, reference);
        assert!(synth_close(f64::from(handle)).unwrap());
        assert!(!synth_close(f64::from(handle)).unwrap());
        assert_eq!(
            synth_next(f64::from(handle), 1.0).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            synth_render("{}".into(), 10.0).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
        assert!(synth_render(SONG.into(), -1.0)
            .unwrap_err()
            .message()
            .starts_with("frames:"));
        assert!(synth_render(SONG.into(), 1e9)
            .unwrap_err()
            .message()
            .starts_with("frames: expected at most"));
        assert!(chunk_frames(0.0, 256).is_err());
        assert!(chunk_frames(129.0, 256).is_err());
        assert_eq!(chunk_frames(128.0, 256).unwrap(), 128);
    }
}
