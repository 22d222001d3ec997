//! `wasmbridge new <name>`: a guest crate that builds, tests and runs in a
//! page as it is: Cargo.toml with the pinned wasm-bindgen and
//! wasmbridge-guest, a fallible function with a native unit test, an
//! `index.html` that starts a pool and shows a result, and `.gitignore`.

use std::path::{Path, PathBuf};

use crate::build::WASM_BINDGEN_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error("{name:?} is not a valid crate name: expected ASCII letters, digits, `-` or `_`, starting with a letter")]
    BadName { name: String },
    #[error("{} already exists and is not empty; choose another name or remove it", .0.display())]
    Exists(PathBuf),
    #[error("--guest-path {} has no Cargo.toml of wasmbridge-guest", .0.display())]
    NotAGuestCrate(PathBuf),
    #[error("could not write {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where the new crate gets `wasmbridge-guest` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestSource {
    /// A local checkout of the wasmbridge repository's `crates/wasmbridge-guest`.
    Path(PathBuf),
    /// A git repository holding the wasmbridge workspace.
    Git(String),
    /// crates.io, at this CLI's own version.
    Registry,
}

impl GuestSource {
    /// The default: the `wasmbridge-guest` next to this CLI's own sources when
    /// they are still on disk (`cargo install --path` and `cargo install --git`
    /// both keep them), else crates.io at this CLI's version.
    pub fn default_for_this_cli() -> Self {
        Self::sibling_of(Path::new(env!("CARGO_MANIFEST_DIR")))
    }

    fn sibling_of(cli_crate: &Path) -> Self {
        match cli_crate.parent().map(|p| p.join("wasmbridge-guest")) {
            Some(dir) if is_guest_crate(&dir) => GuestSource::Path(dir),
            _ => GuestSource::Registry,
        }
    }

    /// The right-hand side of `wasmbridge-guest = …` in Cargo.toml.
    fn dependency(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        match self {
            GuestSource::Path(p) => format!("{{ path = {} }}", quote(&p.to_string_lossy())),
            GuestSource::Git(url) => format!("{{ git = {} }}", quote(url)),
            GuestSource::Registry => quote(&format!("={}", env!("CARGO_PKG_VERSION"))),
        }
    }
}

fn is_guest_crate(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|text| text.contains("name = \"wasmbridge-guest\""))
}

/// What `new` wrote.
#[derive(Debug, Clone)]
pub struct Created {
    pub dir: PathBuf,
    pub source: GuestSource,
}

/// Writes the crate `name` into `parent/name`.
pub fn create(parent: &Path, name: &str, source: GuestSource) -> Result<Created, NewError> {
    check_name(name)?;
    let source = match source {
        GuestSource::Path(p) => {
            let p = std::path::absolute(&p).unwrap_or(p);
            if !is_guest_crate(&p) {
                return Err(NewError::NotAGuestCrate(p));
            }
            GuestSource::Path(p)
        }
        other => other,
    };
    let dir = parent.join(name);
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(NewError::Exists(dir));
    }
    let lib_name = name.replace('-', "_");
    let files = [
        ("Cargo.toml", cargo_toml(name, &source)),
        ("src/lib.rs", LIB_RS.replace("{name}", name)),
        ("index.html", INDEX_HTML.replace("{name}", name)),
        (".gitignore", GITIGNORE.to_string()),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text.replace("{lib_name}", &lib_name))
        };
        write().map_err(|source| NewError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(Created { dir, source })
}

fn check_name(name: &str) -> Result<(), NewError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(NewError::BadName {
            name: name.to_string(),
        })
    }
}

fn cargo_toml(name: &str, source: &GuestSource) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"

[lib]
# cdylib is the .wasm module; rlib lets `cargo test` run the functions natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
# Must be the exact version the wasmbridge CLI links (`wasmbridge build` checks it).
wasm-bindgen = "={WASM_BINDGEN_VERSION}"
wasmbridge-guest = {}
"#,
        source.dependency()
    )
}

const LIB_RS: &str = r#"//! {name}: Rust functions a web page calls through a wasmbridge worker pool.

use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

/// Mean of the values; an empty list reaches JavaScript as a BAD_ARGUMENT error.
#[wasm_bindgen]
pub fn mean(values: &[f64]) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::bad_argument("mean needs at least one value, got none"));
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}

/// Counts to n, reporting progress and giving up when the caller cancels.
#[wasm_bindgen(js_name = "slowCount")]
pub fn slow_count(n: u32) -> Result<u32> {
    for i in 0..n {
        if wasmbridge_guest::cancelled() {
            return Err(Error::cancelled());
        }
        if i % 1024 == 0 {
            wasmbridge_guest::progress(f64::from(i) / f64::from(n));
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_values() {
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), Ok(2.5));
    }

    #[test]
    fn mean_of_nothing_is_a_bad_argument() {
        let err = mean(&[]).unwrap_err();
        assert_eq!(err.code(), "BAD_ARGUMENT");
    }

    #[test]
    fn counting_outside_a_worker_runs_to_the_end() {
        assert_eq!(slow_count(5000), Ok(5000));
    }
}
"#;

const INDEX_HTML: &str = r#"<!doctype html>
<!-- Serve this directory after `wasmbridge build --release --out wasmbridge`:
     `wasmbridge serve .` (the bundle is then at ./wasmbridge/). -->
<meta charset="utf-8">
<title>{name}</title>
<link rel="icon" href="data:,">
<!-- The runtime, one linked module in a bundle, fetched while the page is
     parsed instead of after it (wasmbridge's README, "Start-up"). -->
<link rel="modulepreload" href="./wasmbridge/wasmbridge.js">
<h1>{name}</h1>
<p>mean([1, 2, 3, 4]) = <output id="mean">…</output></p>
<p>mean([]) fails with <output id="error">…</output></p>
<script type="module">
  import { createPool, WasmBridgeError } from './wasmbridge/wasmbridge.js';

  const pool = await createPool({ size: 2, timeout: 5000 });
  document.getElementById('mean').textContent = await pool.call('mean', new Float64Array([1, 2, 3, 4]));
  try {
    await pool.call('mean', new Float64Array());
  } catch (e) {
    document.getElementById('error').textContent = e instanceof WasmBridgeError ? `${e.code}: ${e.message}` : String(e);
  }
</script>
"#;

const GITIGNORE: &str = "/target\n/wasmbridge\n";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("hello-world_2").is_ok());
        for bad in ["", "2fast", "a b", "é", "-x"] {
            assert!(check_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_default_guest_is_the_checkout_next_to_this_cli() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let GuestSource::Path(p) = GuestSource::sibling_of(here) else {
            panic!("this CLI's sources have wasmbridge-guest next to them");
        };
        assert!(p.ends_with("wasmbridge-guest"));
        assert_eq!(
            GuestSource::sibling_of(Path::new("/nowhere/wasmbridge")),
            GuestSource::Registry
        );
    }

    #[test]
    fn dependencies_are_valid_toml() {
        for source in [
            GuestSource::Path(PathBuf::from("/a \"quoted\" path")),
            GuestSource::Git("https://example.com/wasmbridge.git".into()),
            GuestSource::Registry,
        ] {
            let text = cargo_toml("x", &source);
            let doc: toml::Table = text.parse().unwrap();
            assert!(
                doc["dependencies"].get("wasmbridge-guest").is_some(),
                "{text}"
            );
            assert_eq!(
                doc["dependencies"]["wasm-bindgen"].as_str(),
                Some("=0.2.130")
            );
        }
    }
}
