//! The compute kernels against their baselines: `cargo bench -p compute`.

#![allow(clippy::unwrap_used)]

use compute::{chart, factor, fib, image, matmul};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

const SEMIPRIME: u64 = 1_000_000_016_000_000_063;

fn fibonacci(c: &mut Criterion) {
    c.bench_function("fibonacci/100000", |b| {
        b.iter(|| fib::fibonacci(black_box(100_000)).unwrap())
    });
}

fn factorize(c: &mut Criterion) {
    let mut group = c.benchmark_group("factorize");
    group.bench_function("fermat_then_rho/1000000007x1000000009", |b| {
        b.iter(|| factor::factorize(black_box(SEMIPRIME)).unwrap())
    });
    group.bench_function("rho/1000000007x1500000001", |b| {
        b.iter(|| factor::factorize(black_box(1_000_000_007 * 1_500_000_001)).unwrap())
    });
    group.bench_function("rho/2^64-1", |b| {
        b.iter(|| factor::factorize(black_box(u64::MAX)).unwrap())
    });
    group.bench_function("is_prime/2^64-59", |b| {
        b.iter(|| factor::is_prime(black_box(18_446_744_073_709_551_557)))
    });
    // About a second per call: a handful of samples is plenty.
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    group.bench_function("trial_division/1000000007x1000000009", |b| {
        b.iter(|| factor::trial_division(black_box(SEMIPRIME)).unwrap())
    });
    group.finish();
}

fn matrices(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    group.sample_size(20);
    for size in [256usize, 512] {
        let a: Vec<f64> = (0..size * size)
            .map(|i| (i % 17) as f64 * 0.25 - 2.0)
            .collect();
        let b: Vec<f64> = (0..size * size)
            .map(|i| (i % 13) as f64 * 0.5 - 3.0)
            .collect();
        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
        group.throughput(Throughput::Elements((2 * size * size * size) as u64));
        group.bench_with_input(BenchmarkId::new("f64", size), &size, |bench, &s| {
            bench.iter(|| matmul::matmul_f64(&a, &b, s, s, s).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("f32", size), &size, |bench, &s| {
            bench.iter(|| matmul::matmul_f32(&a32, &b32, s, s, s).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("naive_f64", size), &size, |bench, &s| {
            bench.iter(|| matmul::matmul_naive(&a, &b, s, s, s).unwrap())
        });
    }
    group.finish();
}

fn filters(c: &mut Criterion) {
    let (w, h) = (1920u32, 1080u32);
    let src: Vec<u8> = (0..w * h * 4)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut group = c.benchmark_group("image_1920x1080");
    group.sample_size(20);
    group.throughput(Throughput::Elements(u64::from(w * h)));
    group.bench_function("grayscale", |b| {
        let mut px = src.clone();
        b.iter(|| image::grayscale(&mut px, w, h, image::GrayStandard::Rec709).unwrap())
    });
    group.bench_function("grayscale_luma_into", |b| {
        let mut luma = vec![0; (w * h) as usize];
        b.iter(|| {
            image::grayscale_luma_into(&src, w, h, image::GrayStandard::Rec709, &mut luma).unwrap()
        })
    });
    for sigma in [1.0f32, 2.0, 3.0] {
        group.bench_with_input(BenchmarkId::new("gaussian_blur", sigma), &sigma, |b, &s| {
            b.iter(|| image::gaussian_blur(&src, w, h, s).unwrap())
        });
    }
    for radius in [3u32, 8, 200] {
        group.bench_with_input(BenchmarkId::new("box_blur", radius), &radius, |b, &r| {
            b.iter(|| image::box_blur(&src, w, h, r).unwrap())
        });
    }
    group.bench_function("sharpen", |b| {
        b.iter(|| image::sharpen(&src, w, h, 1.0).unwrap())
    });
    group.finish();
}

fn downsampling(c: &mut Criterion) {
    let points: Vec<(f64, f64)> = (0..1_000_000)
        .map(|i| (i as f64, (i as f64 * 0.001).sin()))
        .collect();
    let mut group = c.benchmark_group("chart");
    group.sample_size(20);
    group.bench_function("lttb/1e6_to_1000", |b| {
        b.iter(|| chart::lttb(black_box(&points), 1000))
    });
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    group.bench_function("histogram/1e6_100_bins", |b| {
        b.iter(|| chart::histogram(black_box(&values), 100).unwrap())
    });
    group.finish();
}

criterion_group!(
    benches,
    fibonacci,
    factorize,
    matrices,
    filters,
    downsampling
);
criterion_main!(benches);
