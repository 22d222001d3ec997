//! What a guest crate depends on to run in a wasmbridge worker pool.
//!
//! A guest is a `cdylib` with `#[wasm_bindgen]` functions. Fallible functions
//! return [`Result`]; the `Err` reaches the JS caller as a `WasmBridgeError` with
//! the same code, message and data. A panic reaches the caller as a `PANIC`
//! error carrying the panic message and location. Long-running functions poll
//! [`cancelled`] and report [`progress`].
//!
//! ```no_run
//! use wasm_bindgen::prelude::*;
//! use wasmbridge_guest::{Error, Result};
//!
//! #[wasm_bindgen]
//! pub fn divide(a: f64, b: f64) -> Result<f64> {
//!     if b == 0.0 {
//!         return Err(Error::guest("division by zero"));
//!     }
//!     Ok(a / b)
//! }
//! ```

mod error;
mod panic;
pub mod protocol;
pub mod ring;
mod shared;
#[cfg(all(
    feature = "threads",
    target_arch = "wasm32",
    target_feature = "atomics"
))]
mod threads;

pub use error::{Error, Result};
pub use panic::describe_panic;
pub use shared::{SharedBytes, SharedBytesMut};

use wasm_bindgen::prelude::*;

/// Called by the worker right after instantiation: installs the panic hook
/// that forwards panic messages to the caller.
#[wasm_bindgen(js_name = "__wasmbridge_init")]
pub fn init() {
    panic::install();
}

/// The version of the guest↔worker contract this module was built against.
#[wasm_bindgen(js_name = "__wasmbridge_abi")]
pub fn abi() -> u32 {
    protocol::GUEST_ABI
}

/// `true` once the call being run was cancelled by its caller. Poll it in long
/// loops and return [`Error::cancelled`] when it turns true. It reads a
/// SharedArrayBuffer flag, so it only ever turns true when the page is
/// cross-origin isolated; otherwise cancellation stops the worker instead.
/// Natively (in `cargo test`) it is always false.
pub fn cancelled() -> bool {
    host::cancelled()
}

/// Report progress of the running call, a fraction in `[0, 1]`; the caller sees
/// it through its `onProgress` option. Cheap to call often: the worker
/// forwards at most one update per animation frame. Natively it does nothing.
pub fn progress(fraction: f64) {
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    host::progress(fraction);
}

/// The functions the worker puts on `globalThis`. Natively there is no worker,
/// and wasm-bindgen's `JsValue` must not even be created (it aborts the
/// process), so a guest's native unit tests can call `progress`/`cancelled`.
mod host {
    #[cfg(target_arch = "wasm32")]
    mod imp {
        use crate::protocol::{HOST_CANCELLED, HOST_IN_PLACE, HOST_PANIC, HOST_PROGRESS};
        use wasm_bindgen::{JsCast, JsValue};

        /// Calls a function the worker put on `globalThis`; `None` when it is
        /// absent (the module runs outside a wasmbridge worker) or throws.
        fn call(name: &str, arg: &JsValue) -> Option<JsValue> {
            let global = js_sys::global();
            let f = js_sys::Reflect::get(&global, &JsValue::from_str(name)).ok()?;
            let f: js_sys::Function = f.dyn_into().ok()?;
            f.call1(&JsValue::UNDEFINED, arg).ok()
        }

        pub fn cancelled() -> bool {
            call(HOST_CANCELLED, &JsValue::UNDEFINED).is_some_and(|v| v.is_truthy())
        }

        pub fn progress(fraction: f64) {
            call(HOST_PROGRESS, &JsValue::from_f64(fraction));
        }

        pub fn report_panic(text: &str) {
            call(HOST_PANIC, &JsValue::from_str(text));
        }

        pub fn in_place(view: &JsValue) -> bool {
            call(HOST_IN_PLACE, view).is_some_and(|v| v.is_truthy())
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod imp {
        pub fn cancelled() -> bool {
            false
        }

        pub fn progress(_fraction: f64) {}

        pub fn report_panic(_text: &str) {}

        pub fn in_place(_view: &wasm_bindgen::JsValue) -> bool {
            false
        }
    }

    pub use imp::*;
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_and_cancellation_are_harmless_natively() {
        super::progress(0.5);
        super::progress(f64::NAN);
        assert!(!super::cancelled());
    }
}
