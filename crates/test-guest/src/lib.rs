//! A guest that misbehaves on purpose: it panics, loops, allocates without
//! bound, keeps state and echoes values, so the runtime's tests can provoke
//! every failure the pool must survive.

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

/// Adds `by` to this instance's counter and returns it: state that lives
/// as long as the worker's instance.
#[wasm_bindgen]
pub fn count(by: f64) -> f64 {
    COUNTER.with(|c| {
        c.set(c.get() + by);
        c.get()
    })
}
