//! Dense row-major matrix products, cache-blocked in the GotoBLAS way, with a
//! `simd128` micro-kernel on wasm and a portable one elsewhere.
//!
//! `C (m×n) = A (m×k) · B (k×n)`, every matrix a flat row-major slice. The
//! blocked product sums each dot product in blocks of [`KC`] terms, so it can
//! differ from [`matmul_naive`] by rounding, never by more.

use std::fmt::Debug;
use std::ops::{Add, Mul};
use thiserror::Error;

/// Why two matrices cannot be multiplied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatmulError {
    #[error("{operand}: expected {rows}×{cols} = {expected} elements, got {got}")]
    LengthMismatch {
        operand: &'static str,
        rows: usize,
        cols: usize,
        expected: usize,
        got: usize,
    },
    #[error(
        "{operand}: expected at most {} elements, got {rows}×{cols}, which overflows",
        usize::MAX
    )]
    SizeOverflow {
        operand: &'static str,
        rows: usize,
        cols: usize,
    },
    #[error("result: expected memory for {rows}×{cols} elements, got an allocation failure")]
    OutOfMemory { rows: usize, cols: usize },
}

/// A matrix element: `f32` or `f64`.
pub trait Element:
    Copy + Default + PartialEq + Debug + Add<Output = Self> + Mul<Output = Self> + sealed::Sealed
{
}

impl Element for f32 {}
impl Element for f64 {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// `a (m×k) · b (k×n)` in `f64`.
pub fn matmul_f64(
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<f64>, MatmulError> {
    let mut c = checked_output(a, b, m, k, n)?;
    gemm(a, b, &mut c, m, k, n);
    Ok(c)
}

/// `a (m×k) · b (k×n)` in `f32`.
pub fn matmul_f32(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<f32>, MatmulError> {
    let mut c = checked_output(a, b, m, k, n)?;
    gemm(a, b, &mut c, m, k, n);
    Ok(c)
}

/// `a (m×k) · b (k×n)` in `f32` written into `out` (`m×n`), whose old
/// contents do not matter: the same sums as [`matmul_f32`], for a caller that
/// owns the output's memory (a shared region, a reused buffer).
pub fn matmul_f32_into(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
) -> Result<(), MatmulError> {
    check_into(a, b, m, k, n, out.len())?;
    out.fill(0.0);
    gemm(a, b, out, m, k, n);
    Ok(())
}

/// The textbook triple loop, each dot product summed in order: the reference
/// the blocked kernels are tested and benchmarked against.
pub fn matmul_naive<T: Element>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<T>, MatmulError> {
    let mut c = checked_output(a, b, m, k, n)?;
    // Iterating result rows, not 0..m, keeps a 2⁶⁴×0 product from looping.
    if n == 0 {
        return Ok(c);
    }
    for (i, row) in c.chunks_exact_mut(n).enumerate() {
        for (j, cij) in row.iter_mut().enumerate() {
            let mut sum = T::default();
            for p in 0..k {
                sum = sum + a[i * k + p] * b[p * n + j];
            }
            *cij = sum;
        }
    }
    Ok(c)
}

fn elements(operand: &'static str, rows: usize, cols: usize) -> Result<usize, MatmulError> {
    rows.checked_mul(cols).ok_or(MatmulError::SizeOverflow {
        operand,
        rows,
        cols,
    })
}

/// Validates the shapes of A and B; returns the length of the `m×n` result.
fn check_inputs<T: Element>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) -> Result<usize, MatmulError> {
    for (operand, data, rows, cols) in [("a", a, m, k), ("b", b, k, n)] {
        let expected = elements(operand, rows, cols)?;
        if data.len() != expected {
            return Err(MatmulError::LengthMismatch {
                operand,
                rows,
                cols,
                expected,
                got: data.len(),
            });
        }
    }
    elements("result", m, n)
}

/// Validates the shapes of A, B and an output `out_len` elements long.
pub(crate) fn check_into<T: Element>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    out_len: usize,
) -> Result<(), MatmulError> {
    let expected = check_inputs(a, b, m, k, n)?;
    if out_len != expected {
        return Err(MatmulError::LengthMismatch {
            operand: "out",
            rows: m,
            cols: n,
            expected,
            got: out_len,
        });
    }
    Ok(())
}

/// Validates the shapes and allocates the zeroed `m×n` result.
pub(crate) fn checked_output<T: Element>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<T>, MatmulError> {
    let len = check_inputs(a, b, m, k, n)?;
    // A 0×k by k×n product can ask for a huge result from empty inputs:
    // report that as an error rather than aborting the worker.
    let mut c = Vec::new();
    c.try_reserve_exact(len)
        .map_err(|_| MatmulError::OutOfMemory { rows: m, cols: n })?;
    c.resize(len, T::default());
    Ok(c)
}

/// Rows of the register tile.
const MR: usize = 4;
/// Depth of a block: a packed `KC×NR` strip of B stays in L1.
const KC: usize = 256;
/// Rows of A packed at once: `MC×KC` of A stays in L2.
const MC: usize = 64;
/// Columns of B packed at once: `KC×NC` of B is what sweeps through L2/L3.
const NC: usize = 1024;

/// The element types with a micro-kernel: `NR` is the width of the register
/// tile, two SIMD vectors of the type.
pub(crate) trait Kernel: Element {
    const NR: usize;

    /// `c[r][j] += Σ_p a[p][r] · b[p][j]` for `r < rows`, `j < cols`, where `a`
    /// is a packed `kc×MR` strip and `b` a packed `kc×NR` strip, both
    /// zero-padded, and row `r` of `c` starts at `r·ldc`.
    fn kernel(
        kc: usize,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
        ldc: usize,
        rows: usize,
        cols: usize,
    );
}

impl Kernel for f64 {
    const NR: usize = 4;

    fn kernel(
        kc: usize,
        a: &[f64],
        b: &[f64],
        c: &mut [f64],
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        simd::kernel_f64(kc, a, b, c, ldc, rows, cols);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        kernel_portable::<f64, 4>(kc, a, b, c, ldc, rows, cols);
    }
}

/// Eight columns fill two `f32x4` registers per row; scalar wasm has no
/// registers to spare for 32 accumulators, so it gets four columns.
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "simd128"))))]
const F32_NR: usize = 8;
#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
const F32_NR: usize = 4;

impl Kernel for f32 {
    const NR: usize = F32_NR;

    fn kernel(
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        simd::kernel_f32(kc, a, b, c, ldc, rows, cols);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        kernel_portable::<f32, F32_NR>(kc, a, b, c, ldc, rows, cols);
    }
}

/// Loop nest: columns of B in `NC` blocks, depth in `KC` blocks (pack B), rows
/// of A in `MC` blocks (pack A), then `NR`-wide strips of B against `MR`-high
/// strips of A in the micro-kernel. Packing turns every kernel read into a
/// sequential one and pads the edges with zeros, so the kernel has no edge cases.
fn gemm<T: Kernel>(a: &[T], b: &[T], c: &mut [T], m: usize, k: usize, n: usize) {
    // An empty product is all zeros already; returning early also keeps a
    // 0×0 by 0×2⁶⁴ product from walking 2⁵⁴ empty column blocks.
    if m == 0 || k == 0 || n == 0 {
        return;
    }
    let nr = T::NR;
    let mut b_pack = vec![T::default(); KC * NC.min(n).next_multiple_of(nr)];
    let mut a_pack = vec![T::default(); KC * MC.min(m).next_multiple_of(MR)];
    for block in blocks(k, n) {
        let Block { jc, nc, pc, kc } = block;
        pack_b(b, n, pc, kc, jc, nc, nr, &mut b_pack);
        block_product(a, &[&b_pack], c, m, k, n, block, &mut a_pack);
    }
}

/// One `KC×NC` block of B: columns `jc..jc+nc`, depth `pc..pc+kc`.
#[derive(Clone, Copy)]
struct Block {
    jc: usize,
    nc: usize,
    pc: usize,
    kc: usize,
}

/// Adds the products of the `m` rows of `a` with one packed block of B (its
/// strips in order, in one or more pieces) to
/// the same rows of `c` (row `i` of `c` at `i·n`): rows of A in `MC` blocks
/// (pack A), then the micro-kernel over the strips. A row of C gets the same
/// sums in the same order whichever rows are passed with it, which is what
/// lets [`gemm_rows`] split the rows across threads with identical results.
#[allow(clippy::too_many_arguments)]
fn block_product<T: Kernel>(
    a: &[T],
    b_pack: &[&[T]],
    c: &mut [T],
    m: usize,
    k: usize,
    n: usize,
    Block { jc, nc, pc, kc }: Block,
    a_pack: &mut [T],
) {
    let nr = T::NR;
    for ic in (0..m).step_by(MC) {
        let mc = MC.min(m - ic);
        pack_a(a, k, ic, mc, pc, kc, a_pack);
        let strips = b_pack.iter().flat_map(|piece| piece.chunks_exact(kc * nr));
        for (jr, b_strip) in (0..nc).step_by(nr).zip(strips) {
            let cols = nr.min(nc - jr);
            for (ir, a_strip) in (0..mc).step_by(MR).zip(a_pack.chunks_exact(kc * MR)) {
                let rows = MR.min(mc - ir);
                let start = (ic + ir) * n + jc + jr;
                T::kernel(kc, a_strip, b_strip, &mut c[start..], n, rows, cols);
            }
        }
    }
}

/// The blocks of a `k×n` B in [`gemm`]'s order: `NC` columns, then `KC` deep.
fn blocks(k: usize, n: usize) -> impl Iterator<Item = Block> {
    (0..n).step_by(NC).flat_map(move |jc| {
        (0..k).step_by(KC).map(move |pc| Block {
            jc,
            nc: NC.min(n - jc),
            pc,
            kc: KC.min(k - pc),
        })
    })
}

/// B packed once for every thread of a parallel product, block by block in
/// [`gemm`]'s order, by the threads that use it: a block is cut into pieces
/// of [`STRIPS_PER_PIECE`] strips, and a thread that needs a block packs
/// each piece no thread has claimed yet, then waits for the pieces another
/// thread is packing (tens of microseconds: a spin, and a sleep only when
/// that is not enough). So no thread waits for all of B before its first
/// band, no piece is packed twice, and no rayon task is spent on packing.
#[cfg(feature = "threads")]
pub(crate) struct PackedB<'b, T> {
    b: &'b [T],
    k: usize,
    n: usize,
    blocks: Vec<PackedBlock<T>>,
}

#[cfg(feature = "threads")]
struct PackedBlock<T> {
    block: Block,
    pieces: Vec<Piece<T>>,
}

/// Strips `strips` of a block: claimed by the first thread to need them,
/// packed by it, then read by every thread.
#[cfg(feature = "threads")]
struct Piece<T> {
    strips: std::ops::Range<usize>,
    claimed: std::sync::atomic::AtomicBool,
    packed: std::sync::OnceLock<Vec<T>>,
}

#[cfg(feature = "threads")]
impl<'b, T: Kernel> PackedB<'b, T> {
    /// The plan for packing the `k×n` matrix `b`, whose length the caller
    /// has checked; nothing is packed until a thread asks for a block.
    pub(crate) fn new(b: &'b [T], k: usize, n: usize) -> Self {
        let nr = T::NR;
        let blocks = blocks(k, n)
            .map(|block| {
                let strips = block.nc.div_ceil(nr);
                let pieces = (0..strips)
                    .step_by(STRIPS_PER_PIECE)
                    .map(|s| Piece {
                        strips: s..(s + STRIPS_PER_PIECE).min(strips),
                        claimed: std::sync::atomic::AtomicBool::new(false),
                        packed: std::sync::OnceLock::new(),
                    })
                    .collect();
                PackedBlock { block, pieces }
            })
            .collect();
        PackedB { b, k, n, blocks }
    }

    /// The packed pieces of block `i`: packs the ones nobody claimed, then
    /// waits for the ones being packed elsewhere: spinning a while, then
    /// through the piece's `OnceLock`, which sleeps until the packer is done
    /// (or packs the piece here if its packer panicked, so no thread waits
    /// forever for a piece that will never come).
    fn block(&self, i: usize) -> Vec<&[T]> {
        use std::sync::atomic::Ordering;
        let PackedBlock { block, pieces } = &self.blocks[i];
        for piece in pieces {
            if !piece.claimed.swap(true, Ordering::AcqRel) {
                piece.packed.get_or_init(|| self.pack(*block, piece));
            }
        }
        pieces
            .iter()
            .map(|piece| {
                for _ in 0..PACKING_SPINS {
                    if let Some(data) = piece.packed.get() {
                        return data.as_slice();
                    }
                    std::hint::spin_loop();
                }
                piece
                    .packed
                    .get_or_init(|| self.pack(*block, piece))
                    .as_slice()
            })
            .collect()
    }

    /// The strips of `piece` of `block`, packed.
    fn pack(&self, Block { jc, nc, pc, kc }: Block, piece: &Piece<T>) -> Vec<T> {
        let nr = T::NR;
        let mut data = vec![T::default(); piece.strips.len() * kc * nr];
        for (strip, pack) in piece.strips.clone().zip(data.chunks_exact_mut(kc * nr)) {
            let jr = strip * nr;
            pack_b(self.b, self.n, pc, kc, jc + jr, nr.min(nc - jr), nr, pack);
        }
        data
    }
}

/// Looks at a piece another thread is packing before sleeping on it: a
/// piece takes tens of microseconds to pack, about what a sleep and a
/// wake-up cost on a wasm thread.
#[cfg(feature = "threads")]
const PACKING_SPINS: u32 = 1 << 16;

/// Strips of B in one piece of [`PackedB`]: a strip is `KC×NR` elements
/// (8 KiB of f32), and a piece of 8 is packed in tens of microseconds.
#[cfg(feature = "threads")]
const STRIPS_PER_PIECE: usize = 8;

/// `c += a · B` for the `m` rows of `a` (`m×k`) and `c` (`m×n`), B packed
/// by [`PackedB`]; the same sums in the same order as [`gemm`] gives these
/// rows.
#[cfg(feature = "threads")]
pub(crate) fn gemm_rows<T: Kernel>(a: &[T], b: &PackedB<'_, T>, c: &mut [T], m: usize) {
    let (k, n) = (b.k, b.n);
    if m == 0 || k == 0 || n == 0 {
        return;
    }
    let mut a_pack = vec![T::default(); KC * MC.min(m).next_multiple_of(MR)];
    for (i, block) in b.blocks.iter().enumerate() {
        block_product(a, &b.block(i), c, m, k, n, block.block, &mut a_pack);
    }
}

/// Packs `a[ic..ic+mc][pc..pc+kc]` as consecutive `kc×MR` strips, each laid
/// out depth-major (`strip[p·MR + r]`), zero-padding the last strip's rows.
fn pack_a<T: Element>(
    a: &[T],
    k: usize,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    pack: &mut [T],
) {
    for (ir, strip) in (0..mc).step_by(MR).zip(pack.chunks_exact_mut(kc * MR)) {
        for r in 0..MR {
            if ir + r < mc {
                let row = &a[(ic + ir + r) * k + pc..][..kc];
                for (p, &value) in row.iter().enumerate() {
                    strip[p * MR + r] = value;
                }
            } else {
                for p in 0..kc {
                    strip[p * MR + r] = T::default();
                }
            }
        }
    }
}

/// Packs `b[pc..pc+kc][jc..jc+nc]` as consecutive `kc×NR` strips laid out
/// row by row (`strip[p·NR + j]`), zero-padding the last strip's columns.
#[allow(clippy::too_many_arguments)]
fn pack_b<T: Element>(
    b: &[T],
    n: usize,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    nr: usize,
    pack: &mut [T],
) {
    for (jr, strip) in (0..nc).step_by(nr).zip(pack.chunks_exact_mut(kc * nr)) {
        let cols = nr.min(nc - jr);
        for (p, dst) in strip.chunks_exact_mut(nr).enumerate() {
            let src = &b[(pc + p) * n + jc + jr..][..cols];
            dst[..cols].copy_from_slice(src);
            dst[cols..].fill(T::default());
        }
    }
}

/// The micro-kernel in plain Rust: a fixed-size tile of accumulators that
/// LLVM keeps in registers and vectorises where the target allows.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
fn kernel_portable<T: Element, const NR: usize>(
    kc: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    let mut acc = [[T::default(); NR]; MR];
    let (a, _) = a.as_chunks::<MR>();
    let (b, _) = b.as_chunks::<NR>();
    for (ap, bp) in a.iter().zip(b).take(kc) {
        for (acc_row, &ar) in acc.iter_mut().zip(ap) {
            for (acc_ij, &bj) in acc_row.iter_mut().zip(bp) {
                *acc_ij = *acc_ij + ar * bj;
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate().take(rows) {
        let c_row = &mut c[r * ldc..][..cols];
        for (cij, &v) in c_row.iter_mut().zip(acc_row) {
            *cij = *cij + v;
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    //! The micro-kernels with explicit `simd128`: each tile row is two
    //! vectors, and one broadcast of `a[p][r]` feeds both.

    use core::arch::wasm32::*;

    use super::MR;

    pub fn kernel_f64(
        kc: usize,
        a: &[f64],
        b: &[f64],
        c: &mut [f64],
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        let mut acc = [[f64x2_splat(0.0); 2]; MR];
        let (a, _) = a.as_chunks::<MR>();
        let (b, _) = b.as_chunks::<4>();
        for (ap, bp) in a.iter().zip(b).take(kc) {
            let b0 = f64x2(bp[0], bp[1]);
            let b1 = f64x2(bp[2], bp[3]);
            for (acc_row, &ar) in acc.iter_mut().zip(ap) {
                let av = f64x2_splat(ar);
                acc_row[0] = f64x2_add(acc_row[0], f64x2_mul(av, b0));
                acc_row[1] = f64x2_add(acc_row[1], f64x2_mul(av, b1));
            }
        }
        for (r, acc_row) in acc.iter().enumerate().take(rows) {
            let lanes = [
                f64x2_extract_lane::<0>(acc_row[0]),
                f64x2_extract_lane::<1>(acc_row[0]),
                f64x2_extract_lane::<0>(acc_row[1]),
                f64x2_extract_lane::<1>(acc_row[1]),
            ];
            for (cij, v) in c[r * ldc..][..cols].iter_mut().zip(lanes) {
                *cij += v;
            }
        }
    }

    pub fn kernel_f32(
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        let mut acc = [[f32x4_splat(0.0); 2]; MR];
        let (a, _) = a.as_chunks::<MR>();
        let (b, _) = b.as_chunks::<8>();
        for (ap, bp) in a.iter().zip(b).take(kc) {
            let b0 = f32x4(bp[0], bp[1], bp[2], bp[3]);
            let b1 = f32x4(bp[4], bp[5], bp[6], bp[7]);
            for (acc_row, &ar) in acc.iter_mut().zip(ap) {
                let av = f32x4_splat(ar);
                acc_row[0] = f32x4_add(acc_row[0], f32x4_mul(av, b0));
                acc_row[1] = f32x4_add(acc_row[1], f32x4_mul(av, b1));
            }
        }
        for (r, acc_row) in acc.iter().enumerate().take(rows) {
            let lanes = [
                f32x4_extract_lane::<0>(acc_row[0]),
                f32x4_extract_lane::<1>(acc_row[0]),
                f32x4_extract_lane::<2>(acc_row[0]),
                f32x4_extract_lane::<3>(acc_row[0]),
                f32x4_extract_lane::<0>(acc_row[1]),
                f32x4_extract_lane::<1>(acc_row[1]),
                f32x4_extract_lane::<2>(acc_row[1]),
                f32x4_extract_lane::<3>(acc_row[1]),
            ];
            for (cij, v) in c[r * ldc..][..cols].iter_mut().zip(lanes) {
                *cij += v;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_known_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        assert_eq!(
            matmul_f64(&a, &b, 2, 3, 2).unwrap(),
            vec![58.0, 64.0, 139.0, 154.0]
        );
        let a32 = a.map(|x| x as f32);
        let b32 = b.map(|x| x as f32);
        assert_eq!(
            matmul_f32(&a32, &b32, 2, 3, 2).unwrap(),
            vec![58.0, 64.0, 139.0, 154.0]
        );
    }

    #[test]
    fn into_overwrites_the_output_with_the_product() {
        let a: Vec<f32> = (0..7 * 300).map(|i| (i % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..300 * 5).map(|i| (i % 7) as f32 / 4.0).collect();
        let mut out = vec![f32::NAN; 7 * 5];
        matmul_f32_into(&a, &b, 7, 300, 5, &mut out).unwrap();
        assert_eq!(out, matmul_f32(&a, &b, 7, 300, 5).unwrap());
        let mut empty_depth = vec![3.0; 6];
        matmul_f32_into(&[], &[], 2, 0, 3, &mut empty_depth).unwrap();
        assert_eq!(empty_depth, [0.0; 6]);
        assert_eq!(
            matmul_f32_into(&a, &b, 7, 300, 5, &mut [0.0; 34]).map_err(|e| e.to_string()),
            Err("out: expected 7×5 = 35 elements, got 34".to_string())
        );
        assert_eq!(
            matmul_f32_into(&a[1..], &b, 7, 300, 5, &mut out).map_err(|e| e.to_string()),
            Err("a: expected 7×300 = 2100 elements, got 2099".to_string())
        );
    }

    #[test]
    fn degenerate_shapes() {
        assert_eq!(matmul_f64(&[], &[], 0, 0, 0).unwrap(), Vec::<f64>::new());
        assert_eq!(matmul_f64(&[], &[], 2, 0, 3).unwrap(), vec![0.0; 6]);
        assert_eq!(
            matmul_f64(&[], &[1.0, 2.0], 0, 1, 2).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn huge_empty_products_return_at_once() {
        // Found by the matmul_dims fuzz target: these used to loop 2⁵⁴–2⁶⁴ times.
        assert_eq!(
            matmul_naive::<f64>(&[], &[], usize::MAX, 0, 0).unwrap(),
            Vec::<f64>::new()
        );
        assert_eq!(
            matmul_f64(&[], &[], 0, 0, usize::MAX).unwrap(),
            Vec::<f64>::new()
        );
        assert_eq!(
            matmul_f32(&[], &[], usize::MAX, 0, 0).unwrap(),
            Vec::<f32>::new()
        );
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            matmul_f64(&[1.0; 5], &[1.0; 6], 2, 3, 2).map_err(|e| e.to_string()),
            Err("a: expected 2×3 = 6 elements, got 5".to_string())
        );
        assert!(matches!(
            matmul_f32(&[1.0; 6], &[1.0; 7], 2, 3, 2),
            Err(MatmulError::LengthMismatch {
                operand: "b",
                expected: 6,
                got: 7,
                ..
            })
        ));
        assert!(matches!(
            matmul_f64(&[], &[], usize::MAX, 2, 1),
            Err(MatmulError::SizeOverflow { operand: "a", .. })
        ));
        // These sizes are picked for a 64-bit usize (the tests also run on
        // wasm32 under WASI, where both overflow already).
        #[cfg(target_pointer_width = "64")]
        {
            assert!(matches!(
                matmul_f64(&[], &[], 1 << 40, 0, 1 << 40),
                Err(MatmulError::SizeOverflow {
                    operand: "result",
                    ..
                })
            ));
            assert!(matches!(
                matmul_f64(&[], &[], 1 << 31, 0, 1 << 31),
                Err(MatmulError::OutOfMemory { .. })
            ));
        }
    }

    #[test]
    fn blocked_equals_naive_across_block_edges() {
        // Sizes straddling MR, NR, MC, KC and NC; small integers keep every
        // sum exact, so the two orders of summation must agree bit for bit.
        for (m, k, n) in [
            (1, 1, 1),
            (5, 3, 9),
            (65, 257, 13),
            (3, 600, 1030),
            (130, 2, 70),
        ] {
            let a: Vec<f64> = (0..m * k)
                .map(|i| ((i * 7 + 3) % 17) as f64 - 8.0)
                .collect();
            let b: Vec<f64> = (0..k * n)
                .map(|i| ((i * 5 + 1) % 13) as f64 - 6.0)
                .collect();
            assert_eq!(
                matmul_f64(&a, &b, m, k, n).unwrap(),
                matmul_naive(&a, &b, m, k, n).unwrap()
            );
            let a: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            assert_eq!(
                matmul_f32(&a, &b, m, k, n).unwrap(),
                matmul_naive(&a, &b, m, k, n).unwrap()
            );
        }
    }

    fn operands(max: usize) -> impl Strategy<Value = (usize, usize, usize, Vec<f64>, Vec<f64>)> {
        (1..max, 1..max, 1..max).prop_flat_map(|(m, k, n)| {
            (
                Just(m),
                Just(k),
                Just(n),
                prop::collection::vec(-1.0e3..1.0e3f64, m * k),
                prop::collection::vec(-1.0e3..1.0e3f64, k * n),
            )
        })
    }

    /// |x − y| within `rel` of the sum of |terms|, the bound for reordered sums.
    fn close<T: Into<f64> + Copy>(got: &[T], want: &[T], scale: &[f64], rel: f64) -> bool {
        got.iter()
            .zip(want)
            .zip(scale)
            .all(|((&g, &w), &s)| (g.into() - w.into()).abs() <= rel * s + 1e-30)
    }

    fn abs_product(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let a: Vec<f64> = a.iter().map(|x| x.abs()).collect();
        let b: Vec<f64> = b.iter().map(|x| x.abs()).collect();
        matmul_naive(&a, &b, m, k, n).unwrap()
    }

    proptest! {
        #[test]
        fn f64_matches_naive((m, k, n, a, b) in operands(40)) {
            let scale = abs_product(&a, &b, m, k, n);
            let got = matmul_f64(&a, &b, m, k, n).unwrap();
            let want = matmul_naive(&a, &b, m, k, n).unwrap();
            prop_assert!(close(&got, &want, &scale, 1e-13));
        }

        #[test]
        fn f32_matches_naive((m, k, n, a, b) in operands(40)) {
            let scale = abs_product(&a, &b, m, k, n);
            let a: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            let got = matmul_f32(&a, &b, m, k, n).unwrap();
            let want = matmul_naive(&a, &b, m, k, n).unwrap();
            prop_assert!(close(&got, &want, &scale, 1e-4));
        }

        #[test]
        fn wrong_lengths_are_errors(m in 0usize..20, k in 0usize..20, n in 0usize..20, extra in 1usize..5) {
            let a = vec![1.0; m * k + extra];
            let b = vec![1.0; k * n];
            let is_a_mismatch = matches!(
                matmul_f64(&a, &b, m, k, n),
                Err(MatmulError::LengthMismatch { operand: "a", .. })
            );
            prop_assert!(is_a_mismatch);
        }
    }
}
