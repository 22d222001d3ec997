//! Project tasks, run as `cargo xtask <task>`:
//! - `test`: every test tier (lint, Rust, browser), with a count per tier;
//! - `setup`: install what a fresh machine lacks (Debian packages, npm packages);
//! - `dist`: the release bundle of the demo guest and the release CLI.

mod bench;
mod cli_tier;
mod soak;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root()?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("soak") => soak::run(&root, &args[1..]),
        Some("setup") => setup(&root),
        Some("dist") => dist(&root),
        Some(other) => bail!("unknown task {other:?}: expected test, setup or dist"),
        None => bail!("usage: cargo xtask <test|setup|dist>"),
    }
}

fn root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Debian packages the tests need; installed when missing and we are root.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("/usr/bin/chromium", "chromium"),
    ("/usr/bin/chromedriver", "chromium-driver"),
    ("/usr/sbin/nginx", "nginx"),
    ("/usr/bin/wrk", "wrk"),
];

fn setup(root: &Path) -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(bin, _)| !Path::new(bin).exists())
        .map(|(_, pkg)| *pkg)
        .collect();
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    let js = root.join("js");
    if !js.join("node_modules").join("playwright-core").exists()
        || !js.join("node_modules").join("binaryen").exists()
    {
        eprintln!("xtask: installing npm packages in js/");
        run(Command::new("npm")
            .current_dir(&js)
            .args(["ci", "--no-audit", "--no-fund"]))
        .context("npm is needed for the browser tests: install Node.js 20+ and npm")?;
    }
    Ok(())
}

/// Installs Debian packages with apt-get when running as root; otherwise says what to run.
fn apt_install(packages: &[&str]) -> Result<()> {
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if !root_user {
        bail!(
            "missing Debian packages {}: run `sudo apt-get install -y {}`",
            packages.join(", "),
            packages.join(" ")
        );
    }
    eprintln!("xtask: installing {}", packages.join(", "));
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Counts of one tier.
struct Tier {
    name: &'static str,
    passed: u64,
    failed: u64,
    seconds: f64,
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--no-lint");
    setup(root)?;
    let mut tiers = Vec::new();
    let started = Instant::now();

    if !quick {
        let t = Instant::now();
        let fmt = Command::new("cargo")
            .current_dir(root)
            .args(["fmt", "--all", "--", "--check"])
            .status()?;
        let clippy = Command::new("cargo")
            .current_dir(root)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .status()?;
        let passed = u64::from(fmt.success()) + u64::from(clippy.success());
        tiers.push(Tier {
            name: "lint (fmt, clippy)",
            passed,
            failed: 2 - passed,
            seconds: t.elapsed().as_secs_f64(),
        });
    }

    let t = Instant::now();
    let output = Command::new("cargo")
        .current_dir(root)
        .args(["test", "--workspace", "--no-fail-fast", "--color", "never"])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test")?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    let (mut passed, mut failed) = cargo_counts(&text);
    if !output.status.success() && failed == 0 {
        failed = 1;
    }
    tiers.push(Tier {
        name: "rust (unit, property, server)",
        passed,
        failed,
        seconds: t.elapsed().as_secs_f64(),
    });

    let t = Instant::now();
    run(Command::new("cargo")
        .current_dir(root)
        .args(["build", "-p", "wasmbridge"]))?;
    let bin = root.join("target").join("debug").join("wasmbridge");
    run(Command::new(&bin)
        .current_dir(root)
        .args(["build", "-p", "test-guest"]))?;
    run(Command::new(&bin).current_dir(root).args([
        "build",
        "-p",
        "demo-guest",
        "--release",
        "--simd",
    ]))?;
    eprintln!("xtask: bundles built in {:.0} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let output = Command::new("node")
        .current_dir(root.join("js"))
        .args([
            "--test",
            "--test-reporter=spec",
            "--test-reporter-destination=stdout",
            "--test-reporter=tap",
            "--test-reporter-destination=../target/js-tests.tap",
        ])
        .arg("test/")
        .env("WASMBRIDGE_BIN", &bin)
        .stderr(Stdio::inherit())
        .output()
        .context("running node --test (is Node.js 20+ installed?)")?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let tap = std::fs::read_to_string(root.join("target").join("js-tests.tap")).unwrap_or_default();
    (passed, failed) = node_counts(&tap);
    if !output.status.success() && failed == 0 {
        failed = 1;
    }
    tiers.push(Tier {
        name: "browser and js (node --test)",
        passed,
        failed,
        seconds: t.elapsed().as_secs_f64(),
    });

    tiers.push(cli_tier::tier(root)?);

    if !args.iter().any(|a| a == "--no-fuzz") {
        tiers.push(fuzz(root, FUZZ_SECONDS)?);
    }
    // Last and alone: it removes the wasm32 target for a while.
    tiers.push(cli_tier::target_removal_tier(root)?);

    println!(
        "\nxtask test summary ({:.0} s):",
        started.elapsed().as_secs_f64()
    );
    for tier in &tiers {
        println!(
            "  {:<32} {:>5} passed, {:>3} failed  ({:.0} s)",
            tier.name, tier.passed, tier.failed, tier.seconds
        );
    }
    let passed: u64 = tiers.iter().map(|t| t.passed).sum();
    let failed: u64 = tiers.iter().map(|t| t.failed).sum();
    println!("xtask: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} tests failed");
    }
    Ok(())
}

/// Seconds each fuzz target runs at most in `cargo xtask test`.
const FUZZ_SECONDS: u32 = 20;
/// Inputs each fuzz target tries at most, and the seed of its mutations.
const FUZZ_RUNS: u32 = 200_000;
const FUZZ_SEED: u32 = 20_261_122;

/// Runs every cargo-fuzz target in fuzz/ for a bounded time from its committed
/// corpus; a target passes when libFuzzer finds no crash. New inputs go to a
/// scratch directory so the committed corpora stay small.
fn fuzz(root: &Path, seconds: u32) -> Result<Tier> {
    let t = Instant::now();
    let dir = root.join("fuzz");
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        bail!("the fuzz tier needs a nightly toolchain (rustup toolchain install nightly), or run with --no-fuzz");
    }
    let has_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        eprintln!("xtask: installing cargo-fuzz");
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let list = Command::new("cargo")
        .current_dir(&dir)
        .args(["+nightly", "fuzz", "list"])
        .output()
        .context("listing fuzz targets")?;
    let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if targets.is_empty() {
        bail!("cargo fuzz list found no targets in {}", dir.display());
    }
    let scratch = root.join("target").join("fuzz-scratch");
    let (mut passed, mut failed) = (0, 0);
    for target in &targets {
        eprintln!("xtask: fuzzing {target} for {seconds} s");
        // A fresh scratch corpus, a fixed seed and a run cap make the run the
        // same on every machine, so a clean run here is a clean run in CI; a
        // slower machine stops at the time cap on a prefix of it.
        let work = scratch.join(target);
        if work.exists() {
            std::fs::remove_dir_all(&work)
                .with_context(|| format!("clearing {}", work.display()))?;
        }
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let status = Command::new("cargo")
            .current_dir(&dir)
            .args(["+nightly", "fuzz", "run", "--target-dir"])
            .arg(root.join("target").join("fuzz"))
            .arg(target)
            .arg(&work)
            .arg(dir.join("corpus").join(target))
            .arg("--")
            .arg(format!("-seed={FUZZ_SEED}"))
            .arg(format!("-runs={FUZZ_RUNS}"))
            .arg(format!("-max_total_time={seconds}"))
            .status()
            .with_context(|| format!("running fuzz target {target}"))?;
        if status.success() {
            passed += 1;
        } else {
            eprintln!("xtask: fuzz target {target} failed ({status}); its input is in fuzz/artifacts/{target}/");
            failed += 1;
        }
    }
    Ok(Tier {
        name: "fuzz (bounded, per target)",
        passed,
        failed,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Sums `test result: ok. N passed; M failed` lines of cargo test.
fn cargo_counts(text: &str) -> (u64, u64) {
    let mut passed = 0;
    let mut failed = 0;
    for line in text.lines().filter(|l| l.starts_with("test result:")) {
        passed += number_before(line, " passed");
        failed += number_before(line, " failed");
    }
    (passed, failed)
}

/// Reads the `# pass N` and `# fail N` lines of node's TAP output.
fn node_counts(tap: &str) -> (u64, u64) {
    let get = |key: &str| {
        tap.lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0)
    };
    (get("# pass "), get("# fail "))
}

fn number_before(line: &str, word: &str) -> u64 {
    line.find(word)
        .and_then(|end| line[..end].rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn dist(root: &Path) -> Result<()> {
    run(Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "-p", "wasmbridge"]))?;
    let bin = root.join("target").join("release").join("wasmbridge");
    let out = root.join("target").join("dist");
    run(Command::new(&bin)
        .current_dir(root)
        .args(["build", "-p", "demo-guest", "--release", "--simd", "--out"])
        .arg(out.join("demo-guest")))?;
    std::fs::copy(&bin, out.join("wasmbridge")).context("copying the CLI into target/dist")?;
    eprintln!("xtask: release bundle and CLI in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cargo_and_node_output() {
        let cargo = "test result: ok. 12 passed; 0 failed; 0 ignored\nnoise\ntest result: FAILED. 3 passed; 2 failed; 1 ignored\n";
        assert_eq!(cargo_counts(cargo), (15, 2));
        let tap = "ok 1 - a\n# tests 30\n# pass 28\n# fail 2\n";
        assert_eq!(node_counts(tap), (28, 2));
        assert_eq!(node_counts(""), (0, 0));
    }
}
