//! The shared directory walk: symlink cycles end, links are followed or left
//! out as asked, and the copies `build` makes with it terminate too.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use wasmbridge::tree::{walk, Symlinks};

/// `site/{a/x.js, a/up -> .., a/self -> ., b -> a, c/to-b -> ../b, d/loop1 -> ../e, e/loop2 -> ../d}`
/// plus `site/link.js -> outside/secret.js`.
fn cyclic() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let site = tmp.path().join("site");
    for d in ["a", "c", "d", "e"] {
        std::fs::create_dir_all(site.join(d)).unwrap();
    }
    std::fs::create_dir(tmp.path().join("outside")).unwrap();
    std::fs::write(tmp.path().join("outside/secret.js"), "secret").unwrap();
    std::fs::write(site.join("a/x.js"), "x").unwrap();
    std::fs::write(site.join("d/y.js"), "y").unwrap();
    symlink("..", site.join("a/up")).unwrap();
    symlink(".", site.join("a/self")).unwrap();
    symlink("a", site.join("b")).unwrap();
    symlink("../b", site.join("c/to-b")).unwrap();
    symlink("../e", site.join("d/loop1")).unwrap();
    symlink("../d", site.join("e/loop2")).unwrap();
    symlink(tmp.path().join("outside/secret.js"), site.join("link.js")).unwrap();
    (tmp, site)
}

fn relative(root: &Path, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

#[test]
fn following_links_ends_at_every_cycle() {
    let (_tmp, site) = cyclic();
    let files = relative(&site, &walk(&site, Symlinks::Follow).unwrap());
    // Each file once per route that revisits no directory (so not
    // d/loop1/loop2/y.js, which is d again); the link to a file as a file.
    assert_eq!(
        files,
        [
            "a/x.js",
            "b/x.js",
            "c/to-b/x.js",
            "d/y.js",
            "e/loop2/y.js",
            "link.js"
        ]
    );
}

#[test]
fn skipping_links_stays_inside() {
    let (_tmp, site) = cyclic();
    let files = relative(&site, &walk(&site, Symlinks::Skip).unwrap());
    assert_eq!(files, ["a/x.js", "d/y.js"]);
}

#[test]
fn copying_a_tree_with_cycles_terminates() {
    let (tmp, site) = cyclic();
    let copy = tmp.path().join("copy");
    wasmbridge::build::copy_dir(&site, &copy).unwrap();
    assert_eq!(std::fs::read_to_string(copy.join("b/x.js")).unwrap(), "x");
    assert_eq!(
        std::fs::read_to_string(copy.join("link.js")).unwrap(),
        "secret"
    );
    assert!(!copy.join("a/up").exists());
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("nope");
    let err = walk(&missing, Symlinks::Follow).unwrap_err();
    assert_eq!(err.path, missing);
    assert!(err
        .to_string()
        .starts_with("expected to read the directory"));
}
