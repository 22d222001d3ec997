//! `wasmbridge build`: a guest crate becomes a bundle directory the browser
//! loads as it is: the runtime, the wasm-bindgen glue, the optimised `.wasm`
//! and `manifest.json`.

use crate::cargo_config::{ConfigError, FlagsPlan, UserConfig};
use crate::guest::{self, GuestError};
use crate::link;
use crate::manifest::{self, FileInfo, Manifest, Module};
use crate::runtime;
use crate::toolchain::{self, ToolchainError, NIGHTLY, TARGET};
use crate::tree::{self, Symlinks};
use crate::wasm_opt::{self, Passes, WasmOptError};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Must equal the `wasm-bindgen` version guests link (pinned in the workspace).
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// What a release build aims for, when the user's profile does not choose.
/// Measured (README, "Size and speed"): `Speed` gives the README guest its
/// smallest module too (10.1 KB gzip against 11.3 KB), because most of a small
/// module is the standard library; `Size` shrinks the demo guest from 170 KB
/// to 140 KB gzip but makes its image and matrix kernels 3–4 times slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Opt {
    /// `opt-level = 3`, `wasm-opt -O3`.
    #[default]
    Speed,
    /// `opt-level = "z"`, `wasm-opt -Oz`.
    Size,
}

/// How much of the names and debug information survive the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Debug {
    /// Release builds keep nothing, debug builds keep what cargo's dev profile gives.
    #[default]
    Default,
    /// Function names only (the wasm name section), for readable panics and profiles.
    Profiling,
    /// Names and DWARF debug information.
    Full,
}

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Cargo package name of the guest crate; `None` picks the package of
    /// `dir`, as cargo does.
    pub package: Option<String>,
    /// Where to look for the crate; default: the current directory.
    pub dir: Option<PathBuf>,
    /// Optimised build: the release profile with wasmbridge's settings for
    /// whatever the user did not set, then wasm-opt.
    pub release: bool,
    pub opt: Opt,
    /// Compile with `+simd128` (every current browser has it).
    pub simd: bool,
    /// Bundle directory; default `<target>/wasmbridge/<package>/`.
    pub out: Option<PathBuf>,
    /// Skip wasm-opt.
    pub no_opt: bool,
    pub debug: Debug,
    /// Also build the shared-memory module (nightly, atomics, the guest's
    /// `threads` feature) into `threads/` of the same bundle.
    pub threads: bool,
}

impl BuildOptions {
    /// A debug build of `package` (or of the crate in the current directory).
    pub fn new(package: Option<String>) -> Self {
        BuildOptions {
            package,
            ..BuildOptions::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct BuildReport {
    pub out: PathBuf,
    pub manifest: Manifest,
    /// Cargo package name of the guest that was built.
    pub package: String,
    /// The guest crate's directory (where its Cargo.toml is).
    pub crate_dir: PathBuf,
    /// Why wasm-opt did not run, when it did not.
    pub wasm_opt_skipped: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Guest(#[from] GuestError),
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    WasmOpt(#[from] WasmOptError),
    #[error("could not run cargo build")]
    CargoSpawn(#[source] std::io::Error),
    #[error("cargo build of {package} for wasm32-unknown-unknown failed ({status})")]
    Cargo {
        package: String,
        status: String,
        /// The compiler's messages, as printed on stderr.
        diagnostics: String,
    },
    #[error("--threads builds {package} with its `threads` feature, and {} declares none; add `threads = [\"wasmbridge-guest/threads\"]` under [features] (with rayon for your own parallel code)", .manifest.display())]
    NoThreadsFeature { package: String, manifest: PathBuf },
    #[error("the threaded module of {package} has no thread pool: its `threads` feature must enable wasmbridge-guest/threads, and the crate must use wasmbridge_guest (write `use wasmbridge_guest as _;` in src/lib.rs if nothing else does)")]
    NoThreadPool { package: String },
    #[error("the threaded module of {package} exports other functions than the plain one: expected {plain:?}, got {threaded:?}")]
    ThreadsApi {
        package: String,
        plain: Vec<String>,
        threaded: Vec<String>,
    },
    #[error("cargo build of {package} reported no .wasm file for its cdylib")]
    NoArtifact { package: String },
    #[error("wasm-bindgen on {input}: {message}")]
    Bindgen { input: PathBuf, message: String },
    #[error("reading the guest's functions from wasm-bindgen's TypeScript definitions")]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error("{what} {}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} exists and is not a wasmbridge bundle (no manifest.json); refusing to replace it", .0.display())]
    NotABundle(PathBuf),
    #[error("serialising the manifest")]
    Serialise(#[source] serde_json::Error),
    #[error(transparent)]
    Walk(#[from] crate::tree::WalkError),
    #[error("linking the runtime's modules into {}", crate::runtime::ENTRY)]
    Link(#[from] crate::link::LinkError),
}

type Result<T, E = BuildError> = std::result::Result<T, E>;

/// Attaches what was being done, and to which path, to an I/O error.
fn io<T>(result: std::io::Result<T>, what: &'static str, path: &Path) -> Result<T> {
    result.map_err(|source| BuildError::Io {
        what,
        path: path.to_path_buf(),
        source,
    })
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The profile settings a release build injects, each only when the user has
/// not set it: fat LTO and one codegen unit give the smallest and fastest
/// module, and `panic = "abort"` drops unwinding, which wasm32 cannot use.
fn release_settings(opts: &BuildOptions) -> Vec<(&'static str, toml::Value)> {
    let opt_level = match opts.opt {
        Opt::Speed => toml::Value::Integer(3),
        Opt::Size => toml::Value::String("z".into()),
    };
    vec![
        ("opt-level", opt_level),
        ("lto", toml::Value::Boolean(true)),
        ("codegen-units", toml::Value::Integer(1)),
        ("panic", toml::Value::String("abort".into())),
    ]
}

/// Settings `--keep-debug` forces, because the user asked for them on the
/// command line. `--profiling` needs none: cargo's release profile keeps the
/// wasm name section (its default `strip = "debuginfo"` drops DWARF only), and
/// only wasm-opt would remove it.
fn debug_settings(debug: Debug) -> Vec<String> {
    match debug {
        Debug::Default | Debug::Profiling => Vec::new(),
        Debug::Full => vec![
            r#"profile.release.strip="none""#.into(),
            "profile.release.debug=2".into(),
        ],
    }
}

/// The guest feature `--threads` turns on, and the bundle directory the
/// threaded module and its glue go to.
pub const THREADS: &str = "threads";

/// The most memory a threaded module may grow to, in bytes. A shared memory
/// must declare a maximum (browsers reserve it up front); 1 GiB is the figure
/// of the recipe in wasm-bindgen's and wasm-bindgen-rayon's documentation.
pub const THREADS_MAX_MEMORY: u64 = 1 << 30;

/// Which of a bundle's two modules a compile step makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Plain,
    Threads,
}

/// The rustflags a threaded build adds: atomics in the code (and in the
/// standard library rebuilt with it), an imported shared memory, and the TLS
/// exports wasm-bindgen's thread transform needs to give each thread its own
/// stack and thread-locals (without them the module builds but its memory is
/// not shared).
fn threads_flags() -> Vec<String> {
    let mut flags = vec![
        "-C".to_string(),
        "target-feature=+atomics,+bulk-memory,+mutable-globals".to_string(),
    ];
    for arg in [
        "--shared-memory".to_string(),
        format!("--max-memory={THREADS_MAX_MEMORY}"),
        "--import-memory".to_string(),
        "--export=__wasm_init_tls".to_string(),
        "--export=__tls_size".to_string(),
        "--export=__tls_align".to_string(),
        "--export=__tls_base".to_string(),
    ] {
        flags.push("-C".to_string());
        flags.push(format!("link-arg={arg}"));
    }
    flags
}

/// Builds the guest and writes the bundle; prints each step to stderr.
pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let here = match &opts.dir {
        Some(dir) => dir.clone(),
        None => io(
            std::env::current_dir(),
            "reading the current directory",
            Path::new("."),
        )?,
    };
    let guest = guest::locate(&here, opts.package.as_deref())?;
    if opts.threads && !guest.features.contains(THREADS) {
        return Err(BuildError::NoThreadsFeature {
            package: guest.name.clone(),
            manifest: guest.manifest.clone(),
        });
    }
    toolchain::ensure_target(&guest.dir)?;
    let user = UserConfig::load(&guest.dir, &guest.workspace_root)?;
    let input = compile(&guest, &user, opts, Variant::Plain)?;
    let threaded_input = if opts.threads {
        toolchain::ensure_rust_src(&guest.dir)?;
        Some(compile(&guest, &user, opts, Variant::Threads)?)
    } else {
        None
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| guest.target_dir.join("wasmbridge").join(&guest.name));
    let staging = guest
        .target_dir
        .join("wasmbridge")
        .join(".staging")
        .join(&guest.name);
    if staging.exists() {
        io(std::fs::remove_dir_all(&staging), "clearing", &staging)?;
    }
    io(std::fs::create_dir_all(&staging), "creating", &staging)?;

    let (glue, wasm, wasm_opt_skipped) = finish_module(&guest, opts, &input, &staging, false)?;
    let functions = functions_of(&staging, &guest)?;
    let threads = match &threaded_input {
        Some(input) => {
            let dir = staging.join(THREADS);
            let (glue, wasm, _) = finish_module(&guest, opts, input, &dir, true)?;
            let glue_path = dir.join(&glue);
            let glue_text = io(std::fs::read_to_string(&glue_path), "reading", &glue_path)?;
            if !has_thread_pool(&glue_text) {
                return Err(BuildError::NoThreadPool {
                    package: guest.name.clone(),
                });
            }
            let threaded = functions_of(&dir, &guest)?;
            if threaded != functions {
                let names = |fs: &[manifest::Function]| fs.iter().map(|f| f.name.clone()).collect();
                return Err(BuildError::ThreadsApi {
                    package: guest.name.clone(),
                    plain: names(&functions),
                    threaded: names(&threaded),
                });
            }
            Some(Module {
                glue: format!("{THREADS}/{glue}"),
                wasm: format!("{THREADS}/{wasm}"),
            })
        }
        None => None,
    };

    let linker = link::Runtime::read(runtime::FILES, runtime::ENTRY)?;
    for (name, text) in runtime::FILES {
        let path = staging.join(name);
        io(std::fs::write(&path, text), "writing", &path)?;
    }
    for (name, text) in linker.rewritten() {
        let path = staging.join(&name);
        io(std::fs::write(&path, text), "writing", &path)?;
    }
    let mut files = BTreeMap::new();
    for path in tree::walk(&staging, Symlinks::Follow)? {
        let rel = path
            .strip_prefix(&staging)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        // The manifest's own forms describe the other files, not themselves
        // (the linked entry holds the inlined one).
        if rel == runtime::INLINED_MANIFEST || rel == runtime::ENTRY {
            continue;
        }
        let bytes = io(std::fs::read(&path), "reading", &path)?;
        let mut info = FileInfo::of(&bytes);
        if rel == wasm || threads.as_ref().is_some_and(|t| t.wasm == rel) {
            info.gzip = Some(io(tree::gzip(&bytes), "compressing", &path)?.len() as u64);
        }
        files.insert(rel, info);
    }
    let manifest = Manifest {
        format: manifest::FORMAT,
        name: guest.name.clone(),
        glue,
        wasm,
        files,
        functions,
        threads,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(BuildError::Serialise)?;
    let inlined_text = inlined_manifest(&text);
    let inlined = staging.join(runtime::INLINED_MANIFEST);
    io(std::fs::write(&inlined, &inlined_text), "writing", &inlined)?;
    let entry = staging.join(runtime::ENTRY);
    let linked = linker.entry(&[(runtime::INLINED_MANIFEST, &inlined_text)])?;
    io(std::fs::write(&entry, linked), "writing", &entry)?;
    let manifest_path = staging.join("manifest.json");
    io(
        std::fs::write(&manifest_path, text),
        "writing",
        &manifest_path,
    )?;

    replace_dir(&staging, &out)?;
    let sizes = |name: &str| {
        let info = &manifest.files[name];
        format!(
            "{name}: {} raw, {} gzip",
            kilobytes(info.size),
            kilobytes(info.gzip.unwrap_or(0))
        )
    };
    eprintln!(
        "wasmbridge: built {} → {} ({} functions; {}{})",
        guest.name,
        out.display(),
        manifest.functions.len(),
        sizes(&manifest.wasm),
        manifest
            .threads
            .as_ref()
            .map(|t| format!("; {}", sizes(&t.wasm)))
            .unwrap_or_default(),
    );
    Ok(BuildReport {
        out,
        manifest,
        package: guest.name,
        crate_dir: guest.dir,
        wasm_opt_skipped,
    })
}

/// The bundle's `manifest.js`: the manifest as an ES module, which the runtime
/// imports statically, so a page gets it with the runtime's modules instead of
/// fetching manifest.json after them. JSON is a JavaScript expression, so the
/// text is the same as manifest.json's.
fn inlined_manifest(json: &str) -> String {
    format!(
        "// This bundle's manifest (the same as manifest.json), written by `wasmbridge build`:\n\
         // the runtime imports it statically, so it arrives with the runtime's modules.\n\n\
         export default {json};\n"
    )
}

/// Runs `cargo build` for one of the bundle's modules and returns the `.wasm`
/// cargo wrote. The threaded module is built by the nightly cargo (through
/// `rustup run`, whatever `rust-toolchain.toml` pins) with the standard
/// library rebuilt for atomics.
fn compile(
    guest: &guest::Guest,
    user: &UserConfig,
    opts: &BuildOptions,
    variant: Variant,
) -> Result<PathBuf> {
    let profile = if opts.release { "release" } else { "dev" };
    // Each flavour gets its own target directory: different rustflags would
    // otherwise throw away the cache of the other builds every time.
    let cargo_target = match (variant, opts.simd) {
        (Variant::Plain, false) => guest.target_dir.clone(),
        (Variant::Plain, true) => guest.target_dir.join("wasm-simd"),
        (Variant::Threads, false) => guest.target_dir.join("wasm-threads"),
        (Variant::Threads, true) => guest.target_dir.join("wasm-threads-simd"),
    };
    let threads = variant == Variant::Threads;
    eprintln!(
        "wasmbridge: compiling {} for {TARGET} ({profile}{}{})",
        guest.name,
        if opts.simd { ", simd128" } else { "" },
        if threads {
            format!(", threads, {NIGHTLY} toolchain")
        } else {
            String::new()
        }
    );
    let mut cmd = if threads {
        let mut cmd = Command::new("rustup");
        cmd.args(["run", NIGHTLY, "cargo"]);
        // A RUSTC set for the stable toolchain (cargo sets it for what it
        // runs) would make the nightly cargo compile with the stable rustc.
        cmd.env_remove("RUSTC");
        cmd
    } else {
        Command::new(cargo())
    };
    cmd.current_dir(&guest.dir);
    if opts.release {
        for setting in user
            .release_overrides(&release_settings(opts))
            .into_iter()
            .chain(debug_settings(opts.debug))
        {
            cmd.arg("--config").arg(setting);
        }
    }
    let mut extra_flags = if threads { threads_flags() } else { Vec::new() };
    if opts.simd {
        extra_flags.extend(["-C".into(), "target-feature=+simd128".into()]);
    }
    match user.flags_plan(&extra_flags) {
        Some(FlagsPlan::Env { name, value }) => {
            cmd.env(name, value);
        }
        Some(FlagsPlan::Config(arg)) => {
            cmd.arg("--config").arg(arg);
        }
        None => {}
    }
    cmd.args([
        "build",
        "--package",
        &guest.name,
        "--lib",
        "--target",
        TARGET,
        "--profile",
        profile,
        "--message-format=json",
    ])
    .arg("--target-dir")
    .arg(&cargo_target)
    .stdout(Stdio::piped());
    if threads {
        cmd.args(["--features", THREADS, "-Z", "build-std=panic_abort,std"]);
    }
    let mut child = cmd.spawn().map_err(BuildError::CargoSpawn)?;
    let mut messages = CargoMessages::new(&guest.lib_name);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            messages.read(&line);
        }
    }
    let status = child.wait().map_err(BuildError::CargoSpawn)?;
    if !status.success() {
        return Err(BuildError::Cargo {
            package: guest.name.clone(),
            status: status.to_string(),
            diagnostics: messages.diagnostics,
        });
    }
    messages.wasm.ok_or_else(|| BuildError::NoArtifact {
        package: guest.name.clone(),
    })
}

/// wasm-bindgen, wasm-opt and (release) content-hash names for one module,
/// written into `dir`; returns the glue's and the module's file names and
/// why wasm-opt did not run, when it did not.
fn finish_module(
    guest: &guest::Guest,
    opts: &BuildOptions,
    input: &Path,
    dir: &Path,
    threads: bool,
) -> Result<(String, String, Option<String>)> {
    eprintln!(
        "wasmbridge: generating JS bindings (wasm-bindgen-cli-support {WASM_BINDGEN_VERSION}){}",
        if threads {
            " for the threaded module"
        } else {
            ""
        }
    );
    let bindgen_error = |e: anyhow::Error| BuildError::Bindgen {
        input: input.to_path_buf(),
        message: format!("{e:#}"),
    };
    // wasm-bindgen sees the shared memory and adds the thread support itself:
    // each instance after the first gets its own stack, and the glue's init
    // takes the `memory` to share.
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(input)
        .web(true)
        .map_err(bindgen_error)?
        .typescript(true)
        .keep_debug(opts.debug == Debug::Full)
        .omit_default_module_path(false);
    bindgen.generate(dir).map_err(bindgen_error)?;

    let glue = format!("{}.js", guest.lib_name);
    let wasm = format!("{}_bg.wasm", guest.lib_name);
    let wasm_path = dir.join(&wasm);
    let wasm_opt_skipped = if !opts.release {
        Some("debug build".to_string())
    } else if opts.no_opt {
        eprintln!("wasmbridge: wasm-opt skipped (--no-opt)");
        Some("--no-opt was given".to_string())
    } else {
        let tool = wasm_opt::find()?;
        let passes = Passes {
            size: opts.opt == Opt::Size,
            keep_names: opts.debug != Debug::Default,
            simd: opts.simd,
            threads,
        };
        eprintln!(
            "wasmbridge: optimising with {} {} (from {})",
            tool.path.display(),
            if passes.size { "-Oz" } else { "-O3" },
            tool.origin
        );
        tool.run(&wasm_path, passes)?;
        None
    };
    let (glue, wasm) = if opts.release {
        content_hash_names(dir, &glue, &wasm)?
    } else {
        (glue, wasm)
    };
    Ok((glue, wasm, wasm_opt_skipped))
}

/// Whether a threaded module's glue exports wasmbridge-guest's thread pool
/// (`src/threads.rs` there). A crate that never names `wasmbridge_guest`
/// does not link it at all, and its module would start no threads.
fn has_thread_pool(glue: &str) -> bool {
    [
        "__wasmbridge_threads_build",
        "__wasmbridge_thread_run",
        "__wasmbridge_threads_memory",
    ]
    .iter()
    .all(|name| glue.contains(&format!("export function {name}(")))
}

/// The callable functions, from the TypeScript definitions wasm-bindgen wrote into `dir`.
fn functions_of(dir: &Path, guest: &guest::Guest) -> Result<Vec<manifest::Function>> {
    let dts_path = dir.join(format!("{}.d.ts", guest.lib_name));
    let dts = io(
        std::fs::read_to_string(&dts_path),
        "reading the TypeScript definitions wasm-bindgen wrote",
        &dts_path,
    )?;
    Ok(manifest::functions_from_dts(&dts)?)
}

/// `12.3 KB` (1 KB = 1000 bytes, as browsers' network panels count).
fn kilobytes(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// What cargo's JSON messages (`--message-format=json`) say: compiler
/// diagnostics, echoed to stderr as cargo would print them and kept for the
/// caller (`wasmbridge dev` shows them in the page), and the `.wasm` of the
/// cdylib `lib_name`.
struct CargoMessages<'a> {
    lib_name: &'a str,
    diagnostics: String,
    wasm: Option<PathBuf>,
}

impl<'a> CargoMessages<'a> {
    fn new(lib_name: &'a str) -> Self {
        CargoMessages {
            lib_name,
            diagnostics: String::new(),
            wasm: None,
        }
    }

    fn read(&mut self, line: &str) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            return;
        };
        match message["reason"].as_str() {
            Some("compiler-message") => {
                if let Some(rendered) = message["message"]["rendered"].as_str() {
                    eprint!("{rendered}");
                    self.diagnostics.push_str(rendered);
                }
            }
            Some("compiler-artifact")
                if message["target"]["name"]
                    .as_str()
                    .is_some_and(|n| n.replace('-', "_") == self.lib_name) =>
            {
                let wasm = message["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(PathBuf::from))
                    .find(|f| f.extension().is_some_and(|e| e == "wasm"));
                if wasm.is_some() {
                    self.wasm = wasm;
                }
            }
            _ => {}
        }
    }
}

/// Renames the module and its glue to `name.<hash>.ext` so servers can cache
/// them forever; the glue's default module URL follows the rename.
fn content_hash_names(dir: &Path, glue: &str, wasm: &str) -> Result<(String, String)> {
    let short = |bytes: &[u8]| FileInfo::of(bytes).sha256[..10].to_string();
    let wasm_path = dir.join(wasm);
    let wasm_bytes = io(std::fs::read(&wasm_path), "reading", &wasm_path)?;
    let hashed_wasm = format!(
        "{}.{}.wasm",
        wasm.trim_end_matches(".wasm"),
        short(&wasm_bytes)
    );
    io(
        std::fs::rename(&wasm_path, dir.join(&hashed_wasm)),
        "renaming",
        &wasm_path,
    )?;
    let glue_path = dir.join(glue);
    let text = io(std::fs::read_to_string(&glue_path), "reading", &glue_path)?;
    let text = text.replace(&format!("'{wasm}'"), &format!("'{hashed_wasm}'"));
    let hashed_glue = format!(
        "{}.{}.js",
        glue.trim_end_matches(".js"),
        short(text.as_bytes())
    );
    let hashed_path = dir.join(&hashed_glue);
    io(std::fs::write(&hashed_path, text), "writing", &hashed_path)?;
    io(std::fs::remove_file(&glue_path), "removing", &glue_path)?;
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
            return Err(BuildError::NotABundle(to.to_path_buf()));
        }
        io(std::fs::remove_dir_all(to), "removing the old bundle", to)?;
    }
    if let Some(parent) = to.parent() {
        io(std::fs::create_dir_all(parent), "creating", parent)?;
    }
    if std::fs::rename(from, to).is_err() {
        copy_dir(from, to)?;
        std::fs::remove_dir_all(from).ok();
    }
    Ok(())
}

pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for path in tree::walk(from, Symlinks::Follow)? {
        let rel = path.strip_prefix(from).unwrap_or(&path);
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            io(std::fs::create_dir_all(parent), "creating", parent)?;
        }
        io(std::fs::copy(&path, &dest), "copying", &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_messages_give_the_module_and_the_diagnostics() {
        let mut m = CargoMessages::new("my_guest");
        m.read(r#"{"reason":"compiler-artifact","target":{"name":"wasm-bindgen"},"filenames":["/t/libwasm_bindgen.rlib"]}"#);
        m.read(
            r#"{"reason":"compiler-message","message":{"rendered":"warning: unused variable\n"}}"#,
        );
        m.read(r#"{"reason":"compiler-artifact","target":{"name":"my-guest"},"filenames":["/t/my_guest.d","/t/my_guest.wasm"]}"#);
        m.read("not json");
        m.read(r#"{"reason":"build-finished","success":true}"#);
        assert_eq!(m.wasm, Some(PathBuf::from("/t/my_guest.wasm")));
        assert_eq!(m.diagnostics, "warning: unused variable\n");
    }

    #[test]
    fn a_thread_pool_is_three_exports_of_the_glue() {
        let glue = "export function __wasmbridge_thread_run() {\n}\nexport function __wasmbridge_threads_build(count) {\n}\nexport function __wasmbridge_threads_memory() {\n}\n";
        assert!(has_thread_pool(glue));
        assert!(!has_thread_pool(
            &glue.replace("__wasmbridge_thread_run", "run")
        ));
        assert!(!has_thread_pool("export function sum(n) {\n}\n"));
    }

    #[test]
    fn threads_flags_share_the_memory_and_export_the_tls() {
        let flags = threads_flags().join(" ");
        assert!(flags.starts_with("-C target-feature=+atomics,+bulk-memory,+mutable-globals"));
        for arg in [
            "--shared-memory",
            "--import-memory",
            "--max-memory=1073741824",
            "--export=__wasm_init_tls",
            "--export=__tls_size",
            "--export=__tls_align",
            "--export=__tls_base",
        ] {
            assert!(
                flags.contains(&format!("-C link-arg={arg}")),
                "{arg} in {flags}"
            );
        }
    }

    #[test]
    fn release_settings_follow_the_opt_choice() {
        let speed = release_settings(&BuildOptions::default());
        assert_eq!(speed[0], ("opt-level", toml::Value::Integer(3)));
        let size = release_settings(&BuildOptions {
            opt: Opt::Size,
            ..BuildOptions::default()
        });
        assert_eq!(size[0], ("opt-level", toml::Value::String("z".into())));
        assert!(debug_settings(Debug::Default).is_empty());
        assert!(debug_settings(Debug::Profiling).is_empty());
        assert!(debug_settings(Debug::Full).contains(&"profile.release.debug=2".to_string()));
    }
}
