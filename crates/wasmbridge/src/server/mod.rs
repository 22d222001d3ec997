//! The static file server behind `wasmbridge serve`: cross-origin isolated, cache-validating and root-confined.
//!
//! Every response carries `Cross-Origin-Opener-Policy: same-origin`,
//! `Cross-Origin-Embedder-Policy: require-corp`, `Cross-Origin-Resource-Policy:
//! same-origin` and `X-Content-Type-Options: nosniff`, so pages get
//! `SharedArrayBuffer` (and thus the worker pool) when opened from `localhost`.
//! That includes the answers to request heads that do not parse: `conn` checks
//! every head before hyper sees it and routes a bad one through the router.
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
//! [`run`] does all of it for the CLI. The modules: `paths` (request path to
//! a confined file), `conditional` (validators, 304, ranges), `files` (one
//! file: resolve → conditional → range → variant), [`mime`] (the content type
//! table `deploy` shares) and `conn` (request heads before hyper).

mod conditional;
mod conn;
mod files;
pub mod mime;
mod paths;

use std::future::Future;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Longest request path (still percent-encoded) that is looked up; longer ones get 414.
pub const MAX_PATH_LEN: usize = 4096;

/// Largest request head (request line and headers) the server reads.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// How long `serve` waits for in-flight responses after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
    let router = Router::new()
        .fallback(handle)
        .with_state(state)
        .layer(CompressionLayer::new().compress_when(files::marked_compressible));
    Ok(with_security_headers(router, isolation))
}

/// The headers every response carries: COOP and COEP (with `isolation`, so a
/// page is cross-origin isolated), CORP and nosniff.
pub fn security_headers(isolation: bool) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
    let isolating = [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
    ];
    let always = [
        ("cross-origin-resource-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
    ];
    isolating
        .into_iter()
        .filter(move |_| isolation)
        .chain(always)
        .map(|(name, value)| {
            (
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
}

/// Wraps `router` so every response it gives carries [`security_headers`];
/// `wasmbridge dev` wraps its own routes with the same layers.
pub fn with_security_headers(router: Router, isolation: bool) -> Router {
    security_headers(isolation).fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(name, value))
    })
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
        // `HeadGuard` refuses heads past MAX_HEAD_BYTES itself (431, with the
        // security headers); hyper's own limit sits above it so hyper never
        // answers first.
        .max_buf_size(2 * MAX_HEAD_BYTES);
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
        let io = TokioIo::new(conn::HeadGuard::new(stream));
        let conn = graceful.watch(http.serve_connection(io, service));
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
    let shutdown = shutdown_signal().map_err(ServerError::Signal)?;
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
pub(crate) fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
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

async fn handle(State(site): State<Arc<Site>>, req: Request) -> Response {
    if let Some(status) = req.headers().get(conn::REJECTED) {
        return rejected(status);
    }
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
    let Some(segments) = paths::sanitize(raw) else {
        return plain(StatusCode::BAD_REQUEST, "bad request path");
    };
    let head = method == Method::HEAD;
    match files::serve_path(&site.root, raw, &segments, req.headers(), head).await {
        Ok(res) => res,
        Err(err) => error_response(&err, raw),
    }
}

/// The answer to a head [`conn::HeadGuard`] refused.
fn rejected(status: &HeaderValue) -> Response {
    let status = status.to_str().ok().and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(431) => plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "expected a request head of at most 32 KiB and 100 headers",
        ),
        Some(411) => plain(
            StatusCode::LENGTH_REQUIRED,
            "expected a request body with content-length, got transfer-encoding",
        ),
        _ => plain(
            StatusCode::BAD_REQUEST,
            "expected an http/1.1 request head, got one that does not parse",
        ),
    }
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

fn error_response(err: &io::Error, raw: &str) -> Response {
    if paths::is_missing(err) {
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
