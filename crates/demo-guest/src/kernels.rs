//! The kernels the wrappers call: in a threaded build (`wasmbridge build
//! --threads`, the `threads` feature) the ones split across rayon's threads,
//! else the serial ones. Both give the same bytes.

#[cfg(feature = "threads")]
pub use compute::parallel::{
    apply_into, box_blur, gaussian_blur, grayscale, matmul_f32, matmul_f32_into, matmul_f64,
};
#[cfg(not(feature = "threads"))]
pub use compute::{
    image::{box_blur, gaussian_blur, grayscale},
    matmul::{matmul_f32, matmul_f32_into, matmul_f64},
};

/// [`compute::image::apply`] written into `out`, which must be as long as `src`.
#[cfg(not(feature = "threads"))]
pub fn apply_into(
    filter: &compute::image::Filter,
    src: &[u8],
    width: u32,
    height: u32,
    out: &mut [u8],
) -> Result<(), compute::image::ImageError> {
    let filtered = compute::image::apply(filter, src, width, height)?;
    if out.len() != filtered.len() {
        return Err(compute::image::ImageError::LengthMismatch {
            width,
            height,
            expected: filtered.len(),
            got: out.len(),
        });
    }
    out.copy_from_slice(&filtered);
    Ok(())
}
