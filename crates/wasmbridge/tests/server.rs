//! Behaviour of `wasmbridge serve`: headers, MIME types, conditional and
//! compressed responses, root confinement, and the real socket server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode, Uri};
use axum::Router;
use http_body_util::BodyExt as _;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;
use wasmbridge::server::{self, ServeOptions, ServerConfig, ServerError};

const SECRET: &str = "TOP-SECRET-CONTENT-4711";
const WASM: &[u8] = b"\0asm\x01\0\0\0";

/// A root inside `outer` (so `/../secret.txt` would really hit a file) plus
/// another tempdir with a secret that symlinks point at.
struct Fixture {
    outer: TempDir,
    elsewhere: TempDir,
    router: Router,
}

impl Fixture {
    fn root(&self) -> std::path::PathBuf {
        self.outer.path().join("root")
    }
}

fn big_js() -> String {
    "export function f(x) { return x + 1; }\n".repeat(400)
}

fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn fixture() -> Fixture {
    let outer = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    std::fs::write(outer.path().join("secret.txt"), SECRET).unwrap();
    std::fs::write(elsewhere.path().join("secret.txt"), SECRET).unwrap();
    let root = outer.path().join("root");
    std::fs::create_dir(&root).unwrap();
    write(
        &root,
        "index.html",
        "<!doctype html><title>root index</title>",
    );
    write(&root, "app.js", "console.log('app');");
    write(&root, "worker.mjs", "export const w = 1;");
    let mut wasm = WASM.to_vec();
    wasm.extend(std::iter::repeat_n(0u8, 4096));
    write(&root, "game.wasm", &wasm);
    write(&root, "wasm/game_bg.0123abcdef.wasm", &wasm);
    write(&root, "wasm/game.0123abcdef.js", "export default 1;");
    write(&root, "data.json", "{\"a\":1}");
    write(&root, "style.css", "body{}");
    write(&root, "pic.png", vec![0x89u8; 4096]);
    write(&root, "game.pck", vec![7u8; 64]);
    write(&root, "big.js", big_js());
    write(&root, "pre.js", "plain js");
    write(&root, "pre.js.br", "BROTLI-BYTES");
    write(&root, "pre.js.gz", "GZIP-BYTES");
    write(&root, "onlygz.js", "plain only");
    write(&root, "onlygz.js.gz", "ONLYGZ-GZIP");
    write(&root, "sub/index.html", "<p>sub index</p>");
    write(&root, "healthz", "shadowed file");
    write(&root, "digits.txt", "0123456789");
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        // Out of the root: file, directory, and a precompressed variant.
        symlink(elsewhere.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        symlink(elsewhere.path(), root.join("leakdir")).unwrap();
        symlink(outer.path().join("secret.txt"), root.join("index.html.br")).unwrap();
        symlink(outer.path(), root.join("up")).unwrap();
        // Inside the root: allowed.
        symlink(root.join("app.js"), root.join("alias.js")).unwrap();
    }
    let router = server::app(&root).unwrap();
    Fixture {
        outer,
        elsewhere,
        router,
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: impl header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn req(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

async fn get(router: &Router, uri: &str) -> Reply {
    send(router, req(Method::GET, uri, &[])).await
}

async fn get_with(router: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    send(router, req(Method::GET, uri, headers)).await
}

#[track_caller]
fn assert_isolated(headers: &HeaderMap) {
    let expect = [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-resource-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
    ];
    for (name, value) in expect {
        assert_eq!(
            headers.get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{name} in {headers:?}"
        );
    }
}

#[tokio::test]
async fn isolation_headers_on_every_status() {
    let fx = fixture();
    let ok = get(&fx.router, "/app.js").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_isolated(&ok.headers);

    let etag = ok.header(header::ETAG).to_owned();
    let not_modified = get_with(&fx.router, "/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_isolated(&not_modified.headers);

    let missing = get(&fx.router, "/nope.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_isolated(&missing.headers);

    let partial = get_with(&fx.router, "/digits.txt", &[("range", "bytes=2-4")]).await;
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_isolated(&partial.headers);

    let bad = get(&fx.router, "/%2e%2e/secret.txt").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_isolated(&bad.headers);

    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let res = send(&fx.router, req(method.clone(), "/app.js", &[])).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(res.header(header::ALLOW), "GET, HEAD");
        assert_isolated(&res.headers);
    }
    for path in ["/healthz", "/readyz"] {
        assert_isolated(&get(&fx.router, path).await.headers);
    }
}

#[tokio::test]
async fn mime_types() {
    let fx = fixture();
    for (path, mime) in [
        ("/game.wasm", "application/wasm"),
        ("/app.js", "text/javascript"),
        ("/worker.mjs", "text/javascript"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/style.css", "text/css"),
        ("/pic.png", "image/png"),
        ("/game.pck", "application/octet-stream"),
    ] {
        let res = get(&fx.router, path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_eq!(res.header(header::CONTENT_TYPE), mime, "{path}");
        assert_eq!(res.header(header::CACHE_CONTROL), "no-cache", "{path}");
    }
    let wasm = get(&fx.router, "/game.wasm").await;
    assert!(wasm.body.starts_with(WASM));
    assert_eq!(wasm.body.len(), WASM.len() + 4096);
}

#[tokio::test]
async fn content_hashed_files_are_immutable_and_the_rest_revalidated() {
    let fx = fixture();
    for path in ["/wasm/game_bg.0123abcdef.wasm", "/wasm/game.0123abcdef.js"] {
        let res = get(&fx.router, path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_eq!(
            res.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{path}"
        );
        // A revalidation (a reload that skips the cache rules) says the same.
        let etag = res.header(header::ETAG).to_owned();
        let again = get_with(&fx.router, path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(
            again.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }
    for path in [
        "/game.wasm",
        "/app.js",
        "/data.json",
        "/wasm/missing.0123abcdef.wasm",
    ] {
        let res = get(&fx.router, path).await;
        assert_ne!(
            res.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }
}

#[tokio::test]
async fn index_and_directories() {
    let fx = fixture();
    let root = get(&fx.router, "/").await;
    assert_eq!(root.text(), "<!doctype html><title>root index</title>");
    let sub = get(&fx.router, "/sub/").await;
    assert_eq!(sub.status, StatusCode::OK);
    assert_eq!(sub.text(), "<p>sub index</p>");
    let redirect = get(&fx.router, "/sub").await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.header(header::LOCATION), "/sub/");
    assert_isolated(&redirect.headers);
    // A file with a trailing slash is not a directory.
    assert_eq!(
        get(&fx.router, "/app.js/").await.status,
        StatusCode::NOT_FOUND
    );
    // A directory without index.html.
    std::fs::create_dir(fx.root().join("empty")).unwrap();
    assert_eq!(
        get(&fx.router, "/empty/").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn head_has_headers_but_no_body() {
    let fx = fixture();
    for (path, accept) in [
        ("/app.js", "identity"),
        ("/big.js", "gzip"),
        ("/pre.js", "br"),
    ] {
        let headers = [("accept-encoding", accept)];
        let get = send(&fx.router, req(Method::GET, path, &headers)).await;
        let head = send(&fx.router, req(Method::HEAD, path, &headers)).await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(head.body.is_empty(), "{path}: {:?}", head.text());
        assert!(!get.body.is_empty());
        assert_isolated(&head.headers);
        for name in [
            header::CONTENT_TYPE,
            header::ETAG,
            header::LAST_MODIFIED,
            header::CONTENT_ENCODING,
            header::CONTENT_LENGTH,
            header::VARY,
        ] {
            assert_eq!(head.header(&name), get.header(&name), "{path} {name}");
        }
    }
    let head = send(&fx.router, req(Method::HEAD, "/app.js", &[])).await;
    assert_eq!(
        head.header(header::CONTENT_LENGTH),
        "console.log('app');".len().to_string()
    );
}

#[tokio::test]
async fn conditional_get_by_etag() {
    let fx = fixture();
    let first = get(&fx.router, "/app.js").await;
    let etag = first.header(header::ETAG).to_owned();
    assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");

    let again = get_with(&fx.router, "/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header(header::ETAG), etag);

    // Strong form of the same tag, and in a list, also match (weak comparison).
    let strong = etag.trim_start_matches("W/");
    let listed = format!("\"other\", {strong}");
    let again = get_with(&fx.router, "/app.js", &[("if-none-match", &listed)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let other = get_with(&fx.router, "/app.js", &[("if-none-match", "W/\"nope\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.text(), "console.log('app');");

    // If-None-Match wins over a matching If-Modified-Since.
    let lm = first.header(header::LAST_MODIFIED).to_owned();
    let both = get_with(
        &fx.router,
        "/app.js",
        &[("if-none-match", "\"nope\""), ("if-modified-since", &lm)],
    )
    .await;
    assert_eq!(both.status, StatusCode::OK);

    // Changing the file changes the tag.
    std::fs::write(fx.root().join("app.js"), "console.log('changed!');").unwrap();
    let changed = get_with(&fx.router, "/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.text(), "console.log('changed!');");
    assert_ne!(changed.header(header::ETAG), etag);
}

#[tokio::test]
async fn conditional_get_by_last_modified() {
    let fx = fixture();
    let first = get(&fx.router, "/index.html").await;
    let lm = first.header(header::LAST_MODIFIED).to_owned();
    assert!(lm.ends_with(" GMT"), "{lm}");
    let again = get_with(&fx.router, "/index.html", &[("if-modified-since", &lm)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_isolated(&again.headers);

    let old = get_with(
        &fx.router,
        "/index.html",
        &[("if-modified-since", "Fri, 09 Aug 1996 14:21:40 GMT")],
    )
    .await;
    assert_eq!(old.status, StatusCode::OK);
    let junk = get_with(
        &fx.router,
        "/index.html",
        &[("if-modified-since", "yesterday")],
    )
    .await;
    assert_eq!(junk.status, StatusCode::OK);
}

#[tokio::test]
async fn precompressed_variants_follow_accept_encoding() {
    let fx = fixture();
    for (accept, body, encoding) in [
        ("gzip, deflate, br", "BROTLI-BYTES", "br"),
        ("br", "BROTLI-BYTES", "br"),
        ("gzip", "GZIP-BYTES", "gzip"),
        ("br;q=0.5, gzip", "GZIP-BYTES", "gzip"),
        ("br;q=0, gzip", "GZIP-BYTES", "gzip"),
        ("identity", "plain js", ""),
        ("", "plain js", ""),
    ] {
        let res = get_with(&fx.router, "/pre.js", &[("accept-encoding", accept)]).await;
        assert_eq!(res.status, StatusCode::OK, "{accept}");
        assert_eq!(res.text(), body, "{accept}");
        assert_eq!(res.header(header::CONTENT_ENCODING), encoding, "{accept}");
        assert_eq!(res.header(header::CONTENT_TYPE), "text/javascript");
        assert!(
            res.header(header::VARY)
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{accept}"
        );
        assert_eq!(res.header(header::CONTENT_LENGTH), body.len().to_string());
    }
    // Only a .gz exists: a brotli-preferring client still gets it.
    let res = get_with(&fx.router, "/onlygz.js", &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(res.text(), "ONLYGZ-GZIP");
    assert_eq!(res.header(header::CONTENT_ENCODING), "gzip");
    // The precompressed response is conditional too.
    let etag = res.header(header::ETAG).to_owned();
    let res = get_with(
        &fx.router,
        "/onlygz.js",
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn compresses_on_the_fly() {
    let fx = fixture();
    let res = get_with(&fx.router, "/big.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header(header::CONTENT_ENCODING), "gzip");
    assert_eq!(res.header(header::CONTENT_TYPE), "text/javascript");
    assert!(res.body.len() < big_js().len() / 4, "{}", res.body.len());
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&res.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, big_js());

    let wasm = get_with(&fx.router, "/game.wasm", &[("accept-encoding", "gzip")]).await;
    assert_eq!(wasm.header(header::CONTENT_ENCODING), "gzip");
    assert_eq!(wasm.header(header::CONTENT_TYPE), "application/wasm");

    let png = get_with(&fx.router, "/pic.png", &[("accept-encoding", "gzip")]).await;
    assert_eq!(png.header(header::CONTENT_ENCODING), "");
    assert_eq!(png.body.len(), 4096);

    let identity = get(&fx.router, "/big.js").await;
    assert_eq!(identity.header(header::CONTENT_ENCODING), "");
    assert_eq!(identity.text(), big_js());
}

#[tokio::test]
async fn huge_files_are_not_compressed_on_the_fly() {
    let fx = fixture();
    let huge = vec![b'a'; (8 << 20) + 1];
    write(&fx.root(), "engine.wasm", &huge);
    let res = get_with(
        &fx.router,
        "/engine.wasm",
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header(header::CONTENT_ENCODING), "");
    assert_eq!(res.body.len(), huge.len());
}

#[tokio::test]
async fn byte_ranges() {
    let fx = fixture();
    let res = get_with(&fx.router, "/digits.txt", &[("range", "bytes=2-4")]).await;
    assert_eq!(res.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.text(), "234");
    assert_eq!(res.header(header::CONTENT_RANGE), "bytes 2-4/10");
    let res = get_with(&fx.router, "/digits.txt", &[("range", "bytes=-3")]).await;
    assert_eq!(res.text(), "789");
    let res = get_with(&fx.router, "/digits.txt", &[("range", "bytes=20-")]).await;
    assert_eq!(res.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(res.header(header::CONTENT_RANGE), "bytes */10");
    assert_isolated(&res.headers);
    // If-Range with a weak ETag never matches: whole file.
    let res = get_with(
        &fx.router,
        "/digits.txt",
        &[("range", "bytes=2-4"), ("if-range", "W/\"x\"")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text(), "0123456789");
}

#[tokio::test]
async fn health_endpoints_shadow_files() {
    let fx = fixture();
    let health = get(&fx.router, "/healthz").await;
    assert_eq!(
        (health.status, health.text().as_str()),
        (StatusCode::OK, "ok")
    );
    let ready = get(&fx.router, "/readyz").await;
    assert_eq!(
        (ready.status, ready.text().as_str()),
        (StatusCode::OK, "ready")
    );
    let head = send(&fx.router, req(Method::HEAD, "/healthz", &[])).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn traversal_never_leaks() {
    let fx = fixture();
    assert!(fx.elsewhere.path().join("secret.txt").exists());
    let attempts = [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/sub%5c..%5c..%5csecret.txt",
        "//etc/passwd",
        "/etc/passwd",
        "///..//secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/secret.txt%00.html",
        "/%00",
        "/leak.txt",
        "/leakdir/secret.txt",
        "/leakdir/",
        "/up/secret.txt",
        "/up/root/../secret.txt",
        "http://localhost/../secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
    ];
    let outer = fx.outer.path().display().to_string();
    let elsewhere = fx.elsewhere.path().display().to_string();
    for (i, attempt) in attempts
        .iter()
        .map(|s| s.to_string())
        .chain([
            format!("/{}", outer.trim_start_matches('/')),
            format!("/{outer}/secret.txt"),
            format!("/{elsewhere}/secret.txt"),
        ])
        .enumerate()
    {
        let uri: Uri = attempt.parse().unwrap();
        for accept in ["", "br, gzip"] {
            let res = get_with(&fx.router, &uri.to_string(), &[("accept-encoding", accept)]).await;
            assert!(
                matches!(res.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND),
                "#{i} {attempt}: {}",
                res.status
            );
            assert!(!res.text().contains(SECRET), "#{i} {attempt} leaked");
            assert_isolated(&res.headers);
        }
    }
    // Raw backslashes are refused by the URI parser or by us.
    if let Ok(uri) = "/..\\secret.txt".parse::<Uri>() {
        let res = get(&fx.router, &uri.to_string()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
    }
    // Overlong paths.
    let long = format!("/{}", "a".repeat(5000));
    let res = get(&fx.router, &long).await;
    assert_eq!(res.status, StatusCode::URI_TOO_LONG);
    assert_isolated(&res.headers);
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_inside_root_work_and_variants_cannot_escape() {
    let fx = fixture();
    let alias = get(&fx.router, "/alias.js").await;
    assert_eq!(alias.status, StatusCode::OK);
    assert_eq!(alias.text(), "console.log('app');");
    // index.html.br links out of the root: the plain file is served instead.
    let res = get_with(&fx.router, "/", &[("accept-encoding", "br")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header(header::CONTENT_ENCODING), "");
    assert_eq!(res.text(), "<!doctype html><title>root index</title>");
    // And it cannot be fetched directly either.
    let res = get(&fx.router, "/index.html.br").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.text().contains(SECRET));
}

#[test]
fn app_rejects_missing_or_file_root() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("does-not-exist");
    let err = server::app(&missing).unwrap_err();
    assert!(matches!(err, ServerError::RootNotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("does-not-exist"), "{msg}");
    assert!(msg.starts_with("expected the serve root"), "{msg}");
    assert!(!msg.ends_with('.'), "{msg}");

    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let err = server::app(&file).unwrap_err();
    assert!(
        matches!(err, ServerError::RootNotDirectory { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("to be a directory"), "{err}");
}

/// Parses a raw HTTP/1.1 response head into (status line, lower-cased headers).
fn parse_head(raw: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_socket_round_trip_and_shutdown() {
    let fx = fixture();
    let opts = ServeOptions::new(fx.root());
    let (listener, addr) = server::bind(&opts).await.unwrap();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, fx.router.clone(), async {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /game.wasm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let (status, headers, body) = parse_head(&raw);
    assert_eq!(status, "HTTP/1.1 200 OK");
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("content-type"), Some("application/wasm"));
    assert_eq!(get("cross-origin-opener-policy"), Some("same-origin"));
    assert_eq!(get("cross-origin-embedder-policy"), Some("require-corp"));
    assert_eq!(get("cross-origin-resource-policy"), Some("same-origin"));
    assert_eq!(get("x-content-type-options"), Some("nosniff"));
    assert!(get("etag").is_some());
    assert_eq!(body.len(), WASM.len() + 4096);
    assert!(body.starts_with(WASM));

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("serve stops after the shutdown signal")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client_is_dropped_after_header_timeout() {
    let fx = fixture();
    let config = ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let (listener, addr) = server::bind(&ServeOptions::new(fx.root())).await.unwrap();
    let router = fx.router.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::serve_with(listener, router, &config, async {
            let _ = stopped.await;
        })
        .await
    });

    // A prompt client is served normally under the same timeout.
    let mut quick = tokio::net::TcpStream::connect(addr).await.unwrap();
    quick
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    quick.read_to_end(&mut raw).await.unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );

    // A slowloris client: one header byte per second.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let closed = tokio::spawn(async move {
        let mut got = Vec::new();
        // Returns on EOF or reset, i.e. when the server drops us.
        let _ = reader.read_to_end(&mut got).await;
        (started.elapsed(), got)
    });
    let request = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Slow: yes\r\n\r\n";
    for byte in request {
        if closed.is_finished() || writer.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (elapsed, got) = tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("server closes the slow connection")
        .unwrap();
    // The full head would take ~60 s at this pace; the server gives up after ~1 s.
    assert!(
        elapsed < Duration::from_secs(5),
        "dropped after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "dropped after {elapsed:?}"
    );
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Starts `serve` on a free port for the fixture; returns the address and a stopper.
async fn serve_fixture(
    fx: &Fixture,
    isolation: bool,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ServerError>>,
) {
    let router = server::app_with(&fx.root(), isolation).unwrap();
    let (listener, addr) = server::bind(&ServeOptions::new(fx.root())).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, router, async {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// Writes `request` on a fresh connection and reads until the server closes it.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes within 10 s")
        .unwrap();
    raw
}

/// A status line, lower-cased headers and a body.
type RawResponse = (String, Vec<(String, String)>, Vec<u8>);

/// Splits a byte stream of HTTP/1.1 responses with Content-Length bodies.
fn responses(mut raw: &[u8]) -> Vec<RawResponse> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let (status, headers, rest) = parse_head(raw);
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        out.push((status, headers, rest[..len].to_vec()));
        raw = &raw[raw.len() - rest.len() + len..];
    }
    out
}

fn assert_security_headers(status: &str, headers: &[(String, String)], isolation: bool) {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (coop, coep) = if isolation {
        (Some("same-origin"), Some("require-corp"))
    } else {
        (None, None)
    };
    assert_eq!(get("cross-origin-opener-policy"), coop, "{status}");
    assert_eq!(get("cross-origin-embedder-policy"), coep, "{status}");
    assert_eq!(
        get("cross-origin-resource-policy"),
        Some("same-origin"),
        "{status}"
    );
    assert_eq!(get("x-content-type-options"), Some("nosniff"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_over_a_socket_carry_the_security_headers() {
    let fx = fixture();
    let (addr, stop, task) = serve_fixture(&fx, true).await;
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..101)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, &str)> =
        vec![
        ("garbage", b"GARBAGE\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        (
            "raw NUL in the target",
            b"GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "file:// target",
            b"GET file:///etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "bad version",
            b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "bad header line",
            b"GET / HTTP/1.1\r\nHost x\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "conflicting content-length",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                .to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "head over 32 KiB",
            huge_head.into_bytes(),
            "HTTP/1.1 431 Request Header Fields Too Large",
        ),
        (
            "101 headers",
            many_headers.into_bytes(),
            "HTTP/1.1 431 Request Header Fields Too Large",
        ),
        (
            "chunked request body",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
                .to_vec(),
            "HTTP/1.1 411 Length Required",
        ),
        (
            "the guard's own marker header",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Wasmbridge-Rejected: 200\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
    ];
    for (what, request, want) in cases {
        let raw = exchange(addr, &request).await;
        let all = responses(&raw);
        assert_eq!(all.len(), 1, "{what}: {}", String::from_utf8_lossy(&raw));
        let (status, headers, body) = &all[0];
        assert_eq!(status, want, "{what}");
        assert_security_headers(status, headers, true);
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "connection" && v == "close"),
            "{what}: {headers:?}"
        );
        let text = String::from_utf8_lossy(body);
        assert!(text.starts_with("expected "), "{what}: {text}");
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_head_after_good_ones_ends_the_connection_with_headers() {
    let fx = fixture();
    let (addr, stop, task) = serve_fixture(&fx, false).await;
    // Two good requests (one with a body) and garbage, in one write.
    let raw = exchange(
        addr,
        b"GET /digits.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /digits.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nGET \
          GET /digits.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          \x01\x02 nonsense\r\n\r\nGET /digits.txt HTTP/1.1\r\n\r\n",
    )
    .await;
    let all = responses(&raw);
    let statuses: Vec<&str> = all.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 405 Method Not Allowed",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 400 Bad Request"
        ],
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(all[0].2, b"0123456789");
    assert_eq!(all[2].2, b"0123456789");
    for (status, headers, _) in &all {
        // Without isolation COOP and COEP stay off on error responses too.
        assert_security_headers(status, headers, false);
    }
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
