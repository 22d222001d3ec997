//! Pure Rust business logic run by the demo guest: no wasm dependencies, so
//! everything here is tested natively.

pub mod cache;
pub mod calc;
pub mod chart;
pub mod factor;
pub mod fib;
pub mod game;
pub mod image;
pub mod matmul;
#[cfg(feature = "threads")]
pub mod parallel;
pub mod synth;
