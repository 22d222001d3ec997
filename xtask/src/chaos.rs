//! `cargo xtask chaos --minutes N`: the browser chaos test
//! (`js/test/chaos.test.mjs`) run for N minutes instead of its bounded CI
//! length. Calls mix panics, timeouts, cancels, batches, pins and outside
//! worker kills; Chromium's resident memory is sampled every 10 s and printed,
//! and the run fails when any call misbehaves or memory ends more than the
//! test's bound (96 MiB) above where it stood after the first four waves.
//!
//! Builds the CLI and the test guest's bundle first, as `cargo xtask test` does.

use crate::run as status;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// `cargo xtask chaos`.
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// Minutes to run, 1 to 480 (a working day)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=480))]
    minutes: u64,
}

pub fn run(root: &Path, args: &ChaosArgs) -> Result<()> {
    let minutes = args.minutes;
    status(
        Command::new("cargo")
            .current_dir(root)
            .args(["build", "-p", "wasmbridge"]),
    )?;
    let bin = root.join("target").join("debug").join("wasmbridge");
    status(
        Command::new(&bin)
            .current_dir(root)
            .args(["build", "-p", "test-guest"]),
    )?;
    eprintln!("xtask: chaos for {minutes} min (memory sampled every 10 s)");
    status(
        Command::new("node")
            .current_dir(root.join("js"))
            .args(["--test", "--test-reporter=spec", "test/chaos.test.mjs"])
            .env("WASMBRIDGE_BIN", &bin)
            .env("WASMBRIDGE_CHAOS_MINUTES", minutes.to_string()),
    )
    .context("the chaos run failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        chaos: ChaosArgs,
    }

    #[test]
    fn minutes_default_to_ten_and_are_bounded() {
        let parse = |a: &[&str]| {
            Probe::try_parse_from(std::iter::once("chaos").chain(a.iter().copied()))
                .map(|p| p.chaos.minutes)
        };
        assert_eq!(parse(&[]).ok(), Some(10));
        assert_eq!(parse(&["--minutes", "3"]).ok(), Some(3));
        for bad in [
            &["--minutes", "0"][..],
            &["--minutes", "481"],
            &["--minutes", "x"],
            &["--minutes"],
            &["--seconds", "3"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
