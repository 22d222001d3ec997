//! RGBA8 image filters on `Uint8Array`s of `width×height×4` bytes, and the
//! band variant for splitting one image across workers.
//!
//! Splitting: ask `filterHalo(filter, params)` for the halo `h`, give each
//! worker rows `max(0, start−h)..min(height, end+h)` of the image (or the
//! whole image) and call `filterBand`; concatenating the bands in order gives
//! exactly the whole-image output.

use crate::args::{bad, u32_arg};
use compute::image::{self as filters, Filter, GrayStandard};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::Result;

fn size(width: f64, height: f64) -> Result<(u32, u32)> {
    Ok((u32_arg("width", width)?, u32_arg("height", height)?))
}

/// Grayscale by `standard`, `"rec601"` or `"rec709"`; alpha kept.
#[wasm_bindgen]
pub fn grayscale(mut data: Vec<u8>, width: f64, height: f64, standard: String) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    let standard = GrayStandard::parse(&standard).map_err(bad)?;
    crate::kernels::grayscale(&mut data, w, h, standard).map_err(bad)?;
    Ok(data)
}

/// The luma of every pixel by `standard`, one byte each: `width×height`
/// bytes, a quarter of what `grayscale` returns.
#[wasm_bindgen(js_name = "grayscaleLuma")]
pub fn grayscale_luma(data: &[u8], width: f64, height: f64, standard: String) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    let standard = GrayStandard::parse(&standard).map_err(bad)?;
    filters::grayscale_luma(data, w, h, standard).map_err(bad)
}

/// `grayscaleLuma` written into the caller's `out`, a `Uint8Array` of exactly `width×height` bytes (a `pool.shared()` region reaches the page without a copy back); returns the bytes written.
#[wasm_bindgen(js_name = "grayscaleLumaInto")]
pub fn grayscale_luma_into(
    data: &[u8],
    width: f64,
    height: f64,
    standard: String,
    out: Uint8Array,
) -> Result<f64> {
    let (w, h) = size(width, height)?;
    let standard = GrayStandard::parse(&standard).map_err(bad)?;
    // The luma is computed in wasm memory and copied into `out` with one
    // `TypedArray.set`; taking `&mut [u8]` would also copy `out` in first.
    let mut luma = vec![0; out.length() as usize];
    filters::grayscale_luma_into(data, w, h, standard, &mut luma).map_err(bad)?;
    out.copy_from(&luma);
    Ok(luma.len() as f64)
}

/// Gaussian blur with `sigma` in pixels (0..=100), edges clamped; alpha kept.
#[wasm_bindgen(js_name = "gaussianBlur")]
pub fn gaussian_blur(data: &[u8], width: f64, height: f64, sigma: f64) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    crate::kernels::gaussian_blur(data, w, h, sigma as f32).map_err(bad)
}

/// Mean over the (2·radius+1)² square (radius an integer 0..=2000), edges clamped; alpha kept.
#[wasm_bindgen(js_name = "boxBlur")]
pub fn box_blur(data: &[u8], width: f64, height: f64, radius: f64) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    crate::kernels::box_blur(data, w, h, u32_arg("radius", radius)?).map_err(bad)
}

/// Unsharp mask `p + amount·(p − blur(p))`, amount 0..=20; alpha kept.
#[wasm_bindgen]
pub fn sharpen(data: &[u8], width: f64, height: f64, amount: f64) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    filters::sharpen(data, w, h, amount as f32).map_err(bad)
}

/// `255 − c` for R, G and B; alpha kept.
#[wasm_bindgen]
pub fn invert(mut data: Vec<u8>, width: f64, height: f64) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    filters::invert(&mut data, w, h).map_err(bad)?;
    Ok(data)
}

/// Brightness shift and contrast, each in -1..=1 (0 leaves the image alone); alpha kept.
#[wasm_bindgen(js_name = "brightnessContrast")]
pub fn brightness_contrast(
    mut data: Vec<u8>,
    width: f64,
    height: f64,
    brightness: f64,
    contrast: f64,
) -> Result<Vec<u8>> {
    let (w, h) = size(width, height)?;
    filters::brightness_contrast(&mut data, w, h, brightness as f32, contrast as f32)
        .map_err(bad)?;
    Ok(data)
}

/// Rows `rowStart..rowEnd` of a filter's output; `data` is the whole image or exactly rows `rowStart−halo..rowEnd+halo` (clipped).
#[wasm_bindgen(js_name = "filterBand")]
#[allow(clippy::too_many_arguments)]
pub fn filter_band(
    filter: String,
    params_json: String,
    data: &[u8],
    width: f64,
    height: f64,
    row_start: f64,
    row_end: f64,
) -> Result<Vec<u8>> {
    let filter = Filter::from_json(&filter, &params_json).map_err(bad)?;
    let (w, h) = size(width, height)?;
    let rows = u32_arg("rowStart", row_start)?..u32_arg("rowEnd", row_end)?;
    let whole_image = (w as usize)
        .checked_mul(h as usize)
        .and_then(|p| p.checked_mul(4));
    // The two layouts differ in length unless the halo spans the whole image,
    // and then they are the same bytes.
    let first_row = if whole_image == Some(data.len()) {
        0
    } else {
        filters::source_rows(&filter, h, rows.clone()).start
    };
    filters::apply_band_from(&filter, data, first_row, w, h, rows).map_err(bad)
}

/// Rows a band of `filter` reads above and below itself, for `filterBand` callers.
#[wasm_bindgen(js_name = "filterHalo")]
pub fn filter_halo(filter: String, params_json: String) -> Result<u32> {
    Ok(Filter::from_json(&filter, &params_json)
        .map_err(bad)?
        .halo())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| [(i * 7) as u8, (i * 13) as u8, (i * 29) as u8, 200])
            .collect()
    }

    #[test]
    fn bands_from_windows_or_the_whole_image_match() {
        let (w, h) = (5u32, 9u32);
        let src = gradient(w, h);
        let whole = gaussian_blur(&src, 5.0, 9.0, 1.2).unwrap();
        let params = r#"{"sigma": 1.2}"#;
        let halo = filter_halo("gaussianBlur".into(), params.into()).unwrap();
        assert_eq!(halo, 4);
        let mut joined = Vec::new();
        for (start, end) in [(0u32, 3u32), (3, 7), (7, 9)] {
            let lo = start.saturating_sub(halo) as usize;
            let hi = (end + halo).min(h) as usize;
            let window = &src[lo * 20..hi * 20];
            let band = filter_band(
                "gaussianBlur".into(),
                params.into(),
                window,
                5.0,
                9.0,
                start.into(),
                end.into(),
            );
            let from_whole = filter_band(
                "gaussianBlur".into(),
                params.into(),
                &src,
                5.0,
                9.0,
                start.into(),
                end.into(),
            );
            assert_eq!(band.clone().unwrap(), from_whole.unwrap());
            joined.extend(band.unwrap());
        }
        assert_eq!(joined, whole);
    }

    /// The luma the RGBA `grayscale` writes into red.
    fn compute_luma(px: &[u8]) -> u8 {
        grayscale(px.to_vec(), 1.0, 1.0, "rec601".into()).unwrap()[0]
    }

    #[test]
    fn bad_inputs_are_bad_arguments() {
        let src = gradient(2, 2);
        assert_eq!(
            grayscale(src.clone(), 2.0, 2.0, "rec2020".into())
                .unwrap_err()
                .code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(
            invert(src.clone(), 3.0, 2.0).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(
            box_blur(&src, 2.0, 2.0, 0.5).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(
            sharpen(&src, 2.0, 2.0, f64::NAN).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
        let err = filter_band("blur".into(), "".into(), &src, 2.0, 2.0, 0.0, 1.0).unwrap_err();
        assert!(
            err.message()
                .starts_with("unknown filter: expected one of grayscale, gaussianBlur"),
            "{}",
            err.message()
        );
        assert_eq!(
            grayscale_luma(&src, 2.0, 2.0, "rec601".into()).unwrap(),
            [
                compute_luma(&src[..4]),
                compute_luma(&src[4..8]),
                compute_luma(&src[8..12]),
                compute_luma(&src[12..])
            ]
        );
        assert_eq!(
            grayscale_luma(&src, 3.0, 2.0, "rec601".into())
                .unwrap_err()
                .code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(
            brightness_contrast(src, 2.0, 2.0, 0.0, 0.0).unwrap(),
            gradient(2, 2)
        );
    }
}
