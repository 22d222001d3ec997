//! Finding and running `wasm-opt` (binaryen). Looked for in this order:
//! `WASMBRIDGE_WASM_OPT`, `PATH` (only a binaryen new enough for
//! wasm-bindgen 0.2.130's output), then a copy wasmbridge installs once into
//! its cache directory from npm's `binaryen` package. npm never runs inside
//! the user's project.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest binaryen whose wasm-opt keeps wasm-bindgen 0.2.130's output
/// working. Debian 12's binaryen 108 breaks it (`WebAssembly.Table.set():
/// Argument 1 is invalid for table` at init, even with no passes); the README
/// guest optimised by binaryen 116 instantiates and answers (checked in Node 20's
/// V8, where 108's output fails with that same error).
pub const MIN_BINARYEN: u32 = 116;

/// The npm `binaryen` release wasmbridge installs into its cache.
pub const CACHED_BINARYEN: &str = "132.0.0";

#[derive(Debug, thiserror::Error)]
pub enum WasmOptError {
    #[error("WASMBRIDGE_WASM_OPT is {path}, which cannot be run")]
    EnvUnusable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no usable wasm-opt for this release build: {why}; install Node.js and npm so wasmbridge can fetch binaryen {CACHED_BINARYEN} into {cache}, or set WASMBRIDGE_WASM_OPT to a wasm-opt of binaryen {MIN_BINARYEN} or newer, or pass --no-opt to skip optimisation")]
    Unavailable { why: String, cache: String },
    #[error("could not run {tool}")]
    Spawn {
        tool: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("wasm-opt failed on {wasm}: {stderr}")]
    Failed { wasm: PathBuf, stderr: String },
    #[error("could not write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A wasm-opt that runs, with where it came from (for the build's log line).
#[derive(Debug, Clone)]
pub struct WasmOpt {
    pub path: PathBuf,
    pub origin: &'static str,
}

/// How much to keep and what to aim for when optimising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passes {
    /// `-O3` for speed, `-Oz` for size.
    pub size: bool,
    /// Keep names and DWARF (`-g`).
    pub keep_names: bool,
    pub simd: bool,
    /// The module shares its memory and uses atomics (`wasmbridge build --threads`).
    pub threads: bool,
}

/// Features of the modules rustc 1.95 emits for wasm32-unknown-unknown;
/// wasm-opt must accept them and may use them.
const WASM_FEATURES: &[&str] = &[
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-reference-types",
    "--enable-multivalue",
];

impl WasmOpt {
    /// Optimises `wasm` in place.
    pub fn run(&self, wasm: &Path, passes: Passes) -> Result<(), WasmOptError> {
        let optimised = wasm.with_extension("opt.wasm");
        let mut cmd = Command::new(&self.path);
        cmd.arg(if passes.size { "-Oz" } else { "-O3" })
            .args(WASM_FEATURES);
        if passes.simd {
            cmd.arg("--enable-simd");
        }
        if passes.threads {
            cmd.arg("--enable-threads");
        }
        if passes.keep_names {
            cmd.arg("-g");
        }
        let output = cmd
            .arg(wasm)
            .arg("-o")
            .arg(&optimised)
            .output()
            .map_err(|source| WasmOptError::Spawn {
                tool: self.path.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(WasmOptError::Failed {
                wasm: wasm.to_path_buf(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        std::fs::rename(&optimised, wasm).map_err(|source| WasmOptError::Io {
            path: wasm.to_path_buf(),
            source,
        })
    }
}

/// The binaryen version of `wasm-opt --version` output, e.g.
/// `wasm-opt version 132 (version_132)` or `wasm-opt version 108`.
pub fn parse_version(text: &str) -> Option<u32> {
    let rest = text.split("version").nth(1)?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn version_of(tool: &Path) -> Option<u32> {
    let output = Command::new(tool).arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    parse_version(&String::from_utf8_lossy(&output.stdout))
}

/// `$XDG_CACHE_HOME/wasmbridge`, else `~/.cache/wasmbridge`.
pub fn cache_dir() -> Option<PathBuf> {
    cache_dir_from(
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

fn cache_dir_from(xdg: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    // The XDG spec says a relative value is invalid and must be ignored.
    let base = xdg
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(".cache")))?;
    Some(base.join("wasmbridge"))
}

fn cached_tool(cache: &Path) -> PathBuf {
    cached_tool_in(&cache.join(format!("binaryen-{CACHED_BINARYEN}")))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Finds a usable wasm-opt, installing binaryen into the cache when there is none.
pub fn find() -> Result<WasmOpt, WasmOptError> {
    if let Some(path) = std::env::var_os("WASMBRIDGE_WASM_OPT") {
        let path = PathBuf::from(path);
        Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|source| WasmOptError::EnvUnusable {
                path: path.clone(),
                source,
            })?;
        return Ok(WasmOpt {
            path,
            origin: "WASMBRIDGE_WASM_OPT",
        });
    }
    let mut why = Vec::new();
    if let Some(path) = on_path("wasm-opt") {
        match version_of(&path) {
            Some(v) if v >= MIN_BINARYEN => {
                return Ok(WasmOpt {
                    path,
                    origin: "PATH",
                })
            }
            found => {
                let found = found.map_or("an unknown version".to_string(), |v| v.to_string());
                eprintln!(
                    "wasmbridge: ignoring {} (binaryen {found}; wasm-bindgen {} output needs {MIN_BINARYEN} or newer)",
                    path.display(),
                    crate::build::WASM_BINDGEN_VERSION
                );
                why.push(format!("{} is binaryen {found}", path.display()));
            }
        }
    }
    let Some(cache) = cache_dir() else {
        why.push("neither XDG_CACHE_HOME nor HOME is set".into());
        return Err(WasmOptError::Unavailable {
            why: why.join("; "),
            cache: "$XDG_CACHE_HOME/wasmbridge".into(),
        });
    };
    let tool = cached_tool(&cache);
    if !tool.is_file() {
        if let Err(e) = install(&cache) {
            why.push(e);
            return Err(WasmOptError::Unavailable {
                why: why.join("; "),
                cache: cache.display().to_string(),
            });
        }
    }
    Ok(WasmOpt {
        path: tool,
        origin: "wasmbridge's cache",
    })
}

/// `npm install --prefix <cache>/binaryen-<v> binaryen@<v>`, into a scratch
/// directory renamed into place, so two builds installing at once never see
/// half an install.
fn install(cache: &Path) -> Result<(), String> {
    let dest = cache.join(format!("binaryen-{CACHED_BINARYEN}"));
    let scratch = cache.join(format!(
        ".binaryen-{CACHED_BINARYEN}-{}",
        std::process::id()
    ));
    eprintln!(
        "wasmbridge: no wasm-opt found; installing binaryen {CACHED_BINARYEN} from npm into {} (once)",
        dest.display()
    );
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&scratch)
        .arg(format!("binaryen@{CACHED_BINARYEN}"))
        .status();
    let result = match status {
        Err(e) => Err(format!("npm could not be run ({e})")),
        Ok(s) if !s.success() => Err(format!(
            "npm install binaryen@{CACHED_BINARYEN} failed ({s})"
        )),
        Ok(_) if !cached_tool_in(&scratch).is_file() => Err(format!(
            "npm installed binaryen@{CACHED_BINARYEN} but {} is missing",
            cached_tool_in(&scratch).display()
        )),
        Ok(_) => match std::fs::rename(&scratch, &dest) {
            Ok(()) => Ok(()),
            // Another build finished the same install first; theirs is as good.
            Err(_) if cached_tool(cache).is_file() => Ok(()),
            Err(e) => Err(format!(
                "cannot move the install to {}: {e}",
                dest.display()
            )),
        },
    };
    if scratch.exists() {
        // A leftover scratch directory only costs space; the result above is what matters.
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result
}

fn cached_tool_in(prefix: &Path) -> PathBuf {
    prefix.join("node_modules").join(".bin").join("wasm-opt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_both_output_styles() {
        assert_eq!(
            parse_version("wasm-opt version 132 (version_132)\n"),
            Some(132)
        );
        assert_eq!(parse_version("wasm-opt version 108\n"), Some(108));
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn the_cache_follows_xdg_then_home() {
        assert_eq!(
            cache_dir_from(Some("/x/cache".into()), Some("/home/u".into())),
            Some(PathBuf::from("/x/cache/wasmbridge"))
        );
        assert_eq!(
            cache_dir_from(Some("relative".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.cache/wasmbridge"))
        );
        assert_eq!(cache_dir_from(None, None), None);
        assert_eq!(
            cached_tool(Path::new("/c")),
            PathBuf::from("/c/binaryen-132.0.0/node_modules/.bin/wasm-opt")
        );
    }
}
