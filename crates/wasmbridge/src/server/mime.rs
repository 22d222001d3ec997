//! The one table of content types: what `wasmbridge serve` sends for each
//! extension, which types it compresses, and what `wasmbridge deploy nginx`
//! writes into its `types { }` and `gzip_types` lines, so the two servers
//! never disagree.

use std::ffi::OsStr;
use std::path::Path;

/// One content type and the extensions that map to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MimeType {
    /// The media type without parameters (`text/html`), as nginx's `types` wants it.
    pub mime: &'static str,
    /// The `Content-Type` value `wasmbridge serve` sends (with a charset where one applies).
    pub header: &'static str,
    /// Lower-case extensions without the dot.
    pub extensions: &'static [&'static str],
    /// Worth compressing: text, JavaScript, JSON, XML, SVG and `.wasm` shrink;
    /// images, audio, fonts and archives are compressed already.
    pub compressible: bool,
}

const fn t(
    mime: &'static str,
    header: &'static str,
    extensions: &'static [&'static str],
    compressible: bool,
) -> MimeType {
    MimeType {
        mime,
        header,
        extensions,
        compressible,
    }
}

/// Every type either server names; anything else is [`DEFAULT`].
pub const TYPES: &[MimeType] = &[
    t(
        "text/html",
        "text/html; charset=utf-8",
        &["html", "htm"],
        true,
    ),
    t(
        "text/javascript",
        "text/javascript",
        &["js", "mjs", "cjs"],
        true,
    ),
    t("application/wasm", "application/wasm", &["wasm"], true),
    t(
        "application/json",
        "application/json",
        &["json", "map"],
        true,
    ),
    t(
        "application/manifest+json",
        "application/manifest+json",
        &["webmanifest"],
        true,
    ),
    t("text/css", "text/css", &["css"], true),
    t("text/plain", "text/plain; charset=utf-8", &["txt"], true),
    t("application/xml", "application/xml", &["xml"], true),
    t("image/svg+xml", "image/svg+xml", &["svg"], true),
    t("image/png", "image/png", &["png"], false),
    t("image/jpeg", "image/jpeg", &["jpg", "jpeg"], false),
    t("image/gif", "image/gif", &["gif"], false),
    t("image/webp", "image/webp", &["webp"], false),
    t("image/x-icon", "image/x-icon", &["ico"], false),
    t("audio/wav", "audio/wav", &["wav"], false),
    t("audio/ogg", "audio/ogg", &["ogg"], false),
    t("audio/mpeg", "audio/mpeg", &["mp3"], false),
    t("font/woff", "font/woff", &["woff"], false),
    t("font/woff2", "font/woff2", &["woff2"], false),
    t("font/ttf", "font/ttf", &["ttf"], false),
    t("font/otf", "font/otf", &["otf"], false),
    t("application/zip", "application/zip", &["zip"], false),
    t("application/gzip", "application/gzip", &["gz"], false),
];

/// The type of `.pck`, `.br`, `.bin` and every extension [`TYPES`] lacks.
pub const DEFAULT: MimeType = t(
    "application/octet-stream",
    "application/octet-stream",
    &[],
    false,
);

/// The type of `path` by its extension (of the requested name, not of a symlink's target).
pub fn of_path(path: &Path) -> &'static MimeType {
    let Some(ext) = path.extension().and_then(OsStr::to_str) else {
        return &DEFAULT;
    };
    let ext = ext.to_ascii_lowercase();
    TYPES
        .iter()
        .find(|t| t.extensions.contains(&ext.as_str()))
        .unwrap_or(&DEFAULT)
}

/// `Cache-Control` of content-hashed files: their name changes whenever
/// their bytes do, so a cached copy never needs revalidating.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of every other file: cached, but revalidated before use.
pub const REVALIDATE: &str = "no-cache";

/// Content-hashed file names as `wasmbridge build --release` writes them
/// (`demo_guest_bg.0123abcd.wasm`), as an nginx regex; [`is_content_hashed`]
/// is the same rule for `wasmbridge serve`.
pub const HASHED_NAME: &str = r"\.[0-9a-f]{8,}\.(?:wasm|m?js)$";

/// Whether the file name of `path` is content-hashed: `stem.<8 or more
/// lower-case hex digits>.wasm|js|mjs`.
pub fn is_content_hashed(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let Some((_, hash)) = stem.rsplit_once('.') else {
        return false;
    };
    matches!(ext, "wasm" | "js" | "mjs")
        && hash.len() >= 8
        && hash.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `Cache-Control` value for the file at `path`.
pub fn cache_control(path: &Path) -> &'static str {
    if is_content_hashed(path) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_the_ones_the_build_writes() {
        assert!(is_content_hashed(Path::new(
            "demo_guest_bg.ebc41135f2.wasm"
        )));
        assert!(is_content_hashed(Path::new(
            "wasm/demo_guest.bc076cc655.js"
        )));
        assert!(is_content_hashed(Path::new("a.0123abcd.mjs")));
        assert!(!is_content_hashed(Path::new("demo_guest_bg.wasm")));
        assert!(!is_content_hashed(Path::new("wasmbridge.js")));
        assert!(
            !is_content_hashed(Path::new("a.0123abc.wasm")),
            "seven digits"
        );
        assert!(
            !is_content_hashed(Path::new("a.0123ABCD.wasm")),
            "upper case"
        );
        assert!(!is_content_hashed(Path::new("a.0123abcd.wasm.br")));
        assert!(!is_content_hashed(Path::new("0123abcd.wasm")), "no stem");
        assert!(!is_content_hashed(Path::new("index.html")));
        assert_eq!(cache_control(Path::new("x.0123abcd.wasm")), IMMUTABLE);
        assert_eq!(cache_control(Path::new("manifest.json")), REVALIDATE);
    }

    #[test]
    fn every_extension_maps_to_one_type() {
        let mut seen = std::collections::BTreeSet::new();
        for ty in TYPES {
            assert!(ty.header.starts_with(ty.mime), "{ty:?}");
            for ext in ty.extensions {
                assert_eq!(*ext, ext.to_ascii_lowercase());
                assert!(seen.insert(*ext), "{ext} is listed twice");
            }
        }
    }

    #[test]
    fn lookup_ignores_case_and_falls_back() {
        assert_eq!(of_path(Path::new("a/B.WASM")).mime, "application/wasm");
        assert_eq!(of_path(Path::new("x.mjs")).header, "text/javascript");
        assert_eq!(of_path(Path::new("game.pck")), &DEFAULT);
        assert_eq!(of_path(Path::new("README")), &DEFAULT);
        assert!(of_path(Path::new("i.svg")).compressible);
        assert!(!of_path(Path::new("i.png")).compressible);
    }
}
