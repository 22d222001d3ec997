//! JS arguments to Rust values, with `BAD_ARGUMENT` errors that name the
//! argument, and results to JSON.

use compute::factor;
use std::fmt::Display;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasmbridge_guest::{Error, Result};

/// The largest integer a JS number holds exactly, 2⁵³ − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// An input error from `compute`, as `BAD_ARGUMENT` with its message.
pub fn bad(err: impl Display) -> Error {
    Error::bad_argument(err.to_string())
}

/// A JS number that must be an integer in `0..=max`. Taking `f64` instead of
/// `u32` lets `-1` or `2.5` be reported instead of wrapping silently.
pub fn integer(name: &str, value: f64, max: u64) -> Result<u64> {
    if value.fract() == 0.0 && value >= 0.0 && value <= max as f64 {
        Ok(value as u64)
    } else {
        Err(Error::bad_argument(format!(
            "{name}: expected an integer in 0..={max}, got {value}"
        )))
    }
}

pub fn u32_arg(name: &str, value: f64) -> Result<u32> {
    integer(name, value, u64::from(u32::MAX)).map(|v| v as u32)
}

pub fn usize_arg(name: &str, value: f64) -> Result<usize> {
    let max = u64::try_from(usize::MAX)
        .unwrap_or(u64::MAX)
        .min(MAX_SAFE_INTEGER);
    integer(name, value, max).map(|v| v as usize)
}

/// A `u64` from a decimal string, a BigInt, or a number that is a safe integer.
pub fn u64_arg(name: &str, value: &JsValue) -> Result<u64> {
    if let Some(text) = value.as_string() {
        return decimal(name, &text);
    }
    if value.is_bigint() {
        let big: &js_sys::BigInt = value.unchecked_ref();
        let text = big
            .to_string(10)
            .map_err(|_| Error::guest(format!("{name}: BigInt.toString(10) failed")))?;
        return decimal(name, &String::from(text));
    }
    match value.as_f64() {
        Some(n) => integer(name, n, MAX_SAFE_INTEGER),
        None => Err(Error::bad_argument(format!(
            "{name}: expected a decimal string, a BigInt or a safe integer, got {}",
            value.js_typeof().as_string().unwrap_or_default()
        ))),
    }
}

/// A decimal `u64`, with the parse error prefixed by the argument's name.
pub fn decimal(name: &str, text: &str) -> Result<u64> {
    factor::parse_u64(text).map_err(|e| Error::bad_argument(format!("{name}: {e}")))
}

/// `value` as JSON; only a bug (a map with non-string keys) can make this fail.
pub fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::guest(format!("could not serialise the result: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_checked_not_wrapped() {
        assert_eq!(u32_arg("n", 7.0), Ok(7));
        assert_eq!(u32_arg("n", 4_294_967_295.0), Ok(u32::MAX));
        for bad in [-1.0, 2.5, f64::NAN, f64::INFINITY, 4_294_967_296.0] {
            let err = u32_arg("n", bad).unwrap_err();
            assert_eq!(err.code(), "BAD_ARGUMENT");
            assert!(
                err.message()
                    .starts_with("n: expected an integer in 0..=4294967295, got "),
                "{}",
                err.message()
            );
        }
        assert_eq!(usize_arg("m", 9_007_199_254_740_991.0), Ok((1 << 53) - 1));
    }

    #[test]
    fn decimals_name_the_argument() {
        assert_eq!(decimal("n", "42"), Ok(42));
        let err = decimal("n", "4x").unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (
                "BAD_ARGUMENT",
                "n: expected a decimal digit at byte 1, got 'x'"
            )
        );
    }
}
