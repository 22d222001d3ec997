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

#[cfg(test)]
mod tests {
    use super::*;

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
