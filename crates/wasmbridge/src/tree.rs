//! Directory trees: the one walk `build` and `deploy` use, safe against
//! symlink cycles, and the one gzip they compress with.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// What [`walk`] does with symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// Files and directories behind links are walked as if they were there; a
    /// link to a directory that is already being walked (a cycle) is skipped.
    Follow,
    /// Links are left out, so nothing outside the directory is reached.
    Skip,
}

/// Why a walk stopped.
#[derive(Debug, thiserror::Error)]
#[error("expected to read the directory {}, but it failed: {source}", path.display())]
pub struct WalkError {
    /// The directory (or link to one) that could not be read.
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Every file below `dir` (regular files, and with [`Symlinks::Follow`] links
/// to anything that is not a directory), sorted. Directories are not listed.
pub fn walk(dir: &Path, symlinks: Symlinks) -> Result<Vec<PathBuf>, WalkError> {
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WalkError { path, source }
    };
    let root_canonical = std::fs::canonicalize(dir).map_err(failed(dir))?;
    // Each directory to read carries the canonical paths of the directories
    // it was reached through: a link back to one of them is a cycle.
    let mut stack = vec![(dir.to_path_buf(), vec![root_canonical])];
    let mut out = Vec::new();
    while let Some((d, ancestors)) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(failed(&d))? {
            let entry = entry.map_err(failed(&d))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(failed(&path))?;
            let is_dir = if kind.is_symlink() {
                if symlinks == Symlinks::Skip {
                    continue;
                }
                // A dangling link is listed like a file: copying it reports it.
                std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
            } else {
                kind.is_dir()
            };
            if !is_dir {
                if kind.is_file() || kind.is_symlink() {
                    out.push(path);
                }
                continue;
            }
            let canonical = std::fs::canonicalize(&path).map_err(failed(&path))?;
            if ancestors.contains(&canonical) {
                continue;
            }
            let mut chain = ancestors.clone();
            chain.push(canonical);
            stack.push((path, chain));
        }
    }
    out.sort();
    Ok(out)
}

/// Gzip at the best level with no timestamp, so the same input always gives
/// the same bytes.
pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    enc.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_deterministic_and_round_trips() {
        use std::io::Read as _;
        let text = b"wasmbridge ".repeat(100);
        let gz = gzip(&text).unwrap();
        assert_eq!(gz, gzip(&text).unwrap());
        assert!(gz.len() < text.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }
}
