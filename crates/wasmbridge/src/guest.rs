//! Which crate to build and whether it can be built: `cargo metadata` picks
//! the guest package (as cargo would: `-p`, else the package of the current
//! directory) and tells which `wasm-bindgen` it resolved, which must be the
//! version this CLI links.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::WASM_BINDGEN_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("could not run cargo metadata (is cargo on PATH?)")]
    Spawn(#[source] std::io::Error),
    #[error("{package} resolves wasm-bindgen to a version other than {WASM_BINDGEN_VERSION}, the one this wasmbridge links; both must match to the patch. Put this line under [dependencies] in {manifest}:\n    wasm-bindgen = \"={WASM_BINDGEN_VERSION}\"\ncargo said: {cargo}")]
    WasmBindgenConflict {
        package: String,
        manifest: PathBuf,
        cargo: String,
    },
    #[error("cargo metadata failed in {dir}: {stderr}")]
    Metadata { dir: PathBuf, stderr: String },
    #[error("cargo metadata printed something that is not its JSON format")]
    Json(#[source] serde_json::Error),
    #[error("no package named {wanted:?} in the workspace at {root}; it has {}", .have.join(", "))]
    NoSuchPackage {
        wanted: String,
        root: PathBuf,
        have: Vec<String>,
    },
    #[error("the workspace at {root} has several guest crates ({}): choose one with -p", .guests.join(", "))]
    SeveralGuests { root: PathBuf, guests: Vec<String> },
    #[error("no guest crate here: {dir} is not inside a package with a cdylib target (the workspace has {})", .have.join(", "))]
    NoGuestHere { dir: PathBuf, have: Vec<String> },
    #[error("package {package:?} has no cdylib target: add `[lib] crate-type = [\"cdylib\", \"rlib\"]` to {manifest}")]
    NotCdylib { package: String, manifest: PathBuf },
    #[error("{package} uses wasm-bindgen {found}, but this wasmbridge links wasm-bindgen {WASM_BINDGEN_VERSION} and the two must match to the patch. Put this line under [dependencies] in {manifest}:\n    wasm-bindgen = \"={WASM_BINDGEN_VERSION}\"\nthen run `cargo update -p wasm-bindgen` if Cargo.lock still holds {found}")]
    WasmBindgenMismatch {
        package: String,
        found: String,
        manifest: PathBuf,
    },
    #[error("{package} does not depend on wasm-bindgen. Put this line under [dependencies] in {manifest}:\n    wasm-bindgen = \"={WASM_BINDGEN_VERSION}\"")]
    NoWasmBindgen { package: String, manifest: PathBuf },
}

/// The guest package to build, as `cargo metadata` describes it.
#[derive(Debug, Clone)]
pub struct Guest {
    pub name: String,
    /// The library name: the `.wasm` file's stem.
    pub lib_name: String,
    /// The directory of the package's Cargo.toml.
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    /// The features the package declares (`[features]` keys), for `--threads`.
    pub features: BTreeSet<String>,
}

/// A package of the workspace, reduced to what the choice needs.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    name: String,
    manifest: PathBuf,
    cdylib: Option<String>,
    features: BTreeSet<String>,
}

/// Runs `cargo metadata` in `dir` and picks the guest: `package` if given,
/// else the package whose directory holds `dir`, else the only cdylib of
/// the workspace. Checks its wasm-bindgen version before anything compiles.
pub fn locate(dir: &Path, package: Option<&str>) -> Result<Guest, GuestError> {
    let output = Command::new(crate::build::cargo())
        .current_dir(dir)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            crate::toolchain::TARGET,
        ])
        .output()
        .map_err(GuestError::Spawn)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        // Two exact pins of wasm-bindgen (the guest's and wasmbridge-guest's)
        // cannot be resolved at all; say what to change instead of cargo's
        // resolver trace alone.
        if stderr.contains("failed to select a version for `wasm-bindgen`")
            || stderr.contains("failed to select a version for the requirement `wasm-bindgen")
        {
            let manifest = nearest_manifest(dir).unwrap_or_else(|| dir.join("Cargo.toml"));
            return Err(GuestError::WasmBindgenConflict {
                package: package.map_or_else(|| "the guest".to_string(), str::to_string),
                manifest,
                cargo: stderr,
            });
        }
        return Err(GuestError::Metadata {
            dir: dir.to_path_buf(),
            stderr,
        });
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(GuestError::Json)?;
    let workspace_root = PathBuf::from(meta["workspace_root"].as_str().unwrap_or("."));
    let target_dir = PathBuf::from(meta["target_directory"].as_str().unwrap_or("target"));
    let member_ids: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let members: Vec<Member> = packages
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| member_ids.contains(id)))
        .map(member)
        .collect();
    let chosen = choose(&members, package, dir, &workspace_root)?;
    let Some(lib_name) = chosen.cdylib.clone() else {
        return Err(GuestError::NotCdylib {
            package: chosen.name.clone(),
            manifest: chosen.manifest.clone(),
        });
    };
    let versions: HashMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["version"].as_str()?)))
        .collect();
    let names: HashMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let found = wasm_bindgen_versions(&meta["resolve"], &chosen.id, &names, &versions);
    check_wasm_bindgen(&chosen.name, &chosen.manifest, &found)?;
    let dir = chosen
        .manifest
        .parent()
        .map_or_else(|| workspace_root.clone(), Path::to_path_buf);
    Ok(Guest {
        name: chosen.name.clone(),
        lib_name: lib_name.replace('-', "_"),
        dir,
        manifest: chosen.manifest.clone(),
        workspace_root,
        target_dir,
        features: chosen.features.clone(),
    })
}

fn member(p: &serde_json::Value) -> Member {
    let cdylib = p["targets"].as_array().and_then(|ts| {
        ts.iter()
            .find(|t| {
                t["crate_types"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|k| k.as_str() == Some("cdylib")))
            })
            .and_then(|t| t["name"].as_str().map(str::to_string))
    });
    Member {
        id: p["id"].as_str().unwrap_or_default().to_string(),
        name: p["name"].as_str().unwrap_or_default().to_string(),
        manifest: PathBuf::from(p["manifest_path"].as_str().unwrap_or_default()),
        cdylib,
        features: p["features"]
            .as_object()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

/// The package choice, as cargo makes it for `cargo build` in `dir`.
fn choose<'a>(
    members: &'a [Member],
    package: Option<&str>,
    dir: &Path,
    root: &Path,
) -> Result<&'a Member, GuestError> {
    let names = || members.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    if let Some(wanted) = package {
        return members.iter().find(|m| m.name == wanted).ok_or_else(|| {
            GuestError::NoSuchPackage {
                wanted: wanted.to_string(),
                root: root.to_path_buf(),
                have: names(),
            }
        });
    }
    // The package whose directory is the nearest ancestor of `dir`.
    let here = members
        .iter()
        .filter_map(|m| {
            let pkg_dir = m.manifest.parent()?;
            dir.starts_with(pkg_dir)
                .then_some((pkg_dir.components().count(), m))
        })
        .max_by_key(|(depth, _)| *depth)
        .map(|(_, m)| m);
    if let Some(m) = here {
        return Ok(m);
    }
    let guests: Vec<&Member> = members.iter().filter(|m| m.cdylib.is_some()).collect();
    match guests.as_slice() {
        [only] => Ok(only),
        [] => Err(GuestError::NoGuestHere {
            dir: dir.to_path_buf(),
            have: names(),
        }),
        several => Err(GuestError::SeveralGuests {
            root: root.to_path_buf(),
            guests: several.iter().map(|m| m.name.clone()).collect(),
        }),
    }
}

/// Every wasm-bindgen version in the dependency closure of `root_id`.
fn wasm_bindgen_versions(
    resolve: &serde_json::Value,
    root_id: &str,
    names: &HashMap<&str, &str>,
    versions: &HashMap<&str, &str>,
) -> BTreeSet<String> {
    let nodes: HashMap<&str, Vec<&str>> = resolve["nodes"]
        .as_array()
        .map(|ns| {
            ns.iter()
                .filter_map(|n| {
                    let deps = n["dependencies"]
                        .as_array()
                        .map(|d| d.iter().filter_map(serde_json::Value::as_str).collect())
                        .unwrap_or_default();
                    Some((n["id"].as_str()?, deps))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root_id];
    let mut found = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if names.get(id) == Some(&"wasm-bindgen") {
            if let Some(v) = versions.get(id) {
                found.insert((*v).to_string());
            }
        }
        if let Some(deps) = nodes.get(id) {
            stack.extend(deps.iter().copied());
        }
    }
    found
}

/// The decision on the resolved versions alone.
fn check_wasm_bindgen(
    package: &str,
    manifest: &Path,
    found: &BTreeSet<String>,
) -> Result<(), GuestError> {
    if found.is_empty() {
        return Err(GuestError::NoWasmBindgen {
            package: package.to_string(),
            manifest: manifest.to_path_buf(),
        });
    }
    match found.iter().find(|v| v.as_str() != WASM_BINDGEN_VERSION) {
        Some(other) => Err(GuestError::WasmBindgenMismatch {
            package: package.to_string(),
            found: other.clone(),
            manifest: manifest.to_path_buf(),
        }),
        None => Ok(()),
    }
}

fn nearest_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|m| m.is_file())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(name: &str, dir: &str, cdylib: bool) -> Member {
        Member {
            id: name.into(),
            name: name.into(),
            manifest: PathBuf::from(dir).join("Cargo.toml"),
            cdylib: cdylib.then(|| name.replace('-', "_")),
            features: BTreeSet::new(),
        }
    }

    #[test]
    fn the_package_of_the_current_directory_is_chosen() {
        let members = [
            m("a", "/w/crates/a", true),
            m("b", "/w/crates/b", true),
            m("root", "/w", false),
        ];
        let root = Path::new("/w");
        assert_eq!(
            choose(&members, None, Path::new("/w/crates/b/src"), root)
                .unwrap()
                .name,
            "b"
        );
        assert_eq!(
            choose(&members, Some("a"), Path::new("/w/crates/b"), root)
                .unwrap()
                .name,
            "a"
        );
        assert_eq!(
            choose(&members, None, Path::new("/w"), root).unwrap().name,
            "root"
        );
    }

    #[test]
    fn a_virtual_root_with_several_guests_lists_them() {
        let members = [
            m("a", "/w/crates/a", true),
            m("b", "/w/crates/b", true),
            m("tool", "/w/tool", false),
        ];
        let err = choose(&members, None, Path::new("/w"), Path::new("/w")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the workspace at /w has several guest crates (a, b): choose one with -p"
        );
        let one = [m("a", "/w/crates/a", true), m("tool", "/w/tool", false)];
        assert_eq!(
            choose(&one, None, Path::new("/w"), Path::new("/w"))
                .unwrap()
                .name,
            "a"
        );
        let err = choose(&members, Some("zz"), Path::new("/w"), Path::new("/w")).unwrap_err();
        assert!(err.to_string().contains("no package named \"zz\""), "{err}");
    }

    #[test]
    fn another_wasm_bindgen_shows_the_line_to_write() {
        let found: BTreeSet<String> = ["0.2.129".to_string()].into();
        let err = check_wasm_bindgen("g", Path::new("/g/Cargo.toml"), &found).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("wasm-bindgen = \"=0.2.130\""), "{text}");
        assert!(text.contains("uses wasm-bindgen 0.2.129"), "{text}");
        let ok: BTreeSet<String> = [WASM_BINDGEN_VERSION.to_string()].into();
        assert!(check_wasm_bindgen("g", Path::new("/g/Cargo.toml"), &ok).is_ok());
        assert!(check_wasm_bindgen("g", Path::new("/g/Cargo.toml"), &BTreeSet::new()).is_err());
    }
}
