//! `wasmbridge build`: a guest crate becomes a bundle directory the browser
//! loads as it is: the runtime, the wasm-bindgen glue, the optimised `.wasm`
//! and `manifest.json`.

use crate::manifest::{self, FileInfo, Manifest};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Must equal the `wasm-bindgen` version guests link (pinned in the workspace).
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// The JS runtime, compiled into the CLI so a bundle never mixes runtime versions.
/// The same files are the npm package `wasmbridge` (`runtime/package.json`, whose
/// `files` must list exactly these: `tests/npm_package.rs` checks it).
pub const RUNTIME_FILES: &[(&str, &str)] = &[
    ("wasmbridge.js", include_str!("../runtime/wasmbridge.js")),
    (
        "wasmbridge.d.ts",
        include_str!("../runtime/wasmbridge.d.ts"),
    ),
    ("pool.js", include_str!("../runtime/pool.js")),
    ("worker.js", include_str!("../runtime/worker.js")),
    ("protocol.js", include_str!("../runtime/protocol.js")),
    ("error.js", include_str!("../runtime/error.js")),
    ("godot.js", include_str!("../runtime/godot.js")),
    ("godot.d.ts", include_str!("../runtime/godot.d.ts")),
    ("lane.js", include_str!("../runtime/lane.js")),
    ("shared.js", include_str!("../runtime/shared.js")),
    ("ring.js", include_str!("../runtime/ring.js")),
    ("ring.d.ts", include_str!("../runtime/ring.d.ts")),
    (
        "audio-worklet.js",
        include_str!("../runtime/audio-worklet.js"),
    ),
    ("audio.js", include_str!("../runtime/audio.js")),
    ("audio.d.ts", include_str!("../runtime/audio.d.ts")),
];

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Cargo package name of the guest crate.
    pub package: String,
    /// Build with the `wasm-release` profile (fat LTO) and run wasm-opt.
    pub release: bool,
    /// Compile with `+simd128` (every current browser has it).
    pub simd: bool,
    /// Bundle directory; default `target/wasmbridge/<package>/`.
    pub out: Option<PathBuf>,
    /// Skip wasm-opt even when it is available.
    pub no_opt: bool,
}

#[derive(Debug, Clone)]
pub struct BuildReport {
    pub out: PathBuf,
    pub manifest: Manifest,
    /// Why wasm-opt did not run, when it did not.
    pub wasm_opt_skipped: Option<String>,
}

/// What `cargo metadata` says about the workspace and the guest package.
struct Workspace {
    root: PathBuf,
    target: PathBuf,
    lib_name: String,
}

fn workspace(package: &str) -> Result<Workspace> {
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata (is cargo on PATH?)")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata's output")?;
    let root = PathBuf::from(meta["workspace_root"].as_str().unwrap_or("."));
    let target = PathBuf::from(meta["target_directory"].as_str().unwrap_or("target"));
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let pkg = packages
        .iter()
        .find(|p| p["name"].as_str() == Some(package))
        .with_context(|| {
            format!(
                "no package named {package:?} in the workspace; it has {}",
                names.join(", ")
            )
        })?;
    let lib = pkg["targets"]
        .as_array()
        .and_then(|ts| {
            ts.iter().find(|t| {
                t["crate_types"].as_array().is_some_and(|c| c.iter().any(|k| k.as_str() == Some("cdylib")))
            })
        })
        .with_context(|| {
            format!("package {package:?} has no cdylib target: add `[lib] crate-type = [\"cdylib\", \"rlib\"]` to its Cargo.toml")
        })?;
    let lib_name = lib["name"].as_str().unwrap_or(package).replace('-', "_");
    Ok(Workspace {
        root,
        target,
        lib_name,
    })
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Builds the guest and writes the bundle; prints each step to stderr.
pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let ws = workspace(&opts.package)?;
    let profile = if opts.release { "wasm-release" } else { "dev" };
    let profile_dir = if opts.release {
        "wasm-release"
    } else {
        "debug"
    };
    // A simd build gets its own target directory: different RUSTFLAGS would
    // otherwise throw away the cache of the plain build every time.
    let cargo_target = if opts.simd {
        ws.target.join("wasm-simd")
    } else {
        ws.target.clone()
    };
    eprintln!(
        "wasmbridge: compiling {} for wasm32-unknown-unknown ({profile}{})",
        opts.package,
        if opts.simd { ", simd128" } else { "" }
    );
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root)
        .args([
            "build",
            "--package",
            &opts.package,
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            profile,
        ])
        .arg("--target-dir")
        .arg(&cargo_target);
    if opts.simd {
        cmd.env("RUSTFLAGS", "-C target-feature=+simd128");
    }
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!(
            "cargo build of {} for wasm32-unknown-unknown failed ({status})",
            opts.package
        );
    }
    let input = cargo_target
        .join("wasm32-unknown-unknown")
        .join(profile_dir)
        .join(format!("{}.wasm", ws.lib_name));
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| ws.target.join("wasmbridge").join(&opts.package));
    let staging = ws
        .target
        .join("wasmbridge")
        .join(".staging")
        .join(&opts.package);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("clearing {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;

    eprintln!(
        "wasmbridge: generating JS bindings (wasm-bindgen-cli-support {WASM_BINDGEN_VERSION})"
    );
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&input)
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .typescript(true)
        .omit_default_module_path(false);
    bindgen
        .generate(&staging)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen on {}: {e:#}", input.display()))?;

    let mut glue = format!("{}.js", ws.lib_name);
    let mut wasm = format!("{}_bg.wasm", ws.lib_name);
    let wasm_path = staging.join(&wasm);
    let wasm_opt_skipped = if opts.release && !opts.no_opt {
        optimise(&ws.root, &wasm_path, opts.simd)?
    } else {
        Some(if opts.no_opt {
            "--no-opt was given".into()
        } else {
            "debug build".into()
        })
    };
    if let Some(why) = &wasm_opt_skipped {
        if opts.release {
            eprintln!("wasmbridge: wasm-opt skipped: {why}");
        }
    }

    if opts.release {
        (glue, wasm) = content_hash_names(&staging, &glue, &wasm)?;
    }
    let dts = std::fs::read_to_string(staging.join(format!("{}.d.ts", ws.lib_name)))
        .context("reading the TypeScript definitions wasm-bindgen wrote")?;
    let functions = manifest::functions_from_dts(&dts).context("reading the guest's functions")?;

    for (name, text) in RUNTIME_FILES {
        std::fs::write(staging.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    let mut files = BTreeMap::new();
    for path in walk(&staging)? {
        let rel = path
            .strip_prefix(&staging)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut info = FileInfo::of(&bytes);
        if rel == wasm {
            info.gzip = Some(gzip_size(&bytes)?);
        }
        files.insert(rel, info);
    }
    let manifest = Manifest {
        format: manifest::FORMAT,
        name: opts.package.clone(),
        glue,
        wasm,
        files,
        functions,
    };
    let text = serde_json::to_string_pretty(&manifest).context("serialising the manifest")?;
    std::fs::write(staging.join("manifest.json"), text).context("writing manifest.json")?;

    replace_dir(&staging, &out)?;
    let info = &manifest.files[&manifest.wasm];
    eprintln!(
        "wasmbridge: built {} → {} ({} functions, {} {} bytes, {} gzip)",
        opts.package,
        out.display(),
        manifest.functions.len(),
        manifest.wasm,
        info.size,
        info.gzip.unwrap_or(0)
    );
    Ok(BuildReport {
        out,
        manifest,
        wasm_opt_skipped,
    })
}

/// Renames the module and its glue to `name.<hash>.ext` so servers can cache
/// them forever; the glue's default module URL follows the rename.
fn content_hash_names(dir: &Path, glue: &str, wasm: &str) -> Result<(String, String)> {
    let short = |bytes: &[u8]| FileInfo::of(bytes).sha256[..10].to_string();
    let wasm_bytes = std::fs::read(dir.join(wasm)).with_context(|| format!("reading {wasm}"))?;
    let hashed_wasm = format!(
        "{}.{}.wasm",
        wasm.trim_end_matches(".wasm"),
        short(&wasm_bytes)
    );
    std::fs::rename(dir.join(wasm), dir.join(&hashed_wasm))
        .with_context(|| format!("renaming {wasm}"))?;
    let text =
        std::fs::read_to_string(dir.join(glue)).with_context(|| format!("reading {glue}"))?;
    let text = text.replace(&format!("'{wasm}'"), &format!("'{hashed_wasm}'"));
    let hashed_glue = format!(
        "{}.{}.js",
        glue.trim_end_matches(".js"),
        short(text.as_bytes())
    );
    std::fs::write(dir.join(&hashed_glue), text)
        .with_context(|| format!("writing {hashed_glue}"))?;
    std::fs::remove_file(dir.join(glue)).with_context(|| format!("removing {glue}"))?;
    Ok((hashed_glue, hashed_wasm))
}

/// Moves the finished bundle into place, so a failed build never leaves half a bundle.
fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        let marker = to.join("manifest.json");
        let empty = std::fs::read_dir(to)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !marker.exists() && !empty {
            bail!("{} exists and is not a wasmbridge bundle (no manifest.json); refusing to replace it", to.display());
        }
        std::fs::remove_dir_all(to)
            .with_context(|| format!("removing the old bundle {}", to.display()))?;
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    if std::fs::rename(from, to).is_err() {
        copy_dir(from, to)?;
        std::fs::remove_dir_all(from).ok();
    }
    Ok(())
}

pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for path in walk(from)? {
        let rel = path.strip_prefix(from).unwrap_or(&path);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&path, &dest)
            .with_context(|| format!("copying {} to {}", path.display(), dest.display()))?;
    }
    Ok(())
}

/// Every file below `dir`, sorted.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn gzip_size(bytes: &[u8]) -> Result<u64> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len() as u64)
}

/// Features of the modules rustc 1.95 emits for wasm32-unknown-unknown; wasm-opt must accept them and may use them.
const WASM_FEATURES: &[&str] = &[
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Runs `wasm-opt -O3` in place. Returns why it was skipped, if it was.
fn optimise(root: &Path, wasm: &Path, simd: bool) -> Result<Option<String>> {
    let Some(tool) = find_wasm_opt(root) else {
        return Ok(Some("no usable wasm-opt: run `npm install` in js/ (npm package binaryen), or set WASMBRIDGE_WASM_OPT".into()));
    };
    eprintln!("wasmbridge: optimising with {} -O3", tool.display());
    let optimised = wasm.with_extension("opt.wasm");
    let mut cmd = Command::new(&tool);
    cmd.arg("-O3").args(WASM_FEATURES);
    if simd {
        cmd.arg("--enable-simd");
    }
    let output = cmd
        .arg(wasm)
        .arg("-o")
        .arg(&optimised)
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    if !output.status.success() {
        bail!(
            "wasm-opt failed on {}: {}",
            wasm.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::rename(&optimised, wasm).context("replacing the module with the optimised one")?;
    Ok(None)
}

/// wasm-opt from the npm package `binaryen` (or `WASMBRIDGE_WASM_OPT`). Debian's
/// binaryen 108 is not used: it breaks wasm-bindgen 0.2.130's output.
fn find_wasm_opt(root: &Path) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("WASMBRIDGE_WASM_OPT") {
        return Some(PathBuf::from(path));
    }
    let local = root
        .join("js")
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt");
    if local.exists() {
        return Some(local);
    }
    if root.join("js").join("package.json").exists()
        && ensure_npm_packages(&root.join("js")).is_ok()
        && local.exists()
    {
        return Some(local);
    }
    None
}

/// Installs the npm packages of `dir` when they are missing; a clear error when npm is absent.
pub fn ensure_npm_packages(dir: &Path) -> Result<()> {
    if dir.join("node_modules").exists() {
        return Ok(());
    }
    eprintln!("wasmbridge: installing npm packages in {}", dir.display());
    let lock = dir.join("package-lock.json").exists();
    let status = Command::new("npm")
        .current_dir(dir)
        .args(if lock { ["ci", "--no-audit", "--no-fund"] } else { ["install", "--no-audit", "--no-fund"] })
        .status()
        .context("npm is not available: install Node.js 20+ and npm (apt-get install nodejs npm) to get wasm-opt and the test tools")?;
    if !status.success() {
        bail!("npm install in {} failed ({status})", dir.display());
    }
    Ok(())
}
