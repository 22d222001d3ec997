//! `wasmbridge godot install`: puts a bundle into a Godot web export so the
//! game's GDScript reaches it through `window.WasmBridge` (crates/wasmbridge/runtime/godot.js) and the
//! addon in godot/addons/wasmbridge.
//!
//! It copies the bundle's files into `<export-dir>/wasmbridge/`, adds
//! `crates/wasmbridge/runtime/godot.js` when the bundle lacks it, and loads it from the export's
//! `index.html` with one `<script type="module">` before `</head>`. Running it
//! again changes nothing: files are only written when their bytes differ, and
//! the loader is recognised by its marker comment (or by an existing tag that
//! loads `wasmbridge/godot.js`, such as one from `html/head_include`).
//!
//! With `coi_serviceworker` it also writes the vendored `coi-serviceworker.js`
//! (npm `coi-serviceworker` 0.1.7, MIT, see `vendor/coi-serviceworker/`) into
//! the export and loads it first, for hosts that cannot send COOP/COEP.

use crate::runtime::{GODOT_ADAPTER as ADAPTER_FILES, GODOT_NEEDS};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why `install` failed.
#[derive(Debug, Error)]
pub enum GodotError {
    #[error("expected the directory of a Godot web export, but {0} does not exist or is not a directory")]
    NoExportDir(PathBuf),
    #[error("expected index.html in {dir}, but there is none: {hint}")]
    NoIndexHtml { dir: PathBuf, hint: String },
    #[error("the bundle directory {0} does not exist: build one with `wasmbridge build -p <guest crate>`")]
    NoBundle(PathBuf),
    #[error("{0} is not a wasmbridge bundle: it has no manifest.json (build one with `wasmbridge build -p <guest crate>`)")]
    NotABundle(PathBuf),
    #[error(
        "the bundle {bundle} lacks the runtime files {missing}: rebuild it with `wasmbridge build`"
    )]
    MissingRuntime { bundle: PathBuf, missing: String },
    #[error("expected a </head> in {0} to put the loader before, found none: add {tag} to its <head> by hand", tag = LOADER_TAG)]
    NoHead(PathBuf),
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, GodotError>;

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> GodotError {
    let path = path.to_path_buf();
    move |source| GodotError::Io {
        action,
        path,
        source,
    }
}

/// Folder of the export the bundle goes into; the loader's URL depends on it.
pub const INSTALL_DIR: &str = "wasmbridge";

/// Comment written before the loader so a second install recognises it.
pub const LOADER_MARKER: &str = "<!-- wasmbridge: loads window.WasmBridge for the Godot addon -->";

/// The tag that loads the adapter; it starts the pool and installs `window.WasmBridge`.
pub const LOADER_TAG: &str = r#"<script type="module" src="wasmbridge/godot.js"></script>"#;

/// File name of the service worker in the export (its folder is its scope).
pub const COI_SERVICEWORKER: &str = "coi-serviceworker.js";

/// Comment written before the service worker's tag so a second install recognises it.
pub const COI_MARKER: &str =
    "<!-- wasmbridge: coi-serviceworker makes the page cross-origin isolated -->";

/// The service worker's tag: a classic script, so it runs before the engine starts.
pub const COI_TAG: &str = r#"<script src="coi-serviceworker.js"></script>"#;

/// npm `coi-serviceworker` 0.1.7, unmodified (MIT, Guido Zuidhof and contributors).
const COI_JS: &str = include_str!("../vendor/coi-serviceworker/coi-serviceworker.js");
const COI_LICENSE: &str = include_str!("../vendor/coi-serviceworker/LICENSE");

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// `<export-dir>/wasmbridge`.
    pub target_dir: PathBuf,
    /// Files written into `target_dir` because they were new or different.
    pub copied: Vec<String>,
    /// Files already there with the same bytes.
    pub unchanged: Vec<String>,
    /// True when godot.js came from this program rather than from the bundle.
    pub added_adapter: bool,
    /// Files written or kept in the export's root for the service worker
    /// (empty without `coi_serviceworker`).
    pub coi_files: Vec<String>,
    /// The export's index.html.
    pub index_html: PathBuf,
    /// False when index.html already loaded the adapter.
    pub html_changed: bool,
    /// The line for `export_presets.cfg` (`[preset.N.options]`), so that later
    /// exports from the Godot editor load the adapter without this command.
    pub head_include: String,
}

impl InstallReport {
    /// True when the install changed nothing on disk.
    pub fn is_noop(&self) -> bool {
        self.copied.is_empty() && !self.html_changed
    }
}

impl fmt::Display for InstallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wasmbridge: {} file(s) copied, {} unchanged in {}",
            self.copied.len(),
            self.unchanged.len(),
            self.target_dir.display()
        )?;
        if self.html_changed {
            writeln!(
                f,
                "wasmbridge: {} now loads wasmbridge/godot.js",
                self.index_html.display()
            )?;
        } else {
            writeln!(
                f,
                "wasmbridge: {} already loads wasmbridge/godot.js",
                self.index_html.display()
            )?;
        }
        if !self.coi_files.is_empty() {
            writeln!(
                f,
                "wasmbridge: {} loads {} first (it reloads the page once on the first visit)",
                self.index_html.display(),
                COI_SERVICEWORKER
            )?;
        }
        writeln!(f, "wasmbridge: for exports from the Godot editor, put this line in export_presets.cfg under [preset.N.options]:")?;
        write!(f, "{}", self.head_include)
    }
}

/// The `html/head_include` option line for `export_presets.cfg`.
pub fn head_include_line() -> String {
    format!(
        "html/head_include=\"{}\"",
        LOADER_TAG.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// What to install besides the bundle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// Add `coi-serviceworker.js` and load it first from index.html.
    pub coi_serviceworker: bool,
}

/// Copies `bundle` into `<export_dir>/wasmbridge/` and makes the export's
/// `index.html` load `wasmbridge/godot.js`. Idempotent.
pub fn install(export_dir: &Path, bundle: &Path) -> Result<InstallReport> {
    install_with(export_dir, bundle, InstallOptions::default())
}

/// `install` with options.
pub fn install_with(
    export_dir: &Path,
    bundle: &Path,
    options: InstallOptions,
) -> Result<InstallReport> {
    if !export_dir.is_dir() {
        return Err(GodotError::NoExportDir(export_dir.to_path_buf()));
    }
    let index_html = export_dir.join("index.html");
    if !index_html.is_file() {
        let others = html_files(export_dir);
        let hint = if others.is_empty() {
            "export the project with Godot's Web preset first".to_string()
        } else {
            format!(
                "found {}; name the export index.html (the web server serves it by default)",
                others.join(", ")
            )
        };
        return Err(GodotError::NoIndexHtml {
            dir: export_dir.to_path_buf(),
            hint,
        });
    }
    check_bundle(bundle)?;

    let target_dir = export_dir.join(INSTALL_DIR);
    fs::create_dir_all(&target_dir).map_err(io_error("create", &target_dir))?;
    let same_dir = same_path(bundle, &target_dir);

    let mut copied = Vec::new();
    let mut unchanged = Vec::new();
    let mut files = Vec::new();
    bundle_files(bundle, "", &mut files)?;
    for (name, path) in files {
        if same_dir {
            unchanged.push(name);
            continue;
        }
        let bytes = fs::read(&path).map_err(io_error("read", &path))?;
        let dest = target_dir.join(&name);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        if write_if_changed(&dest, &bytes)? {
            copied.push(name);
        } else {
            unchanged.push(name);
        }
    }

    // A bundle from an older CLI may lack the adapter; it is written from this
    // program then, all of it, so godot.js never meets another version's codec.
    let added_adapter = ADAPTER_FILES.iter().any(|f| !bundle.join(f).is_file());
    if added_adapter {
        let adapter = crate::runtime::FILES
            .iter()
            .filter(|(n, _)| ADAPTER_FILES.contains(n));
        for (name, text) in adapter {
            if write_if_changed(&target_dir.join(name), text.as_bytes())? {
                copied.push(name.to_string());
            } else {
                unchanged.push(name.to_string());
            }
        }
    }

    let mut coi_files = Vec::new();
    if options.coi_serviceworker {
        for (name, text) in [
            (COI_SERVICEWORKER, COI_JS),
            ("coi-serviceworker.LICENSE", COI_LICENSE),
        ] {
            write_if_changed(&export_dir.join(name), text.as_bytes())?;
            coi_files.push(name.to_string());
        }
    }

    let html = fs::read_to_string(&index_html).map_err(io_error("read", &index_html))?;
    let mut updated = html.clone();
    if !has_loader(&updated) {
        updated = add_loader(&updated).ok_or_else(|| GodotError::NoHead(index_html.clone()))?;
    }
    if options.coi_serviceworker && !updated.contains(COI_MARKER) {
        updated = add_coi_loader(&updated).ok_or_else(|| GodotError::NoHead(index_html.clone()))?;
    }
    let html_changed = updated != html;
    if html_changed {
        write_atomically(&index_html, updated.as_bytes())?;
    }

    Ok(InstallReport {
        target_dir,
        copied,
        unchanged,
        added_adapter,
        coi_files,
        index_html,
        html_changed,
        head_include: head_include_line(),
    })
}

/// `html` with the loader before `</head>`, or None when it already loads the adapter.
///
/// Fails loudly rather than guessing when there is no `</head>`: every Godot
/// shell template has one, so its absence means this is not a Godot export.
pub fn add_loader(html: &str) -> Option<String> {
    if has_loader(html) {
        return None;
    }
    let at = find_ascii_case_insensitive(html, "</head>")?;
    let line_start = html[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = html[line_start..at]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let (before, after) = html.split_at(at);
    let body_indent = if indent.is_empty() {
        "\t".to_string()
    } else {
        format!("{indent}{indent}")
    };
    let before = before.trim_end_matches([' ', '\t']);
    let mut out = String::with_capacity(html.len() + LOADER_MARKER.len() + LOADER_TAG.len() + 16);
    out.push_str(before);
    if !before.ends_with('\n') && !before.is_empty() {
        out.push('\n');
    }
    out.push_str(&body_indent);
    out.push_str(LOADER_MARKER);
    out.push('\n');
    out.push_str(&body_indent);
    out.push_str(LOADER_TAG);
    out.push('\n');
    out.push_str(&indent);
    out.push_str(after);
    Some(out)
}

/// `html` with the service worker's tag as the first thing in `<head>` (it
/// must register before the engine and the adapter load), or None when there
/// is no `<head>`.
pub fn add_coi_loader(html: &str) -> Option<String> {
    let open = find_ascii_case_insensitive(html, "<head>")
        .or_else(|| find_ascii_case_insensitive(html, "<head "))?;
    let at = open + html[open..].find('>')? + 1;
    let (before, after) = html.split_at(at);
    Some(format!("{before}\n{COI_MARKER}\n{COI_TAG}{after}"))
}

/// True when `html` already loads the adapter (our marker, or any script tag for wasmbridge/godot.js).
pub fn has_loader(html: &str) -> bool {
    html.contains(LOADER_MARKER) || html.contains("wasmbridge/godot.js")
}

fn check_bundle(bundle: &Path) -> Result<()> {
    if !bundle.is_dir() {
        return Err(GodotError::NoBundle(bundle.to_path_buf()));
    }
    if !bundle.join("manifest.json").is_file() {
        return Err(GodotError::NotABundle(bundle.to_path_buf()));
    }
    let missing: Vec<&str> = GODOT_NEEDS
        .iter()
        .copied()
        .filter(|f| !bundle.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(GodotError::MissingRuntime {
            bundle: bundle.to_path_buf(),
            missing: missing.join(", "),
        });
    }
    Ok(())
}

fn html_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.to_ascii_lowercase().ends_with(".html"))
        .collect();
    names.sort();
    names
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes `bytes` to `path` unless it already holds them; true when it wrote.
/// Every file of the bundle, sorted, with its path relative to the bundle
/// (`threads/…` for the files of a threaded module).
fn bundle_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .and_then(|d| d.collect::<io::Result<Vec<_>>>())
        .map_err(io_error("read the bundle directory", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            bundle_files(&path, &format!("{name}/"), out)?;
        } else if path.is_file() {
            out.push((name, path));
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if let Ok(existing) = fs::read(path) {
        if existing == bytes {
            return Ok(false);
        }
    }
    write_atomically(path, bytes)?;
    Ok(true)
}

/// Writes through a temporary file and a rename, so a reader (or a crash)
/// never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.wasmbridge-tmp"));
    fs::write(&tmp, bytes).map_err(io_error("write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_error("replace", path))?;
    Ok(())
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_goes_before_head_with_the_same_indentation() {
        let html = "<html>\n  <head>\n    <title>x</title>\n  </head>\n</html>\n";
        let out = add_loader(html).unwrap_or_default();
        assert_eq!(
            out,
            format!("<html>\n  <head>\n    <title>x</title>\n    {LOADER_MARKER}\n    {LOADER_TAG}\n  </head>\n</html>\n")
        );
        assert_eq!(add_loader(&out), None);
    }

    #[test]
    fn uppercase_head_and_no_newline() {
        let out = add_loader("<HEAD><title>x</title></HEAD><body></body>").unwrap_or_default();
        assert!(out.contains(&format!("{LOADER_TAG}\n</HEAD>")), "{out}");
    }

    #[test]
    fn no_head_is_none() {
        assert_eq!(add_loader("<body></body>"), None);
    }

    #[test]
    fn the_adapter_files_are_in_the_runtime() {
        for &name in ADAPTER_FILES {
            assert!(
                crate::runtime::FILES.iter().any(|(n, _)| *n == name),
                "{name} is missing from runtime::FILES"
            );
        }
    }

    #[test]
    fn coi_loader_is_the_first_thing_in_head() {
        let out = add_coi_loader(
            "<html><head lang=\"en\"><script src=\"index.js\"></script></head></html>",
        )
        .unwrap_or_default();
        assert_eq!(
            out,
            format!("<html><head lang=\"en\">\n{COI_MARKER}\n{COI_TAG}<script src=\"index.js\"></script></head></html>")
        );
        assert_eq!(add_coi_loader("<header></header>"), None);
    }

    #[test]
    fn head_include_is_escaped_for_godot_config() {
        assert_eq!(
            head_include_line(),
            r#"html/head_include="<script type=\"module\" src=\"wasmbridge/godot.js\"></script>""#
        );
    }
}
