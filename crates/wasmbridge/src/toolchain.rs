//! The Rust toolchain that will compile the guest: does it have the wasm32
//! target, and if not, add it with rustup. rustup does not add the `targets`
//! of a `rust-toolchain.toml` to a toolchain that is already installed, so a
//! fresh machine usually lacks the target even when the project asks for it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The only target wasmbridge builds guests for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// The rustup toolchain `wasmbridge build --threads` compiles with: the
/// standard library must be rebuilt with atomics (`-Z build-std`), which only
/// nightly allows.
pub const NIGHTLY: &str = "nightly";

#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("could not run `rustc --print sysroot` in {dir}: is Rust installed?")]
    Rustc {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`rustc --print sysroot` failed in {dir}: {stderr}")]
    Sysroot { dir: PathBuf, stderr: String },
    #[error("the {TARGET} target is not installed for the Rust toolchain at {sysroot} and rustup was not found; install the target (`rustup target add {TARGET}`) or use a toolchain that has it")]
    NoRustup { sysroot: PathBuf },
    #[error("wasmbridge build --threads needs rustup's {NIGHTLY} toolchain (the standard library is rebuilt with atomics, which only nightly allows), and `rustup run {NIGHTLY} rustc --print sysroot` failed: {why}; install it with `rustup toolchain install {NIGHTLY}`")]
    NoNightly { why: String },
    #[error("`{command}` failed ({status})")]
    AddFailed { command: String, status: String },
    #[error("could not run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// What was found out about the toolchain that will build, without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The toolchain's sysroot, from `rustc --print sysroot`.
    pub sysroot: PathBuf,
    /// Whether `<sysroot>/lib/rustlib/wasm32-unknown-unknown/lib` exists.
    pub target_installed: bool,
    /// The toolchain name rustup resolves in the guest's directory, when rustup runs.
    pub rustup_toolchain: Option<String>,
}

/// What to do about the target, decided from a [`Probe`] alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The target is there.
    Nothing,
    /// Run this rustup command line (program first).
    Run(Vec<String>),
    /// The target is missing and nothing here can add it.
    Fail,
}

/// The decision: a missing target is added to exactly the toolchain that will
/// build, never to whichever toolchain happens to be rustup's default.
pub fn decide(probe: &Probe) -> Action {
    if probe.target_installed {
        return Action::Nothing;
    }
    match &probe.rustup_toolchain {
        Some(toolchain) => Action::Run(
            ["rustup", "target", "add", TARGET, "--toolchain", toolchain]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
        ),
        None => Action::Fail,
    }
}

/// Looks at the toolchain cargo will use in `dir` (which honours its
/// `rust-toolchain.toml` and `RUSTUP_TOOLCHAIN`).
pub fn probe(dir: &Path) -> Result<Probe, ToolchainError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .current_dir(dir)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|source| ToolchainError::Rustc {
            dir: dir.to_path_buf(),
            source,
        })?;
    if !output.status.success() {
        return Err(ToolchainError::Sysroot {
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let target_installed = sysroot
        .join("lib")
        .join("rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir();
    let rustup_toolchain = if target_installed {
        None
    } else {
        active_toolchain(dir)
    };
    Ok(Probe {
        sysroot,
        target_installed,
        rustup_toolchain,
    })
}

/// `rustup show active-toolchain` prints `<name> (<why>)`; the name is what
/// `rustup target add --toolchain` takes.
fn active_toolchain(dir: &Path) -> Option<String> {
    let output = Command::new("rustup")
        .current_dir(dir)
        .args(["show", "active-toolchain"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    parse_active_toolchain(&String::from_utf8_lossy(&output.stdout))
}

fn parse_active_toolchain(text: &str) -> Option<String> {
    text.split_whitespace().next().map(str::to_string)
}

/// Makes sure the toolchain that builds in `dir` has the wasm32 target,
/// adding it with rustup (and saying so on stderr) when it is missing.
pub fn ensure_target(dir: &Path) -> Result<(), ToolchainError> {
    let probe = probe(dir)?;
    match decide(&probe) {
        Action::Nothing => Ok(()),
        Action::Fail => Err(ToolchainError::NoRustup {
            sysroot: probe.sysroot,
        }),
        Action::Run(argv) => run_rustup(&argv, &format!("the {TARGET} target is missing"), dir),
    }
}

/// Makes sure the nightly toolchain has `rust-src`, the standard library's
/// source that `-Z build-std` compiles, adding it with rustup (and saying so
/// on stderr) when it is missing. The nightly toolchain needs no wasm32
/// target of its own: `-Z build-std` compiles `core` and `std` for the target
/// from that source instead of linking a prebuilt copy.
pub fn ensure_rust_src(dir: &Path) -> Result<(), ToolchainError> {
    let output = Command::new("rustup")
        .current_dir(dir)
        .args(["run", NIGHTLY, "rustc", "--print", "sysroot"])
        .output()
        .map_err(|e| ToolchainError::NoNightly {
            why: format!("rustup could not be run ({e})"),
        })?;
    if !output.status.success() {
        return Err(ToolchainError::NoNightly {
            why: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if has_rust_src(&sysroot) {
        return Ok(());
    }
    let argv: Vec<String> = [
        "rustup",
        "component",
        "add",
        "rust-src",
        "--toolchain",
        NIGHTLY,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    run_rustup(
        &argv,
        &format!("the rust-src component of the {NIGHTLY} toolchain is missing (--threads rebuilds the standard library from it)"),
        dir,
    )
}

/// Whether rustup has the nightly toolchain `--threads` builds with.
pub fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", NIGHTLY, "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Where rustup puts the `rust-src` component inside a sysroot.
fn has_rust_src(sysroot: &Path) -> bool {
    sysroot
        .join("lib")
        .join("rustlib")
        .join("src")
        .join("rust")
        .join("library")
        .join("std")
        .is_dir()
}

/// Runs a rustup command line that installs something missing, saying on
/// stderr what was missing and what runs.
fn run_rustup(argv: &[String], missing: &str, dir: &Path) -> Result<(), ToolchainError> {
    let command = argv.join(" ");
    eprintln!("wasmbridge: {missing}; running `{command}`");
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .status()
        .map_err(|source| ToolchainError::Spawn {
            command: command.clone(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ToolchainError::AddFailed {
            command,
            status: status.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(installed: bool, toolchain: Option<&str>) -> Probe {
        Probe {
            sysroot: PathBuf::from("/toolchains/x"),
            target_installed: installed,
            rustup_toolchain: toolchain.map(str::to_string),
        }
    }

    #[test]
    fn an_installed_target_needs_nothing() {
        assert_eq!(decide(&probe(true, None)), Action::Nothing);
        assert_eq!(
            decide(&probe(true, Some("1.95.0-x86_64-unknown-linux-gnu"))),
            Action::Nothing
        );
    }

    #[test]
    fn a_missing_target_is_added_to_the_toolchain_that_builds() {
        let Action::Run(argv) = decide(&probe(false, Some("1.95.0-x86_64-unknown-linux-gnu")))
        else {
            panic!("expected a rustup command");
        };
        assert_eq!(
            argv.join(" "),
            "rustup target add wasm32-unknown-unknown --toolchain 1.95.0-x86_64-unknown-linux-gnu"
        );
    }

    #[test]
    fn without_rustup_a_missing_target_fails_with_the_command_to_run() {
        assert_eq!(decide(&probe(false, None)), Action::Fail);
        let err = ToolchainError::NoRustup {
            sysroot: PathBuf::from("/usr/lib/rust"),
        };
        assert!(err
            .to_string()
            .contains("rustup target add wasm32-unknown-unknown"));
    }

    #[test]
    fn rust_src_is_found_where_rustup_puts_it() {
        let dir = std::env::temp_dir().join(format!("wasmbridge-rust-src-{}", std::process::id()));
        assert!(!has_rust_src(&dir));
        let std_dir = dir.join("lib/rustlib/src/rust/library/std");
        std::fs::create_dir_all(&std_dir).ok();
        assert!(has_rust_src(&dir));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_toolchain_name_is_the_first_word() {
        assert_eq!(
            parse_active_toolchain(
                "1.95.0-x86_64-unknown-linux-gnu (overridden by '/w/rust-toolchain.toml')\n"
            ),
            Some("1.95.0-x86_64-unknown-linux-gnu".into())
        );
        assert_eq!(parse_active_toolchain(""), None);
    }
}
