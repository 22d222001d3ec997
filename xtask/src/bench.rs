//! `cargo xtask bench [--quick] [--only SECTION]`: builds everything the benchmarks need, lays
//! out the bench site in `target/bench/site` and runs `bench/run.mjs`, which
//! drives headless Chromium against `wasmbridge serve` and writes
//! `target/bench/report.{json,md,html,png}`.
//!
//! The site holds three release bundles of the demo guest (`plain/`, `simd/`,
//! and `threads/`: simd128 with its `--threads` module), the pages and
//! workers of `bench/site/`, Comlink, and the seed's Go module (`go/`, when
//! Go is installed; the report says "skipped: no go" otherwise).
//! Native figures come from `crates/compute/examples/native_bench.rs`. The
//! references section (`bench/site/references.*`) loads OpenCV.js and
//! TensorFlow.js from `js/node_modules` (pinned devDependencies, installed by
//! `cargo xtask setup`); `bench/run.mjs` copies them into the site's `vendor/`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Fewer sizes and rounds: a smoke run of every section, not figures to quote
    #[arg(long)]
    pub quick: bool,
    /// Run one section only (latency, throughput, largeData, kernels, scaling,
    /// threads, ring, references, startup, sizes, godot, fastLane); the
    /// report then holds that section alone
    #[arg(long, value_name = "SECTION")]
    pub only: Option<String>,
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    let started = Instant::now();
    let step = |what: &str| {
        eprintln!(
            "xtask bench [{:>4.0} s] {what}",
            started.elapsed().as_secs_f64()
        )
    };
    step("checking tools (Chromium, npm packages, Go)");
    super::setup(root)?;
    let js = root.join("js");
    if !js.join("node_modules").join("comlink").exists() {
        super::run(
            Command::new("npm")
                .current_dir(&js)
                .args(["ci", "--no-audit", "--no-fund"]),
        )
        .context("installing the npm packages of js/ (comlink is needed for the benchmarks)")?;
    }
    let go = ensure_go();

    let target = target_dir(root);
    let out = root.join("target").join("bench");
    let site = out.join("site");

    step("building the wasmbridge CLI");
    super::run(
        Command::new("cargo")
            .current_dir(root)
            .args(["build", "-p", "wasmbridge"]),
    )?;
    let cli = target.join("debug").join(exe("wasmbridge"));

    step("building the native kernels (release)");
    super::run(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "-p",
        "compute",
        "--features",
        "threads",
        "--example",
        "native_bench",
    ]))?;
    let native = target
        .join("release")
        .join("examples")
        .join(exe("native_bench"));

    if site.exists() {
        std::fs::remove_dir_all(&site).with_context(|| format!("clearing {}", site.display()))?;
    }
    std::fs::create_dir_all(&site).with_context(|| format!("creating {}", site.display()))?;
    for (dir, simd) in [("plain", false), ("simd", true)] {
        step(&format!(
            "building the demo guest bundle {dir}/ (release{})",
            if simd { ", simd128" } else { "" }
        ));
        let mut cmd = Command::new(&cli);
        cmd.current_dir(root)
            .args(["build", "-p", "demo-guest", "--release"]);
        if simd {
            cmd.arg("--simd");
        }
        super::run(cmd.arg("--out").arg(site.join(dir)))?;
    }
    // Issue 17's threads section: the same simd128 guest with its shared-memory
    // module, in a directory of its own so the other sections keep running the
    // plain modules.
    step("building the demo guest bundle threads/ (release, simd128, --threads)");
    super::run(
        Command::new(&cli)
            .current_dir(root)
            .args([
                "build",
                "-p",
                "demo-guest",
                "--release",
                "--simd",
                "--threads",
                "--out",
            ])
            .arg(site.join("threads")),
    )?;

    // The README's two-function guest, made the way a user makes it, for the
    // size goal (≤ 12 KB gzip) next to the seed's Go module.
    step("building the README guest (wasmbridge new, then build --release)");
    // Outside the repository, as a user's crate would be: inside it, cargo
    // would take the new crate for a stray member of this workspace.
    let scratch = std::env::temp_dir().join("wasmbridge-bench");
    let readme_src = scratch.join("readme-guest");
    if readme_src.exists() {
        std::fs::remove_dir_all(&readme_src)
            .with_context(|| format!("clearing {}", readme_src.display()))?;
    }
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    super::run(
        Command::new(&cli)
            .current_dir(&scratch)
            .args(["new", "readme-guest", "--guest-path"])
            .arg(root.join("crates").join("wasmbridge-guest")),
    )?;
    super::run(
        Command::new(&cli)
            .current_dir(&readme_src)
            .args(["build", "--release", "--out"])
            .arg(site.join("readme"))
            .env("CARGO_TARGET_DIR", target.join("bench-readme-guest")),
    )?;

    step("laying out the site");
    copy_dir(&root.join("bench").join("site"), &site)?;
    std::fs::copy(
        js.join("node_modules/comlink/dist/esm/comlink.mjs"),
        site.join("comlink.mjs"),
    )
    .context("copying comlink.mjs into the bench site")?;
    let skipped = out.join("go-skipped.txt");
    std::fs::remove_file(&skipped).ok();
    let go = go.and_then(|go| {
        step("building the seed's Go module (GOOS=js GOARCH=wasm)");
        build_go(root, &go, &site.join("go"))
    });
    if let Err(why) = &go {
        eprintln!("xtask bench: Go baseline skipped: {why:#}");
        std::fs::write(&skipped, format!("skipped: {why:#}")).context("writing go-skipped.txt")?;
    }

    step("running the benchmarks (node bench/run.mjs)");
    let mut node = Command::new("node");
    node.current_dir(root)
        .arg(root.join("bench").join("run.mjs"))
        .arg("--bin")
        .arg(&cli)
        .arg("--out")
        .arg(&out)
        .arg("--native-bin")
        .arg(&native);
    if args.quick {
        node.arg("--quick");
    }
    if let Some(section) = &args.only {
        node.arg("--only").arg(section);
    }
    super::run(&mut node).context("the benchmark runner failed (is Node.js 20+ installed?)")?;

    eprintln!(
        "\nxtask bench: done in {:.0} s; reports:\n  {}\n  {}\n  {}\n  {}",
        started.elapsed().as_secs_f64(),
        out.join("report.md").display(),
        out.join("report.html").display(),
        out.join("report.png").display(),
        out.join("report.json").display()
    );
    Ok(())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// The `go` command, installed from Debian (`golang`) when missing and we are root.
fn ensure_go() -> Result<PathBuf> {
    let found = |c: &str| {
        Command::new(c)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if found("go") {
        return Ok(PathBuf::from("go"));
    }
    super::apt_install(&["golang"]).context("no go: installing Debian's golang failed")?;
    if found("go") {
        Ok(PathBuf::from("go"))
    } else {
        bail!("no go: golang was installed but `go version` still fails")
    }
}

/// Builds bench/go into `dir`/main.wasm and copies Go's wasm_exec.js next to it.
fn build_go(root: &Path, go: &Path, dir: &Path) -> Result<()> {
    let output = Command::new(go)
        .args(["env", "GOROOT"])
        .output()
        .context("running go env GOROOT")?;
    let goroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // Go 1.24 moved wasm_exec.js from misc/wasm to lib/wasm.
    let wasm_exec = ["misc/wasm/wasm_exec.js", "lib/wasm/wasm_exec.js"]
        .iter()
        .map(|p| goroot.join(p))
        .find(|p| p.exists())
        .with_context(|| format!("no wasm_exec.js under {}", goroot.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::copy(&wasm_exec, dir.join("wasm_exec.js")).context("copying wasm_exec.js")?;
    let status = Command::new(go)
        .current_dir(root.join("bench").join("go"))
        .args(["build", "-buildvcs=false", "-o"])
        .arg(dir.join("main.wasm"))
        .arg(".")
        .env("GOOS", "js")
        .env("GOARCH", "wasm")
        .status()
        .context("running go build")?;
    if !status.success() {
        bail!("GOOS=js GOARCH=wasm go build failed ({status})");
    }
    Ok(())
}

/// Copies the files below `from` into `to`, keeping the layout.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        let dest = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            std::fs::create_dir_all(&dest)
                .with_context(|| format!("creating {}", dest.display()))?;
            copy_dir(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest)
                .with_context(|| format!("copying {} to {}", path.display(), dest.display()))?;
        }
    }
    Ok(())
}
