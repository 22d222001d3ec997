//! Panic capture: the hook formats the panic and hands it to the worker before
//! the module traps, because after the trap the instance can no longer be asked.

use std::panic::PanicHookInfo;

/// `"<message> at <file>:<line>:<column>"`, the text a `PANIC` error carries.
/// Built by hand rather than with `format!`, so a guest that never formats
/// anything itself does not carry the formatting machinery for this alone.
pub fn describe_panic(info: &PanicHookInfo<'_>) -> String {
    let message = info
        .payload_as_str()
        .unwrap_or("panic with a non-string payload");
    let mut text = String::with_capacity(message.len() + 64);
    text.push_str(message);
    if let Some(at) = info.location() {
        text.push_str(" at ");
        text.push_str(at.file());
        text.push(':');
        push_decimal(&mut text, at.line());
        text.push(':');
        push_decimal(&mut text, at.column());
    }
    text
}

fn push_decimal(text: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        // n % 10 < 10, so the cast cannot truncate.
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in digits[..len].iter().rev() {
        text.push(char::from(d));
    }
}

pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            super::host::report_panic(&describe_panic(info));
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 99, 4_294_967_295] {
            let mut text = String::new();
            push_decimal(&mut text, n);
            assert_eq!(text, n.to_string());
        }
    }

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
