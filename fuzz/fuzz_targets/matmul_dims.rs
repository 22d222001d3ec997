//! Arbitrary shapes, including overflowing ones, and lengths that may not
//! match: the product is an error exactly when the shapes say so, and
//! otherwise equals the naive reference.

#![no_main]

use compute::matmul::{self, MatmulError};
use libfuzzer_sys::fuzz_target;

/// A dimension: small (0..20) normally, near `usize::MAX` when flagged, so
/// products overflow `usize` or the byte count before anything is allocated.
fn dim(byte: u8, huge: bool) -> usize {
    if huge {
        usize::MAX >> (byte % 3)
    } else {
        usize::from(byte % 20)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[flags, bm, bk, bn, skew], rest)) = data.split_first_chunk::<5>() else {
        return;
    };
    let (m, k, n) = (
        dim(bm, flags & 1 != 0),
        dim(bk, flags & 2 != 0),
        dim(bn, flags & 4 != 0),
    );
    let values: Vec<f64> = rest
        .chunks_exact(2)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])) / 64.0)
        .collect();
    let value = |i: usize| {
        if values.is_empty() {
            1.0
        } else {
            values[i % values.len()]
        }
    };
    // Right-sized operands unless flagged, capped so a flagged shape never allocates much.
    let len = |rows: usize, cols: usize, skewed: bool| {
        let right = rows.checked_mul(cols).filter(|&l| l <= 4096).unwrap_or(0);
        if skewed {
            usize::from(skew % 50)
        } else {
            right
        }
    };
    let a: Vec<f64> = (0..len(m, k, flags & 8 != 0)).map(value).collect();
    let b: Vec<f64> = (0..len(k, n, flags & 16 != 0))
        .map(|i| value(i + 7))
        .collect();

    let shapes_match = m.checked_mul(k) == Some(a.len()) && k.checked_mul(n) == Some(b.len());
    let result_bytes = m
        .checked_mul(n)
        .and_then(|e| e.checked_mul(8))
        .filter(|&b| b <= isize::MAX as usize);
    let got = matmul::matmul_f64(&a, &b, m, k, n);
    match (&got, shapes_match, result_bytes) {
        (Ok(c), true, Some(_)) => {
            // Sums of at most 19 products of 16-bit values are exact in f64,
            // so the blocked and naive orders agree bit for bit.
            assert_eq!(
                c,
                &matmul::matmul_naive(&a, &b, m, k, n).expect("same shapes")
            );
            let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            let c32 = matmul::matmul_f32(&a32, &b32, m, k, n).expect("same shapes");
            // f32 rounding error is relative to the sum of |terms|, not to the
            // result, and grows with k: rounding both inputs and k additions
            // bound it by about (k + 2)·ε·Σ|aᵢbᵢ| (Higham's γ).
            let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
            let scale = matmul::matmul_naive(&abs(&a), &abs(&b), m, k, n).expect("same shapes");
            let bound = (k as f64 + 2.0) * f64::from(f32::EPSILON) * 1.01;
            for ((x, y), s) in c32.iter().zip(c).zip(&scale) {
                assert!((f64::from(*x) - y).abs() <= bound * s, "{x} vs {y} (k = {k})");
            }
        }
        (Err(MatmulError::LengthMismatch { .. } | MatmulError::SizeOverflow { .. }), false, _) => {}
        (Err(MatmulError::SizeOverflow { .. } | MatmulError::OutOfMemory { .. }), true, None) => {}
        _ => panic!(
            "{m}×{k} · {k}×{n} with lengths {} and {}: {got:?}",
            a.len(),
            b.len()
        ),
    }
});
