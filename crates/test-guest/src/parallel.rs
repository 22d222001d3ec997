//! Rayon work for the threads tests. The same functions are in the plain and
//! the threaded module: in the plain one rayon runs everything on the calling
//! worker, in the threaded one on the thread workers.

use rayon::prelude::*;
use std::collections::BTreeSet;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

/// The number of threads in rayon's pool (1 in the plain module).
#[wasm_bindgen(js_name = "parThreads")]
pub fn par_threads() -> u32 {
    rayon::current_num_threads() as u32
}

/// Runs `tasks` rayon tasks of `ms` busy milliseconds each and returns how
/// many distinct rayon threads ran them.
#[wasm_bindgen(js_name = "parDistinctThreads")]
pub fn par_distinct_threads(tasks: u32, ms: f64) -> u32 {
    let seen: BTreeSet<Option<usize>> = (0..tasks)
        .into_par_iter()
        .map(|_| {
            let start = js_sys::Date::now();
            while js_sys::Date::now() - start < ms {}
            rayon::current_thread_index()
        })
        .collect();
    seen.len() as u32
}

/// Panics with `message` inside the last of 16 rayon tasks.
#[wasm_bindgen(js_name = "parPanicWith")]
pub fn par_panic_with(message: String) -> u32 {
    (0..16u32)
        .into_par_iter()
        .map(|i| {
            if i == 15 {
                panic!("{message}");
            }
            i
        })
        .sum()
}

/// Every rayon thread loops until the caller cancels; returns `CANCELLED`
/// with the number of threads that saw the cancellation.
#[wasm_bindgen(js_name = "parSpinUntilCancelled")]
pub fn par_spin_until_cancelled() -> Result<u32> {
    let threads = rayon::current_num_threads();
    let saw: usize = rayon::broadcast(|_| {
        while !wasmbridge_guest::cancelled() {
            std::hint::spin_loop();
        }
        1
    })
    .into_iter()
    .sum();
    debug_assert!(saw <= threads);
    Err(Error::cancelled().with_data(serde_json::json!({ "threads": saw })))
}

/// Every rayon thread loops for ever, ignoring cancellation: only a hard stop
/// of the worker (and its threads) ends it.
#[wasm_bindgen(js_name = "parLoopForever")]
pub fn par_loop_forever() {
    rayon::broadcast(|_| {
        let mut x = 0u64;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    });
}
