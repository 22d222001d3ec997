//! Request paths to files: decode once, refuse anything that could leave the
//! root, resolve symlinks and check the result is still under the canonical
//! root, and pick `index.html` for directories.

use std::ffi::OsStr;
use std::fs::Metadata;
use std::io;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// Decode `raw` once and split it into plain file-name segments, or `None` for a
/// path that could escape the root or is otherwise unusable.
pub(super) fn sanitize(raw: &str) -> Option<Vec<String>> {
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    if bytes.contains(&0) {
        return None;
    }
    let decoded = String::from_utf8(bytes).ok()?;
    if decoded.contains('\\') {
        return None;
    }
    let mut segments = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return None,
            _ => {}
        }
        // Exactly one ordinary component: rules out drive prefixes, roots and the like.
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) if name == OsStr::new(segment) => {
                segments.push(segment.to_owned());
            }
            _ => return None,
        }
    }
    Some(segments)
}

/// Canonicalize `logical` and return it only if it is still under `root`.
pub(super) async fn confine(root: &Path, logical: &Path) -> io::Result<Option<PathBuf>> {
    match tokio::fs::canonicalize(logical).await {
        Ok(canonical) if canonical.starts_with(root) => Ok(Some(canonical)),
        Ok(_) => Ok(None),
        Err(err) if is_missing(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Errors that mean "there is no such file" to a client.
pub(super) fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename
    )
}

/// A regular file under the root that a request names.
pub(super) struct Target {
    /// The path as requested (root plus segments, `index.html` added for a
    /// directory): its extension decides the content type, and precompressed
    /// variants are looked up next to it.
    pub logical: PathBuf,
    /// The canonical, confined path that is opened.
    pub path: PathBuf,
    pub meta: Metadata,
}

/// What a request path names.
pub(super) enum Resolved {
    File(Box<Target>),
    /// A directory named without the trailing slash.
    RedirectToDir,
    /// Missing, outside the root, or not a regular file.
    NotFound,
}

/// Resolve `segments` (from [`sanitize`]) under `root`; `raw` is the request
/// path, whose trailing slash says whether a directory was meant.
pub(super) async fn resolve(root: &Path, raw: &str, segments: &[String]) -> io::Result<Resolved> {
    let mut logical = root.to_path_buf();
    logical.extend(segments);
    let Some(mut path) = confine(root, &logical).await? else {
        return Ok(Resolved::NotFound);
    };
    let mut meta = tokio::fs::metadata(&path).await?;
    if meta.is_dir() {
        if !raw.ends_with('/') {
            return Ok(Resolved::RedirectToDir);
        }
        logical.push("index.html");
        let Some(index) = confine(root, &logical).await? else {
            return Ok(Resolved::NotFound);
        };
        path = index;
        meta = tokio::fs::metadata(&path).await?;
    } else if raw.ends_with('/') {
        // `/file.js/` names a directory that does not exist.
        return Ok(Resolved::NotFound);
    }
    if !meta.is_file() {
        // Sockets, FIFOs, devices: never open them.
        return Ok(Resolved::NotFound);
    }
    Ok(Resolved::File(Box::new(Target {
        logical,
        path,
        meta,
    })))
}

/// Characters escaped when rebuilding a path for `Location`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `/dir` → `/dir/`, rebuilt from the checked segments (never `//host`).
pub(super) fn dir_location(segments: &[String]) -> String {
    let mut location = String::from("/");
    for segment in segments {
        location.extend(utf8_percent_encode(segment, SEGMENT));
        location.push('/');
    }
    location
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_rejects_escapes() {
        for bad in [
            "/../x",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/..%2fx",
            "/a%5c..%5cx",
            "/a\\b",
            "/x%00y",
            "/%ff",
        ] {
            assert_eq!(sanitize(bad), None, "{bad}");
        }
        assert_eq!(
            sanitize("//etc/./passwd"),
            Some(vec!["etc".to_owned(), "passwd".to_owned()])
        );
        assert_eq!(
            sanitize("/%252e%252e/x"),
            Some(vec!["%2e%2e".to_owned(), "x".to_owned()])
        );
        assert_eq!(sanitize("/"), Some(vec![]));
    }

    #[test]
    fn directory_locations_are_escaped_and_rooted() {
        assert_eq!(dir_location(&["a b".into(), "c".into()]), "/a%20b/c/");
        assert_eq!(dir_location(&["x?y".into()]), "/x%3Fy/");
        assert_eq!(dir_location(&[]), "/");
    }
}
