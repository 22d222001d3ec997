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

use crate::runtime::{GODOT_JS, GODOT_NEEDS};
use anyhow::{bail, Context, Result};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Folder of the export the bundle goes into; the loader's URL depends on it.
pub const INSTALL_DIR: &str = "wasmbridge";

/// Comment written before the loader so a second install recognises it.
pub const LOADER_MARKER: &str = "<!-- wasmbridge: loads window.WasmBridge for the Godot addon -->";

/// The tag that loads the adapter; it starts the pool and installs `window.WasmBridge`.
pub const LOADER_TAG: &str = r#"<script type="module" src="wasmbridge/godot.js"></script>"#;

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

/// Copies `bundle` into `<export_dir>/wasmbridge/` and makes the export's
/// `index.html` load `wasmbridge/godot.js`. Idempotent.
pub fn install(export_dir: &Path, bundle: &Path) -> Result<InstallReport> {
    if !export_dir.is_dir() {
        bail!(
            "the export directory {} does not exist or is not a directory",
            export_dir.display()
        );
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
        bail!("no index.html in {}: {hint}", export_dir.display());
    }
    check_bundle(bundle)?;

    let target_dir = export_dir.join(INSTALL_DIR);
    fs::create_dir_all(&target_dir)
        .with_context(|| format!("cannot create {}", target_dir.display()))?;
    let same_dir = same_path(bundle, &target_dir);

    let mut copied = Vec::new();
    let mut unchanged = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(bundle)
        .with_context(|| format!("cannot read the bundle directory {}", bundle.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read the bundle directory {}", bundle.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if same_dir {
            unchanged.push(name);
            continue;
        }
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if write_if_changed(&target_dir.join(&name), &bytes)? {
            copied.push(name);
        } else {
            unchanged.push(name);
        }
    }

    let added_adapter = !bundle.join("godot.js").is_file();
    if added_adapter {
        let name = "godot.js".to_string();
        if write_if_changed(&target_dir.join(&name), GODOT_JS.as_bytes())? {
            copied.push(name);
        } else {
            unchanged.push(name);
        }
    }

    let html = fs::read_to_string(&index_html)
        .with_context(|| format!("cannot read {}", index_html.display()))?;
    let html_changed = if has_loader(&html) {
        false
    } else {
        let Some(updated) = add_loader(&html) else {
            bail!(
                "{} has no </head> to put the loader before: add {LOADER_TAG} to its <head> by hand",
                index_html.display()
            );
        };
        write_atomically(&index_html, updated.as_bytes())?;
        true
    };

    Ok(InstallReport {
        target_dir,
        copied,
        unchanged,
        added_adapter,
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

/// True when `html` already loads the adapter (our marker, or any script tag for wasmbridge/godot.js).
pub fn has_loader(html: &str) -> bool {
    html.contains(LOADER_MARKER) || html.contains("wasmbridge/godot.js")
}

fn check_bundle(bundle: &Path) -> Result<()> {
    if !bundle.is_dir() {
        bail!(
            "the bundle directory {} does not exist: build one with `wasmbridge build -p <guest crate>`",
            bundle.display()
        );
    }
    if !bundle.join("manifest.json").is_file() {
        bail!(
            "{} is not a wasmbridge bundle: it has no manifest.json (build one with `wasmbridge build -p <guest crate>`)",
            bundle.display()
        );
    }
    let missing: Vec<&str> = GODOT_NEEDS
        .iter()
        .copied()
        .filter(|f| !bundle.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the bundle {} lacks the runtime files {}: rebuild it with `wasmbridge build`",
            bundle.display(),
            missing.join(", ")
        );
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
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
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
    fn head_include_is_escaped_for_godot_config() {
        assert_eq!(
            head_include_line(),
            r#"html/head_include="<script type=\"module\" src=\"wasmbridge/godot.js\"></script>""#
        );
    }
}
