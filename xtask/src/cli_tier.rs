//! The CLI tiers of `cargo xtask test`, run the way a user runs the CLI:
//! - `tier`: the two published crates package (`cargo package`, which also
//!   builds them from the packaged sources), the CLI installs with
//!   `cargo install --path`, and `js/cli/cli.test.mjs` drives the installed
//!   binary on guest crates in a temporary directory outside the repository;
//! - `target_removal_tier`: `wasmbridge demo`'s build after the wasm32 target
//!   was removed from the toolchain in use. It must run last and alone:
//!   every other wasm build on the machine fails while the target is gone.

use super::{node_counts, run, Tier};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TARGET: &str = "wasm32-unknown-unknown";

pub fn tier(root: &Path) -> Result<Tier> {
    let t = Instant::now();
    let (mut passed, mut failed) = (0, 0);
    for package in ["wasmbridge-guest", "wasmbridge"] {
        eprintln!("xtask: cargo package -p {package}");
        let ok = Command::new("cargo")
            .current_dir(root)
            .args(["package", "--allow-dirty", "--quiet", "-p", package])
            .status()
            .with_context(|| format!("running cargo package -p {package}"))?
            .success();
        if ok {
            passed += 1;
        } else {
            eprintln!("xtask: cargo package -p {package} failed");
            failed += 1;
        }
    }

    // Outside the repository, as a user's install would be; the workspace's
    // target directory is reused so the install does not compile everything again.
    let install_root =
        std::env::temp_dir().join(format!("wasmbridge-install-{}", std::process::id()));
    eprintln!(
        "xtask: cargo install --path crates/wasmbridge --root {}",
        install_root.display()
    );
    run(Command::new("cargo")
        .current_dir(root)
        .args([
            "install",
            "--locked",
            "--debug",
            "--quiet",
            "--path",
            "crates/wasmbridge",
            "--root",
        ])
        .arg(&install_root)
        .env("CARGO_TARGET_DIR", root.join("target")))?;
    let bin = install_root.join("bin").join("wasmbridge");

    let tap = root.join("target").join("cli-tests.tap");
    let output = Command::new("node")
        .current_dir(root.join("js"))
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "--test-reporter-destination=stdout",
            "--test-reporter=tap",
        ])
        .arg(format!("--test-reporter-destination={}", tap.display()))
        .arg("cli/")
        .env("WASMBRIDGE_BIN", &bin)
        .env("WASMBRIDGE_INSTALLED", &bin)
        .env(
            "WASMBRIDGE_GUEST_PATH",
            root.join("crates").join("wasmbridge-guest"),
        )
        // Guest builds of the tier share one target directory, so wasm-bindgen
        // and its dependencies compile once for all of them.
        .env(
            "WASMBRIDGE_CLI_TARGET",
            root.join("target").join("cli-guests"),
        )
        .stderr(Stdio::inherit())
        .output()
        .context("running node --test cli/")?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let mut tier = node_counts(&std::fs::read_to_string(&tap).unwrap_or_default()).finish(
        "cli (package, install, user path)",
        output.status,
        t,
    );
    tier.passed += passed;
    tier.failed += failed;
    // The install is scratch; a leftover only costs disk space.
    let _ = std::fs::remove_dir_all(&install_root);
    Ok(tier)
}

/// Puts the wasm32 target back on `toolchain` when dropped, whatever happened.
struct RestoreTarget {
    toolchain: String,
}

impl Drop for RestoreTarget {
    fn drop(&mut self) {
        if !target_installed(&self.toolchain) {
            eprintln!("xtask: restoring the {TARGET} target on {}", self.toolchain);
            let _ = Command::new("rustup")
                .args(["target", "add", TARGET, "--toolchain", &self.toolchain])
                .status();
        }
    }
}

fn target_installed(toolchain: &str) -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed", "--toolchain", toolchain])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        })
}

pub fn target_removal_tier(root: &Path) -> Result<Tier> {
    let t = Instant::now();
    let ok = match target_removal(root) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("xtask: the missing-target test failed: {e:#}");
            false
        }
    };
    Ok(Tier {
        name: "cli (missing wasm32 target)",
        passed: u64::from(ok),
        failed: u64::from(!ok),
        seconds: t.elapsed().as_secs_f64(),
        ..Tier::default()
    })
}

fn target_removal(root: &Path) -> Result<()> {
    let active = Command::new("rustup")
        .current_dir(root)
        .args(["show", "active-toolchain"])
        .output()
        .context("running rustup show active-toolchain")?;
    let toolchain = String::from_utf8_lossy(&active.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string)
        .context("rustup named no active toolchain")?;
    run(Command::new("cargo")
        .current_dir(root)
        .args(["build", "--quiet", "-p", "wasmbridge"]))?;
    let bin: PathBuf = root.join("target").join("debug").join("wasmbridge");
    let _restore = RestoreTarget {
        toolchain: toolchain.clone(),
    };
    eprintln!("xtask: removing the {TARGET} target from {toolchain} for the missing-target test");
    run(Command::new("rustup").args(["target", "remove", TARGET, "--toolchain", &toolchain]))?;
    if target_installed(&toolchain) {
        bail!("the {TARGET} target is still installed on {toolchain} after rustup target remove");
    }
    // `wasmbridge demo` builds the demo guest and then serves until stopped:
    // the test waits for its URL (the build worked), then stops it.
    let mut child = Command::new(&bin)
        .current_dir(root)
        .args(["demo", "--debug", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting wasmbridge demo")?;
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let tx_err = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("  {line}");
            let _ = tx_err.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(900);
    let (mut announced, mut served) = (false, false);
    while Instant::now() < deadline && !served {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(line) => {
                announced |= line.contains(&format!(
                    "running `rustup target add {TARGET} --toolchain {toolchain}`"
                ));
                served |= line.contains("http://");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    if !announced {
        bail!("wasmbridge demo did not say it was adding the target with rustup");
    }
    if !served {
        bail!("wasmbridge demo did not build and serve after adding the target");
    }
    if !target_installed(&toolchain) {
        bail!("the {TARGET} target is not installed on {toolchain} after wasmbridge demo");
    }
    Ok(())
}
