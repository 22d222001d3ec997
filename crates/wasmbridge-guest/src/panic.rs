//! Panic capture: the hook formats the panic and hands it to the worker before
//! the module traps, because after the trap the instance can no longer be asked.

use std::panic::PanicHookInfo;

/// `"<message> at <file>:<line>:<column>"`, the text a `PANIC` error carries.
pub fn describe_panic(info: &PanicHookInfo<'_>) -> String {
    let message = info
        .payload_as_str()
        .unwrap_or("panic with a non-string payload");
    match info.location() {
        Some(at) => format!("{message} at {}:{}:{}", at.file(), at.line(), at.column()),
        None => message.to_string(),
    }
}

pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let text = describe_panic(info);
            super::host::call(
                crate::protocol::HOST_PANIC,
                &wasm_bindgen::JsValue::from_str(&text),
            );
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn message_and_location_are_captured() {
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&seen);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut s) = sink.lock() {
                *s = describe_panic(info);
            }
        }));
        let line = line!() + 1;
        let _ = std::panic::catch_unwind(|| panic!("index {} out of range", 7));
        std::panic::set_hook(previous);
        let text = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(text.starts_with("index 7 out of range at "), "{text}");
        assert!(text.contains(&format!("panic.rs:{line}:")), "{text}");
    }
}
