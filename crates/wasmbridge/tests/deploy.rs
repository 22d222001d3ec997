//! `wasmbridge deploy nginx`: the files it writes, the `.gz` files next to the
//! served ones (and `wasmbridge serve` preferring them), and, with Debian's
//! nginx (which `cargo xtask test` installs), `nginx -t` accepting the generated block.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use tempfile::TempDir;
use tower::ServiceExt as _;
use wasmbridge::deploy::{self, NginxArgs, NginxOptions, Precompressed};

const NGINX: &str = "/usr/sbin/nginx";

fn big_js() -> String {
    "export function f(x) { return x + 1; }\n".repeat(200)
}

/// `outer/site` with a page, scripts, a module, an image and a tiny file.
fn site() -> (TempDir, PathBuf) {
    let outer = TempDir::new().unwrap();
    let site = outer.path().join("site");
    std::fs::create_dir_all(site.join("sub")).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>x</title>".repeat(20),
    )
    .unwrap();
    std::fs::write(site.join("app.js"), big_js()).unwrap();
    std::fs::write(site.join("sub").join("lib.mjs"), big_js()).unwrap();
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(std::iter::repeat_n(7u8, 8192));
    std::fs::write(site.join("mod.0123abcd.wasm"), &wasm).unwrap();
    std::fs::write(
        site.join("manifest.json"),
        format!("{{\"a\":\"{}\"}}", "b".repeat(500)),
    )
    .unwrap();
    std::fs::write(site.join("picture.png"), vec![1u8; 4096]).unwrap();
    std::fs::write(site.join("tiny.js"), "1").unwrap();
    (outer, site)
}

fn args(dir: &Path) -> NginxArgs {
    NginxArgs {
        dir: dir.to_path_buf(),
        out: None,
        server_name: "localhost".into(),
        listen: "127.0.0.1:8080".parse().unwrap(),
        precompress: false,
    }
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gz_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".gz");
    PathBuf::from(p)
}

#[test]
fn writes_the_block_next_to_the_directory_by_default() {
    let (outer, site) = site();
    let report = deploy::write_nginx(&args(&site)).unwrap();
    let canonical = std::fs::canonicalize(&site).unwrap();
    let expected_out = std::fs::canonicalize(outer.path())
        .unwrap()
        .join("site.nginx.conf");
    assert_eq!(report.out.as_deref(), Some(expected_out.as_path()));
    assert_eq!(report.root, canonical);
    assert_eq!(report.precompressed, None);
    let text = std::fs::read_to_string(&expected_out).unwrap();
    assert_eq!(
        text,
        deploy::nginx_config(&canonical, &NginxOptions::default())
    );
    assert!(text.contains(&format!("root \"{}\";", canonical.display())));
    assert!(
        !site.join("app.js.gz").exists(),
        "no .gz without --precompress"
    );
}

#[test]
fn writes_where_asked_with_the_given_name_and_address() {
    let (outer, site) = site();
    let out = outer.path().join("conf").join("wasm.conf");
    let mut a = args(&site);
    a.out = Some(out.clone());
    a.server_name = "example.org www.example.org".into();
    a.listen = "[::1]:9443".parse().unwrap();
    let report = deploy::write_nginx(&a).unwrap();
    assert_eq!(report.out, Some(out.clone()));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("    listen [::1]:9443;\n"));
    assert!(text.contains("    server_name example.org www.example.org;\n"));
}

#[test]
fn refuses_what_nginx_would_misread() {
    let (outer, site) = site();
    let odd = outer.path().join("price$host");
    std::fs::create_dir(&odd).unwrap();
    let err = deploy::write_nginx(&args(&odd)).unwrap_err().to_string();
    assert!(err.contains("contains '$'"), "{err}");
    let mut a = args(&site);
    a.server_name = "x; return 200 pwned".into();
    assert!(deploy::write_nginx(&a).is_err());
    assert!(deploy::write_nginx(&args(&outer.path().join("missing"))).is_err());
    assert!(deploy::write_nginx(&args(&site.join("app.js"))).is_err());
}

#[test]
fn precompress_writes_gz_that_decompress_to_the_originals() {
    let (_outer, site) = site();
    // A stale .gz of a file too small to gain must go.
    std::fs::write(site.join("tiny.js.gz"), b"stale").unwrap();
    let report = deploy::precompress(&site).unwrap();
    assert_eq!(
        (report.written, report.skipped),
        (5, 1),
        "index.html, app.js, sub/lib.mjs, mod.wasm, manifest.json; tiny.js skipped: {report:?}"
    );
    assert!(report.compressed_bytes < report.original_bytes);
    for name in [
        "index.html",
        "app.js",
        "sub/lib.mjs",
        "mod.0123abcd.wasm",
        "manifest.json",
    ] {
        let file = site.join(name);
        assert_eq!(
            gunzip(&gz_of(&file)),
            std::fs::read(&file).unwrap(),
            "{name}"
        );
    }
    assert!(
        !site.join("picture.png.gz").exists(),
        "images are not compressed"
    );
    assert!(
        !site.join("tiny.js.gz").exists(),
        "the stale .gz was removed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".gz.gz"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The same input gives the same bytes, and a second run compresses no .gz.
    let first = std::fs::read(site.join("app.js.gz")).unwrap();
    let again = deploy::precompress(&site).unwrap();
    assert_eq!(again, report);
    assert_eq!(std::fs::read(site.join("app.js.gz")).unwrap(), first);

    // A changed file gets a fresh .gz.
    std::fs::write(site.join("app.js"), big_js().replace("x + 1", "x + 2")).unwrap();
    deploy::precompress(&site).unwrap();
    assert_eq!(
        gunzip(&site.join("app.js.gz")),
        std::fs::read(site.join("app.js")).unwrap()
    );
}

#[cfg(unix)]
#[test]
fn precompress_does_not_follow_symlinks_out_of_the_directory() {
    let (outer, site) = site();
    let elsewhere = outer.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("outside.js"), big_js()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, site.join("linked")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("outside.js"), site.join("link.js")).unwrap();
    deploy::precompress(&site).unwrap();
    assert!(!elsewhere.join("outside.js.gz").exists());
    assert!(!site.join("link.js.gz").exists());
}

#[test]
fn write_nginx_precompresses_when_asked() {
    let (_outer, site) = site();
    let mut a = args(&site);
    a.precompress = true;
    let report = deploy::write_nginx(&a).unwrap();
    let Some(Precompressed { written: 5, .. }) = report.precompressed else {
        panic!(
            "expected 5 files precompressed, got {:?}",
            report.precompressed
        )
    };
    assert!(site.join("mod.0123abcd.wasm.gz").exists());
}

#[tokio::test]
async fn wasmbridge_serve_sends_the_precompressed_files() {
    let (_outer, site) = site();
    deploy::precompress(&site).unwrap();
    let router = wasmbridge::server::app(&site).unwrap();
    let res = router
        .clone()
        .oneshot(
            Request::get("/mod.0123abcd.wasm")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body.as_ref(),
        std::fs::read(site.join("mod.0123abcd.wasm.gz")).unwrap()
    );
}

/// `nginx -t` on an nginx.conf that includes the generated block, with every
/// path nginx writes inside a temp dir. Fails, never skips, where nginx is
/// missing: `cargo xtask test` installs it.
#[test]
fn nginx_accepts_the_generated_block() {
    assert!(
        Path::new(NGINX).exists(),
        "expected nginx at {NGINX}, found nothing: apt-get install nginx, or cargo xtask setup as root"
    );
    let (outer, site) = site();
    let prefix = outer.path().join("nginx");
    std::fs::create_dir(&prefix).unwrap();
    let mut a = args(&site);
    a.out = Some(prefix.join("site.conf"));
    deploy::write_nginx(&a).unwrap();
    let p = prefix.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {p}/client_body;\n  proxy_temp_path {p}/proxy;\n\
         fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n\
         include {p}/site.conf;\n}}\n"
    );
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let out = Command::new(NGINX)
        .arg("-t")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .arg("-e")
        .arg(prefix.join("error.log"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t failed: {stderr}");
    assert!(stderr.contains("test is successful"), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("[warn]") || l.contains("[emerg]"))
        .filter(|l| !l.contains("\"user\" directive"))
        .collect();
    assert!(warnings.is_empty(), "nginx warned: {warnings:?}");
}
