//! A guest that misbehaves on purpose: it panics, loops, allocates without
//! bound, keeps state and echoes values, so the runtime's tests can provoke
//! every failure the pool must survive.

pub mod parallel;
pub mod regions;

use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

thread_local! {
    static COUNTER: Cell<f64> = const { Cell::new(0.0) };
    static HOARD: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Returns its argument unchanged (any JS value).
#[wasm_bindgen]
pub fn echo(value: JsValue) -> JsValue {
    value
}

/// `a + b`, the cheapest useful call.
#[wasm_bindgen]
pub fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// A promise of `2 × x`, already settled: an export that returns a promise,
/// which the worker (and the lane's worker) awaits before its next call.
#[wasm_bindgen(js_name = "promiseOf")]
pub fn promise_of(x: f64) -> js_sys::Promise {
    js_sys::Promise::resolve(&JsValue::from(2.0 * x))
}

/// Panics with `message`.
#[wasm_bindgen(js_name = "panicWith")]
pub fn panic_with(message: String) {
    panic!("{message}");
}

/// Fails with a guest error of the given code and message, with data
/// `{"requested": code}`.
#[wasm_bindgen]
pub fn fail(code: String, message: String) -> Result<()> {
    Err(Error::new(&code, message).with_data(serde_json::json!({ "requested": code })))
}

/// `a / b`: a guest error `DIVIDE_BY_ZERO` when `b` is 0, a panic when `b`
/// is negative. It takes numbers only, so the pool packs its calls: the tests
/// make one call of a packed chunk fail either way.
#[wasm_bindgen(js_name = "checkedDivide")]
pub fn checked_divide(a: f64, b: f64) -> Result<f64> {
    if b < 0.0 {
        panic!("divisor {b} is negative");
    }
    if b == 0.0 {
        return Err(Error::new(
            "DIVIDE_BY_ZERO",
            format!("cannot divide {a} by zero"),
        ));
    }
    Ok(a / b)
}

/// Busy-waits for `ms` milliseconds of wall time, then returns `ms`.
#[wasm_bindgen]
pub fn busy(ms: f64) -> f64 {
    let start = js_sys::Date::now();
    while js_sys::Date::now() - start < ms {}
    ms
}

/// Never returns: only a hard stop of the worker ends it.
#[wasm_bindgen(js_name = "loopForever")]
pub fn loop_forever() {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Loops until the caller cancels, reporting progress; returns `CANCELLED`.
#[wasm_bindgen(js_name = "spinUntilCancelled")]
pub fn spin_until_cancelled() -> Result<f64> {
    let mut rounds = 0.0;
    loop {
        if wasmbridge_guest::cancelled() {
            return Err(Error::cancelled().with_data(serde_json::json!({ "rounds": rounds })));
        }
        rounds += 1.0;
    }
}

/// Reports progress `1/steps, 2/steps, …, 1` with `ms` of work between steps.
#[wasm_bindgen(js_name = "withProgress")]
pub fn with_progress(steps: u32, ms: f64) -> u32 {
    for i in 1..=steps {
        busy(ms);
        wasmbridge_guest::progress(f64::from(i) / f64::from(steps));
    }
    steps
}

/// Keeps `mib` more MiB alive in this instance; returns the total kept.
#[wasm_bindgen]
pub fn hoard(mib: u32) -> f64 {
    HOARD.with(|h| {
        let mut h = h.borrow_mut();
        h.push(vec![1u8; (mib as usize) << 20]);
        h.iter().map(|v| v.len() as f64).sum::<f64>() / 1_048_576.0
    })
}

/// A buffer of `len` bytes where byte i is `i % 251`, returned as `Uint8Array`.
#[wasm_bindgen]
pub fn bytes(len: u32) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Sum of the bytes of `data`, so tests can check what arrived.
#[wasm_bindgen(js_name = "sumBytes")]
pub fn sum_bytes(data: &[u8]) -> f64 {
    data.iter().map(|&b| f64::from(b)).sum()
}

/// Writes `2·input[i]` (wrapping) into `out[i]` for the shorter of the two and
/// returns how many bytes it wrote: a `&mut [u8]` parameter, which
/// wasm-bindgen copies back into the view it was given, for the tests of
/// caller-provided outputs.
#[wasm_bindgen(js_name = "doubleInto")]
pub fn double_into(input: &[u8], out: &mut [u8]) -> f64 {
    for (o, &i) in out.iter_mut().zip(input) {
        *o = i.wrapping_mul(2);
    }
    input.len().min(out.len()) as f64
}

/// Adds `by` to this instance's counter and returns it: state that lives
/// as long as the worker's instance.
#[wasm_bindgen]
pub fn count(by: f64) -> f64 {
    COUNTER.with(|c| {
        c.set(c.get() + by);
        c.get()
    })
}

/// Sample `i` of the stream `ringProduce` writes: `i mod 2^24`, exact in f32.
pub fn ring_sample(i: u64) -> f32 {
    (i & 0xff_ffff) as f32
}

/// Folds one sample into the checksum `ringProduce` returns (and the page
/// recomputes): `h·31 + bits` over the f32 bit patterns, wrapping at 2^32.
pub fn ring_checksum(h: u32, sample: f32) -> u32 {
    h.wrapping_mul(31).wrapping_add(sample.to_bits())
}

/// Pushes `count` samples ([`ring_sample`]) into `ring`, a 1-channel f32
/// ring made by `RingBuffer.create` in crates/wasmbridge/runtime/ring.js, in pieces of at most
/// `chunk` elements, never more than the ring has room for (so it never
/// counts an overrun); sleeps briefly with `Atomics.wait` while the ring is
/// full. Returns the checksum ([`ring_checksum`]) of everything it pushed, or
/// `CANCELLED` when cancelled.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(js_name = "ringProduce")]
pub fn ring_produce(ring: js_sys::SharedArrayBuffer, count: f64, chunk: u32) -> Result<f64> {
    use wasmbridge_guest::ring::{SharedRing, READ_OFFSET};
    let mut ring =
        SharedRing::<f32>::attach(&ring).map_err(|e| Error::bad_argument(format!("ring: {e}")))?;
    if !(count >= 0.0 && count.fract() == 0.0 && count <= 9e15) || chunk == 0 {
        return Err(Error::bad_argument(format!(
            "count and chunk: expected a whole count and chunk ≥ 1, got {count} and {chunk}"
        )));
    }
    let count = count as u64;
    let header = js_sys::Int32Array::new_with_byte_offset_and_length(
        ring.buffer(),
        0,
        (READ_OFFSET / 4 + 1) as u32,
    );
    let mut scratch = vec![0.0f32; chunk as usize];
    let (mut next, mut hash, mut idle) = (0u64, 0u32, 0u32);
    while next < count {
        let n = (ring.free() as u64).min(count - next).min(u64::from(chunk)) as usize;
        if n == 0 {
            idle += 1;
            if idle % 1024 == 0 && wasmbridge_guest::cancelled() {
                return Err(Error::cancelled());
            }
            if idle > 64 {
                // Full for a while: sleep 50 µs (nobody notifies the ring).
                let read = js_sys::Atomics::load(&header, (READ_OFFSET / 4) as u32).unwrap_or(0);
                let _ = js_sys::Atomics::wait_with_timeout(
                    &header,
                    (READ_OFFSET / 4) as u32,
                    read,
                    0.05,
                );
            }
            continue;
        }
        idle = 0;
        for (k, slot) in scratch[..n].iter_mut().enumerate() {
            let sample = ring_sample(next + k as u64);
            hash = ring_checksum(hash, sample);
            *slot = sample;
        }
        ring.push(&scratch[..n]);
        next += n as u64;
    }
    Ok(f64::from(hash))
}

/// Pushes `count` elements of one constant chunk into `ring` (a 1-channel f32
/// ring), as fast as the consumer makes room: measures the ring's transport
/// (one `TypedArray.set` from wasm memory per push), not the producer's work.
/// Returns the number of pushes.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(js_name = "ringFlood")]
pub fn ring_flood(ring: js_sys::SharedArrayBuffer, count: f64, chunk: u32) -> Result<f64> {
    use wasmbridge_guest::ring::SharedRing;
    let mut ring =
        SharedRing::<f32>::attach(&ring).map_err(|e| Error::bad_argument(format!("ring: {e}")))?;
    let scratch = vec![1.0f32; chunk.max(1) as usize];
    let (mut left, mut pushes, mut idle) = (count.max(0.0) as u64, 0u64, 0u32);
    while left > 0 {
        let n = (ring.free() as u64).min(left).min(scratch.len() as u64) as usize;
        if n == 0 {
            idle = idle.wrapping_add(1);
            if idle % 4096 == 0 && wasmbridge_guest::cancelled() {
                return Err(Error::cancelled());
            }
            continue;
        }
        ring.push(&scratch[..n]);
        left -= n as u64;
        pushes += 1;
    }
    Ok(pushes as f64)
}

/// Returns a JS Symbol, which cannot be sent to the page: the caller gets BAD_RESULT.
#[wasm_bindgen]
pub fn unsendable() -> JsValue {
    JsValue::symbol(Some("not cloneable"))
}

/// What the guest received, as text that names every JS type and bit:
/// `n` (null or undefined), `t`, `f`, `d:<f64 little-endian hex>`,
/// `b:<BigInt decimal>`, `s:<UTF-16 code units, little-endian hex>`,
/// `T:<typed array name>:<bytes hex>`, `[a,b]` and `{key=value,...}` with keys
/// (as `s:` text) sorted. The Godot codec test computes the same text in
/// GDScript, so it sees that the guest got exactly what GDScript sent.
#[wasm_bindgen]
pub fn canonical(value: JsValue) -> String {
    let mut out = String::new();
    canonical_into(&value, &mut out);
    out
}

fn push_hex(bytes: &[u8], out: &mut String) {
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
}

fn string_units(value: &JsValue) -> String {
    let mut out = String::from("s:");
    for unit in value.unchecked_ref::<js_sys::JsString>().iter() {
        push_hex(&unit.to_le_bytes(), &mut out);
    }
    out
}

fn property(value: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn canonical_into(value: &JsValue, out: &mut String) {
    if value.is_null() || value.is_undefined() {
        out.push('n');
    } else if let Some(b) = value.as_bool() {
        out.push(if b { 't' } else { 'f' });
    } else if let Some(x) = value.as_f64() {
        out.push_str("d:");
        push_hex(&x.to_le_bytes(), out);
    } else if value.is_bigint() {
        let text = value
            .unchecked_ref::<js_sys::BigInt>()
            .to_string(10)
            .map(String::from)
            .unwrap_or_default();
        out.push_str("b:");
        out.push_str(&text);
    } else if value.is_string() {
        out.push_str(&string_units(value));
    } else if js_sys::ArrayBuffer::is_view(value) {
        let name = property(&property(value, "constructor"), "name")
            .as_string()
            .unwrap_or_default();
        let buffer = property(value, "buffer");
        let offset = property(value, "byteOffset").as_f64().unwrap_or(0.0) as u32;
        let length = property(value, "byteLength").as_f64().unwrap_or(0.0) as u32;
        let bytes = js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length);
        out.push_str(&format!("T:{name}:"));
        push_hex(&bytes.to_vec(), out);
    } else if js_sys::Array::is_array(value) {
        out.push('[');
        for (i, item) in value.unchecked_ref::<js_sys::Array>().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            canonical_into(&item, out);
        }
        out.push(']');
    } else {
        let mut entries: Vec<(String, String)> = js_sys::Object::entries(value.unchecked_ref())
            .iter()
            .map(|entry| {
                let pair = entry.unchecked_into::<js_sys::Array>();
                let mut text = String::new();
                canonical_into(&pair.get(1), &mut text);
                (string_units(&pair.get(0)), text)
            })
            .collect();
        entries.sort();
        out.push('{');
        for (i, (key, text)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(text);
        }
        out.push('}');
    }
}
