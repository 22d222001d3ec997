//! Dense matrix products on flat row-major `Float64Array`/`Float32Array`s.

use crate::args::{bad, usize_arg};
use compute::matmul::MatmulError;
use std::borrow::Cow;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result, SharedBytes, SharedBytesMut};

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

/// `a (m×k) · b (k×n)` in f32 over shared regions (`pool.shared()`) that hold
/// row-major f32s (a `Float32Array` over the region's bytes), the m×n product
/// written into the region `out`; returns the elements written. On a threaded
/// bundle the three regions are read and written where they lie in the
/// guest's memory, so a call copies no matrix at all; on the plain module the
/// inputs are copied in once and the output out once.
#[wasm_bindgen(js_name = "matmulShared")]
pub fn matmul_shared(
    a: SharedBytes,
    b: SharedBytes,
    m: f64,
    k: f64,
    n: f64,
    mut out: SharedBytesMut,
) -> Result<f64> {
    product_bytes(&a, &b, m, k, n, &mut out)
}

/// [`matmul_shared`] over the bytes of its three regions.
fn product_bytes(a: &[u8], b: &[u8], m: f64, k: f64, n: f64, out: &mut [u8]) -> Result<f64> {
    let (m, k, n) = dims(m, k, n)?;
    let (a, b) = (f32s("a", a)?, f32s("b", b)?);
    if !out.len().is_multiple_of(4) {
        return Err(whole_f32s("out", out.len()));
    }
    // SAFETY: every bit pattern is an f32, and `align_to_mut` puts in the
    // middle part only what is aligned for f32.
    match unsafe { out.align_to_mut::<f32>() } {
        ([], c, []) if cfg!(target_endian = "little") => {
            crate::kernels::matmul_f32_into(&a, &b, m, k, n, c).map_err(matmul_error)?;
            Ok(c.len() as f64)
        }
        _ => {
            let mut c = vec![0.0; out.len() / 4];
            crate::kernels::matmul_f32_into(&a, &b, m, k, n, &mut c).map_err(matmul_error)?;
            for (bytes, x) in out.chunks_exact_mut(4).zip(&c) {
                bytes.copy_from_slice(&x.to_le_bytes());
            }
            Ok(c.len() as f64)
        }
    }
}

fn whole_f32s(name: &str, len: usize) -> Error {
    Error::bad_argument(format!(
        "{name}: expected whole f32s (a multiple of 4 bytes), got {len} bytes"
    ))
}

/// The f32s in `bytes`, little-endian as a `Float32Array` lays them out on
/// the web: the bytes themselves when they are aligned for f32 (a region
/// always is), else a copy.
fn f32s<'a>(name: &str, bytes: &'a [u8]) -> Result<Cow<'a, [f32]>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(whole_f32s(name, bytes.len()));
    }
    // SAFETY: every bit pattern is an f32; `align_to` puts in the middle part
    // only what is aligned for f32.
    match unsafe { bytes.align_to::<f32>() } {
        ([], floats, []) if cfg!(target_endian = "little") => Ok(Cow::Borrowed(floats)),
        _ => Ok(Cow::Owned(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )),
    }
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

    fn bytes(floats: &[f32]) -> Vec<u8> {
        floats.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn shared_products_read_and_write_f32_bytes_aligned_or_not() {
        let a: Vec<f32> = (0..6 * 70).map(|i| (i % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..70 * 9).map(|i| (i % 5) as f32 * 0.5).collect();
        let want = bytes(&matmul_f32(&a, &b, 6.0, 70.0, 9.0).unwrap());
        // Offsets 0 and 4 are aligned for f32, 1 and 3 are not (a copy each way).
        for shift in [0, 1, 3, 4] {
            let mut pa = vec![0; shift];
            pa.extend(bytes(&a));
            let mut pb = vec![0; shift];
            pb.extend(bytes(&b));
            let mut out = vec![0xff; shift + want.len()];
            let written = product_bytes(
                &pa[shift..],
                &pb[shift..],
                6.0,
                70.0,
                9.0,
                &mut out[shift..],
            )
            .unwrap();
            assert_eq!(written, 54.0);
            assert_eq!(out[shift..], want[..], "shifted by {shift}");
        }
    }

    #[test]
    fn shared_products_refuse_bytes_that_are_no_f32s() {
        let err = product_bytes(&[0; 7], &[0; 4], 1.0, 1.0, 1.0, &mut [0; 4]).unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (
                "BAD_ARGUMENT",
                "a: expected whole f32s (a multiple of 4 bytes), got 7 bytes"
            )
        );
        let err = product_bytes(&[0; 4], &[0; 4], 1.0, 1.0, 1.0, &mut [0; 6]).unwrap_err();
        assert_eq!(
            err.message(),
            "out: expected whole f32s (a multiple of 4 bytes), got 6 bytes"
        );
        let err = product_bytes(&[0; 8], &[0; 8], 2.0, 1.0, 2.0, &mut [0; 12]).unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            ("BAD_ARGUMENT", "out: expected 2×2 = 4 elements, got 3")
        );
        // Through the exported function, whose regions are the same bytes.
        let err = matmul_shared(
            vec![0; 4].into(),
            vec![0; 5].into(),
            1.0,
            1.0,
            1.0,
            vec![0; 4].into(),
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "b: expected whole f32s (a multiple of 4 bytes), got 5 bytes"
        );
    }
}
