//! The `wasmbridge` CLI's library half: bundle building, the manifest format,
//! the static server, the development loop and the Godot installer, kept out of `main.rs` so they are
//! tested without a process.

pub mod build;
pub mod cargo_config;
pub mod deploy;
pub mod dev;
pub mod godot;
pub mod guest;
pub mod link;
pub mod manifest;
pub mod new;
pub mod runtime;
pub mod server;
pub mod toolchain;
pub mod tree;
pub mod wasm_opt;
