//! Dense matrix products on flat row-major `Float64Array`/`Float32Array`s.

use crate::args::{bad, usize_arg};
use compute::matmul::MatmulError;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

fn matmul_error(err: MatmulError) -> Error {
    match err {
        MatmulError::OutOfMemory { .. } => Error::guest(err.to_string()),
        MatmulError::LengthMismatch { .. } | MatmulError::SizeOverflow { .. } => bad(err),
    }
}

fn dims(m: f64, k: f64, n: f64) -> Result<(usize, usize, usize)> {
    Ok((usize_arg("m", m)?, usize_arg("k", k)?, usize_arg("n", n)?))
}

/// `a (m×k) · b (k×n)` in f64, all row-major; returns the m×n product.
#[wasm_bindgen(js_name = "matmulF64")]
pub fn matmul_f64(a: &[f64], b: &[f64], m: f64, k: f64, n: f64) -> Result<Vec<f64>> {
    let (m, k, n) = dims(m, k, n)?;
    crate::kernels::matmul_f64(a, b, m, k, n).map_err(matmul_error)
}

/// `a (m×k) · b (k×n)` in f32, all row-major; returns the m×n product. The
/// default: half the bytes of f64 and twice the lanes per SIMD operation.
#[wasm_bindgen]
pub fn matmul(a: &[f32], b: &[f32], m: f64, k: f64, n: f64) -> Result<Vec<f32>> {
    matmul_f32(a, b, m, k, n)
}

/// `a (m×k) · b (k×n)` in f32, all row-major; returns the m×n product.
#[wasm_bindgen(js_name = "matmulF32")]
pub fn matmul_f32(a: &[f32], b: &[f32], m: f64, k: f64, n: f64) -> Result<Vec<f32>> {
    let (m, k, n) = dims(m, k, n)?;
    crate::kernels::matmul_f32(a, b, m, k, n).map_err(matmul_error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn products_and_shape_errors() {
        assert_eq!(
            matmul_f64(&[1.0, 2.0], &[3.0, 4.0], 1.0, 2.0, 1.0).unwrap(),
            [11.0]
        );
        assert_eq!(matmul_f32(&[2.0], &[3.0], 1.0, 1.0, 1.0).unwrap(), [6.0]);
        assert_eq!(
            matmul(&[1.0, 2.0], &[3.0, 4.0], 1.0, 2.0, 1.0).unwrap(),
            [11.0]
        );
        let err = matmul_f64(&[1.0], &[1.0], 1.0, 2.0, 1.0).unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            ("BAD_ARGUMENT", "a: expected 1×2 = 2 elements, got 1")
        );
        assert_eq!(
            matmul_f64(&[], &[], -1.0, 0.0, 0.0).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
    }
}
