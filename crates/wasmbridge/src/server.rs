//! The static file server behind `wasmbridge serve`: cross-origin isolated, cache-validating and root-confined.
//!
//! Every response carries `Cross-Origin-Opener-Policy: same-origin`,
//! `Cross-Origin-Embedder-Policy: require-corp`, `Cross-Origin-Resource-Policy:
//! same-origin` and `X-Content-Type-Options: nosniff`, so pages get
//! `SharedArrayBuffer` (and thus the worker pool) when opened from `localhost`.
//!
//! Files are served with a weak `ETag` (size and modification time of the
//! requested file) and `Last-Modified`, answer `If-None-Match` and
//! `If-Modified-Since` with 304, and honour single `Range` requests. When the
//! client accepts it, a precompressed `file.br` or `file.gz` next to the file is
//! sent instead; otherwise text, JavaScript, JSON and `.wasm` are compressed on
//! the fly. No request can read outside the root: paths are decoded once,
//! `..`, backslashes and NUL bytes are refused, and the resolved (symlink-free)
//! path must still lie under the canonical root.
//!
//! [`app`] builds the [`Router`]; [`bind`] and [`serve`] (or [`serve_with`])
//! run it on hyper with a header read timeout and a connection limit, and
//! [`run`] does all of it for the CLI.

use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Extensions, Method, StatusCode, Version};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::io::ReaderStream;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Longest request path (still percent-encoded) that is looked up; longer ones get 414.
pub const MAX_PATH_LEN: usize = 4096;

/// Largest request head (request line and headers) the server reads.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// How long `serve` waits for in-flight responses after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Responses smaller than this are not worth compressing on the fly.
const MIN_COMPRESS_LEN: u64 = 256;

/// Chunk size used when streaming files.
const READ_CHUNK: usize = 64 * 1024;

/// Everything that can go wrong while setting up or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The root could not be resolved (missing, unreadable, dangling symlink).
    #[error("expected the serve root {} to be an existing directory, but it could not be resolved: {source}", path.display())]
    RootNotFound {
        /// The root as given.
        path: PathBuf,
        /// Why it could not be canonicalized.
        #[source]
        source: io::Error,
    },
    /// The root exists but is a file (or something else that is not a directory).
    #[error("expected the serve root {} to be a directory, but it is not one", path.display())]
    RootNotDirectory {
        /// The canonical root.
        path: PathBuf,
    },
    /// The listening socket could not be bound.
    #[error("expected to listen on {addr}, but binding failed: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The error from the OS.
        #[source]
        source: io::Error,
    },
    /// The bound socket did not report its address.
    #[error("expected the bound socket to report its local address, but it failed: {0}")]
    LocalAddr(#[source] io::Error),
    /// The Ctrl-C / SIGTERM handler could not be installed.
    #[error("expected to install the shutdown signal handler, but it failed: {0}")]
    Signal(#[source] io::Error),
    /// The "serving ..." line could not be written to stdout.
    #[error("expected to print the server address to stdout, but writing failed: {0}")]
    Stdout(#[source] io::Error),
}

/// Connection-level settings for [`serve_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// A connection that has not sent a complete request head within this time
    /// (including an idle keep-alive connection) is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// Connections served at once; further clients wait in the accept queue. Default 512.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
        }
    }
}

/// What `wasmbridge serve` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Directory to serve.
    pub root: PathBuf,
    /// Address to listen on; default `127.0.0.1` (browsers only grant cross-origin
    /// isolation to secure contexts, which plain-HTTP `localhost` is).
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Timeouts and limits.
    pub server: ServerConfig,
    /// Send COOP and COEP, making pages cross-origin isolated (default). Off
    /// only to try a page the way a server without them would serve it.
    pub isolation: bool,
}

impl ServeOptions {
    /// Serve `root` on `127.0.0.1`, on a free port, with the default [`ServerConfig`].
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            server: ServerConfig::default(),
            isolation: true,
        }
    }
}

/// Build the router serving `root` (canonicalized; it must be a directory).
pub fn app(root: &Path) -> Result<Router, ServerError> {
    app_with(root, true)
}

/// [`app`], with `isolation: false` leaving out COOP and COEP.
pub fn app_with(root: &Path, isolation: bool) -> Result<Router, ServerError> {
    let canonical = std::fs::canonicalize(root).map_err(|source| ServerError::RootNotFound {
        path: root.to_path_buf(),
        source,
    })?;
    if !canonical.is_dir() {
        return Err(ServerError::RootNotDirectory { path: canonical });
    }
    let state = Arc::new(Site { root: canonical });
    let security = ServiceBuilder::new()
        .option_layer(isolation.then(|| {
            SetResponseHeaderLayer::overriding(
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            )
        }))
        .option_layer(isolation.then(|| {
            SetResponseHeaderLayer::overriding(
                HeaderName::from_static("cross-origin-embedder-policy"),
                HeaderValue::from_static("require-corp"),
            )
        }))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(CompressionLayer::new().compress_when(marked_compressible));
    Ok(Router::new()
        .fallback(handle)
        .with_state(state)
        .layer(security))
}

/// Bind `opts.host:opts.port`; returns the listener and the address actually bound.
pub async fn bind(opts: &ServeOptions) -> Result<(TcpListener, SocketAddr), ServerError> {
    let addr = SocketAddr::new(opts.host, opts.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServerError::LocalAddr)?;
    Ok((listener, local))
}

/// Serve `router` on `listener` with the default [`ServerConfig`] until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_with(listener, router, &ServerConfig::default(), shutdown).await
}

/// Serve `router` on `listener` until `shutdown` completes, then stop accepting,
/// close idle connections and give in-flight responses a few seconds to finish.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        // Request heads past this are refused with 431 instead of buffered.
        .max_buf_size(MAX_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    // Typically EMFILE: back off instead of spinning.
                    eprintln!("wasmbridge: accepting a connection failed: {err}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Best effort: only latency is at stake.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Client resets and header timeouts end up here; nothing to report.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {}
    }
    Ok(())
}

/// Bind, print `wasmbridge: serving <root> at http://<addr>/` to stdout and serve
/// until Ctrl-C or SIGTERM.
pub async fn run(opts: ServeOptions) -> Result<(), ServerError> {
    let router = app_with(&opts.root, opts.isolation)?;
    let shown_root = std::fs::canonicalize(&opts.root).unwrap_or_else(|_| opts.root.clone());
    let shutdown = shutdown_signal()?;
    let (listener, addr) = bind(&opts).await?;
    {
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "wasmbridge: serving {} at http://{addr}/",
            shown_root.display()
        )
        .and_then(|()| out.flush())
        .map_err(ServerError::Stdout)?;
    }
    serve_with(listener, router, &opts.server, shutdown).await
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM; handlers are installed before it is returned.
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, ServerError> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ServerError::Signal)?;
    Ok(async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        tokio::select! {
            () = ctrl_c => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        ctrl_c.await;
    })
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

// ---------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------

struct Site {
    /// Canonical, symlink-free root directory.
    root: PathBuf,
}

/// Marker put in the extensions of responses the compression layer may encode.
#[derive(Clone, Copy)]
struct Compressible;

/// Larger files are sent as they are unless precompressed: compressing tens of
/// megabytes (a Godot engine) on every request would take seconds.
const MAX_ON_THE_FLY: u64 = 8 << 20;

fn marked_compressible(
    status: StatusCode,
    _version: Version,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> bool {
    let small = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_none_or(|len| len <= MAX_ON_THE_FLY);
    status == StatusCode::OK && small && extensions.get::<Compressible>().is_some()
}

async fn handle(State(site): State<Arc<Site>>, req: Request) -> Response {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let raw = req.uri().path();
    if raw.len() > MAX_PATH_LEN {
        return plain(StatusCode::URI_TOO_LONG, "request path too long");
    }
    match raw {
        "/healthz" => return no_store(plain(StatusCode::OK, "ok")),
        "/readyz" => {
            let ready = tokio::fs::metadata(&site.root)
                .await
                .is_ok_and(|m| m.is_dir());
            return no_store(if ready {
                plain(StatusCode::OK, "ready")
            } else {
                plain(StatusCode::SERVICE_UNAVAILABLE, "serve root is gone")
            });
        }
        _ => {}
    }
    let Some(segments) = sanitize(raw) else {
        return plain(StatusCode::BAD_REQUEST, "bad request path");
    };
    let head = method == Method::HEAD;
    match serve_path(&site, raw, &segments, req.headers(), head).await {
        Ok(res) => res,
        Err(err) => error_response(&err, raw),
    }
}

/// Decode `raw` once and split it into plain file-name segments, or `None` for a
/// path that could escape the root or is otherwise unusable.
fn sanitize(raw: &str) -> Option<Vec<String>> {
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
async fn confine(root: &Path, logical: &Path) -> io::Result<Option<PathBuf>> {
    match tokio::fs::canonicalize(logical).await {
        Ok(canonical) if canonical.starts_with(root) => Ok(Some(canonical)),
        Ok(_) => Ok(None),
        Err(err) if is_missing(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename
    )
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gz",
        }
    }
    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

async fn serve_path(
    site: &Site,
    raw: &str,
    segments: &[String],
    headers: &HeaderMap,
    head: bool,
) -> io::Result<Response> {
    let mut logical = site.root.clone();
    logical.extend(segments);
    let Some(mut path) = confine(&site.root, &logical).await? else {
        return Ok(not_found());
    };
    let mut meta = tokio::fs::metadata(&path).await?;
    if meta.is_dir() {
        if !raw.ends_with('/') {
            return Ok(redirect_to_dir(segments));
        }
        logical.push("index.html");
        let Some(index) = confine(&site.root, &logical).await? else {
            return Ok(not_found());
        };
        path = index;
        meta = tokio::fs::metadata(&path).await?;
    } else if raw.ends_with('/') {
        // `/file.js/` names a directory that does not exist.
        return Ok(not_found());
    }
    if !meta.is_file() {
        // Sockets, FIFOs, devices: never open them.
        return Ok(not_found());
    }

    let content_type = content_type(&logical);
    let len = meta.len();
    let modified = meta.modified().ok();
    let etag = etag(len, modified);
    let last_modified = modified.map(httpdate::fmt_http_date);

    let mut res = Response::new(Body::empty());
    {
        let h = res.headers_mut();
        insert(h, header::ETAG, &etag);
        if let Some(lm) = &last_modified {
            insert(h, header::LAST_MODIFIED, lm);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }

    if not_modified(headers, &etag, modified) {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(res);
    }
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));

    // A single satisfiable range is served from the identity representation.
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) if if_range_holds(headers, last_modified.as_deref()) => parse_range(spec, len),
        _ => RangeRequest::None,
    };
    match range {
        RangeRequest::Unsatisfiable => {
            let mut res = plain(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            insert(
                res.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes */{len}"),
            );
            return Ok(res);
        }
        RangeRequest::Bytes { start, end } => {
            let count = end - start + 1;
            *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = res.headers_mut();
            insert(
                h,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{len}"),
            );
            insert(h, header::CONTENT_LENGTH, &count.to_string());
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if !head {
                *res.body_mut() = file_body(&path, start, count).await?;
            }
            return Ok(res);
        }
        RangeRequest::None => {}
    }

    for encoding in accepted_encodings(headers) {
        let mut variant = OsString::from(logical.as_os_str());
        variant.push(".");
        variant.push(encoding.suffix());
        let Some(variant_path) = confine(&site.root, Path::new(&variant)).await? else {
            continue;
        };
        let variant_meta = tokio::fs::metadata(&variant_path).await?;
        if !variant_meta.is_file() {
            continue;
        }
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.token()),
        );
        insert(h, header::CONTENT_LENGTH, &variant_meta.len().to_string());
        if !head {
            *res.body_mut() = file_body(&variant_path, 0, variant_meta.len()).await?;
        }
        return Ok(res);
    }

    let h = res.headers_mut();
    insert(h, header::CONTENT_LENGTH, &len.to_string());
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if compressible(content_type) && len >= MIN_COMPRESS_LEN {
        res.extensions_mut().insert(Compressible);
    }
    if !head {
        *res.body_mut() = file_body(&path, 0, len).await?;
    }
    Ok(res)
}

async fn file_body(path: &Path, start: u64, count: u64) -> io::Result<Body> {
    let mut file = tokio::fs::File::open(path).await?;
    if start > 0 {
        file.seek(io::SeekFrom::Start(start)).await?;
    }
    Ok(Body::from_stream(ReaderStream::with_capacity(
        file.take(count),
        READ_CHUNK,
    )))
}

/// Weak validator from size and modification time: weak, because the same tag
/// is kept for the gzip/brotli encodings of the file.
fn etag(len: u64, modified: Option<SystemTime>) -> String {
    let stamp = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("W/\"{len:x}-{stamp:x}\"")
}

/// RFC 9110 §13.2.2: `If-None-Match` (weak comparison) wins over `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &str, modified: Option<SystemTime>) -> bool {
    let inm: Vec<&HeaderValue> = headers.get_all(header::IF_NONE_MATCH).iter().collect();
    if !inm.is_empty() {
        let ours = opaque_tag(etag);
        return inm
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || opaque_tag(tag) == ours);
    }
    let (Some(modified), Some(since)) = (
        modified,
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
    ) else {
        return false;
    };
    // HTTP dates have whole seconds.
    let modified_secs = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let since_secs = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    modified_secs <= since_secs
}

fn opaque_tag(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// `If-Range` needs a strong validator: our ETags are weak, so only an exact
/// `Last-Modified` date lets the range through.
fn if_range_holds(headers: &HeaderMap, last_modified: Option<&str>) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(value) => {
            let Ok(value) = value.to_str() else {
                return false;
            };
            let value = value.trim();
            !value.starts_with('"')
                && !value.starts_with("W/")
                && last_modified.is_some_and(|lm| lm == value)
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// No usable range: send the whole file.
    None,
    /// Inclusive byte range within the file.
    Bytes {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Single `bytes=` ranges only; multiple or malformed ranges are ignored (200).
fn parse_range(spec: &str, len: u64) -> RangeRequest {
    let spec = spec.trim();
    let Some((unit, set)) = spec.split_once('=') else {
        return RangeRequest::None;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeRequest::None;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeRequest::None;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return RangeRequest::None;
        };
        if suffix == 0 || len == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Bytes {
            start: len.saturating_sub(suffix),
            end: len - 1,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeRequest::None;
    };
    let end = if last.is_empty() {
        None
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => Some(end),
            _ => return RangeRequest::None,
        }
    };
    if start >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Bytes {
        start,
        end: end.map_or(len - 1, |e| e.min(len - 1)),
    }
}

/// Precompressed encodings the client accepts, best first (brotli wins ties).
fn accepted_encodings(headers: &HeaderMap) -> Vec<Encoding> {
    let (mut br, mut gzip, mut star) = (None, None, None);
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut quality = 1000_u32;
        for param in parts {
            if let Some((key, value)) = param.split_once('=') {
                if key.trim().eq_ignore_ascii_case("q") {
                    quality = parse_quality(value.trim());
                }
            }
        }
        match name.as_str() {
            "br" => br = Some(quality),
            "gzip" | "x-gzip" => gzip = Some(quality),
            "*" => star = Some(quality),
            _ => {}
        }
    }
    let br = br.or(star).unwrap_or(0);
    let gzip = gzip.or(star).unwrap_or(0);
    let mut out: Vec<(Encoding, u32)> = [(Encoding::Brotli, br), (Encoding::Gzip, gzip)]
        .into_iter()
        .filter(|&(_, q)| q > 0)
        .collect();
    out.sort_by_key(|&(_, q)| std::cmp::Reverse(q));
    out.into_iter().map(|(e, _)| e).collect()
}

/// `q` value in thousandths; anything unparsable counts as "not acceptable".
fn parse_quality(value: &str) -> u32 {
    match value.parse::<f32>() {
        Ok(q) if q.is_finite() => (q.clamp(0.0, 1.0) * 1000.0).round() as u32,
        _ => 0,
    }
}

/// Content type by extension of the requested name (not of a symlink's target).
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs" | "cjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("css") => "text/css",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wav") => "audio/wav",
        Some("ogg") => "audio/ogg",
        Some("mp3") => "audio/mpeg",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("otf") => "font/otf",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        // .pck, .br, .bin and anything unknown.
        _ => "application/octet-stream",
    }
}

/// Types worth compressing on the fly (images, archives, `.pck` are not).
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(
            content_type,
            "application/wasm"
                | "application/json"
                | "application/manifest+json"
                | "application/xml"
                | "image/svg+xml"
        )
}

// ---------------------------------------------------------------------------
// Small responses
// ---------------------------------------------------------------------------

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    insert(h, header::CONTENT_LENGTH, &text.len().to_string());
    res
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found")
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
fn redirect_to_dir(segments: &[String]) -> Response {
    let mut location = String::from("/");
    for segment in segments {
        location.extend(utf8_percent_encode(segment, SEGMENT));
        location.push('/');
    }
    let mut res = plain(StatusCode::PERMANENT_REDIRECT, "moved");
    insert(res.headers_mut(), header::LOCATION, &location);
    res
}

fn error_response(err: &io::Error, raw: &str) -> Response {
    if is_missing(err) {
        return not_found();
    }
    if err.kind() == io::ErrorKind::PermissionDenied {
        return plain(StatusCode::FORBIDDEN, "forbidden");
    }
    eprintln!("wasmbridge: serving {raw} failed: {err}");
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
}

/// Insert a header whose value we built ourselves; values that would not be
/// valid header text (they never are) are dropped rather than panicking.
fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-3", 10), Bytes { start: 0, end: 3 });
        assert_eq!(parse_range("bytes=4-", 10), Bytes { start: 4, end: 9 });
        assert_eq!(parse_range("bytes=-3", 10), Bytes { start: 7, end: 9 });
        assert_eq!(parse_range("bytes=-30", 10), Bytes { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=5-100", 10), Bytes { start: 5, end: 9 });
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-4", 10), None);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
        assert_eq!(parse_range("bytes=x-1", 10), None);
    }

    #[test]
    fn accept_encoding_negotiation() {
        let negotiate = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepted_encodings(&h)
        };
        use Encoding::*;
        assert_eq!(negotiate("gzip, deflate, br"), vec![Brotli, Gzip]);
        assert_eq!(negotiate("gzip"), vec![Gzip]);
        assert_eq!(negotiate("br;q=0.5, gzip"), vec![Gzip, Brotli]);
        assert_eq!(negotiate("br;q=0, *"), vec![Gzip]);
        assert_eq!(negotiate("identity"), vec![]);
        assert_eq!(negotiate("*;q=0"), vec![]);
        assert_eq!(accepted_encodings(&HeaderMap::new()), vec![]);
    }

    #[test]
    fn weak_etags_compare_weakly() {
        let tag = etag(5, Some(UNIX_EPOCH + Duration::from_secs(7)));
        assert!(tag.starts_with("W/\""));
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"nope\", {}", opaque_tag(&tag))).unwrap(),
        );
        assert!(not_modified(&h, &tag, None));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"nope\""));
        assert!(!not_modified(&h, &tag, None));
    }
}
