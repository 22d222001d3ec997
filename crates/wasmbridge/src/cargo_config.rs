//! What the user already told cargo, so wasmbridge adds to it and never
//! replaces it: which `profile.release` settings they chose (those win over
//! the ones wasmbridge injects) and where their rustflags come from (the
//! flags wasmbridge needs are appended to that same source).
//!
//! Cargo takes rustflags from the first of four sources that is set:
//! `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, the matching `target.*.rustflags`
//! entries, `build.rustflags` (the cargo reference, "Configuration",
//! `build.rustflags`). Adding to a lower source than the one in use would be
//! ignored, and adding to a higher one would hide the user's flags.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::toolchain::TARGET;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
}

/// Where the user's rustflags for the wasm build come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagSource {
    /// `CARGO_ENCODED_RUSTFLAGS`, flags separated by `\x1f`.
    Encoded(String),
    /// `RUSTFLAGS`, flags separated by spaces.
    Plain(String),
    /// `target.<triple or cfg>.rustflags` in a config file or the environment.
    Target,
    /// `build.rustflags` in a config file or `CARGO_BUILD_RUSTFLAGS`.
    Build,
    /// No rustflags anywhere.
    None,
}

/// The user's settings that matter to a wasmbridge build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConfig {
    /// Keys of `profile.release` set in the workspace manifest, a config file
    /// or a `CARGO_PROFILE_RELEASE_*` variable, e.g. `opt-level`.
    pub release_keys: BTreeSet<String>,
    pub flags: FlagSource,
}

/// How to pass the extra flags: an environment variable to set, or a
/// `--config` argument for cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagsPlan {
    Env { name: &'static str, value: String },
    Config(String),
}

/// The settings a release build injects when the user has not set them.
pub const RELEASE_KEYS: &[&str] = &["opt-level", "lto", "codegen-units", "panic"];

impl UserConfig {
    /// Reads the workspace manifest at `workspace_root`, the config files cargo
    /// reads when run in `dir`, and the environment.
    pub fn load(dir: &Path, workspace_root: &Path) -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let mut tables = Vec::new();
        let manifest = workspace_root.join("Cargo.toml");
        if let Some(doc) = read_toml(&manifest)? {
            tables.push((Origin::Manifest, doc));
        }
        for path in config_files(dir) {
            if let Some(doc) = read_toml(&path)? {
                tables.push((Origin::Config, doc));
            }
        }
        Ok(Self::from_sources(&tables, &env))
    }

    fn from_sources(
        tables: &[(Origin, toml::Table)],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        let mut release_keys = BTreeSet::new();
        let (mut target_flags, mut build_flags) = (false, false);
        for (origin, doc) in tables {
            if let Some(release) = doc
                .get("profile")
                .and_then(|p| p.get("release"))
                .and_then(toml::Value::as_table)
            {
                release_keys.extend(release.keys().cloned());
            }
            if *origin == Origin::Manifest {
                // Cargo.toml has no rustflags of its own on stable.
                continue;
            }
            if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
                // A `cfg(...)` key is taken to match wasm32; evaluating cfg
                // expressions here would duplicate cargo for a rare case.
                target_flags |= targets.iter().any(|(key, value)| {
                    (key == TARGET || key.starts_with("cfg(")) && value.get("rustflags").is_some()
                });
            }
            build_flags |= doc.get("build").and_then(|b| b.get("rustflags")).is_some();
        }
        for key in RELEASE_KEYS.iter().chain(["debug", "strip"].iter()) {
            let var = format!(
                "CARGO_PROFILE_RELEASE_{}",
                key.to_ascii_uppercase().replace('-', "_")
            );
            if env(&var).is_some() {
                release_keys.insert((*key).to_string());
            }
        }
        let flags = if let Some(v) = env("CARGO_ENCODED_RUSTFLAGS") {
            FlagSource::Encoded(v)
        } else if let Some(v) = env("RUSTFLAGS") {
            FlagSource::Plain(v)
        } else if target_flags || env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS").is_some() {
            FlagSource::Target
        } else if build_flags || env("CARGO_BUILD_RUSTFLAGS").is_some() {
            FlagSource::Build
        } else {
            FlagSource::None
        };
        UserConfig {
            release_keys,
            flags,
        }
    }

    /// `--config` arguments setting each of `wanted` the user has not set.
    pub fn release_overrides(&self, wanted: &[(&str, toml::Value)]) -> Vec<String> {
        wanted
            .iter()
            .filter(|(key, _)| !self.release_keys.contains(*key))
            .map(|(key, value)| format!("profile.release.{key}={value}"))
            .collect()
    }

    /// How to add `extra` to the user's rustflags; `None` when there is nothing to add.
    pub fn flags_plan(&self, extra: &[String]) -> Option<FlagsPlan> {
        if extra.is_empty() {
            return None;
        }
        let array = || toml::Value::Array(extra.iter().cloned().map(toml::Value::String).collect());
        Some(match &self.flags {
            FlagSource::Encoded(existing) => FlagsPlan::Env {
                name: "CARGO_ENCODED_RUSTFLAGS",
                value: join_nonempty(existing, &extra.join("\x1f"), '\x1f'),
            },
            FlagSource::Plain(existing) => FlagsPlan::Env {
                name: "RUSTFLAGS",
                value: join_nonempty(existing.trim(), &extra.join(" "), ' '),
            },
            FlagSource::Build => FlagsPlan::Config(format!("build.rustflags={}", array())),
            FlagSource::Target | FlagSource::None => {
                FlagsPlan::Config(format!("target.{TARGET}.rustflags={}", array()))
            }
        })
    }
}

fn join_nonempty(existing: &str, extra: &str, sep: char) -> String {
    if existing.is_empty() {
        extra.to_string()
    } else {
        format!("{existing}{sep}{extra}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Manifest,
    Config,
}

fn read_toml(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
}

/// The config files cargo reads when run in `dir`: `.cargo/config.toml` (or
/// the older `.cargo/config`) in `dir` and every ancestor, then `$CARGO_HOME`.
fn config_files(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = dir.ancestors().map(|d| d.join(".cargo")).collect();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        if !dirs.contains(&home) {
            dirs.push(home);
        }
    }
    dirs.into_iter()
        .filter_map(|d| {
            [d.join("config.toml"), d.join("config")]
                .into_iter()
                .find(|f| f.is_file())
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(tables: &[(Origin, &str)], vars: &[(&str, &str)]) -> UserConfig {
        let tables: Vec<_> = tables
            .iter()
            .map(|(o, t)| (*o, t.parse::<toml::Table>().unwrap()))
            .collect();
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        };
        UserConfig::from_sources(&tables, &env)
    }

    fn simd() -> Vec<String> {
        vec!["-C".into(), "target-feature=+simd128".into()]
    }

    #[test]
    fn user_profile_settings_win() {
        let user = config(
            &[(Origin::Manifest, "[profile.release]\nopt-level = 2\n")],
            &[("CARGO_PROFILE_RELEASE_LTO", "thin")],
        );
        let args = user.release_overrides(&[
            ("opt-level", toml::Value::String("z".into())),
            ("lto", toml::Value::Boolean(true)),
            ("codegen-units", toml::Value::Integer(1)),
        ]);
        assert_eq!(args, vec!["profile.release.codegen-units=1".to_string()]);
    }

    #[test]
    fn config_file_profiles_count_too() {
        let user = config(
            &[(Origin::Config, "[profile.release]\npanic = 'unwind'\n")],
            &[],
        );
        assert!(user.release_keys.contains("panic"));
        let args = user.release_overrides(&[("opt-level", toml::Value::String("s".into()))]);
        assert_eq!(args, vec![r#"profile.release.opt-level="s""#.to_string()]);
    }

    #[test]
    fn rustflags_are_appended_to_the_source_in_use() {
        let env_flags = config(&[], &[("RUSTFLAGS", "--cfg mine ")]);
        assert_eq!(
            env_flags.flags_plan(&simd()),
            Some(FlagsPlan::Env {
                name: "RUSTFLAGS",
                value: "--cfg mine -C target-feature=+simd128".into()
            })
        );
        let encoded = config(
            &[],
            &[
                ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1fmine"),
                ("RUSTFLAGS", "ignored"),
            ],
        );
        assert_eq!(
            encoded.flags_plan(&simd()),
            Some(FlagsPlan::Env {
                name: "CARGO_ENCODED_RUSTFLAGS",
                value: "--cfg\x1fmine\x1f-C\x1ftarget-feature=+simd128".into()
            })
        );
        let build = config(
            &[(Origin::Config, "[build]\nrustflags = ['--cfg', 'mine']\n")],
            &[],
        );
        assert_eq!(
            build.flags_plan(&simd()),
            Some(FlagsPlan::Config(
                r#"build.rustflags=["-C", "target-feature=+simd128"]"#.into()
            ))
        );
        let target = config(
            &[(
                Origin::Config,
                "[build]\nrustflags = ['x']\n[target.wasm32-unknown-unknown]\nrustflags = ['--cfg', 'mine']\n",
            )],
            &[],
        );
        assert_eq!(target.flags, FlagSource::Target);
        let Some(FlagsPlan::Config(arg)) = target.flags_plan(&simd()) else {
            panic!("expected a --config argument");
        };
        assert!(
            arg.starts_with("target.wasm32-unknown-unknown.rustflags="),
            "{arg}"
        );
        assert_eq!(config(&[], &[]).flags, FlagSource::None);
        assert_eq!(config(&[], &[]).flags_plan(&[]), None);
    }

    #[test]
    fn manifests_do_not_carry_rustflags() {
        let user = config(&[(Origin::Manifest, "[build]\nrustflags = ['x']\n")], &[]);
        assert_eq!(user.flags, FlagSource::None);
    }
}
