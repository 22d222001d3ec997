//! Shared regions for the runtime's tests: functions that report what a
//! `SharedBytes` / `SharedBytesMut` parameter saw (in place or a copy, where
//! in the instance's memory, a checksum) and that write a region, or write
//! part of it and panic.

use wasm_bindgen::prelude::*;
use wasmbridge_guest::{SharedBytes, SharedBytesMut};

/// FNV-1a over the bytes, as an f64 (it fits in 32 bits).
fn checksum(bytes: &[u8]) -> f64 {
    let hash = bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    f64::from(hash)
}

/// `[in place (1) or a copy (0), address of the first byte in the instance's
/// memory, length, FNV-1a checksum, wasm memory size in bytes]`.
#[wasm_bindgen(js_name = "regionInfo")]
pub fn region_info(bytes: SharedBytes) -> Vec<f64> {
    vec![
        f64::from(u8::from(bytes.in_place())),
        bytes.as_ptr() as usize as f64,
        bytes.len() as f64,
        checksum(&bytes),
        memory_bytes(),
    ]
}

/// Sets every byte of `out` to `value` (the low 8 bits); then panics with
/// `panic_with` when it is not empty. Returns the in-place flag and the
/// address, as `regionInfo` does.
#[wasm_bindgen(js_name = "regionFill")]
pub fn region_fill(mut out: SharedBytesMut, value: u32, panic_with: String) -> Vec<f64> {
    out.fill(value as u8);
    if !panic_with.is_empty() {
        panic!("{panic_with}");
    }
    vec![
        f64::from(u8::from(out.in_place())),
        out.as_ptr() as usize as f64,
    ]
}

/// Copies `src` into `out` (the shorter length) and returns the checksum of
/// what `out` holds then: a call may pass two regions, one of them mutable.
#[wasm_bindgen(js_name = "regionCopy")]
pub fn region_copy(src: SharedBytes, mut out: SharedBytesMut) -> f64 {
    let n = src.len().min(out.len());
    out[..n].copy_from_slice(&src[..n]);
    checksum(&out)
}

#[cfg(target_arch = "wasm32")]
fn memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65536) as f64
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_bytes() -> f64 {
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_bytes_are_not_in_place_and_are_filled_and_copied() {
        let info = region_info(SharedBytes::from(vec![1, 2, 3]));
        assert_eq!(info[0], 0.0);
        assert_eq!(info[2], 3.0);
        assert_eq!(info[3], checksum(&[1, 2, 3]));
        let filled = region_fill(SharedBytesMut::from(vec![0; 4]), 0x1ff, String::new());
        assert_eq!(filled[0], 0.0);
        assert_eq!(
            region_copy(
                SharedBytes::from(vec![9, 8]),
                SharedBytesMut::from(vec![0; 3])
            ),
            checksum(&[9, 8, 0])
        );
    }
}
