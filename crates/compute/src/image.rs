//! Filters on RGBA8 images, each computable on a band of rows so an image can
//! be split across workers and the bands concatenated into the exact output
//! of the whole-image call.
//!
//! Pixels are straight (not premultiplied) RGBA, 4 bytes each, rows top to
//! bottom with no padding. Every filter copies alpha unchanged from the source
//! and treats R, G and B independently. Neighbourhood filters clamp at the
//! edges: a pixel outside the image reads as the nearest edge pixel. All
//! arithmetic is integer or deterministic per pixel, so a band never depends
//! on where it starts.
//!
//! Grayscale (also as one luma byte per pixel, [`grayscale_luma`]) and the
//! box blur's row pass have `simd128` paths on wasm (`mod simd`); the box
//! blur's column pass is a plain loop that LLVM vectorises. They compute the
//! same integers and the same roundings as the scalar paths, so the output is
//! the same bytes on every target. Natively the scalar paths run and are
//! property-tested against the definitions; the same tests run the simd128
//! paths when built for `wasm32-wasip1` with simd128 (see ARCHITECTURE.md,
//! Tests), and the browser tests (`js/test/compute.test.mjs`) check the
//! simd128 build against the same definitions computed on the page.

use serde::Deserialize;
use std::ops::{Range, RangeInclusive};
use thiserror::Error;

/// Largest Gaussian `sigma`: its kernel spans 601 pixels. Use a box blur for
/// wider smoothing.
pub const MAX_SIGMA: f32 = 100.0;
/// Largest box blur radius; also keeps every window sum inside `u32`.
pub const MAX_BOX_RADIUS: u32 = 2000;
/// Largest unsharp-mask `amount`.
pub const MAX_SHARPEN_AMOUNT: f32 = 20.0;
/// The Gaussian `sigma` of the blur the unsharp mask subtracts.
pub const SHARPEN_SIGMA: f32 = 1.0;

/// Why a filter could not run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ImageError {
    #[error("expected {width}×{height}×4 = {expected} bytes of RGBA, got {got}")]
    LengthMismatch {
        width: u32,
        height: u32,
        expected: usize,
        got: usize,
    },
    #[error("expected a {width}×{height} image to fit in memory, got a byte count that overflows")]
    SizeOverflow { width: u32, height: u32 },
    #[error("out: expected {width}×{height} = {expected} bytes of luma, got {got}")]
    OutputLengthMismatch {
        width: u32,
        height: u32,
        expected: usize,
        got: usize,
    },
    #[error("out: expected {expected} bytes for rows {start}..{end}, got {got}")]
    BandOutputLengthMismatch {
        start: u32,
        end: u32,
        expected: usize,
        got: usize,
    },
    #[error("expected whole rows of {row_bytes} bytes, got {got} bytes")]
    PartialRow { row_bytes: usize, got: usize },
    #[error("expected a band of rows start..end with start ≤ end ≤ {height}, got {start}..{end}")]
    BandOutOfRange { start: u32, end: u32, height: u32 },
    #[error("expected source rows within 0..{height}, got rows {start}..{end}")]
    SourceOutOfRange { start: u32, end: u32, height: u32 },
    #[error(
        "expected source rows covering {}..{} (band plus halo), got rows {}..{}",
        needed.start, needed.end, got.start, got.end
    )]
    MissingHalo { needed: Range<u32>, got: Range<u32> },
    #[error("{name}: expected {expected}, got {got}")]
    InvalidParameter {
        name: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("unknown filter: expected one of {names}, got {0:?}", names = FILTER_NAMES.join(", "))]
    UnknownFilter(String),
    #[error("{filter} params: {message}")]
    BadParams {
        filter: &'static str,
        message: String,
    },
}

/// The luma weights [`Filter::Grayscale`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrayStandard {
    /// SD video (BT.601): 0.299 R + 0.587 G + 0.114 B.
    #[default]
    Rec601,
    /// HD video and sRGB (BT.709): 0.2126 R + 0.7152 G + 0.0722 B.
    Rec709,
}

impl GrayStandard {
    /// Parses `"rec601"` or `"rec709"`.
    pub fn parse(name: &str) -> Result<Self, ImageError> {
        match name {
            "rec601" => Ok(GrayStandard::Rec601),
            "rec709" => Ok(GrayStandard::Rec709),
            other => Err(ImageError::InvalidParameter {
                name: "standard",
                expected: "\"rec601\" or \"rec709\"",
                got: format!("{other:?}"),
            }),
        }
    }

    /// Weights in 16-bit fixed point, summing to exactly 65 536 so a grey
    /// pixel maps to itself and grayscale is idempotent.
    fn weights(self) -> [u32; 3] {
        match self {
            GrayStandard::Rec601 => [19_595, 38_470, 7_471],
            GrayStandard::Rec709 => [13_933, 46_871, 4_732],
        }
    }
}

/// A filter and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Filter {
    /// Replace R, G and B by the pixel's luma.
    Grayscale(GrayStandard),
    /// Separable Gaussian blur, `sigma` in pixels in `0..=`[`MAX_SIGMA`]
    /// (0 is the identity); the kernel reaches ⌈3σ⌉ pixels each way.
    GaussianBlur { sigma: f32 },
    /// Mean over the `(2r+1)×(2r+1)` square, `radius` ≤ [`MAX_BOX_RADIUS`].
    BoxBlur { radius: u32 },
    /// Unsharp mask: `p + amount·(p − gaussian(p))` with σ = [`SHARPEN_SIGMA`],
    /// `amount` in `0..=`[`MAX_SHARPEN_AMOUNT`].
    Sharpen { amount: f32 },
    /// `255 − c` for each colour channel.
    Invert,
    /// `brightness` in `-1..=1` shifts by that fraction of full scale;
    /// `contrast` in `-1..=1` scales around mid-grey by tan((contrast+1)·π/4):
    /// −1 flattens to grey, 0 keeps, 1 thresholds.
    BrightnessContrast { brightness: f32, contrast: f32 },
}

/// The names [`Filter::from_json`] accepts, as JS spells them.
pub const FILTER_NAMES: [&str; 6] = [
    "grayscale",
    "gaussianBlur",
    "boxBlur",
    "sharpen",
    "invert",
    "brightnessContrast",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrayscaleParams {
    #[serde(default)]
    standard: GrayStandard,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigmaParams {
    sigma: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RadiusParams {
    radius: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountParams {
    amount: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrightnessContrastParams {
    #[serde(default)]
    brightness: f32,
    #[serde(default)]
    contrast: f32,
}

fn params<'a, T: Deserialize<'a>>(filter: &'static str, json: &'a str) -> Result<T, ImageError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| ImageError::BadParams {
        filter,
        message: e.to_string(),
    })
}

impl Filter {
    /// Builds a filter from its JS name (one of [`FILTER_NAMES`]) and a JSON
    /// object of parameters, e.g. `("gaussianBlur", r#"{"sigma": 2}"#)`. An
    /// empty string stands for `{}`; unknown keys are errors. The result is
    /// validated.
    pub fn from_json(name: &str, params_json: &str) -> Result<Filter, ImageError> {
        let filter = match name {
            "grayscale" => {
                Filter::Grayscale(params::<GrayscaleParams>("grayscale", params_json)?.standard)
            }
            "gaussianBlur" => Filter::GaussianBlur {
                sigma: params::<SigmaParams>("gaussianBlur", params_json)?.sigma,
            },
            "boxBlur" => Filter::BoxBlur {
                radius: params::<RadiusParams>("boxBlur", params_json)?.radius,
            },
            "sharpen" => Filter::Sharpen {
                amount: params::<AmountParams>("sharpen", params_json)?.amount,
            },
            "invert" => {
                params::<NoParams>("invert", params_json)?;
                Filter::Invert
            }
            "brightnessContrast" => {
                let p = params::<BrightnessContrastParams>("brightnessContrast", params_json)?;
                Filter::BrightnessContrast {
                    brightness: p.brightness,
                    contrast: p.contrast,
                }
            }
            other => return Err(ImageError::UnknownFilter(other.to_string())),
        };
        filter.validate()?;
        Ok(filter)
    }

    /// Checks the parameters are finite and in range.
    pub fn validate(&self) -> Result<(), ImageError> {
        fn within(
            name: &'static str,
            expected: &'static str,
            value: f32,
            range: RangeInclusive<f32>,
        ) -> Result<(), ImageError> {
            if range.contains(&value) {
                Ok(())
            } else {
                Err(ImageError::InvalidParameter {
                    name,
                    expected,
                    got: value.to_string(),
                })
            }
        }
        match *self {
            Filter::Grayscale(_) | Filter::Invert => Ok(()),
            Filter::GaussianBlur { sigma } => {
                within("sigma", "a number in 0..=100", sigma, 0.0..=MAX_SIGMA)
            }
            Filter::BoxBlur { radius } if radius > MAX_BOX_RADIUS => {
                Err(ImageError::InvalidParameter {
                    name: "radius",
                    expected: "an integer in 0..=2000",
                    got: radius.to_string(),
                })
            }
            Filter::BoxBlur { .. } => Ok(()),
            Filter::Sharpen { amount } => within(
                "amount",
                "a number in 0..=20",
                amount,
                0.0..=MAX_SHARPEN_AMOUNT,
            ),
            Filter::BrightnessContrast {
                brightness,
                contrast,
            } => {
                within("brightness", "a number in -1..=1", brightness, -1.0..=1.0)?;
                within("contrast", "a number in -1..=1", contrast, -1.0..=1.0)
            }
        }
    }

    /// How many rows above and below a band the filter reads.
    pub fn halo(&self) -> u32 {
        match *self {
            Filter::Grayscale(_) | Filter::Invert | Filter::BrightnessContrast { .. } => 0,
            Filter::GaussianBlur { sigma } => gaussian_radius(sigma),
            Filter::BoxBlur { radius } => radius,
            Filter::Sharpen { .. } => gaussian_radius(SHARPEN_SIGMA),
        }
    }
}

/// How many rows above and below a band `filter` reads; see [`source_rows`].
pub fn halo(filter: &Filter) -> u32 {
    filter.halo()
}

/// The source rows a band of output rows reads: the band widened by the halo,
/// clipped to the image.
pub fn source_rows(filter: &Filter, height: u32, rows: Range<u32>) -> Range<u32> {
    if rows.is_empty() {
        return rows.start..rows.start;
    }
    let h = filter.halo();
    rows.start.saturating_sub(h)..rows.end.saturating_add(h).min(height)
}

/// Bytes in one row, after checking the whole image's size fits in `usize`.
fn row_bytes(width: u32, height: u32) -> Result<usize, ImageError> {
    let row = (width as usize).checked_mul(4);
    let total = row.and_then(|r| r.checked_mul(height as usize));
    match (row, total) {
        (Some(row), Some(total)) if total <= isize::MAX as usize => Ok(row),
        _ => Err(ImageError::SizeOverflow { width, height }),
    }
}

/// Checks `data` is exactly a `width×height` RGBA image.
fn check_image(data: &[u8], width: u32, height: u32) -> Result<usize, ImageError> {
    let row = row_bytes(width, height)?;
    let expected = row * height as usize;
    if data.len() != expected {
        return Err(ImageError::LengthMismatch {
            width,
            height,
            expected,
            got: data.len(),
        });
    }
    Ok(row)
}

/// The whole image through `filter`.
pub fn apply(filter: &Filter, src: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ImageError> {
    apply_band(filter, src, width, height, 0..height)
}

/// Output rows `rows` of `filter` over the whole image `src`: what
/// `apply(filter, src, width, height)` has in those rows, byte for byte.
pub fn apply_band(
    filter: &Filter,
    src: &[u8],
    width: u32,
    height: u32,
    rows: Range<u32>,
) -> Result<Vec<u8>, ImageError> {
    check_image(src, width, height)?;
    apply_band_from(filter, src, 0, width, height, rows)
}

/// Like [`apply_band`], but `src` holds only consecutive rows of the image,
/// starting at row `src_first_row`; they must cover
/// [`source_rows`]`(filter, height, rows)`. This is what a worker given a
/// band plus its halo calls, without ever seeing the rest of the image.
pub fn apply_band_from(
    filter: &Filter,
    src: &[u8],
    src_first_row: u32,
    width: u32,
    height: u32,
    rows: Range<u32>,
) -> Result<Vec<u8>, ImageError> {
    let Some(source) = band_source(filter, src, src_first_row, width, height, &rows)? else {
        return Ok(Vec::new());
    };
    // A per-pixel filter starts from a copy of the band, not from zeros.
    let mut out = source.band(&rows).to_vec();
    if !per_pixel(filter, &mut out) {
        fill_band(filter, &source, rows, &mut out);
    }
    Ok(out)
}

/// Like [`apply_band`], but written into the caller's `out` of exactly the
/// band's size (`rows.len()·width·4` bytes), so bands computed side by side
/// land in one output buffer with no copy.
pub fn apply_band_into(
    filter: &Filter,
    src: &[u8],
    width: u32,
    height: u32,
    rows: Range<u32>,
    out: &mut [u8],
) -> Result<(), ImageError> {
    check_image(src, width, height)?;
    let expected = rows.len() * width as usize * 4;
    if out.len() != expected {
        return Err(ImageError::BandOutputLengthMismatch {
            start: rows.start,
            end: rows.end,
            expected,
            got: out.len(),
        });
    }
    if let Some(source) = band_source(filter, src, 0, width, height, &rows)? {
        fill_band(filter, &source, rows, out);
    }
    Ok(())
}

/// Checks a band's request and gives the rows it reads, or `None` when the
/// band is empty.
fn band_source<'a>(
    filter: &Filter,
    src: &'a [u8],
    src_first_row: u32,
    width: u32,
    height: u32,
    rows: &Range<u32>,
) -> Result<Option<Source<'a>>, ImageError> {
    filter.validate()?;
    let row = row_bytes(width, height)?;
    if rows.start > rows.end || rows.end > height {
        return Err(ImageError::BandOutOfRange {
            start: rows.start,
            end: rows.end,
            height,
        });
    }
    if row == 0 || rows.is_empty() {
        return Ok(None);
    }
    if !src.len().is_multiple_of(row) {
        return Err(ImageError::PartialRow {
            row_bytes: row,
            got: src.len(),
        });
    }
    let src_rows = u32::try_from(src.len() / row).unwrap_or(u32::MAX);
    let got = src_first_row..src_first_row.saturating_add(src_rows);
    let needed = source_rows(filter, height, rows.clone());
    if got.end > height {
        return Err(ImageError::SourceOutOfRange {
            start: got.start,
            end: got.end,
            height,
        });
    }
    if got.start > needed.start || got.end < needed.end {
        return Err(ImageError::MissingHalo { needed, got });
    }
    Ok(Some(Source {
        data: src,
        first_row: src_first_row,
        row_bytes: row,
        height,
    }))
}

/// Applies a filter that maps each pixel on its own to `pixels` in place and
/// says so; says `false` and leaves `pixels` alone for the others.
fn per_pixel(filter: &Filter, pixels: &mut [u8]) -> bool {
    let pixels = pixels.as_chunks_mut::<4>().0;
    match *filter {
        Filter::Grayscale(standard) => gray_row(pixels, standard.weights()),
        Filter::Invert => pixels.iter_mut().for_each(invert_pixel),
        Filter::BrightnessContrast {
            brightness,
            contrast,
        } => {
            let lut = brightness_contrast_lut(brightness, contrast);
            pixels.iter_mut().for_each(|px| lut_pixel(px, &lut));
        }
        Filter::GaussianBlur { .. } | Filter::Sharpen { .. } | Filter::BoxBlur { .. } => {
            return false
        }
    }
    true
}

/// Output rows `rows` of `filter` into `out`, their exact size, from a
/// checked source.
fn fill_band(filter: &Filter, source: &Source, rows: Range<u32>, out: &mut [u8]) {
    match *filter {
        Filter::Grayscale(_) | Filter::Invert | Filter::BrightnessContrast { .. } => {
            out.copy_from_slice(source.band(&rows));
            per_pixel(filter, out);
        }
        Filter::GaussianBlur { sigma } => {
            gaussian_band(source, rows, &gaussian_weights(sigma), out, |_, blurred| {
                ((blurred + (1 << 23)) >> 24) as u8
            });
        }
        Filter::Sharpen { amount } => {
            // p + amount·(p − blur) in fixed point: amount in 16.16, the
            // difference in 8.24, so the product needs 40 fraction bits and
            // stays below 2⁵³. Integer rounding avoids a libm call per channel on wasm.
            let amount = i64::from((amount * 65_536.0).round() as u32);
            gaussian_band(
                source,
                rows,
                &gaussian_weights(SHARPEN_SIGMA),
                out,
                move |original, blurred| {
                    let difference = (i64::from(original) << 24) - i64::from(blurred);
                    let delta = (amount * difference + (1 << 39)) >> 40;
                    (i64::from(original) + delta).clamp(0, 255) as u8
                },
            );
        }
        Filter::BoxBlur { radius } => box_band(source, rows, radius, out),
    }
}

/// Grayscale in place.
pub fn grayscale(
    pixels: &mut [u8],
    width: u32,
    height: u32,
    standard: GrayStandard,
) -> Result<(), ImageError> {
    check_image(pixels, width, height)?;
    gray_row(pixels.as_chunks_mut::<4>().0, standard.weights());
    Ok(())
}

/// The luma of every pixel, one byte each (a quarter of the RGBA size): the
/// value [`grayscale`] writes into R, G and B, without the alpha copy.
pub fn grayscale_luma(
    src: &[u8],
    width: u32,
    height: u32,
    standard: GrayStandard,
) -> Result<Vec<u8>, ImageError> {
    check_image(src, width, height)?;
    let mut out = vec![0; src.len() / 4];
    grayscale_luma_into(src, width, height, standard, &mut out)?;
    Ok(out)
}

/// [`grayscale_luma`] written into the caller's `out` of exactly
/// `width×height` bytes, so a caller that owns the buffer allocates nothing.
pub fn grayscale_luma_into(
    src: &[u8],
    width: u32,
    height: u32,
    standard: GrayStandard,
    out: &mut [u8],
) -> Result<(), ImageError> {
    check_image(src, width, height)?;
    let expected = src.len() / 4;
    if out.len() != expected {
        return Err(ImageError::OutputLengthMismatch {
            width,
            height,
            expected,
            got: out.len(),
        });
    }
    luma_row(src.as_chunks::<4>().0, out, standard.weights());
    Ok(())
}

/// Colour inversion in place.
pub fn invert(pixels: &mut [u8], width: u32, height: u32) -> Result<(), ImageError> {
    check_image(pixels, width, height)?;
    pixels
        .as_chunks_mut::<4>()
        .0
        .iter_mut()
        .for_each(invert_pixel);
    Ok(())
}

/// Brightness and contrast in place; see [`Filter::BrightnessContrast`].
pub fn brightness_contrast(
    pixels: &mut [u8],
    width: u32,
    height: u32,
    brightness: f32,
    contrast: f32,
) -> Result<(), ImageError> {
    Filter::BrightnessContrast {
        brightness,
        contrast,
    }
    .validate()?;
    check_image(pixels, width, height)?;
    let lut = brightness_contrast_lut(brightness, contrast);
    pixels
        .as_chunks_mut::<4>()
        .0
        .iter_mut()
        .for_each(|px| lut_pixel(px, &lut));
    Ok(())
}

/// Gaussian blur; see [`Filter::GaussianBlur`].
pub fn gaussian_blur(
    src: &[u8],
    width: u32,
    height: u32,
    sigma: f32,
) -> Result<Vec<u8>, ImageError> {
    apply(&Filter::GaussianBlur { sigma }, src, width, height)
}

/// Box blur; see [`Filter::BoxBlur`].
pub fn box_blur(src: &[u8], width: u32, height: u32, radius: u32) -> Result<Vec<u8>, ImageError> {
    apply(&Filter::BoxBlur { radius }, src, width, height)
}

/// Unsharp mask; see [`Filter::Sharpen`].
pub fn sharpen(src: &[u8], width: u32, height: u32, amount: f32) -> Result<Vec<u8>, ImageError> {
    apply(&Filter::Sharpen { amount }, src, width, height)
}

/// The weighted sum in 16-bit fixed point, rounded; at most
/// 65 536·255 + 2¹⁵ < 2³², and at most 255 after the shift because the
/// weights sum to 2¹⁶.
#[inline]
fn luma(px: &[u8; 4], [wr, wg, wb]: [u32; 3]) -> u8 {
    ((wr * u32::from(px[0]) + wg * u32::from(px[1]) + wb * u32::from(px[2]) + (1 << 15)) >> 16)
        as u8
}

/// Grayscale over pixels in place: four at a time with simd128, the rest
/// one by one.
fn gray_row(pixels: &mut [[u8; 4]], weights: [u32; 3]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let pixels = simd::gray_row(pixels, weights);
    for px in pixels {
        let y = luma(px, weights);
        px[..3].fill(y);
    }
}

/// The luma of each pixel of `src` into `out` (as long as `src`): sixteen at a
/// time with simd128, the rest one by one.
fn luma_row(src: &[[u8; 4]], out: &mut [u8], weights: [u32; 3]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (src, out) = simd::luma_row(src, out, weights);
    for (o, px) in out.iter_mut().zip(src) {
        *o = luma(px, weights);
    }
}

#[inline]
fn invert_pixel(px: &mut [u8; 4]) {
    for c in &mut px[..3] {
        *c = 255 - *c;
    }
}

#[inline]
fn lut_pixel(px: &mut [u8; 4], lut: &[u8; 256]) {
    for c in &mut px[..3] {
        *c = lut[usize::from(*c)];
    }
}

fn brightness_contrast_lut(brightness: f32, contrast: f32) -> [u8; 256] {
    let factor = ((f64::from(contrast) + 1.0) * std::f64::consts::FRAC_PI_4).tan();
    std::array::from_fn(|v| {
        let x = (v as f64 / 255.0 - 0.5) * factor + 0.5 + f64::from(brightness);
        (x.clamp(0.0, 1.0) * 255.0).round() as u8
    })
}

/// A run of consecutive image rows, addressed by their row in the image.
struct Source<'a> {
    data: &'a [u8],
    first_row: u32,
    row_bytes: usize,
    height: u32,
}

impl Source<'_> {
    /// Rows `rows` of the image, which the source holds.
    fn band(&self, rows: &Range<u32>) -> &[u8] {
        let at = |y: u32| (y - self.first_row) as usize * self.row_bytes;
        &self.data[at(rows.start)..at(rows.end)]
    }

    /// Row `y`, clamped to the image: the edge rule for every neighbourhood filter.
    fn row(&self, y: i64) -> &[u8] {
        let y = y.clamp(0, i64::from(self.height) - 1) as u32;
        let start = (y - self.first_row) as usize * self.row_bytes;
        &self.data[start..start + self.row_bytes]
    }
}

fn gaussian_radius(sigma: f32) -> u32 {
    (3.0 * sigma).ceil() as u32
}

/// Half a Gaussian kernel in 16-bit fixed point: `w[0]` for the centre and
/// `w[d]` for distance `d` either side, with `w[0] + 2·Σ w[d] = 65 536`
/// exactly, so a flat image stays flat. The side weights are rounded from
/// cumulative sums, which keeps each one non-negative and the total exact even
/// for wide kernels of many small weights.
fn gaussian_weights(sigma: f32) -> Vec<u32> {
    let r = gaussian_radius(sigma) as usize;
    let sigma = f64::from(sigma);
    // The centre is 1 by definition; computing it would give 0/0 for σ = 0.
    let raw: Vec<f64> = (0..=r)
        .map(|d| {
            if d == 0 {
                1.0
            } else {
                (-((d * d) as f64) / (2.0 * sigma * sigma)).exp()
            }
        })
        .collect();
    let sides: f64 = raw[1..].iter().sum();
    let total = raw[0] + 2.0 * sides;
    let mut center = (raw[0] / total * 65_536.0).round() as u32;
    // The two sides must share what is left equally.
    center += center & 1;
    let half = f64::from((65_536 - center) / 2);
    let mut weights = vec![center];
    let (mut cumulative, mut given) = (0.0, 0u32);
    for &w in &raw[1..] {
        cumulative += w;
        let upto = if sides > 0.0 {
            (cumulative / sides * half).round() as u32
        } else {
            0
        };
        weights.push(upto - given);
        given = upto;
    }
    weights
}

/// The source rows a band's vertical pass reads, as R, G and B only: alpha
/// is never blurred (every filter copies it from the source), so both passes
/// skip its arithmetic, a quarter of the work. Holds the `2r+1` clamped rows
/// of one window, slot `row mod (2r+1)`: the rows of a window are
/// consecutive, so they never share a slot, and sliding the window down one
/// row packs at most one new row.
struct PackedRows {
    rgb: Vec<u8>,
    held: Vec<Option<i64>>,
    row_len: usize,
}

impl PackedRows {
    fn new(slots: usize, pixels: usize) -> Self {
        PackedRows {
            rgb: vec![0; slots * 3 * pixels],
            held: vec![None; slots],
            row_len: 3 * pixels,
        }
    }

    /// Makes sure clamped source row `y` is packed in its slot.
    fn load(&mut self, source: &Source, y: i64) {
        let y = y.clamp(0, i64::from(source.height) - 1);
        let slot = y.rem_euclid(self.held.len() as i64) as usize;
        if self.held[slot] == Some(y) {
            return;
        }
        let at = slot * self.row_len;
        let dst = self.rgb[at..at + self.row_len].as_chunks_mut::<3>().0;
        for (d, px) in dst.iter_mut().zip(source.row(y).as_chunks::<4>().0) {
            *d = [px[0], px[1], px[2]];
        }
        self.held[slot] = Some(y);
    }

    /// Packed clamped row `y`, loaded before.
    fn row(&self, source: &Source, y: i64) -> &[u8] {
        let y = y.clamp(0, i64::from(source.height) - 1);
        let at = y.rem_euclid(self.held.len() as i64) as usize * self.row_len;
        &self.rgb[at..at + self.row_len]
    }
}

/// The Gaussian over `rows`, vertical pass first so only the band's own rows
/// go through the horizontal pass, on R, G and B only ([`PackedRows`]). Each
/// pass is a sum of whole shifted rows times a weight, which vectorises.
/// `finish` turns (source byte, blurred value in 8.24 fixed point) into the
/// output byte; alpha is copied from the source.
fn gaussian_band(
    source: &Source,
    rows: Range<u32>,
    weights: &[u32],
    out: &mut [u8],
    finish: impl Fn(u8, u32) -> u8,
) {
    let row_bytes = source.row_bytes;
    let pixels = row_bytes / 4;
    let rgb_len = 3 * pixels;
    let r = weights.len() - 1;
    let mut packed = PackedRows::new(2 * r + 1, pixels);
    let mut vertical = vec![0u32; rgb_len];
    // The vertical result in 8.8 fixed point, padded with r edge pixels each side.
    let mut padded = vec![0u16; rgb_len + 6 * r];
    let mut horizontal = vec![0u32; rgb_len];
    for (y, out_row) in rows.zip(out.chunks_exact_mut(row_bytes)) {
        let y = i64::from(y);
        for dy in -(r as i64)..=r as i64 {
            packed.load(source, y + dy);
        }
        let pairs: Vec<_> = (1..=r)
            .map(|d| {
                (
                    weights[d],
                    packed.row(source, y - d as i64),
                    packed.row(source, y + d as i64),
                )
            })
            .collect();
        weighted_sum(&mut vertical, weights[0], packed.row(source, y), &pairs);
        let (left, rest) = padded.split_at_mut(3 * r);
        let (middle, right) = rest.split_at_mut(rgb_len);
        for (v, &acc) in middle.iter_mut().zip(&vertical) {
            *v = ((acc + 128) >> 8) as u16;
        }
        let (first, last) = (
            <[u16; 3]>::try_from(&middle[..3]),
            <[u16; 3]>::try_from(&middle[rgb_len - 3..]),
        );
        if let (Ok(first), Ok(last)) = (first, last) {
            left.as_chunks_mut::<3>().0.fill(first);
            right.as_chunks_mut::<3>().0.fill(last);
        }
        let pairs: Vec<_> = (1..=r)
            .map(|d| (weights[d], &padded[3 * (r - d)..], &padded[3 * (r + d)..]))
            .collect();
        weighted_sum(&mut horizontal, weights[0], &padded[3 * r..], &pairs);
        let pixels = out_row
            .as_chunks_mut::<4>()
            .0
            .iter_mut()
            .zip(source.row(y).as_chunks::<4>().0);
        for ((o, px), acc) in pixels.zip(horizontal.as_chunks::<3>().0) {
            *o = [
                finish(px[0], acc[0]),
                finish(px[1], acc[1]),
                finish(px[2], acc[2]),
                px[3],
            ];
        }
    }
}

/// `acc[i] = w0·centre[i] + Σ w·(a[i] + b[i])` over the symmetric tap pairs,
/// two pairs per pass over the row so each accumulator is loaded and stored
/// half as often. Every partial sum is at most the full one, which fits `u32`
/// because the weights sum to 2¹⁶ and the values are below 2¹⁶.
fn weighted_sum<T: Copy + Into<u32>>(
    acc: &mut [u32],
    w0: u32,
    centre: &[T],
    pairs: &[(u32, &[T], &[T])],
) {
    let Some((&(w, a, b), rest)) = pairs.split_first() else {
        for (o, &c) in acc.iter_mut().zip(centre) {
            *o = w0 * c.into();
        }
        return;
    };
    for (((o, &c), &x), &y) in acc.iter_mut().zip(centre).zip(a).zip(b) {
        *o = w0 * c.into() + w * (x.into() + y.into());
    }
    for two in rest.chunks(2) {
        match *two {
            [(w1, a1, b1), (w2, a2, b2)] => {
                let rows = a1.iter().zip(b1).zip(a2).zip(b2);
                for (o, (((&p, &q), &r), &s)) in acc.iter_mut().zip(rows) {
                    *o += w1 * (p.into() + q.into()) + w2 * (r.into() + s.into());
                }
            }
            [(w, a, b)] => {
                for ((o, &x), &y) in acc.iter_mut().zip(a).zip(b) {
                    *o += w * (x.into() + y.into());
                }
            }
            _ => {}
        }
    }
}

/// The largest box radius whose column sums fit `u16`: a column holds
/// `2r+1` bytes, at most `255·(2r+1)` ≤ 65 535. Up to it the running column
/// sums are kept in 16 bits, halving what the column pass reads and writes
/// (eight lanes per simd128 vector instead of four); wider boxes use `u32`.
const U16_COLUMN_RADIUS: u32 = 128;

/// A running column sum: `u16` or `u32`, slid with wrapping arithmetic. The
/// sum after a slide is a true column sum and fits the type, so the wrapping
/// of the intermediate `sum + entering` (up to `255·(2r+2)`) cancels exactly.
trait ColumnSum: Copy + Default + Into<u32> {
    fn slide(self, entering: u8, leaving: u8) -> Self;
}

impl ColumnSum for u16 {
    fn slide(self, entering: u8, leaving: u8) -> Self {
        self.wrapping_add(u16::from(entering))
            .wrapping_sub(u16::from(leaving))
    }
}

impl ColumnSum for u32 {
    fn slide(self, entering: u8, leaving: u8) -> Self {
        self.wrapping_add(u32::from(entering))
            .wrapping_sub(u32::from(leaving))
    }
}

/// The exact rounded mean over each `(2r+1)²` window: running column sums
/// slide down the band and running row sums slide along each row, all in
/// integers, so a band started anywhere gets the same sums.
fn box_band(source: &Source, rows: Range<u32>, radius: u32, out: &mut [u8]) {
    if radius <= U16_COLUMN_RADIUS {
        box_band_with::<u16>(source, rows, radius, out);
    } else {
        box_band_with::<u32>(source, rows, radius, out);
    }
}

/// One pass down the band: each output row first slides the running column
/// sums down by one source row, then the row pass reads them in place. The
/// column sums live in one row-sized buffer with `r` pixels of margin each
/// side, refilled with the edge pixels' sums after every slide (`8r` values),
/// so the row window never clamps and nothing is copied or transposed.
fn box_band_with<C: ColumnSum>(source: &Source, rows: Range<u32>, radius: u32, out: &mut [u8]) {
    let row_bytes = source.row_bytes;
    let r = radius as usize;
    let inverse_area = 1.0 / ((2 * r + 1) * (2 * r + 1)) as f64;
    let mut columns = vec![C::default(); row_bytes + 8 * r];
    let first = i64::from(rows.start);
    let radius = i64::from(radius);
    for (y, out_row) in rows.zip(out.chunks_exact_mut(row_bytes)) {
        let y = i64::from(y);
        let (left, rest) = columns.split_at_mut(4 * r);
        let (middle, right) = rest.split_at_mut(row_bytes);
        if y == first {
            for dy in -radius..=radius {
                slide_columns(middle, source.row(y + dy), None);
            }
        } else {
            slide_columns(
                middle,
                source.row(y + radius),
                Some(source.row(y - radius - 1)),
            );
        }
        let (first_px, last_px) = (
            <[C; 4]>::try_from(&middle[..4]),
            <[C; 4]>::try_from(&middle[row_bytes - 4..]),
        );
        if let (Ok(first_px), Ok(last_px)) = (first_px, last_px) {
            left.as_chunks_mut::<4>().0.fill(first_px);
            right.as_chunks_mut::<4>().0.fill(last_px);
        }
        box_row(
            columns.as_chunks::<4>().0,
            r,
            inverse_area,
            source.row(y),
            out_row,
        );
    }
}

/// Adds the `entering` row to the column sums and takes away the `leaving`
/// one, lane by lane: a plain loop over bytes, which LLVM vectorises (sixteen
/// bytes widened into two `u16x8` per step with simd128).
fn slide_columns<C: ColumnSum>(columns: &mut [C], entering: &[u8], leaving: Option<&[u8]>) {
    match leaving {
        Some(leaving) => {
            for ((sum, &e), &l) in columns.iter_mut().zip(entering).zip(leaving) {
                *sum = sum.slide(e, l);
            }
        }
        None => {
            for (sum, &e) in columns.iter_mut().zip(entering) {
                *sum = sum.slide(e, 0);
            }
        }
    }
}

/// One output row of the box blur: `columns` holds the row's column sums,
/// a pixel's four channels together, with `r` edge copies each side;
/// `centre` is the source row (for alpha), `out` the output row.
///
/// The window slides by adding the entering column before the pixel and
/// removing the leaving one after it, so every intermediate is a true partial
/// window sum: non-negative and at most 255·4001² < 2³², no wrapping needed.
/// Rounded division by the odd area without a divide instruction: a sum over
/// an odd area is never exactly half-way, at least 1/(2·area) ≥ 3·10⁻⁸ from
/// it, and the f64 error is below 10⁻¹² (`float_rounding_of_box_means_is_exact`).
fn box_row<C: ColumnSum>(
    columns: &[[C; 4]],
    r: usize,
    inverse_area: f64,
    centre: &[u8],
    out: &mut [u8],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::box_row(columns, r, inverse_area, centre, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    box_row_scalar(columns, r, inverse_area, centre, out);
}

/// The largest box radius whose rounded means the simd128 row pass computes
/// in f32: the window sum (< 2²⁴) is exact in f32, the product with the
/// rounded inverse area and the `+ 0.5` are off by less than 4·10⁻⁵, and a mean
/// is at least 1/(2·area) > 4·10⁻⁵ from a half up to radius 56. The test
/// `f32_box_means_are_exact` checks every possible sum up to this radius.
#[cfg_attr(
    not(all(target_arch = "wasm32", target_feature = "simd128")),
    allow(dead_code)
)]
const F32_EXACT_BOX_RADIUS: usize = 48;

/// `1 / (2r+1)²` in f32, as the simd128 row pass multiplies by it.
#[cfg_attr(
    not(all(target_arch = "wasm32", target_feature = "simd128")),
    allow(dead_code)
)]
fn inverse_area_f32(r: usize) -> f32 {
    1.0 / ((2 * r + 1) * (2 * r + 1)) as f32
}

/// [`box_row`] one channel at a time; alpha is copied, never summed.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
fn box_row_scalar<C: ColumnSum>(
    columns: &[[C; 4]],
    r: usize,
    inverse_area: f64,
    centre: &[u8],
    out: &mut [u8],
) {
    let mut window = [0u32; 3];
    for px in &columns[..2 * r] {
        for (w, &c) in window.iter_mut().zip(px) {
            *w += c.into();
        }
    }
    let mean = |sum: u32| (f64::from(sum) * inverse_area + 0.5) as u8;
    let slides = columns.iter().zip(&columns[2 * r..]);
    let pixels = out
        .as_chunks_mut::<4>()
        .0
        .iter_mut()
        .zip(centre.as_chunks::<4>().0);
    for ((o, src), (leaving, entering)) in pixels.zip(slides) {
        for (w, &c) in window.iter_mut().zip(entering) {
            *w += c.into();
        }
        *o = [mean(window[0]), mean(window[1]), mean(window[2]), src[3]];
        for (w, &c) in window.iter_mut().zip(leaving) {
            *w -= c.into();
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    //! The simd128 paths, each computing exactly what its scalar path does.
    //! [`box_row`]: the four channels of a pixel in one `u32x4` window read
    //! straight from the `u16` (or `u32`) column sums, four pixels' means
    //! rounded and narrowed to sixteen bytes at once, in f32 where that is
    //! exact and else with the scalar path's f64 product and truncation; the
    //! alpha lanes ride along in the vectors and are replaced by the source's
    //! alpha with one bit select. [`luma_row`] and [`gray_row`]: four RGBA pixels as
    //! four little-endian `u32` lanes (R in the low byte), unpacked with
    //! shifts and masks and weighted with 32-bit multiplies, whose true sums
    //! stay below 2³² as in the scalar path.

    use core::arch::wasm32::*;

    use super::{inverse_area_f32, ColumnSum, F32_EXACT_BOX_RADIUS};

    /// Four pixels as `u32x4`, pixel `i` in lane `i`.
    fn pixels(px: &[[u8; 4]; 4]) -> v128 {
        u32x4(
            u32::from_le_bytes(px[0]),
            u32::from_le_bytes(px[1]),
            u32::from_le_bytes(px[2]),
            u32::from_le_bytes(px[3]),
        )
    }

    /// The rounded 16-bit fixed-point luma of four pixels, one per lane.
    fn luma4(px: v128, [wr, wg, wb]: [v128; 3]) -> v128 {
        let byte = u32x4_splat(0xff);
        let red = v128_and(px, byte);
        let green = v128_and(u32x4_shr(px, 8), byte);
        let blue = v128_and(u32x4_shr(px, 16), byte);
        let sum = i32x4_add(
            i32x4_add(i32x4_mul(red, wr), i32x4_mul(green, wg)),
            i32x4_add(i32x4_mul(blue, wb), u32x4_splat(1 << 15)),
        );
        u32x4_shr(sum, 16)
    }

    fn splat(weights: [u32; 3]) -> [v128; 3] {
        [
            u32x4_splat(weights[0]),
            u32x4_splat(weights[1]),
            u32x4_splat(weights[2]),
        ]
    }

    /// Grayscale in place on whole groups of four pixels; returns the rest.
    pub fn gray_row(pixels_in: &mut [[u8; 4]], weights: [u32; 3]) -> &mut [[u8; 4]] {
        let weights = splat(weights);
        let (quads, rest) = pixels_in.as_chunks_mut::<4>();
        let (alpha, grey) = (u32x4_splat(0xff00_0000), u32x4_splat(0x0001_0101));
        for quad in quads {
            let px = pixels(quad);
            let y = luma4(px, weights);
            let out = v128_or(v128_and(px, alpha), i32x4_mul(y, grey));
            *quad = [
                u32x4_extract_lane::<0>(out).to_le_bytes(),
                u32x4_extract_lane::<1>(out).to_le_bytes(),
                u32x4_extract_lane::<2>(out).to_le_bytes(),
                u32x4_extract_lane::<3>(out).to_le_bytes(),
            ];
        }
        rest
    }

    /// Luma of whole groups of sixteen pixels; returns the rest of both.
    pub fn luma_row<'a, 'b>(
        src: &'a [[u8; 4]],
        out: &'b mut [u8],
        weights: [u32; 3],
    ) -> (&'a [[u8; 4]], &'b mut [u8]) {
        let weights = splat(weights);
        let (groups, src_rest) = src.as_chunks::<16>();
        let (outs, out_rest) = out.as_chunks_mut::<16>();
        for (group, o) in groups.iter().zip(outs.iter_mut()) {
            let mut y = [u32x4_splat(0); 4];
            for (v, quad) in y.iter_mut().zip(group.as_chunks::<4>().0) {
                *v = luma4(pixels(quad), weights);
            }
            // Every lane is at most 255, so neither saturating narrow clips.
            let bytes = u8x16_narrow_i16x8(
                u16x8_narrow_i32x4(y[0], y[1]),
                u16x8_narrow_i32x4(y[2], y[3]),
            );
            let words = [
                u32x4_extract_lane::<0>(bytes),
                u32x4_extract_lane::<1>(bytes),
                u32x4_extract_lane::<2>(bytes),
                u32x4_extract_lane::<3>(bytes),
            ];
            for (o, word) in o.as_chunks_mut::<4>().0.iter_mut().zip(words) {
                *o = word.to_le_bytes();
            }
        }
        (src_rest, out_rest)
    }

    /// A pixel's four column sums as `u32x4`.
    fn column<C: ColumnSum>(px: &[C; 4]) -> v128 {
        u32x4(px[0].into(), px[1].into(), px[2].into(), px[3].into())
    }

    /// The rounded means of a pixel's four window sums, one per lane.
    trait Means: Copy {
        fn of(self, window: v128) -> v128;
    }

    /// In f32, exact up to [`F32_EXACT_BOX_RADIUS`]
    /// (`f32_box_means_are_exact`). The sums (< 2²⁴) and means are far from
    /// 2³¹, so the signed conversions give the unsigned ones' results, and
    /// they are single instructions on x86 where the unsigned ones are not.
    #[derive(Clone, Copy)]
    struct F32Means {
        inverse: v128,
        half: v128,
    }

    impl Means for F32Means {
        #[inline(always)]
        fn of(self, window: v128) -> v128 {
            i32x4_trunc_sat_f32x4(f32x4_add(
                f32x4_mul(f32x4_convert_i32x4(window), self.inverse),
                self.half,
            ))
        }
    }

    /// In two `f64x2` halves, the scalar path's f64 product and truncation,
    /// for the wider boxes (their sums can pass 2³¹).
    #[derive(Clone, Copy)]
    struct F64Means {
        inverse: v128,
        half: v128,
    }

    impl Means for F64Means {
        #[inline(always)]
        fn of(self, window: v128) -> v128 {
            let mean = |sums: v128| {
                i32x4_trunc_sat_f64x2_zero(f64x2_add(f64x2_mul(sums, self.inverse), self.half))
            };
            let low = mean(f64x2_convert_low_u32x4(window));
            let high = mean(f64x2_convert_low_u32x4(i32x4_shuffle::<2, 3, 2, 3>(
                window, window,
            )));
            i32x4_shuffle::<0, 1, 4, 5>(low, high)
        }
    }

    /// [`super::box_row`], with the means in f32 where that is exact.
    pub fn box_row<C: ColumnSum>(
        columns: &[[C; 4]],
        r: usize,
        inverse_area: f64,
        centre: &[u8],
        out: &mut [u8],
    ) {
        if r <= F32_EXACT_BOX_RADIUS {
            let means = F32Means {
                inverse: f32x4_splat(inverse_area_f32(r)),
                half: f32x4_splat(0.5),
            };
            box_row_with(columns, r, means, centre, out);
        } else {
            let means = F64Means {
                inverse: f64x2_splat(inverse_area),
                half: f64x2_splat(0.5),
            };
            box_row_with(columns, r, means, centre, out);
        }
    }

    /// The row pass four pixels at a time: each pixel's window is one
    /// `u32x4` slid by one entering and one leaving column (the only serial
    /// chain, two adds per pixel), and the four means are narrowed to sixteen
    /// bytes, blended with the source's alpha and stored at once.
    fn box_row_with<C: ColumnSum, M: Means>(
        columns: &[[C; 4]],
        r: usize,
        means: M,
        centre: &[u8],
        out: &mut [u8],
    ) {
        let mut window = u32x4_splat(0);
        for px in &columns[..2 * r] {
            window = i32x4_add(window, column(px));
        }
        let (quads, out_rest) = out.as_chunks_mut::<16>();
        let (centre_quads, centre_rest) = centre.as_chunks::<16>();
        let leaving = columns.as_chunks::<4>().0;
        let entering = columns[2 * r..].as_chunks::<4>().0;
        let alpha = u32x4_splat(0xff00_0000);
        for (((o, src), leaving), entering) in quads
            .iter_mut()
            .zip(centre_quads)
            .zip(leaving)
            .zip(entering)
        {
            let mut m = [u32x4_splat(0); 4];
            for ((mean, leaving), entering) in m.iter_mut().zip(leaving).zip(entering) {
                window = i32x4_add(window, column(entering));
                *mean = means.of(window);
                window = i32x4_sub(window, column(leaving));
            }
            // Every lane is at most 255, so neither saturating narrow clips.
            let bytes = u8x16_narrow_i16x8(
                u16x8_narrow_i32x4(m[0], m[1]),
                u16x8_narrow_i32x4(m[2], m[3]),
            );
            // SAFETY: both are 16-byte arrays, and v128 loads and stores
            // need no alignment.
            unsafe {
                let src = v128_load(src.as_ptr().cast());
                v128_store(o.as_mut_ptr().cast(), v128_bitselect(src, bytes, alpha));
            }
        }
        let done = quads.len() * 4;
        let pixels = out_rest
            .as_chunks_mut::<4>()
            .0
            .iter_mut()
            .zip(centre_rest.as_chunks::<4>().0);
        let slides = columns[done..].iter().zip(&columns[done + 2 * r..]);
        for ((o, src), (leaving, entering)) in pixels.zip(slides) {
            window = i32x4_add(window, column(entering));
            let mean = means.of(window);
            let narrow = u16x8_narrow_i32x4(mean, mean);
            let [red, green, blue, _] =
                u32x4_extract_lane::<0>(u8x16_narrow_i16x8(narrow, narrow)).to_le_bytes();
            *o = [red, green, blue, src[3]];
            window = i32x4_sub(window, column(leaving));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The box blur's definition, the oracle for the running-window paths:
    /// each colour channel the mean over the `(2r+1)²` square of pixels read
    /// through [`Source::row`]'s clamping, rounded half up in integers (an odd
    /// area never ties), alpha copied.
    fn box_band_reference(source: &Source, rows: Range<u32>, radius: u32) -> Vec<u8> {
        let width = (source.row_bytes / 4) as i64;
        let r = i64::from(radius);
        let area = ((2 * r + 1) * (2 * r + 1)) as u64;
        let mut out = Vec::new();
        for y in rows {
            let y = i64::from(y);
            for x in 0..width {
                let mut sums = [0u64; 3];
                for dy in -r..=r {
                    let row = source.row(y + dy);
                    for dx in -r..=r {
                        let at = (x + dx).clamp(0, width - 1) as usize * 4;
                        for (sum, &c) in sums.iter_mut().zip(&row[at..at + 3]) {
                            *sum += u64::from(c);
                        }
                    }
                }
                let alpha = source.row(y)[x as usize * 4 + 3];
                out.extend(sums.map(|sum| ((2 * sum + area) / (2 * area)) as u8));
                out.push(alpha);
            }
        }
        out
    }

    /// The Gaussian's definition, pixel by pixel, the oracle for the packed
    /// running paths: per colour channel, the vertical weighted sum over rows
    /// read through [`Source::row`]'s clamping, rounded to 8.8 fixed point,
    /// then the horizontal weighted sum of those over clamped columns, in 8.24,
    /// turned into a byte by `finish`; alpha copied.
    fn gaussian_band_reference(
        source: &Source,
        rows: Range<u32>,
        weights: &[u32],
        finish: impl Fn(u8, u32) -> u8,
    ) -> Vec<u8> {
        let width = (source.row_bytes / 4) as i64;
        let r = (weights.len() - 1) as i64;
        let vertical = |y: i64, x: i64, c: usize| -> u32 {
            let at = x.clamp(0, width - 1) as usize * 4 + c;
            let sum: u32 = (-r..=r)
                .map(|d| weights[d.unsigned_abs() as usize] * u32::from(source.row(y + d)[at]))
                .sum();
            (sum + 128) >> 8
        };
        let mut out = Vec::new();
        for y in rows {
            let y = i64::from(y);
            for x in 0..width {
                let px = &source.row(y)[x as usize * 4..x as usize * 4 + 4];
                for (c, &original) in px[..3].iter().enumerate() {
                    let sum: u32 = (-r..=r)
                        .map(|d| weights[d.unsigned_abs() as usize] * vertical(y, x + d, c))
                        .sum();
                    out.push(finish(original, sum));
                }
                out.push(px[3]);
            }
        }
        out
    }

    fn image(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let f = &f;
        (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| f(x, y)))
            .collect()
    }

    fn all_filters() -> Vec<Filter> {
        vec![
            Filter::Grayscale(GrayStandard::Rec601),
            Filter::Grayscale(GrayStandard::Rec709),
            Filter::GaussianBlur { sigma: 0.0 },
            Filter::GaussianBlur { sigma: 0.7 },
            Filter::GaussianBlur { sigma: 2.5 },
            Filter::BoxBlur { radius: 0 },
            Filter::BoxBlur { radius: 1 },
            Filter::BoxBlur { radius: 4 },
            Filter::Sharpen { amount: 1.5 },
            Filter::Invert,
            Filter::BrightnessContrast {
                brightness: 0.1,
                contrast: 0.3,
            },
        ]
    }

    #[test]
    fn one_row_bands_and_tiny_images() {
        for filter in all_filters() {
            for (w, h) in [(1, 1), (3, 7), (8, 2)] {
                let src = image(w, h, |x, y| {
                    [
                        (x * 40) as u8,
                        (y * 30) as u8,
                        ((x + y) * 20) as u8,
                        (x * y) as u8,
                    ]
                });
                let whole = apply(&filter, &src, w, h).unwrap();
                let rows: Vec<u8> = (0..h)
                    .flat_map(|y| apply_band(&filter, &src, w, h, y..y + 1).unwrap())
                    .collect();
                assert_eq!(rows, whole, "{filter:?} on {w}×{h}");
            }
        }
    }

    #[test]
    fn known_pixels() {
        let mut px = vec![255, 0, 0, 9, 0, 255, 0, 8, 0, 0, 255, 7];
        grayscale(&mut px, 3, 1, GrayStandard::Rec601).unwrap();
        assert_eq!(px, [76, 76, 76, 9, 150, 150, 150, 8, 29, 29, 29, 7]);
        let mut px = vec![255, 0, 0, 9, 0, 255, 0, 8, 0, 0, 255, 7];
        grayscale(&mut px, 3, 1, GrayStandard::Rec709).unwrap();
        assert_eq!(px, [54, 54, 54, 9, 182, 182, 182, 8, 18, 18, 18, 7]);
        let mut px = vec![0, 100, 255, 42];
        invert(&mut px, 1, 1).unwrap();
        assert_eq!(px, [255, 155, 0, 42]);
        let mut px = vec![0, 128, 255, 1];
        brightness_contrast(&mut px, 1, 1, 0.0, 0.0).unwrap();
        assert_eq!(px, [0, 128, 255, 1]);
        brightness_contrast(&mut px, 1, 1, 0.5, 0.0).unwrap();
        assert_eq!(px, [128, 255, 255, 1]);
        brightness_contrast(&mut px, 1, 1, 0.0, -1.0).unwrap();
        assert_eq!(px, [128, 128, 128, 1]);
    }

    #[test]
    fn box_blur_is_the_clamped_window_mean() {
        let src = image(3, 1, |x, _| {
            if x == 1 {
                [90, 0, 0, 200]
            } else {
                [0, 0, 0, 100]
            }
        });
        // Radius 1: every window holds the bright pixel three times among nine.
        assert_eq!(
            box_blur(&src, 3, 1, 1).unwrap(),
            [30, 0, 0, 100, 30, 0, 0, 200, 30, 0, 0, 100]
        );
    }

    #[test]
    fn float_rounding_of_box_means_is_exact() {
        for radius in [0u64, 1, 2, 7, 100, 2000] {
            let area = (2 * radius + 1).pow(2);
            let inverse = 1.0 / area as f64;
            let max = 255 * area;
            let near_halves = (0..=255u64).flat_map(|k| {
                let half = (2 * k + 1) * area / 2;
                [half.saturating_sub(1), half, half + 1, k * area]
            });
            for sum in near_halves
                .chain([0, 1, max - 1, max])
                .filter(|&s| s <= max)
            {
                let want = (sum + area / 2) / area;
                assert_eq!(
                    (sum as f64 * inverse + 0.5) as u64,
                    want,
                    "sum {sum}, area {area}"
                );
            }
        }
    }

    #[test]
    fn f32_box_means_are_exact() {
        for r in 0..=F32_EXACT_BOX_RADIUS {
            let area = ((2 * r + 1) * (2 * r + 1)) as u32;
            let inverse = inverse_area_f32(r);
            for sum in 0..=255 * area {
                let got = (sum as f32 * inverse + 0.5) as u32;
                assert_eq!(got, (2 * sum + area) / (2 * area), "radius {r}, sum {sum}");
            }
        }
    }

    #[test]
    fn gaussian_spreads_an_impulse_symmetrically() {
        let src = image(9, 9, |x, y| {
            if (x, y) == (4, 4) {
                [255, 255, 255, 255]
            } else {
                [0, 0, 0, 255]
            }
        });
        let out = gaussian_blur(&src, 9, 9, 1.0).unwrap();
        let at = |x: usize, y: usize| out[(y * 9 + x) * 4];
        assert!(at(4, 4) > at(3, 4) && at(3, 4) > at(2, 4) && at(2, 4) > 0);
        for (x, y) in [(3, 4), (5, 4), (4, 3), (4, 5)] {
            assert_eq!(at(x, y), at(3, 4));
        }
        assert_eq!(at(0, 0), 0);
    }

    #[test]
    fn weights_sum_exactly() {
        for sigma in [0.0, 0.01, 0.5, 1.0, 3.3, 17.0, 100.0] {
            let w = gaussian_weights(sigma);
            assert_eq!(
                w[0] + 2 * w[1..].iter().sum::<u32>(),
                65_536,
                "sigma {sigma}"
            );
            assert!(
                w.windows(2).all(|p| p[0] + 1 >= p[1]),
                "sigma {sigma}: {w:?}"
            );
        }
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            grayscale(&mut [0; 15], 2, 2, GrayStandard::Rec601).map_err(|e| e.to_string()),
            Err("expected 2×2×4 = 16 bytes of RGBA, got 15".to_string())
        );
        assert!(matches!(
            invert(&mut [], u32::MAX, u32::MAX),
            Err(ImageError::SizeOverflow { .. })
        ));
        assert!(matches!(
            gaussian_blur(&[0; 16], 2, 2, f32::NAN),
            Err(ImageError::InvalidParameter { name: "sigma", .. })
        ));
        assert!(matches!(
            apply_band(&Filter::Invert, &[0; 16], 2, 2, 1..3),
            Err(ImageError::BandOutOfRange {
                start: 1,
                end: 3,
                height: 2
            })
        ));
        let blur = Filter::BoxBlur { radius: 1 };
        assert_eq!(
            apply_band_from(&blur, &[0; 16], 2, 2, 6, 3..4).map_err(|e| e.to_string()),
            Err("expected source rows covering 2..5 (band plus halo), got rows 2..4".to_string())
        );
        assert!(matches!(
            apply_band_from(&blur, &[0; 12], 0, 2, 6, 0..1),
            Err(ImageError::PartialRow { .. })
        ));
        assert_eq!(apply(&Filter::Invert, &[], 0, 5), Ok(vec![]));
        assert_eq!(
            apply_band_into(&blur, &[0; 48], 2, 6, 1..3, &mut [0; 15]).map_err(|e| e.to_string()),
            Err("out: expected 16 bytes for rows 1..3, got 15".to_string())
        );
    }

    #[test]
    fn filters_from_json() {
        assert_eq!(
            Filter::from_json("gaussianBlur", r#"{"sigma": 2}"#),
            Ok(Filter::GaussianBlur { sigma: 2.0 })
        );
        assert_eq!(
            Filter::from_json("grayscale", ""),
            Ok(Filter::Grayscale(GrayStandard::Rec601))
        );
        assert_eq!(
            Filter::from_json("grayscale", r#"{"standard":"rec709"}"#),
            Ok(Filter::Grayscale(GrayStandard::Rec709))
        );
        assert_eq!(
            Filter::from_json("brightnessContrast", r#"{"contrast":0.5}"#),
            Ok(Filter::BrightnessContrast {
                brightness: 0.0,
                contrast: 0.5
            })
        );
        assert!(matches!(
            Filter::from_json("blur", "{}"),
            Err(ImageError::UnknownFilter(_))
        ));
        assert!(matches!(
            Filter::from_json("boxBlur", r#"{"radius": -1}"#),
            Err(ImageError::BadParams { .. })
        ));
        assert!(matches!(
            Filter::from_json("invert", r#"{"x": 1}"#),
            Err(ImageError::BadParams { .. })
        ));
        assert_eq!(
            Filter::from_json("sharpen", r#"{"amount": 30}"#).map_err(|e| e.to_string()),
            Err("amount: expected a number in 0..=20, got 30".to_string())
        );
        for name in FILTER_NAMES {
            let err = Filter::from_json("nope", "").unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    fn any_image() -> impl Strategy<Value = (u32, u32, Vec<u8>)> {
        (1u32..14, 1u32..14).prop_flat_map(|(w, h)| {
            (
                Just(w),
                Just(h),
                prop::collection::vec(any::<u8>(), (w * h * 4) as usize),
            )
        })
    }

    fn any_filter() -> impl Strategy<Value = Filter> {
        prop_oneof![
            prop_oneof![Just(GrayStandard::Rec601), Just(GrayStandard::Rec709)]
                .prop_map(Filter::Grayscale),
            (0.0f32..6.0).prop_map(|sigma| Filter::GaussianBlur { sigma }),
            (0u32..9).prop_map(|radius| Filter::BoxBlur { radius }),
            (0.0f32..5.0).prop_map(|amount| Filter::Sharpen { amount }),
            Just(Filter::Invert),
            (-1.0f32..=1.0, -1.0f32..=1.0).prop_map(|(brightness, contrast)| {
                Filter::BrightnessContrast {
                    brightness,
                    contrast,
                }
            }),
        ]
    }

    #[test]
    fn luma_known_pixels_and_output_shape() {
        let px = [255, 0, 0, 9, 0, 255, 0, 8, 0, 0, 255, 7];
        assert_eq!(
            grayscale_luma(&px, 3, 1, GrayStandard::Rec601).unwrap(),
            [76, 150, 29]
        );
        assert_eq!(
            grayscale_luma(&px, 3, 1, GrayStandard::Rec709).unwrap(),
            [54, 182, 18]
        );
        let mut out = [0; 4];
        assert_eq!(
            grayscale_luma_into(&px, 3, 1, GrayStandard::Rec601, &mut out)
                .map_err(|e| e.to_string()),
            Err("out: expected 3×1 = 3 bytes of luma, got 4".to_string())
        );
        assert_eq!(out, [0; 4], "nothing is written on a shape error");
        assert!(matches!(
            grayscale_luma(&px, 2, 1, GrayStandard::Rec601),
            Err(ImageError::LengthMismatch { expected: 8, .. })
        ));
        assert_eq!(grayscale_luma(&[], 0, 7, GrayStandard::Rec601), Ok(vec![]));
    }

    /// Images of any size up to 40×12, odd widths and 1×1 included.
    fn any_box_case() -> impl Strategy<Value = (u32, u32, Vec<u8>, u32, u32, u32)> {
        (1u32..40, 1u32..12, 0u32..14).prop_flat_map(|(w, h, radius)| {
            (
                Just(w),
                Just(h),
                prop::collection::vec(any::<u8>(), (w * h * 4) as usize),
                Just(radius),
                0..=h,
                0..=h,
            )
        })
    }

    proptest! {
        #[test]
        fn box_blur_equals_the_reference((w, h, src, radius, a, b) in any_box_case()) {
            let filter = Filter::BoxBlur { radius };
            let rows = a.min(b)..a.max(b);
            let row = (w * 4) as usize;
            let needed = source_rows(&filter, h, rows.clone());
            // The band with only its halo, as a worker gets it.
            let window = &src[needed.start as usize * row..needed.end as usize * row];
            let source = Source { data: window, first_row: needed.start, row_bytes: row, height: h };
            let want = if rows.is_empty() { vec![] } else { box_band_reference(&source, rows.clone(), radius) };
            prop_assert_eq!(apply_band_from(&filter, window, needed.start, w, h, rows).unwrap(), want);
        }

        #[test]
        fn gaussian_and_sharpen_equal_the_reference(
            (w, h, src) in any_image(),
            sigma in 0.0f32..3.0,
            sharpen: bool,
            a in 0u32..14,
            b in 0u32..14,
        ) {
            let filter = if sharpen { Filter::Sharpen { amount: sigma } } else { Filter::GaussianBlur { sigma } };
            let rows = a.min(b).min(h)..a.max(b).min(h);
            let row = (w * 4) as usize;
            let needed = source_rows(&filter, h, rows.clone());
            let window = &src[needed.start as usize * row..needed.end as usize * row];
            let source = Source { data: window, first_row: needed.start, row_bytes: row, height: h };
            let want = if rows.is_empty() {
                vec![]
            } else if sharpen {
                let amount = i64::from((sigma * 65_536.0).round() as u32);
                gaussian_band_reference(&source, rows.clone(), &gaussian_weights(SHARPEN_SIGMA), |original, blurred| {
                    let difference = (i64::from(original) << 24) - i64::from(blurred);
                    (i64::from(original) + ((amount * difference + (1 << 39)) >> 40)).clamp(0, 255) as u8
                })
            } else {
                gaussian_band_reference(&source, rows.clone(), &gaussian_weights(sigma), |_, blurred| ((blurred + (1 << 23)) >> 24) as u8)
            };
            prop_assert_eq!(apply_band_from(&filter, window, needed.start, w, h, rows).unwrap(), want);
        }

        #[test]
        fn luma_is_the_grayscale_channel((w, h, src) in any_image(), rec709: bool) {
            let standard = if rec709 { GrayStandard::Rec709 } else { GrayStandard::Rec601 };
            let mut rgba = src.clone();
            grayscale(&mut rgba, w, h, standard).unwrap();
            let want: Vec<u8> = rgba.chunks_exact(4).map(|px| px[0]).collect();
            prop_assert_eq!(grayscale_luma(&src, w, h, standard).unwrap(), want.clone());
            let mut out = vec![1; want.len()];
            grayscale_luma_into(&src, w, h, standard, &mut out).unwrap();
            prop_assert_eq!(out, want);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Both sides of the `u16` column sums' limit, on images small enough
        /// for the O(r²) reference.
        #[test]
        fn wide_boxes_around_the_u16_limit_equal_the_reference(
            (w, h, src) in (1u32..5, 1u32..4).prop_flat_map(|(w, h)| (Just(w), Just(h), prop::collection::vec(any::<u8>(), (w * h * 4) as usize))),
            radius in (U16_COLUMN_RADIUS - 3)..(U16_COLUMN_RADIUS + 4),
        ) {
            let source = Source { data: &src, first_row: 0, row_bytes: (w * 4) as usize, height: h };
            prop_assert_eq!(box_blur(&src, w, h, radius).unwrap(), box_band_reference(&source, 0..h, radius));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Both sides of the f32 means' limit (the simd128 row pass switches
        /// to f64 above it), with widths that leave every remainder of four
        /// pixels after the row pass's groups of four.
        #[test]
        fn boxes_around_the_f32_limit_equal_the_reference(
            (w, h, src) in (1u32..14, 1u32..4).prop_flat_map(|(w, h)| (Just(w), Just(h), prop::collection::vec(any::<u8>(), (w * h * 4) as usize))),
            radius in (F32_EXACT_BOX_RADIUS as u32 - 2)..(F32_EXACT_BOX_RADIUS as u32 + 3),
        ) {
            let source = Source { data: &src, first_row: 0, row_bytes: (w * 4) as usize, height: h };
            prop_assert_eq!(box_blur(&src, w, h, radius).unwrap(), box_band_reference(&source, 0..h, radius));
        }
    }

    #[test]
    fn u16_column_sums_hold_a_full_column_of_255_at_the_limit() {
        // 255·(2·128+1) = 65 535 exactly: the largest column sum in 16 bits.
        for radius in [U16_COLUMN_RADIUS, U16_COLUMN_RADIUS + 1] {
            let src = image(3, 2, |x, _| [255, 255, (x * 100) as u8, 7]);
            let source = Source {
                data: &src,
                first_row: 0,
                row_bytes: 12,
                height: 2,
            };
            assert_eq!(
                box_blur(&src, 3, 2, radius).unwrap(),
                box_band_reference(&source, 0..2, radius)
            );
            assert!(box_blur(&src, 3, 2, radius)
                .unwrap()
                .chunks(4)
                .all(|px| px[0] == 255 && px[1] == 255 && px[3] == 7));
        }
    }

    proptest! {
        #[test]
        fn bands_concatenate_to_the_whole(
            (w, h, src) in any_image(),
            filter in any_filter(),
            cuts in prop::collection::vec(0u32..14, 0..4),
        ) {
            let whole = apply(&filter, &src, w, h).unwrap();
            let mut cuts: Vec<u32> = cuts.into_iter().map(|c| c.min(h)).chain([0, h]).collect();
            cuts.sort_unstable();
            let mut joined = Vec::new();
            for band in cuts.windows(2) {
                let rows = band[0]..band[1];
                let band = apply_band(&filter, &src, w, h, rows.clone()).unwrap();
                // Written into a buffer of the band's size, the same bytes.
                let mut into = vec![1; band.len()];
                apply_band_into(&filter, &src, w, h, rows.clone(), &mut into).unwrap();
                prop_assert_eq!(&into, &band);
                joined.extend(band);
                // A worker that only has the band and its halo gets the same bytes.
                let needed = source_rows(&filter, h, rows.clone());
                let row = (w * 4) as usize;
                let window = &src[needed.start as usize * row..needed.end as usize * row];
                prop_assert_eq!(
                    apply_band_from(&filter, window, needed.start, w, h, rows.clone()).unwrap(),
                    apply_band(&filter, &src, w, h, rows).unwrap()
                );
            }
            prop_assert_eq!(joined, whole);
        }

        #[test]
        fn alpha_is_preserved((w, h, src) in any_image(), filter in any_filter()) {
            let out = apply(&filter, &src, w, h).unwrap();
            prop_assert_eq!(out.len(), src.len());
            for (o, s) in out.chunks_exact(4).zip(src.chunks_exact(4)) {
                prop_assert_eq!(o[3], s[3]);
            }
        }

        #[test]
        fn blurs_keep_a_flat_image_flat(
            w in 1u32..20,
            h in 1u32..20,
            px in any::<[u8; 4]>(),
            sigma in 0.0f32..=MAX_SIGMA,
            radius in 0u32..50,
            amount in 0.0f32..=MAX_SHARPEN_AMOUNT,
        ) {
            let src = image(w, h, |_, _| px);
            prop_assert_eq!(&gaussian_blur(&src, w, h, sigma).unwrap(), &src);
            prop_assert_eq!(&box_blur(&src, w, h, radius).unwrap(), &src);
            prop_assert_eq!(&sharpen(&src, w, h, amount).unwrap(), &src);
        }

        #[test]
        fn grayscale_is_idempotent((w, h, src) in any_image(), rec709: bool) {
            let standard = if rec709 { GrayStandard::Rec709 } else { GrayStandard::Rec601 };
            let mut once = src.clone();
            grayscale(&mut once, w, h, standard).unwrap();
            let mut twice = once.clone();
            grayscale(&mut twice, w, h, standard).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn invert_is_an_involution((w, h, src) in any_image()) {
            let mut px = src.clone();
            invert(&mut px, w, h).unwrap();
            invert(&mut px, w, h).unwrap();
            prop_assert_eq!(px, src);
        }

        #[test]
        fn wrong_lengths_never_panic(
            w in 0u32..40,
            h in 0u32..40,
            len in 0usize..7000,
            filter in any_filter(),
        ) {
            let src = vec![7u8; len];
            let result = apply(&filter, &src, w, h);
            prop_assert_eq!(result.is_ok(), len == (w * h * 4) as usize);
        }
    }
}
