//! The guest of `examples/vite`: a few statistics, enough to show typed calls
//! and typed errors from a Vite app.

use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

/// Mean of the values; an empty slice is a BAD_ARGUMENT.
#[wasm_bindgen]
pub fn mean(values: &[f64]) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::bad_argument(
            "mean needs at least one value, got none",
        ));
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}

/// Population standard deviation of the values; an empty slice is a BAD_ARGUMENT.
#[wasm_bindgen(js_name = "standardDeviation")]
pub fn standard_deviation(values: &[f64]) -> Result<f64> {
    let m = mean(values)?;
    let variance = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64;
    Ok(variance.sqrt())
}

/// A greeting, to show a string argument and result.
#[wasm_bindgen]
pub fn greet(name: &str) -> String {
    format!("hello, {name}, from Rust")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        assert_eq!(mean(&[1.0, 2.0, 3.0]).ok(), Some(2.0));
        assert_eq!(
            standard_deviation(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).ok(),
            Some(2.0)
        );
        assert_eq!(greet("Vite"), "hello, Vite, from Rust");
    }
}
