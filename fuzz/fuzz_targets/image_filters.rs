//! Arbitrary sizes, buffer lengths, parameters and bands into the image
//! filters: an error exactly when the shape or parameters are wrong, never a
//! panic, and bands that always concatenate to the whole-image output.

#![no_main]

use compute::image::{self, Filter, GrayStandard, FILTER_NAMES};
use libfuzzer_sys::fuzz_target;

/// A side: usually small, sometimes any `u32` so sizes overflow.
fn side(flag: bool, byte: u8, wide: [u8; 4]) -> u32 {
    if flag {
        u32::from_le_bytes(wide)
    } else {
        u32::from(byte % 24)
    }
}

fuzz_target!(|data: &[u8]| {
    // Text that looks like JSON exercises the params parser for every filter.
    if data.first() == Some(&b'{') {
        if let Ok(text) = std::str::from_utf8(data) {
            for name in FILTER_NAMES {
                if let Ok(filter) = Filter::from_json(name, text) {
                    assert!(filter.validate().is_ok());
                }
            }
        }
        return;
    }
    let Some((header, pixels)) = data.split_first_chunk::<16>() else {
        return;
    };
    let [flags, bw, bh, kind, p1, p2, cut, start, end, w0, w1, w2, w3, h0, h1, h2] = *header;
    let width = side(flags & 1 != 0, bw, [w0, w1, w2, w3]);
    let height = side(flags & 2 != 0, bh, [h0, h1, h2, bh]);
    let filter = match kind % 6 {
        0 => Filter::Grayscale(if p1 & 1 == 0 {
            GrayStandard::Rec601
        } else {
            GrayStandard::Rec709
        }),
        1 => Filter::GaussianBlur {
            sigma: if p2 == 255 {
                f32::NAN
            } else {
                f32::from(p1) / 16.0
            },
        },
        2 => Filter::BoxBlur {
            radius: if p2 == 255 { 5000 } else { u32::from(p1 % 40) },
        },
        3 => Filter::Sharpen {
            amount: f32::from(p1) / 8.0 - if p2 == 255 { 40.0 } else { 0.0 },
        },
        4 => Filter::Invert,
        _ => Filter::BrightnessContrast {
            brightness: f32::from(p1) / 127.5 - 1.0,
            contrast: f32::from(p2) / 127.5 - 1.0,
        },
    };
    let valid_params = filter.validate().is_ok();
    let expected_len = (width as usize)
        .checked_mul(height as usize)
        .and_then(|p| p.checked_mul(4));
    let shape_ok = expected_len == Some(pixels.len());

    let whole = image::apply(&filter, pixels, width, height);
    assert_eq!(
        whole.is_ok(),
        valid_params && shape_ok,
        "{filter:?} {width}×{height} len {}: {whole:?}",
        pixels.len()
    );
    let Ok(whole) = whole else {
        // A band of a wrong-sized image is refused too.
        assert!(image::apply_band(&filter, pixels, width, height, 0..height.min(1)).is_err());
        return;
    };
    assert_eq!(whole.len(), pixels.len());
    for (o, s) in whole.chunks_exact(4).zip(pixels.chunks_exact(4)) {
        assert_eq!(o[3], s[3], "alpha changed");
    }

    // Two bands split at `cut` concatenate to the whole.
    let below = |byte: u8| (u64::from(byte) % (u64::from(height) + 1)) as u32;
    let cut = below(cut);
    let mut joined = image::apply_band(&filter, pixels, width, height, 0..cut).expect("valid band");
    joined.extend(
        image::apply_band(&filter, pixels, width, height, cut..height).expect("valid band"),
    );
    assert_eq!(joined, whole);

    // An arbitrary band from just its source rows equals the same band of the whole.
    let (start, end) = (below(start), below(end));
    let band = image::apply_band(&filter, pixels, width, height, start..end);
    assert_eq!(band.is_ok(), start <= end);
    if let Ok(band) = band {
        let needed = image::source_rows(&filter, height, start..end);
        let row = width as usize * 4;
        let window = &pixels[needed.start as usize * row..needed.end as usize * row];
        assert_eq!(
            image::apply_band_from(&filter, window, needed.start, width, height, start..end)
                .expect("window covers"),
            band
        );
        assert_eq!(&band[..], &whole[start as usize * row..end as usize * row]);
    }
});
