//! `wasmbridge godot install` on a fake export in a temporary directory: the
//! bundle lands in `<export>/wasmbridge/`, index.html loads the adapter, a
//! second run changes nothing, and missing inputs are clear errors.

use anyhow::Result;
use std::fs;
use std::path::{Path, PathBuf};
use wasmbridge::godot;

const GODOT_INDEX: &str = r#"<!DOCTYPE html>
<html lang="en">
	<head>
		<meta charset="utf-8">
		<title>My Game</title>
		<style>body { margin: 0; }</style>
	</head>
	<body>
		<canvas id="canvas"></canvas>
		<script src="index.js"></script>
		<script>
const engine = new Engine({"executable":"index"});
engine.startGame();
		</script>
	</body>
</html>
"#;

const BUNDLE_FILES: [(&str, &str); 21] = [
    (
        "manifest.json",
        r#"{"format":1,"glue":"guest.js","wasm":"guest_bg.wasm","functions":[]}"#,
    ),
    ("guest.js", "export default function init() {}\n"),
    ("guest_bg.wasm", "\0asm\x01\0\0\0"),
    // A threaded module (`wasmbridge build --threads`) lives in a subdirectory.
    ("threads/guest.js", "export default function init() {}\n"),
    ("threads/guest_bg.wasm", "\0asm\x01\0\0\0"),
    ("wasmbridge.js", "export {};\n"),
    ("pool.js", "export class Pool {}\n"),
    ("pool-call.js", "export class Call {}\n"),
    ("pool-validate.js", "export function readCall() {}\n"),
    ("pool-load.js", "export function fetchManifest() {}\n"),
    ("manifest.js", "export default null;\n"),
    ("supervisor.js", "export class Supervised {}\n"),
    ("worker.js", "// worker\n"),
    ("protocol.js", "export const PROTOCOL = 'wasmbridge/1';\n"),
    ("lane.js", "export class Lane {}\n"),
    ("lane-codec.js", "export const LANE = {};\n"),
    ("lane-worker.js", "export function serveLane() {}\n"),
    ("shared.js", "export class SharedRegion {}\n"),
    ("threads.js", "export function chooseModule() {}\n"),
    ("thread-worker.js", "// thread worker\n"),
    (
        "error.js",
        "export class WasmBridgeError extends Error {}\n",
    ),
];

fn make_export(root: &Path) -> Result<PathBuf> {
    let export = root.join("export");
    fs::create_dir_all(&export)?;
    fs::write(export.join("index.html"), GODOT_INDEX)?;
    fs::write(export.join("index.js"), "// engine\n")?;
    Ok(export)
}

fn make_bundle(root: &Path) -> Result<PathBuf> {
    let bundle = root.join("bundle");
    fs::create_dir_all(&bundle)?;
    fs::create_dir_all(bundle.join("threads"))?;
    for (name, content) in BUNDLE_FILES {
        fs::write(bundle.join(name), content)?;
    }
    Ok(bundle)
}

fn snapshot(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>, std::time::SystemTime)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let meta = entry.metadata()?;
                out.push((path.clone(), fs::read(&path)?, meta.modified()?));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[test]
fn installs_the_bundle_and_the_loader() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;

    let report = godot::install(&export, &bundle)?;

    assert_eq!(report.target_dir, export.join("wasmbridge"));
    for (name, content) in BUNDLE_FILES {
        assert_eq!(
            fs::read_to_string(export.join("wasmbridge").join(name))?,
            content,
            "{name}"
        );
        assert!(
            report.copied.contains(&name.to_string()),
            "{name} not reported as copied"
        );
    }
    assert!(report.added_adapter);
    let adapter = fs::read_to_string(export.join("wasmbridge/godot.js"))?;
    assert!(
        adapter.contains("window.WasmBridge") || adapter.contains("globalThis.WasmBridge"),
        "godot.js is the adapter"
    );
    assert!(report.html_changed);

    let html = fs::read_to_string(export.join("index.html"))?;
    assert_eq!(html.matches(godot::LOADER_TAG).count(), 1);
    let tag_at = html.find(godot::LOADER_TAG).unwrap_or(usize::MAX);
    let head_end = html.find("</head>").unwrap_or(0);
    let engine_at = html.find("index.js").unwrap_or(0);
    assert!(tag_at < head_end, "the loader is inside <head>");
    assert!(
        tag_at < engine_at,
        "the loader comes before the engine script"
    );
    assert!(
        html.contains(
            "\t\t<script type=\"module\" src=\"wasmbridge/godot.js\"></script>\n\t</head>"
        ),
        "{html}"
    );
    // Everything else is untouched.
    assert_eq!(
        html.replace(
            &format!("\t\t{}\n\t\t{}\n", godot::LOADER_MARKER, godot::LOADER_TAG),
            ""
        ),
        GODOT_INDEX
    );

    assert_eq!(
        report.head_include,
        r#"html/head_include="<script type=\"module\" src=\"wasmbridge/godot.js\"></script>""#
    );
    let printed = report.to_string();
    assert!(printed.contains(&report.head_include), "{printed}");
    Ok(())
}

#[test]
fn a_second_install_changes_nothing() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;

    let first = godot::install(&export, &bundle)?;
    assert!(!first.is_noop());
    let before = snapshot(&export)?;
    // Let a rewrite show in modification times on coarse file systems.
    std::thread::sleep(std::time::Duration::from_millis(20));

    let second = godot::install(&export, &bundle)?;
    assert!(second.is_noop(), "{second:?}");
    assert!(!second.html_changed);
    assert!(second.copied.is_empty());
    // The bundle's files and the adapter (godot.js, godot-codec.js) the CLI added.
    assert_eq!(second.unchanged.len(), BUNDLE_FILES.len() + 2);
    assert_eq!(
        snapshot(&export)?,
        before,
        "the second run rewrote something"
    );
    Ok(())
}

#[test]
fn an_updated_bundle_is_copied_again_without_a_second_loader() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    godot::install(&export, &bundle)?;

    fs::write(bundle.join("guest_bg.wasm"), "\0asm\x01\0\0\0new")?;
    let report = godot::install(&export, &bundle)?;
    assert_eq!(report.copied, vec!["guest_bg.wasm".to_string()]);
    assert!(!report.html_changed);
    let html = fs::read_to_string(export.join("index.html"))?;
    assert_eq!(html.matches("wasmbridge/godot.js").count(), 1);
    Ok(())
}

#[test]
fn a_loader_from_head_include_is_recognised() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    let with_include = GODOT_INDEX.replace(
        "</head>",
        "<script type=\"module\" src=\"wasmbridge/godot.js\"></script>\n\t</head>",
    );
    fs::write(export.join("index.html"), &with_include)?;

    let report = godot::install(&export, &bundle)?;
    assert!(!report.html_changed);
    assert_eq!(fs::read_to_string(export.join("index.html"))?, with_include);
    Ok(())
}

#[test]
fn the_bundles_own_adapter_wins() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    fs::write(bundle.join("godot.js"), "// the bundle's adapter\n")?;
    fs::write(bundle.join("godot-codec.js"), "// the bundle's codec\n")?;

    let report = godot::install(&export, &bundle)?;
    assert!(!report.added_adapter);
    assert_eq!(
        fs::read_to_string(export.join("wasmbridge/godot.js"))?,
        "// the bundle's adapter\n"
    );
    Ok(())
}

#[test]
fn an_adapter_without_its_codec_is_replaced_whole() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    fs::write(
        bundle.join("godot.js"),
        "// an adapter from before the codec module\n",
    )?;

    let report = godot::install(&export, &bundle)?;
    assert!(report.added_adapter);
    let adapter = fs::read_to_string(export.join("wasmbridge/godot.js"))?;
    assert!(adapter.contains("./godot-codec.js"), "{adapter}");
    assert!(export.join("wasmbridge/godot-codec.js").is_file());
    Ok(())
}

#[test]
fn coi_serviceworker_is_written_and_loaded_first() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    let options = godot::InstallOptions {
        coi_serviceworker: true,
    };

    let report = godot::install_with(&export, &bundle, options)?;
    assert_eq!(
        report.coi_files,
        ["coi-serviceworker.js", "coi-serviceworker.LICENSE"]
    );
    let worker = fs::read_to_string(export.join(godot::COI_SERVICEWORKER))?;
    assert!(
        worker.starts_with("/*! coi-serviceworker v0.1.7"),
        "{worker}"
    );
    let html = fs::read_to_string(export.join("index.html"))?;
    let coi_at = html.find(godot::COI_TAG).unwrap_or(usize::MAX);
    assert!(coi_at < html.find("<meta").unwrap_or(0), "{html}");
    assert!(coi_at < html.find(godot::LOADER_TAG).unwrap_or(0), "{html}");
    assert!(report.to_string().contains("coi-serviceworker.js"));

    assert!(godot::install_with(&export, &bundle, options)?.is_noop());
    assert_eq!(fs::read_to_string(export.join("index.html"))?, html);
    Ok(())
}

#[test]
fn missing_index_html_is_an_error() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    fs::rename(export.join("index.html"), export.join("MyGame.html"))?;

    let err = match godot::install(&export, &bundle) {
        Ok(report) => panic!("install succeeded without index.html: {report:?}"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("expected index.html"), "{err}");
    assert!(
        err.contains("MyGame.html"),
        "the error names the HTML file it found: {err}"
    );
    assert!(!export.join("wasmbridge").exists(), "nothing was copied");
    Ok(())
}

#[test]
fn missing_bundle_is_an_error() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;

    let err = match godot::install(&export, &tmp.path().join("no-such-bundle")) {
        Ok(report) => panic!("install succeeded without a bundle: {report:?}"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("no-such-bundle") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        err.contains("wasmbridge build"),
        "the error says how to make one: {err}"
    );

    let not_a_bundle = tmp.path().join("empty");
    fs::create_dir_all(&not_a_bundle)?;
    let err = match godot::install(&export, &not_a_bundle) {
        Ok(report) => panic!("install succeeded with an empty directory: {report:?}"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("manifest.json"), "{err}");
    assert_eq!(
        fs::read_to_string(export.join("index.html"))?,
        GODOT_INDEX,
        "index.html untouched"
    );
    Ok(())
}

#[test]
fn missing_export_dir_is_an_error() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bundle = make_bundle(tmp.path())?;
    let err = match godot::install(&tmp.path().join("no-export"), &bundle) {
        Ok(report) => panic!("install succeeded without an export: {report:?}"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("no-export"), "{err}");
    Ok(())
}

#[test]
fn html_without_head_is_an_error() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let export = make_export(tmp.path())?;
    let bundle = make_bundle(tmp.path())?;
    fs::write(export.join("index.html"), "<body>no head here</body>")?;
    let err = match godot::install(&export, &bundle) {
        Ok(report) => panic!("install succeeded without </head>: {report:?}"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("</head>"), "{err}");
    Ok(())
}

/// The real export the browser tests use (js/.cache, fetched by `cargo xtask
/// test` before any tier runs).
#[test]
fn installs_into_a_real_godot_export() -> Result<()> {
    let cached =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../js/.cache/godot-engine/index.html");
    let original = fs::read_to_string(&cached).map_err(|e| {
        anyhow::anyhow!(
            "{} is missing ({e}): `cargo xtask setup` fetches the Godot engine",
            cached.display()
        )
    })?;
    let tmp = tempfile::tempdir()?;
    let export = tmp.path().join("export");
    fs::create_dir_all(&export)?;
    fs::write(export.join("index.html"), &original)?;
    let bundle = make_bundle(tmp.path())?;

    let report = godot::install(&export, &bundle)?;
    assert!(report.html_changed);
    let html = fs::read_to_string(export.join("index.html"))?;
    let tag_at = html.find(godot::LOADER_TAG).unwrap_or(usize::MAX);
    assert!(tag_at < html.find("</head>").unwrap_or(0));
    assert!(tag_at < html.find("index.js").unwrap_or(0));
    let without_loader = html.replacen(&format!("{}\n", godot::LOADER_MARKER), "", 1);
    let without_loader = without_loader.replacen(&format!("{}\n", godot::LOADER_TAG), "", 1);
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        squash(&without_loader),
        squash(&original),
        "only the loader was added"
    );
    assert!(godot::install(&export, &bundle)?.is_noop());
    Ok(())
}
