//! The demo guest: thin `#[wasm_bindgen]` wrappers that turn JS arguments into
//! `compute` calls and `compute` errors into structured guest errors.
//!
//! Argument conventions, the same in every module: counts, sizes and indices
//! are JS numbers that must be non-negative integers (anything else is
//! `BAD_ARGUMENT`, never a silent wrap-around); 64-bit integers travel as
//! decimal strings or BigInts; pixel buffers are `Uint8Array`s of RGBA rows;
//! structured results are JSON strings. Bad input is `BAD_ARGUMENT`, a failure
//! while computing is `GUEST_ERROR`.

mod args;
pub mod audio;
pub mod calc;
pub mod chart;
pub mod game;
pub mod image;
mod kernels;
pub mod matrix;
pub mod numbers;
pub mod regions;
