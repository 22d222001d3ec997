//! The seed's calculator.

use compute::calc::{self, CalcError};
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

fn calc_error(err: CalcError) -> Error {
    match err {
        CalcError::NonFinite { .. } => Error::bad_argument(err.to_string()),
        CalcError::DivisionByZero(_) | CalcError::Overflow { .. } => Error::guest(err.to_string()),
    }
}

/// `a + b`; non-finite operands are `BAD_ARGUMENT`, overflow is `GUEST_ERROR`.
#[wasm_bindgen]
pub fn add(a: f64, b: f64) -> Result<f64> {
    calc::add(a, b).map_err(calc_error)
}

/// `a - b`.
#[wasm_bindgen]
pub fn subtract(a: f64, b: f64) -> Result<f64> {
    calc::subtract(a, b).map_err(calc_error)
}

/// `a * b`.
#[wasm_bindgen]
pub fn multiply(a: f64, b: f64) -> Result<f64> {
    calc::multiply(a, b).map_err(calc_error)
}

/// `a / b`; division by zero is `GUEST_ERROR`.
#[wasm_bindgen]
pub fn divide(a: f64, b: f64) -> Result<f64> {
    calc::divide(a, b).map_err(calc_error)
}
