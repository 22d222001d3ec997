//! The image filters and matrix products split across rayon's threads (the
//! `threads` feature), byte-identical to the serial functions however many
//! threads run them: an image is cut into bands of rows and each band is
//! computed by [`image::apply_band`], whose output never depends on where the
//! band starts; a product is cut into bands of rows of A against B packed
//! once for all of them, and each element of C is summed in the same order
//! whichever band computes it.

use crate::image::{self, Filter, GrayStandard, ImageError};
use crate::matmul::{self, Kernel, MatmulError, PackedB};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Image bands per thread: a few more bands than threads lets a thread that
/// finished early take over work from a slow one, at the cost of one halo per
/// band.
const BANDS_PER_THREAD: usize = 8;

/// Product bands per thread: B is packed once and shared, so a band costs
/// only its own rows of A, and a few bands per thread let the thread whose
/// core is free take over the rows of one that is held up.
const PRODUCT_BANDS_PER_THREAD: usize = 8;

/// `len` items cut into about `threads × per_thread` bands of whole
/// multiples of `unit` (the last band takes the rest).
fn bands(len: usize, unit: usize, per_thread: usize) -> Vec<Range<usize>> {
    let wanted = rayon::current_num_threads().max(1) * per_thread;
    let size = len.div_ceil(wanted).next_multiple_of(unit.max(1)).max(1);
    (0..len)
        .step_by(size)
        .map(|s| s..(s + size).min(len))
        .collect()
}

/// Rows per band of an image `height` rows high, for splitting a whole output
/// buffer into bands with `par_chunks_mut` (the last band takes the rest).
fn image_band_rows(height: u32) -> usize {
    bands(height as usize, 1, BANDS_PER_THREAD)
        .first()
        .map_or(1, ExactSizeIterator::len)
}

/// [`image::apply`] on rayon's threads: each band of rows is computed into
/// its place in the one output buffer ([`image::apply_band_into`]).
pub fn apply(filter: &Filter, src: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ImageError> {
    // One zeroed allocation (calloc, which fresh memory serves without a
    // memset); rayon's element-by-element parallel fill would write each of
    // an image's bytes separately.
    let mut out = vec![0; src.len()];
    apply_into(filter, src, width, height, &mut out)?;
    Ok(out)
}

/// [`image::apply`] on rayon's threads, written into `out` (as long as
/// `src`) instead of a new vector: each band of output rows is computed from
/// the whole `src` straight into its own rows of `out`, so `src` and `out`
/// can be shared regions the guest reads and writes in place.
pub fn apply_into(
    filter: &Filter,
    src: &[u8],
    width: u32,
    height: u32,
    out: &mut [u8],
) -> Result<(), ImageError> {
    // The empty band checks the image and the filter without computing anything.
    image::apply_band(filter, src, width, height, 0..0)?;
    if out.len() != src.len() {
        return Err(ImageError::LengthMismatch {
            width,
            height,
            expected: src.len(),
            got: out.len(),
        });
    }
    let row = width as usize * 4;
    if row == 0 || height == 0 {
        return Ok(());
    }
    let band_rows = image_band_rows(height);
    share_out(
        out.chunks_mut(band_rows * row).enumerate().collect(),
        |(i, band)| {
            let start = (i * band_rows) as u32;
            let rows = start..start + (band.len() / row) as u32;
            image::apply_band_into(filter, src, width, height, rows, band)
        },
    )
}

/// [`image::gaussian_blur`] on rayon's threads.
pub fn gaussian_blur(
    src: &[u8],
    width: u32,
    height: u32,
    sigma: f32,
) -> Result<Vec<u8>, ImageError> {
    apply(&Filter::GaussianBlur { sigma }, src, width, height)
}

/// [`image::box_blur`] on rayon's threads.
pub fn box_blur(src: &[u8], width: u32, height: u32, radius: u32) -> Result<Vec<u8>, ImageError> {
    apply(&Filter::BoxBlur { radius }, src, width, height)
}

/// [`image::grayscale`] in place on rayon's threads: each band of rows is
/// grayscaled where it lies.
pub fn grayscale(
    pixels: &mut [u8],
    width: u32,
    height: u32,
    standard: GrayStandard,
) -> Result<(), ImageError> {
    image::apply_band(&Filter::Grayscale(standard), pixels, width, height, 0..0)?;
    let row = width as usize * 4;
    if row == 0 || height == 0 {
        return Ok(());
    }
    share_out(
        pixels.chunks_mut(image_band_rows(height) * row).collect(),
        |band| image::grayscale(band, width, (band.len() / row) as u32, standard),
    )
}

/// Rows of A per band of a product: a multiple of the micro-kernel's height,
/// so no band computes padding rows another band could have used.
const ROW_UNIT: usize = 4;

/// [`matmul::matmul_f32`] on rayon's threads.
pub fn matmul_f32(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<f32>, MatmulError> {
    matmul_bands(a, b, m, k, n)
}

/// [`matmul::matmul_f64`] on rayon's threads.
pub fn matmul_f64(
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<f64>, MatmulError> {
    matmul_bands(a, b, m, k, n)
}

/// [`matmul::matmul_f32_into`] on rayon's threads: each band zeroes and
/// writes its own rows of `out`.
pub fn matmul_f32_into(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
) -> Result<(), MatmulError> {
    matmul::check_into(a, b, m, k, n, out.len())?;
    product_bands(a, b, k, n, out, true);
    Ok(())
}

/// The shapes checked and the zeroed result allocated by the serial
/// functions' own [`matmul::checked_output`] (so the errors are theirs),
/// then [`product_bands`].
fn matmul_bands<T: Kernel + Send + Sync>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<T>, MatmulError> {
    let mut c = matmul::checked_output(a, b, m, k, n)?;
    product_bands(a, b, k, n, &mut c, false);
    Ok(c)
}

/// `c = a · b` for shapes the caller has checked: each band of rows of A
/// writes its rows of C in place ([`matmul::gemm_rows`]), after zeroing them
/// when `zero` (C holds old values). B is packed once, by the threads as
/// their bands first need each block ([`PackedB`]).
fn product_bands<T: Kernel + Send + Sync>(
    a: &[T],
    b: &[T],
    k: usize,
    n: usize,
    c: &mut [T],
    zero: bool,
) {
    if k == 0 || n == 0 || c.is_empty() {
        if zero {
            c.fill(T::default());
        }
        return;
    }
    let m = c.len() / n;
    let band_rows = bands(m, ROW_UNIT, PRODUCT_BANDS_PER_THREAD)
        .first()
        .map_or(m, ExactSizeIterator::len);
    let packed = PackedB::new(b, k, n);
    let done: Result<(), std::convert::Infallible> = share_out(
        c.chunks_mut(band_rows * n)
            .zip(a.chunks(band_rows * k))
            .collect(),
        |(c, a)| {
            if zero {
                c.fill(T::default());
            }
            matmul::gemm_rows(a, &packed, c, c.len() / n);
            Ok(())
        },
    );
    let Ok(()) = done;
}

/// Runs `work` on every item on all the pool's threads at once
/// (`rayon::broadcast`), each thread taking the next item no thread has
/// taken (an atomic counter) until none is left; the first error, if any.
///
/// One wake-up per thread and call: a parallel iterator splits its items
/// through a tree of rayon joins, and on a wasm module's threads every join
/// that found the other thread asleep cost a wake-up of tens of microseconds
/// or more, several per call (the threads section of `cargo xtask bench`
/// shows what 2 threads give against 1).
fn share_out<I: Send, E: Send>(
    items: Vec<I>,
    work: impl Fn(I) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let slots: Vec<Mutex<Option<I>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(None);
    rayon::broadcast(|_| {
        while let Some(slot) = slots.get(next.fetch_add(1, Ordering::Relaxed)) {
            // The counter hands each index out once, so the slot is full; a
            // poisoned lock means an item panicked, which rayon re-raises.
            let Some(item) = slot.lock().ok().and_then(|mut item| item.take()) else {
                continue;
            };
            if let Err(err) = work(item) {
                if let Ok(mut first) = failed.lock() {
                    first.get_or_insert(err);
                }
            }
        }
    });
    match failed.into_inner() {
        Ok(Some(err)) => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn filters_match_the_serial_ones(
            w in 0u32..40, h in 0u32..70, seed in any::<u64>(), threads in 1usize..5,
            sigma in 0.3f32..6.0, radius in 0u32..9,
        ) {
            let src: Vec<u8> = (0..w * h * 4)
                .map(|i| (u64::from(i).wrapping_mul(seed | 1) >> 7) as u8)
                .collect();
            pool(threads).install(|| {
                for filter in [Filter::GaussianBlur { sigma }, Filter::BoxBlur { radius }] {
                    let mut out = vec![7; src.len()];
                    prop_assert_eq!(apply_into(&filter, &src, w, h, &mut out), Ok(()));
                    prop_assert_eq!(Ok(out), image::apply(&filter, &src, w, h));
                }
                prop_assert_eq!(gaussian_blur(&src, w, h, sigma), image::gaussian_blur(&src, w, h, sigma));
                prop_assert_eq!(box_blur(&src, w, h, radius), image::box_blur(&src, w, h, radius));
                let (mut par, mut serial) = (src.clone(), src.clone());
                prop_assert_eq!(
                    grayscale(&mut par, w, h, GrayStandard::Rec709),
                    image::grayscale(&mut serial, w, h, GrayStandard::Rec709)
                );
                prop_assert_eq!(par, serial);
                Ok(())
            })?;
        }

        #[test]
        fn products_match_the_serial_ones(
            m in 0usize..40, k in 0usize..30, n in 0usize..30, threads in 1usize..5,
        ) {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 113) as f32 / 7.0 - 8.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 104_729) % 97) as f32 / 3.0 - 16.0).collect();
            let a64: Vec<f64> = a.iter().map(|&x| f64::from(x) / 3.0).collect();
            let b64: Vec<f64> = b.iter().map(|&x| f64::from(x) * 1.1).collect();
            pool(threads).install(|| {
                let par = matmul_f32(&a, &b, m, k, n).unwrap();
                let serial = matmul::matmul_f32(&a, &b, m, k, n).unwrap();
                prop_assert_eq!(par.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), serial.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
                // Into an output holding old values, as a reused region does.
                let mut into = vec![f32::NAN; m * n];
                matmul_f32_into(&a, &b, m, k, n, &mut into).unwrap();
                prop_assert_eq!(into.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), serial.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
                let par = matmul_f64(&a64, &b64, m, k, n).unwrap();
                let serial = matmul::matmul_f64(&a64, &b64, m, k, n).unwrap();
                prop_assert_eq!(par.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), serial.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
                Ok(())
            })?;
        }
    }

    /// Shapes across the blocking's edges (more than `MC` rows, depth past
    /// `KC`, columns past `NC`), which the property test's small sizes never
    /// reach: the shared packing of B must hand every band the right block.
    #[test]
    fn products_across_block_edges_match_the_serial_ones() {
        for (m, k, n) in [(9, 259, 1033), (141, 20, 13), (67, 300, 9)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 31) % 101) as f32 / 9.0 - 5.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 17) % 89) as f32 / 5.0 - 8.0)
                .collect();
            let a64: Vec<f64> = a.iter().map(|&x| f64::from(x) / 3.0).collect();
            let b64: Vec<f64> = b.iter().map(|&x| f64::from(x) * 1.1).collect();
            let serial = matmul::matmul_f32(&a, &b, m, k, n).unwrap();
            let serial64 = matmul::matmul_f64(&a64, &b64, m, k, n).unwrap();
            for threads in [1, 2, 3] {
                pool(threads).install(|| {
                    let par = matmul_f32(&a, &b, m, k, n).unwrap();
                    assert!(par
                        .iter()
                        .zip(&serial)
                        .all(|(p, s)| p.to_bits() == s.to_bits()));
                    let mut into = vec![-1.0; m * n];
                    matmul_f32_into(&a, &b, m, k, n, &mut into).unwrap();
                    assert!(into
                        .iter()
                        .zip(&serial)
                        .all(|(p, s)| p.to_bits() == s.to_bits()));
                    let par = matmul_f64(&a64, &b64, m, k, n).unwrap();
                    assert!(par
                        .iter()
                        .zip(&serial64)
                        .all(|(p, s)| p.to_bits() == s.to_bits()));
                });
            }
        }
    }

    #[test]
    fn apply_into_refuses_an_output_of_another_size() {
        let filter = Filter::BoxBlur { radius: 1 };
        assert_eq!(
            apply_into(&filter, &[0; 16], 2, 2, &mut [0; 12]),
            Err(ImageError::LengthMismatch {
                width: 2,
                height: 2,
                expected: 16,
                got: 12
            })
        );
        assert_eq!(
            apply_into(&filter, &[0; 12], 2, 2, &mut [0; 12]),
            image::apply(&filter, &[0; 12], 2, 2).map(drop)
        );
    }

    #[test]
    fn share_out_runs_every_item_once_and_returns_an_error_of_one() {
        use std::sync::atomic::AtomicU32;
        for threads in [1, 2, 4] {
            pool(threads).install(|| {
                let runs: Vec<AtomicU32> = (0..37).map(|_| AtomicU32::new(0)).collect();
                let all = share_out((0..37).collect(), |i: usize| {
                    runs[i].fetch_add(1, Ordering::Relaxed);
                    Ok::<(), usize>(())
                });
                assert_eq!(all, Ok(()));
                assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1));
                // Every item still runs when some fail; the error is one of theirs.
                let runs: Vec<AtomicU32> = (0..37).map(|_| AtomicU32::new(0)).collect();
                let failed = share_out((0..37).collect(), |i: usize| {
                    runs[i].fetch_add(1, Ordering::Relaxed);
                    if i % 10 == 3 {
                        Err(i)
                    } else {
                        Ok(())
                    }
                });
                assert!(matches!(failed, Err(3 | 13 | 23 | 33)), "{failed:?}");
                assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1));
                assert_eq!(share_out(Vec::<usize>::new(), |_| Err::<(), _>(0)), Ok(()));
            });
        }
    }

    #[test]
    fn matmul_into_refuses_what_the_serial_one_refuses() {
        let out_error = Err(MatmulError::LengthMismatch {
            operand: "out",
            rows: 2,
            cols: 2,
            expected: 4,
            got: 3,
        });
        assert_eq!(
            matmul_f32_into(&[1.0; 4], &[1.0; 4], 2, 2, 2, &mut [0.0; 3]),
            out_error
        );
        for (a, b, m, k, n, out) in [
            (3, 4, 2, 2, 2, 4),
            (4, 3, 2, 2, 2, 4),
            (4, 4, 2, 2, 2, 3),
            (0, 0, 0, 5, 0, 0),
            (0, 6, 0, 2, 3, 0),
        ] {
            let mut par = vec![0.0; out];
            let mut serial = vec![0.0; out];
            assert_eq!(
                matmul_f32_into(&vec![1.0; a], &vec![1.0; b], m, k, n, &mut par),
                matmul::matmul_f32_into(&vec![1.0; a], &vec![1.0; b], m, k, n, &mut serial),
                "{m}×{k} by {k}×{n} into {out}"
            );
            assert_eq!(par, serial);
        }
    }

    #[test]
    fn errors_are_the_serial_ones() {
        assert_eq!(
            gaussian_blur(&[0; 12], 2, 2, 1.0),
            image::gaussian_blur(&[0; 12], 2, 2, 1.0)
        );
        assert_eq!(
            matmul_f32(&[1.0], &[1.0], 1, 2, 1),
            matmul::matmul_f32(&[1.0], &[1.0], 1, 2, 1)
        );
        assert_eq!(
            matmul_f32(&[1.0, 2.0, 3.0], &[1.0], 2, 1, 1),
            matmul::matmul_f32(&[1.0, 2.0, 3.0], &[1.0], 2, 1, 1)
        );
    }
}
