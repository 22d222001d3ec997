//! The rayon thread pool of a threaded module (`wasmbridge build --threads`).
//!
//! The runtime (`runtime/threads.js`) starts it from the pool worker that
//! instantiated the module: it starts one dedicated worker per pool thread,
//! each instantiating the same module with the same shared memory, and each
//! calls [`thread_run`], which waits for one of rayon's thread builders and
//! runs it for as long as the instance lives. Once they all wait, the pool
//! worker calls [`threads_build`], which builds rayon's global pool with a
//! spawn handler that hands the builders over instead of spawning OS threads
//! (wasm has none). `build_global` returns once every thread is running, so
//! the thread workers must be waiting before it is called: a dedicated worker
//! cannot start while its parent is blocked.
//!
//! Guests use rayon as usual (`par_iter`, `join`, `scope`): the work runs on
//! the thread workers while the calling pool worker blocks on an atomic wait.
//! In a module built without atomics none of this exists, and rayon runs
//! everything on the calling thread.

use rayon::ThreadBuilder;
use std::sync::{Condvar, Mutex, PoisonError};
use wasm_bindgen::prelude::*;

/// Thread builders handed from the spawn handler to the waiting thread workers.
static WAITING: Mutex<Vec<ThreadBuilder>> = Mutex::new(Vec::new());
static HANDED: Condvar = Condvar::new();

/// Builds rayon's global pool with `count` threads, each handed to a thread
/// worker waiting in [`thread_run`]. Returns once every thread runs.
#[wasm_bindgen(js_name = "__wasmbridge_threads_build")]
pub fn threads_build(count: usize) -> Result<(), JsError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(count)
        .thread_name(|i| format!("wasmbridge-thread-{i}"))
        .spawn_handler(|thread| {
            WAITING
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(thread);
            HANDED.notify_one();
            Ok(())
        })
        .build_global()
        .map_err(|e| JsError::new(&format!("the thread pool could not be built: {e}")))
}

/// Run by each thread worker after it instantiated the module: waits for one
/// thread builder and runs that rayon thread until the pool ends (never, in
/// practice: the worker is terminated with its parent).
#[wasm_bindgen(js_name = "__wasmbridge_thread_run")]
pub fn thread_run() {
    let mut waiting = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
    let thread = loop {
        if let Some(thread) = waiting.pop() {
            break thread;
        }
        waiting = HANDED.wait(waiting).unwrap_or_else(PoisonError::into_inner);
    };
    drop(waiting);
    thread.run();
}

/// The module's shared memory, which every thread worker instantiates with.
#[wasm_bindgen(js_name = "__wasmbridge_threads_memory")]
pub fn threads_memory() -> JsValue {
    wasm_bindgen::memory()
}
