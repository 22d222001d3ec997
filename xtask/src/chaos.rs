//! `cargo xtask chaos --minutes N`: the browser chaos test
//! (`js/test/chaos.test.mjs`) run for N minutes instead of its bounded CI
//! length. Calls mix panics, timeouts, cancels, batches, pins and outside
//! worker kills; Chromium's resident memory is sampled every 10 s and printed,
//! and the run fails when any call misbehaves or memory ends more than the
//! test's bound (96 MiB) above where it stood after the first four waves.
//!
//! Builds the CLI and the test guest's bundle first, as `cargo xtask test` does.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Longest run accepted, in minutes (a working day).
const MAX_MINUTES: u64 = 480;

/// Reads `--minutes N` (default 10).
fn parse_minutes(args: &[String]) -> Result<u64> {
    let mut minutes = 10;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag != "--minutes" {
            bail!("unknown chaos flag {flag:?}: expected --minutes N");
        }
        let value = it.next().context("--minutes needs a number")?;
        minutes = value
            .parse()
            .with_context(|| format!("--minutes expects a whole number, got {value:?}"))?;
        if minutes == 0 || minutes > MAX_MINUTES {
            bail!("--minutes must be between 1 and {MAX_MINUTES}, got {minutes}");
        }
    }
    Ok(minutes)
}

fn status(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let minutes = parse_minutes(args)?;
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

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn minutes_default_to_ten_and_are_bounded() {
        assert_eq!(parse_minutes(&[]).ok(), Some(10));
        assert_eq!(parse_minutes(&args(&["--minutes", "3"])).ok(), Some(3));
        assert!(parse_minutes(&args(&["--minutes", "0"])).is_err());
        assert!(parse_minutes(&args(&["--minutes", "481"])).is_err());
        assert!(parse_minutes(&args(&["--minutes", "x"])).is_err());
        assert!(parse_minutes(&args(&["--minutes"])).is_err());
        assert!(parse_minutes(&args(&["--seconds", "3"])).is_err());
    }
}
