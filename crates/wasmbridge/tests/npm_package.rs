//! The runtime directory is also the npm package `wasmbridge`: one source,
//! two packagings. These tests keep the two in step: the package's version is
//! the CLI's, and the package ships exactly the files the CLI writes into a
//! bundle (plus its own package.json).

use std::collections::BTreeSet;
use std::path::PathBuf;
use wasmbridge::runtime::FILES as RUNTIME_FILES;

fn package_json() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("runtime")
        .join("package.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

#[test]
fn npm_version_is_the_cli_version() {
    let package = package_json();
    assert_eq!(
        package["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "runtime/package.json's version must equal the wasmbridge crate's"
    );
    assert_eq!(package["name"].as_str(), Some("wasmbridge"));
    assert_eq!(package["license"].as_str(), Some(env!("CARGO_PKG_LICENSE")));
}

#[test]
fn npm_files_are_the_bundle_runtime() {
    let package = package_json();
    let listed: BTreeSet<&str> = package["files"]
        .as_array()
        .map(|files| files.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    let embedded: BTreeSet<&str> = RUNTIME_FILES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        listed, embedded,
        "package.json's files and runtime::FILES must name the same runtime files"
    );
}

#[test]
fn godot_adapter_reports_the_cli_version() {
    let godot = RUNTIME_FILES
        .iter()
        .find(|(name, _)| *name == "godot.js")
        .map(|(_, text)| *text)
        .unwrap_or_default();
    let expected = format!("export const VERSION = '{}';", env!("CARGO_PKG_VERSION"));
    assert!(
        godot.contains(&expected),
        "godot.js must declare {expected}, the version window.WasmBridge.version reports"
    );
}

#[test]
fn only_the_godot_adapter_has_side_effects() {
    // godot.js installs `window.WasmBridge` when it is loaded; a bundler told
    // the package has no side effects would drop `import 'wasmbridge/godot'`.
    let package = package_json();
    assert_eq!(
        package["sideEffects"],
        serde_json::json!(["./godot.js"]),
        "sideEffects must name exactly the modules that act when imported"
    );
    let godot = RUNTIME_FILES
        .iter()
        .find(|(name, _)| *name == "godot.js")
        .map(|(_, text)| *text)
        .unwrap_or_default();
    assert!(godot.contains("\nif (typeof window !== 'undefined') install();"));
    for (name, text) in RUNTIME_FILES
        .iter()
        .filter(|(n, _)| n.ends_with(".js") && *n != "godot.js")
    {
        assert!(
            !text.lines().any(|l| l.starts_with("if (typeof window")),
            "{name} acts when imported but is not listed in sideEffects"
        );
    }
}
