//! The kernels the wrappers call: in a threaded build (`wasmbridge build
//! --threads`, the `threads` feature) the ones split across rayon's threads,
//! else the serial ones. Both give the same bytes.

#[cfg(feature = "threads")]
pub use compute::parallel::{box_blur, gaussian_blur, grayscale, matmul_f32, matmul_f64};
#[cfg(not(feature = "threads"))]
pub use compute::{
    image::{box_blur, gaussian_blur, grayscale},
    matmul::{matmul_f32, matmul_f64},
};
