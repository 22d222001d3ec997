//! `cargo xtask addon [--out <zip>]`: the Godot addon as a zip ready for the
//! Asset Library (and for unpacking into any project): `addons/wasmbridge/`
//! with the files of `godot/addons/wasmbridge` (plugin.cfg, the scripts, the
//! icon, LICENSE), `README.md` (godot/README.md) and `web/`: `godot.js` and
//! every runtime module it imports, read from `crates/wasmbridge/runtime` by
//! following its `import ... from './x.js'`, `import './x.js'` and
//! `import('./x.js')` lines.
//! Nothing else goes in.
//! `cargo xtask dist` writes it too.

use anyhow::{bail, Context, Result};
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the zip's files live inside it.
const PREFIX: &str = "addons/wasmbridge/";

/// `cargo xtask addon`.
#[derive(Debug, clap::Args)]
pub struct AddonArgs {
    /// Where to write the zip (default: target/dist/wasmbridge-godot-addon.zip)
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(root: &Path, args: &AddonArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| default_path(root));
    let names = write(root, &out)?;
    eprintln!(
        "xtask: Godot addon ({} files) in {}",
        names.len(),
        out.display()
    );
    Ok(())
}

/// `target/dist/wasmbridge-godot-addon.zip`.
pub fn default_path(root: &Path) -> PathBuf {
    root.join("target")
        .join("dist")
        .join("wasmbridge-godot-addon.zip")
}

/// Writes the zip to `out`; returns the names of its entries.
pub fn write(root: &Path, out: &Path) -> Result<Vec<String>> {
    let files = files(root)?;
    let zip = zip(&files)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, zip).with_context(|| format!("writing {}", out.display()))?;
    Ok(files.into_keys().collect())
}

/// Entry name → bytes.
fn files(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let addon = root.join("godot").join("addons").join("wasmbridge");
    for entry in
        std::fs::read_dir(&addon).with_context(|| format!("reading {}", addon.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Editor caches (.import, .uid kept by Godot next to files) and hidden files stay out.
        if name.starts_with('.') || name.ends_with(".import") || !entry.file_type()?.is_file() {
            continue;
        }
        files.insert(format!("{PREFIX}{name}"), read(&entry.path())?);
    }
    for required in [
        "plugin.cfg",
        "plugin.gd",
        "wasmbridge.gd",
        "icon.svg",
        "LICENSE",
    ] {
        if !files.contains_key(&format!("{PREFIX}{required}")) {
            bail!("expected {required} in {}, found none", addon.display());
        }
    }
    files.insert(
        format!("{PREFIX}README.md"),
        read(&root.join("godot").join("README.md"))?,
    );
    let runtime = root.join("crates").join("wasmbridge").join("runtime");
    let mut todo = vec!["godot.js".to_string()];
    while let Some(module) = todo.pop() {
        let key = format!("{PREFIX}web/{module}");
        if files.contains_key(&key) {
            continue;
        }
        let bytes = read(&runtime.join(&module))?;
        todo.extend(imports(&String::from_utf8_lossy(&bytes)));
        files.insert(key, bytes);
    }
    Ok(files)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The sibling modules a runtime module loads: `from './x.js'` (imports and
/// re-exports, also the last line of a multi-line import), `import('./x.js')`
/// (loaded on demand) and `new URL('x.js', ...)` (the worker script).
/// Comment lines are skipped.
fn imports(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines().map(str::trim_start) {
        if line.starts_with("//") || line.starts_with('*') || line.starts_with("/*") {
            continue;
        }
        for pattern in [
            " from './",
            "import './",
            "import('./",
            "new URL('./",
            "new URL('",
        ] {
            for rest in line.split(pattern).skip(1) {
                let name = rest.split('\'').next().unwrap_or_default();
                if name.ends_with(".js") && !name.contains('/') && !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

/// A zip archive of `files` (deflated, fixed timestamps so the bytes depend only on the files).
fn zip(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    // 1980-01-01 00:00 in MS-DOS date/time, the earliest a zip can hold.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, bytes) in files {
        let mut crc = Crc::new();
        crc.update(bytes);
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(bytes)?;
        let deflated = encoder.finish()?;
        let offset = u32::try_from(out.len()).context("the addon zip is larger than 4 GiB")?;
        let sizes = [
            u32::try_from(deflated.len()).context("a file is larger than 4 GiB")?,
            u32::try_from(bytes.len()).context("a file is larger than 4 GiB")?,
        ];
        let name_len = u16::try_from(name.len()).context("a file name is too long")?;
        // Fields shared by the local header and the central directory entry:
        // version needed, flags, method 8 (deflate), time, date, crc, sizes, name length.
        let mut common = Vec::new();
        for v in [20u16, 0, 8, DOS_TIME, DOS_DATE] {
            common.extend(v.to_le_bytes());
        }
        common.extend(crc.sum().to_le_bytes());
        common.extend(sizes[0].to_le_bytes());
        common.extend(sizes[1].to_le_bytes());
        common.extend(name_len.to_le_bytes());

        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(&common);
        out.extend(0u16.to_le_bytes()); // extra field length
        out.extend(name.as_bytes());
        out.extend(&deflated);

        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(0x031eu16.to_le_bytes()); // made by: Unix, zip 3.0
        central.extend(&common);
        for v in [0u16, 0, 0, 0] {
            central.extend(v.to_le_bytes()); // extra, comment, disk, internal attributes
        }
        central.extend((0o100_644u32 << 16).to_le_bytes()); // a regular file, rw-r--r--
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let count = u16::try_from(files.len()).context("too many files for a zip")?;
    let central_offset = u32::try_from(out.len()).context("the addon zip is larger than 4 GiB")?;
    let central_len = u32::try_from(central.len()).context("the addon zip is larger than 4 GiB")?;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend(v.to_le_bytes());
    }
    out.extend(central_len.to_le_bytes());
    out.extend(central_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes()); // comment length
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sibling_imports_and_re_exports() {
        let src = "import { Pool } from './pool.js';\nexport { x } from './codec.js';\nimport {\n  a,\n} from './multi.js';\nimport y from '../far.js';\n// import z from './comment.js';\n * see './doc.js'\nconst w = new URL('worker.js', base);\nconst lane = await import('./lane.js');\n";
        assert_eq!(
            imports(src),
            ["pool.js", "codec.js", "multi.js", "worker.js", "lane.js"]
        );
    }
}
