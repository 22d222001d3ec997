//! Native timings of the compute kernels for `cargo xtask bench`, as JSON on
//! stdout. The inputs are the ones the browser side builds (bench/site/data.js).
//!
//! `native_bench KERNEL [REPS]` times one kernel: a warm-up call (not for the
//! second-long ones), then REPS samples (default 1), each the mean time of a
//! batch of calls: `{"kernel", "samples": [ms per call], "batch", "check"}`.
//! The bench runner calls it once per round, between the browser's rounds, so
//! native and wasm figures are taken under the same load. Without arguments
//! every kernel is timed: `{"kernels": {name: {...}}}`. Run it with
//! `cargo run --release -p compute --example native_bench -- matmul256 5`.
//!
//! Built with the `threads` feature, `matmulF32_512@N` and `gaussian4k@N`
//! time `compute::parallel` on a rayon pool of N threads, the caller blocked
//! as the wasm pool worker is: the issue 17 section compares 2 threads with
//! 1 on the wasm side with the same ratio taken natively on the same cores.

use compute::image::GrayStandard;
use compute::{factor, fib, image, matmul};
use serde_json::{json, Map, Value};
use std::hint::black_box;
use std::time::Instant;

const SEMIPRIME: u64 = 1_000_000_016_000_000_063;
const W: u32 = 1920;
const H: u32 = 1080;
const SIGMA: f32 = 2.0;

const KERNELS: &[&str] = &[
    "fib90",
    "factorize",
    "trialDivision",
    "matmul256",
    "matmulF32_256",
    "matmul512",
    "matmulF32_512",
    "grayscale",
    "grayscaleLuma",
    "gaussian",
    "box3",
    "fib100000",
];

/// What a kernel returns, kept so the check is computed outside the timing.
enum Output {
    Text(String),
    Factors(Vec<u64>),
    F64(Vec<f64>),
    F32(Vec<f32>),
    Bytes(Vec<u8>),
    Failed(String),
}

impl Output {
    /// The same check the browser side prints (data.js `checksum`, or the value).
    fn check(&self) -> Value {
        match self {
            Output::Text(s) if s.len() > 24 => json!(format!("{}…({} chars)", &s[..24], s.len())),
            Output::Text(s) => json!(s),
            Output::Factors(f) => json!(f.iter().map(u64::to_string).collect::<Vec<_>>().join("×")),
            Output::F64(v) => json!(checksum(v.iter().copied())),
            Output::F32(v) => json!(checksum(v.iter().map(|&x| f64::from(x)))),
            Output::Bytes(v) => json!(checksum(v.iter().map(|&x| f64::from(x)))),
            Output::Failed(e) => json!(format!("error: {e}")),
        }
    }
}

/// The sum of every 97th element, rounded to 3 decimals.
fn checksum(v: impl Iterator<Item = f64>) -> f64 {
    let s: f64 = v.step_by(97).sum();
    (s * 1000.0).round() / 1000.0
}

fn matrices(n: usize) -> (Vec<f64>, Vec<f64>) {
    let a = (0..n * n).map(|i| (i % 17) as f64 * 0.25 - 2.0).collect();
    let b = (0..n * n).map(|i| (i % 13) as f64 * 0.5 - 3.0).collect();
    (a, b)
}

fn image_bytes(w: u32, h: u32) -> Vec<u8> {
    (0..w * h * 4)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn failed(e: impl std::fmt::Display) -> Output {
    Output::Failed(e.to_string())
}

type Kernel = Box<dyn FnMut() -> Output>;

/// `NAME@THREADS`: the parallel kernel on a rayon pool of that many threads.
#[cfg(feature = "threads")]
fn threaded_kernel(name: &str) -> Option<(Kernel, usize, bool)> {
    let (base, threads) = name.split_once('@')?;
    let threads: usize = threads.parse().ok().filter(|&t| t > 0)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .ok()?;
    let k: Kernel = match base {
        "matmulF32_512" => {
            let n = 512;
            let (a, b) = matrices(n);
            let a: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            Box::new(move || {
                pool.install(|| compute::parallel::matmul_f32(&a, &b, n, n, n))
                    .map_or_else(failed, Output::F32)
            })
        }
        "gaussian4k" => {
            let (w, h) = (3840, 2160);
            let src = image_bytes(w, h);
            Box::new(move || {
                pool.install(|| compute::parallel::gaussian_blur(&src, w, h, SIGMA))
                    .map_or_else(failed, Output::Bytes)
            })
        }
        _ => return None,
    };
    Some((k, 1, true))
}

#[cfg(not(feature = "threads"))]
fn threaded_kernel(_: &str) -> Option<(Kernel, usize, bool)> {
    None
}

/// A kernel's call to time, its batch size and whether it gets a warm-up call.
fn kernel(name: &str) -> Option<(Kernel, usize, bool)> {
    if name.contains('@') {
        return threaded_kernel(name);
    }
    let k: (Kernel, usize, bool) = match name {
        "fib90" => (
            Box::new(|| fib::fibonacci(black_box(90)).map_or_else(failed, Output::Text)),
            200_000,
            true,
        ),
        "factorize" => (
            Box::new(|| {
                factor::factorize(black_box(SEMIPRIME)).map_or_else(failed, Output::Factors)
            }),
            5_000,
            true,
        ),
        "trialDivision" => (
            Box::new(|| {
                factor::trial_division(black_box(SEMIPRIME)).map_or_else(failed, Output::Factors)
            }),
            1,
            false,
        ),
        "matmul256" | "matmul512" => {
            let n = if name == "matmul256" { 256 } else { 512 };
            let (a, b) = matrices(n);
            (
                Box::new(move || {
                    matmul::matmul_f64(&a, &b, n, n, n).map_or_else(failed, Output::F64)
                }),
                1,
                true,
            )
        }
        "matmulF32_256" | "matmulF32_512" => {
            let n = if name == "matmulF32_256" { 256 } else { 512 };
            let (a, b) = matrices(n);
            let a: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            (
                Box::new(move || {
                    matmul::matmul_f32(&a, &b, n, n, n).map_or_else(failed, Output::F32)
                }),
                1,
                true,
            )
        }
        "grayscale" => {
            let src = image_bytes(W, H);
            // Like the guest, which takes the pixels by value and returns them:
            // a copy of the input, then the filter in place.
            (
                Box::new(move || {
                    let mut px = src.clone();
                    match image::grayscale(&mut px, W, H, GrayStandard::Rec601) {
                        Ok(()) => Output::Bytes(px),
                        Err(e) => failed(e),
                    }
                }),
                1,
                true,
            )
        }
        "grayscaleLuma" => {
            let src = image_bytes(W, H);
            (
                Box::new(move || {
                    image::grayscale_luma(&src, W, H, GrayStandard::Rec601)
                        .map_or_else(failed, Output::Bytes)
                }),
                1,
                true,
            )
        }
        "box3" => {
            let src = image_bytes(W, H);
            (
                Box::new(move || image::box_blur(&src, W, H, 3).map_or_else(failed, Output::Bytes)),
                1,
                true,
            )
        }
        "gaussian" => {
            let src = image_bytes(W, H);
            (
                Box::new(move || {
                    image::gaussian_blur(&src, W, H, SIGMA).map_or_else(failed, Output::Bytes)
                }),
                1,
                true,
            )
        }
        "fib100000" => (
            Box::new(|| fib::fibonacci(black_box(100_000)).map_or_else(failed, Output::Text)),
            1,
            true,
        ),
        _ => return None,
    };
    Some(k)
}

/// Times `reps` samples of one kernel.
fn time(name: &str, reps: usize) -> Option<Value> {
    let (mut f, batch, warmup) = kernel(name)?;
    let mut last = if warmup { Some(f()) } else { None };
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        for _ in 0..batch {
            last = Some(black_box(f()));
        }
        samples.push(t0.elapsed().as_secs_f64() * 1000.0 / batch as f64);
    }
    let check = last.map_or(Value::Null, |o| o.check());
    Some(json!({ "kernel": name, "samples": samples, "batch": batch, "check": check }))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let doc = match args.first() {
        Some(name) => {
            let reps = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(1);
            match time(name, reps) {
                Some(v) => v,
                None => {
                    eprintln!(
                        "native_bench: unknown kernel {name:?}; expected one of {}{}",
                        KERNELS.join(", "),
                        if cfg!(feature = "threads") {
                            ", matmulF32_512@THREADS, gaussian4k@THREADS"
                        } else {
                            " (built without the threads feature: no KERNEL@THREADS)"
                        }
                    );
                    std::process::exit(2);
                }
            }
        }
        None => {
            let mut all = Map::new();
            for name in KERNELS {
                let reps = if *name == "trialDivision" { 1 } else { 5 };
                if let Some(v) = time(name, reps) {
                    eprintln!("native_bench: {name} done");
                    all.insert((*name).to_string(), v);
                }
            }
            json!({ "kernels": Value::Object(all) })
        }
    };
    println!("{doc}");
}
