//! The `wasmbridge` CLI's library half: bundle building, the manifest format and
//! the static server, kept out of `main.rs` so they are tested without a process.

pub mod build;
pub mod manifest;
pub mod server;
