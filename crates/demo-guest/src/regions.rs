//! Filters over shared regions (`pool.shared()` in crates/wasmbridge/runtime/shared.js).
//!
//! `gaussianBlurShared`, `boxBlurShared` and `grayscaleShared` take
//! `SharedBytes` / `SharedBytesMut`: on a threaded bundle, whose regions live
//! in the guest's own memory, they read the input region and write the output
//! region in place, on rayon's threads, with no copy at all; on the plain
//! module the input is copied in once and the output out once.
//!
//! `filterBandInto` is for several plain workers splitting one image: the
//! input and output images are `Uint8Array` views of SharedArrayBuffers that
//! every worker sees, so a band call moves no pixels through `postMessage`.
//! The guest's wasm memory is not shared there, so Rust
//! code cannot read the SharedArrayBuffer in place: `filterBandInto` copies
//! exactly the rows its band reads (band + halo) into wasm memory with one
//! `TypedArray.set`, filters them, and copies its band's output rows back into
//! the shared output with one more. A guest taking `&[u8]` instead would get
//! the whole view copied in by the wasm-bindgen glue.

use crate::args::{bad, u32_arg};
use compute::image::{self as filters, Filter};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result, SharedBytes, SharedBytesMut};

/// `filter` over the `width×height` RGBA image in `src` into `out`, a region
/// (or `Uint8Array`) of the same size; returns the bytes written.
fn filter_shared(
    filter: &Filter,
    src: &[u8],
    width: f64,
    height: f64,
    out: &mut [u8],
) -> Result<f64> {
    let (w, h) = (u32_arg("width", width)?, u32_arg("height", height)?);
    if out.len() != src.len() {
        return Err(Error::bad_argument(format!(
            "out: expected as many bytes as src ({}), got {}",
            src.len(),
            out.len()
        )));
    }
    crate::kernels::apply_into(filter, src, w, h, out).map_err(bad)?;
    Ok(out.len() as f64)
}

/// `gaussianBlur` of the region `src` written into the region `out` (same
/// size), in place on a threaded bundle; returns the bytes written.
#[wasm_bindgen(js_name = "gaussianBlurShared")]
pub fn gaussian_blur_shared(
    src: SharedBytes,
    width: f64,
    height: f64,
    sigma: f64,
    mut out: SharedBytesMut,
) -> Result<f64> {
    let filter = Filter::GaussianBlur {
        sigma: sigma as f32,
    };
    filter_shared(&filter, &src, width, height, &mut out)
}

/// `boxBlur` of the region `src` written into the region `out` (same size),
/// in place on a threaded bundle; returns the bytes written.
#[wasm_bindgen(js_name = "boxBlurShared")]
pub fn box_blur_shared(
    src: SharedBytes,
    width: f64,
    height: f64,
    radius: f64,
    mut out: SharedBytesMut,
) -> Result<f64> {
    let filter = Filter::BoxBlur {
        radius: u32_arg("radius", radius)?,
    };
    filter_shared(&filter, &src, width, height, &mut out)
}

/// `grayscale` of the region `pixels`, where it lies (in place on a threaded
/// bundle); returns the bytes written.
#[wasm_bindgen(js_name = "grayscaleShared")]
pub fn grayscale_shared(
    mut pixels: SharedBytesMut,
    width: f64,
    height: f64,
    standard: String,
) -> Result<f64> {
    let (w, h) = (u32_arg("width", width)?, u32_arg("height", height)?);
    let standard = filters::GrayStandard::parse(&standard).map_err(bad)?;
    crate::kernels::grayscale(&mut pixels, w, h, standard).map_err(bad)?;
    Ok(pixels.len() as f64)
}

/// Rows `rowStart..rowEnd` of `filter` over the `width×height` RGBA image in
/// `src` (a view of the whole image, typically of a shared region), written to
/// the same rows of `out` (a view of a whole output image of the same size);
/// returns the bytes written. Different bands may run at once on different
/// workers into the same `out`: each writes only its own rows.
#[wasm_bindgen(js_name = "filterBandInto")]
#[allow(clippy::too_many_arguments)]
pub fn filter_band_into(
    filter: String,
    params_json: String,
    src: Uint8Array,
    width: f64,
    height: f64,
    row_start: f64,
    row_end: f64,
    out: Uint8Array,
) -> Result<f64> {
    let filter = Filter::from_json(&filter, &params_json).map_err(bad)?;
    let (w, h) = (u32_arg("width", width)?, u32_arg("height", height)?);
    let rows = u32_arg("rowStart", row_start)?..u32_arg("rowEnd", row_end)?;
    if rows.start > rows.end || rows.end > h {
        return Err(Error::bad_argument(format!(
            "rowStart..rowEnd: expected a band within 0..{h}, got {}..{}",
            rows.start, rows.end
        )));
    }
    let row = (w as usize) * 4;
    let total = row
        .checked_mul(h as usize)
        .filter(|&t| t <= u32::MAX as usize);
    let Some(total) = total else {
        return Err(Error::bad_argument(format!(
            "width×height: a {w}×{h} RGBA image does not fit a Uint8Array"
        )));
    };
    for (name, view) in [("src", &src), ("out", &out)] {
        if view.length() as usize != total {
            return Err(Error::bad_argument(format!(
                "{name}: expected {w}×{h}×4 = {total} bytes, got {}",
                view.length()
            )));
        }
    }
    if rows.is_empty() || row == 0 {
        return Ok(0.0);
    }
    let needed = filters::source_rows(&filter, h, rows.clone());
    let window = src
        .subarray(needed.start * row as u32, needed.end * row as u32)
        .to_vec();
    let band = filters::apply_band_from(&filter, &window, needed.start, w, h, rows.clone())
        .map_err(bad)?;
    out.subarray(rows.start * row as u32, rows.end * row as u32)
        .copy_from(&band);
    Ok(band.len() as f64)
}
