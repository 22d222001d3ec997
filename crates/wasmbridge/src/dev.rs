//! `wasmbridge dev`: build a guest crate, serve its page with the bundle, rebuild
//! when its sources change and reload the open pages.
//!
//! The server is the one behind `wasmbridge serve` ([`server::app`]), twice: over
//! the crate directory (its `index.html` and other static files) and, nested at
//! `/wasmbridge/`, over the bundle. Around them sit the dev routes:
//! `/_wasmbridge/events` (Server-Sent Events carrying the build status),
//! `/_wasmbridge/client.js` (the page side, put into every HTML page served) and a
//! generated page listing the guest's functions when the crate has no
//! `index.html`.
//!
//! Builds run as a child `wasmbridge build` process, so the compiler's output can
//! be shown in the page as well as on the terminal. A failed build leaves the last
//! good bundle in place (`build` only ever replaces a bundle with a complete one),
//! so open pages keep working while the error is on screen.

use std::convert::Infallible;
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use notify::{EventKind, RecursiveMode, Watcher as _};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::server::{self, ServerConfig, ServerError};

/// The port `wasmbridge dev` tries first, so a page keeps its origin (and with it
/// its storage and permissions) from one run to the next.
pub const DEFAULT_PORT: u16 = 8080;

/// How many ports from [`DEFAULT_PORT`] on are tried before giving up.
pub const PORT_TRIES: u16 = 20;

/// Quiet time after the last file event before a rebuild starts: editors write a
/// file in several steps (temp file, rename, metadata), and a save of many files
/// should cause one build.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Where the dev routes live; no crate file is served under it.
const DEV_PREFIX: &str = "/_wasmbridge";

/// Largest HTML page the dev server reads to put its script tag in.
const MAX_HTML: usize = 16 << 20;

/// Most of a failed build's output kept for the page (the terminal gets all of it).
const MAX_ERROR_TEXT: usize = 256 << 10;

const CLIENT_JS: &str = include_str!("dev/client.js");
const FUNCTIONS_HTML: &str = include_str!("dev/functions.html");

/// What `wasmbridge dev` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevOptions {
    /// Package to build; default: the package of the current directory.
    pub package: Option<String>,
    /// Port to listen on; default [`DEFAULT_PORT`] or the next free one. 0 picks any free port.
    pub port: Option<u16>,
    /// Build with `--release`.
    pub release: bool,
    /// Open the page in the default browser once it is served.
    pub open: bool,
}

/// Everything that stops `wasmbridge dev` (a failed build does not: it is shown).
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The working directory could not be read.
    #[error("expected to read the current directory, but it failed: {0}")]
    CurrentDir(#[source] io::Error),
    /// No guest to work on: no package here, an unknown `-p`, or a guest
    /// whose wasm-bindgen is not the CLI's.
    #[error(transparent)]
    Guest(#[from] crate::guest::GuestError),
    /// The bundle directory could not be created before the first build.
    #[error("expected to create the bundle directory {}, but it failed: {source}", path.display())]
    BundleDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The path of the running executable (which runs the builds) is unknown.
    #[error("expected to find the wasmbridge executable to run builds with, but it failed: {0}")]
    CurrentExe(#[source] io::Error),
    /// A child `wasmbridge build` could not be started.
    #[error("expected to start `{} build`, but it failed: {source}", exe.display())]
    BuildSpawn {
        /// The executable.
        exe: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file watcher could not be set up.
    #[error("expected to watch {} for changes, but it failed: {source}", path.display())]
    Watch {
        /// What was to be watched.
        path: PathBuf,
        /// Why.
        #[source]
        source: notify::Error,
    },
    /// Every port from the default on is taken.
    #[error("expected a free port from {first} to {last} on 127.0.0.1, but all are taken; pass --port N (0 for any)")]
    NoFreePort {
        /// The first port tried.
        first: u16,
        /// The last port tried.
        last: u16,
    },
    /// The async runtime did not start.
    #[error("expected to start the async runtime, but it failed: {0}")]
    Runtime(#[source] io::Error),
    /// The Ctrl-C / SIGTERM handler could not be installed.
    #[error("expected to install the shutdown signal handler, but it failed: {0}")]
    Signal(#[source] io::Error),
    /// Serving failed (binding, the roots).
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// The guest package `wasmbridge dev` works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Cargo package name.
    pub name: String,
    /// The directory of its Cargo.toml: watched, and served at `/`.
    pub dir: PathBuf,
    /// Cargo's target directory; the bundle goes to `<target>/wasmbridge/dev/<name>/`.
    pub target: PathBuf,
}

impl Package {
    /// The bundle directory the dev builds write and `/wasmbridge/` serves.
    pub fn bundle_dir(&self) -> PathBuf {
        self.target.join("wasmbridge").join("dev").join(&self.name)
    }
}

/// The package in `cwd` (or `-p`), picked and checked as `wasmbridge build`
/// picks it, so `dev` and `build` never disagree on which crate they mean.
pub fn resolve_package(cwd: &Path, requested: Option<&str>) -> Result<Package, DevError> {
    let guest = crate::guest::locate(cwd, requested)?;
    Ok(Package {
        name: guest.name,
        dir: guest.dir,
        target: guest.target_dir,
    })
}

// ---------------------------------------------------------------------------
// Watching
// ---------------------------------------------------------------------------

/// What a file change asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A static file (HTML, CSS, images): reload the pages.
    Reload,
    /// Rust sources or the manifest: build, then reload the pages.
    Rebuild,
}

/// What a change of `path` asks for, or `None` when it is none of the dev
/// loop's business: build output, version control, editor scratch files,
/// `Cargo.lock` (cargo itself writes it during a build).
pub fn classify(path: &Path, crate_dir: &Path, target_dir: &Path) -> Option<Change> {
    if path.starts_with(target_dir) {
        return None;
    }
    let rel = path.strip_prefix(crate_dir).ok()?;
    let mut parts = rel.components();
    let first = match parts.next()? {
        Component::Normal(first) => first.to_str()?,
        _ => return None,
    };
    let name = rel.file_name()?.to_str()?;
    let scratch = name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913";
    if first == "target" || first == "node_modules" || first.starts_with('.') || scratch {
        return None;
    }
    match first {
        "Cargo.lock" => None,
        "src" | "Cargo.toml" | "build.rs" => Some(Change::Rebuild),
        _ => Some(Change::Reload),
    }
}

/// Collapses a burst of file events into one [`Change`] once the files have
/// been quiet for the debounce time; a rebuild outranks a reload.
#[derive(Debug, Clone)]
pub struct Debouncer {
    quiet: Duration,
    pending: Option<(Change, Instant)>,
}

impl Debouncer {
    /// A debouncer that waits `quiet` after the last event.
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            pending: None,
        }
    }

    /// Records a change seen at `now`.
    pub fn push(&mut self, change: Change, now: Instant) {
        let merged = self.pending.map_or(change, |(c, _)| c.max(change));
        self.pending = Some((merged, now));
    }

    /// When the pending change is due, if there is one.
    pub fn due(&self) -> Option<Instant> {
        self.pending.map(|(_, last)| last + self.quiet)
    }

    /// The pending change, if the files have been quiet long enough at `now`.
    pub fn take(&mut self, now: Instant) -> Option<Change> {
        match self.pending {
            Some((change, last)) if now >= last + self.quiet => {
                self.pending = None;
                Some(change)
            }
            _ => None,
        }
    }
}

/// Watches the crate directory: its own files, and every subdirectory except
/// the target directory, dot directories and `node_modules` (a recursive watch
/// of `target/` would cost thousands of inotify watches and a flood of events
/// during every build). Top-level directories made later are added by
/// [`Builder::run`] as they appear.
fn watch(
    pkg: &Package,
    events: mpsc::Sender<notify::Result<notify::Event>>,
) -> Result<notify::RecommendedWatcher, DevError> {
    let mut watcher = notify::recommended_watcher(events).map_err(|source| DevError::Watch {
        path: pkg.dir.clone(),
        source,
    })?;
    watch_path(&mut watcher, &pkg.dir, RecursiveMode::NonRecursive)?;
    let entries = std::fs::read_dir(&pkg.dir).map_err(|e| DevError::Watch {
        path: pkg.dir.clone(),
        source: notify::Error::io(e),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if watched_subdir(&path, pkg) {
            watch_path(&mut watcher, &path, RecursiveMode::Recursive)?;
        }
    }
    Ok(watcher)
}

fn watch_path(
    watcher: &mut notify::RecommendedWatcher,
    path: &Path,
    mode: RecursiveMode,
) -> Result<(), DevError> {
    watcher.watch(path, mode).map_err(|source| DevError::Watch {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether `path` is a top-level directory of the crate whose files are watched.
fn watched_subdir(path: &Path, pkg: &Package) -> bool {
    let skipped = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n == "target" || n == "node_modules" || n.starts_with('.'));
    path.parent() == Some(pkg.dir.as_path())
        && !skipped
        && !path.starts_with(&pkg.target)
        && path.is_dir()
}

// ---------------------------------------------------------------------------
// Building and the build status
// ---------------------------------------------------------------------------

/// The state of the served bundle, as the event stream sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Identifies this server process: a page served by an earlier one reloads.
    pub instance: String,
    /// Counts what pages must reload for: good builds and static file changes.
    pub generation: u64,
    /// `ready`, or `failed` with the build's output in `error`.
    pub state: BuildState,
    /// What the failed build printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether the last build worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildState {
    /// The bundle is the output of the last build.
    Ready,
    /// The last build failed; the bundle is the last good one.
    Failed,
}

/// The output of a failed build worth showing: cargo's progress lines
/// ("Compiling", "Blocking") are left out.
pub fn failure_text(output: &str) -> String {
    let kept: Vec<&str> = output
        .lines()
        .filter(|line| {
            let t = line.trim_start();
            !(t.starts_with("Compiling ")
                || t.starts_with("Blocking ")
                || t.starts_with("Updating ")
                || t.starts_with("Locking ")
                || t.starts_with("Downloading ")
                || t.starts_with("Downloaded "))
        })
        .collect();
    let mut text = kept.join("\n").trim().to_string();
    if text.len() > MAX_ERROR_TEXT {
        let mut cut = MAX_ERROR_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (cut; the terminal has all of it)");
    }
    text
}

/// The build running now, if any, so that stopping the server can stop it too.
type Running = Arc<Mutex<Option<Child>>>;

/// Copies `from` to stderr line by line and returns what it copied.
fn tee(from: impl io::Read) -> String {
    let mut text = String::new();
    for line in BufReader::new(from).lines().map_while(Result::ok) {
        eprintln!("{line}");
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Runs `wasmbridge build -p NAME --out BUNDLE` as a child process, copying its
/// output to stderr as it comes; returns the output when the build failed.
fn build_once(
    exe: &Path,
    pkg: &Package,
    release: bool,
    running: &Running,
) -> Result<Result<(), String>, DevError> {
    let mut cmd = Command::new(exe);
    cmd.current_dir(&pkg.dir)
        .arg("build")
        .arg("-p")
        .arg(&pkg.name)
        .arg("--out")
        .arg(pkg.bundle_dir())
        // An error value's backtrace (RUST_BACKTRACE=1 turns them on for anyhow)
        // is noise in the page; panics keep theirs, RUST_BACKTRACE still rules those.
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if release {
        cmd.arg("--release");
    }
    let spawn_failed = |source| DevError::BuildSpawn {
        exe: exe.to_path_buf(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_failed)?;
    // Both pipes are read at once so neither can fill up and stall the child.
    let stdout = child
        .stdout
        .take()
        .map(|out| std::thread::spawn(move || tee(out)));
    let stderr = child.stderr.take();
    *lock(running) = Some(child);
    let mut output = stderr.map(tee).unwrap_or_default();
    if let Some(text) = stdout.and_then(|t| t.join().ok()) {
        output.push_str(&text);
    }
    let Some(mut child) = lock(running).take() else {
        return Ok(Err("the build was stopped".into()));
    };
    let status = child.wait().map_err(spawn_failed)?;
    Ok(if status.success() {
        Ok(())
    } else {
        Err(failure_text(&output))
    })
}

/// The slot of the running build; a panic elsewhere while holding it leaves nothing half done in it.
fn lock(running: &Running) -> std::sync::MutexGuard<'_, Option<Child>> {
    running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The build side of the dev loop: owns the status and publishes every change.
struct Builder {
    exe: PathBuf,
    pkg: Package,
    release: bool,
    status: watch::Sender<Status>,
    running: Running,
}

impl Builder {
    /// Builds and publishes the outcome; a good build is a new generation.
    fn build(&self) -> Result<(), DevError> {
        let started = Instant::now();
        let outcome = build_once(&self.exe, &self.pkg, self.release, &self.running)?;
        let pages = self.status.receiver_count().saturating_sub(1);
        match outcome {
            Ok(()) => {
                eprintln!(
                    "wasmbridge: dev build of {} ready in {:.1} s; reloading {pages} open page(s)",
                    self.pkg.name,
                    started.elapsed().as_secs_f64()
                );
                self.status.send_modify(|s| {
                    s.generation += 1;
                    s.state = BuildState::Ready;
                    s.error = None;
                });
            }
            Err(text) => {
                eprintln!(
                    "wasmbridge: dev build of {} failed; still serving the last good bundle; the error is shown in {pages} open page(s)",
                    self.pkg.name
                );
                self.status.send_modify(|s| {
                    s.state = BuildState::Failed;
                    s.error = Some(text);
                });
            }
        }
        Ok(())
    }

    /// A static file changed: pages reload unless the last build failed (then
    /// they keep showing its error over the last good bundle).
    fn reload(&self) {
        self.status.send_modify(|s| {
            if s.state == BuildState::Ready {
                s.generation += 1;
            }
        });
    }

    /// Waits for file events and acts on them until the watcher goes away.
    fn run(
        &self,
        watcher: &mut notify::RecommendedWatcher,
        events: &mpsc::Receiver<notify::Result<notify::Event>>,
    ) {
        let mut debouncer = Debouncer::new(DEBOUNCE);
        loop {
            let wait = debouncer.due().map_or(Duration::from_secs(3600), |due| {
                due.saturating_duration_since(Instant::now())
            });
            match events.recv_timeout(wait) {
                Ok(Ok(event)) => {
                    if matches!(event.kind, EventKind::Access(_)) {
                        continue;
                    }
                    if matches!(event.kind, EventKind::Create(_)) {
                        for dir in event.paths.iter().filter(|p| watched_subdir(p, &self.pkg)) {
                            if let Err(err) = watch_path(watcher, dir, RecursiveMode::Recursive) {
                                eprintln!("wasmbridge: {err}");
                            }
                        }
                    }
                    for path in &event.paths {
                        if let Some(change) = classify(path, &self.pkg.dir, &self.pkg.target) {
                            debouncer.push(change, Instant::now());
                        }
                    }
                }
                Ok(Err(err)) => eprintln!("wasmbridge: watching the crate failed: {err}"),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            match debouncer.take(Instant::now()) {
                Some(Change::Rebuild) => {
                    if let Err(err) = self.build() {
                        eprintln!("wasmbridge: {err}");
                    }
                }
                Some(Change::Reload) => self.reload(),
                None => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

struct Dev {
    crate_dir: PathBuf,
    crate_app: Router,
    status: watch::Receiver<Status>,
    closing: watch::Receiver<bool>,
}

/// The script tag put into served pages: it names the generation the page was
/// served from, so the page can tell a newer build from the one it runs.
pub fn client_tag(status: &Status) -> String {
    format!(
        "<script type=\"module\" src=\"{DEV_PREFIX}/client.js?generation={}&amp;instance={}\"></script>",
        status.generation, status.instance
    )
}

/// Puts `tag` into `html`: before `</head>`, else before `</body>`, else at the end.
pub fn inject(html: &str, tag: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let at = lower
        .find("</head>")
        .or_else(|| lower.rfind("</body>"))
        .unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + tag.len() + 1);
    out.push_str(&html[..at]);
    out.push_str(tag);
    out.push('\n');
    out.push_str(&html[at..]);
    out
}

/// Paths that name HTML pages: a directory (its index.html) or an `.html` file.
fn names_a_page(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with('/') || lower.ends_with(".html") || lower.ends_with(".htm")
}

/// Puts the client script into every HTML page. Pages are sent whole, never
/// from a cache or in ranges: a cached page would name an old generation and
/// reload forever.
async fn with_client(State(dev): State<Arc<Dev>>, mut req: Request, next: Next) -> Response {
    if names_a_page(req.uri().path()) {
        let headers = req.headers_mut();
        for name in [
            header::ACCEPT_ENCODING,
            header::RANGE,
            header::IF_RANGE,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
        ] {
            headers.remove(name);
        }
    }
    let head = req.method() == Method::HEAD;
    let res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html || head || res.status() != StatusCode::OK {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_HTML).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "page too large to serve in dev mode",
        )
            .into_response();
    };
    let tag = client_tag(&dev.status.borrow());
    let page = inject(&String::from_utf8_lossy(&bytes), &tag);
    for name in [
        header::ETAG,
        header::LAST_MODIFIED,
        header::ACCEPT_RANGES,
        header::CONTENT_LENGTH,
    ] {
        parts.headers.remove(name);
    }
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::from(page))
}

/// `/` and `/index.html`: the crate's own page, or the generated one.
async fn index(State(dev): State<Arc<Dev>>, req: Request) -> Response {
    let own = tokio::fs::metadata(dev.crate_dir.join("index.html"))
        .await
        .is_ok_and(|m| m.is_file());
    // The server module with its own request-head checks hands a malformed head
    // on as a `GET /` marked with this header, for its router to answer with the
    // error; that request must reach the server's router, never the generated page.
    let rejected = req.headers().contains_key("x-wasmbridge-rejected");
    if own || rejected {
        match dev.crate_app.clone().oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    } else {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            FUNCTIONS_HTML,
        )
            .into_response()
    }
}

async fn client_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        CLIENT_JS,
    )
        .into_response()
}

/// The build status as Server-Sent Events: the current one at once, then every change.
async fn events(State(dev): State<Arc<Dev>>) -> Response {
    let status = dev.status.clone();
    let closing = dev.closing.clone();
    let stream = futures_util::stream::unfold(
        (status, closing, true),
        |(mut status, mut closing, first)| async move {
            if !first {
                tokio::select! {
                    changed = status.changed() => changed.ok()?,
                    _ = closing.wait_for(|c| *c) => return None,
                }
            }
            let json = serde_json::to_string(&*status.borrow_and_update()).ok()?;
            let event = Event::default().event("status").data(json);
            Some((Ok::<_, Infallible>(event), (status, closing, false)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The dev router: the dev routes, the bundle at `/wasmbridge/`, the crate
/// directory for everything else, each with the headers of `wasmbridge serve`.
fn router(pkg: &Package, dev: Arc<Dev>) -> Result<Router, ServerError> {
    let bundle_app = server::app(&pkg.bundle_dir())?;
    let app = Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route(&format!("{DEV_PREFIX}/client.js"), get(client_js))
        .route(&format!("{DEV_PREFIX}/events"), get(events))
        .nest_service("/wasmbridge", bundle_app)
        .fallback_service(dev.crate_app.clone())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&dev),
            with_client,
        ))
        .with_state(dev);
    // The crate and bundle routers send these already; the dev routes need them
    // too, or a cross-origin isolated page could not load its own dev script.
    Ok(server::with_security_headers(app, true))
}

/// The ports to try, in order: the one asked for, or the default and the ones after it.
pub fn port_candidates(requested: Option<u16>) -> Vec<u16> {
    match requested {
        Some(port) => vec![port],
        None => (0..PORT_TRIES)
            .filter_map(|i| DEFAULT_PORT.checked_add(i))
            .collect(),
    }
}

/// Binds 127.0.0.1 on the first free port of `candidates`. A port asked for
/// explicitly (one candidate) that is taken is an error of its own.
pub async fn bind_first(candidates: &[u16]) -> Result<(TcpListener, SocketAddr), DevError> {
    let mut last_err = None;
    for &port in candidates {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                let local = listener
                    .local_addr()
                    .map_err(|e| DevError::Server(ServerError::LocalAddr(e)))?;
                return Ok((listener, local));
            }
            Err(source) => last_err = Some(ServerError::Bind { addr, source }),
        }
    }
    match (candidates, last_err) {
        ([_], Some(err)) => Err(DevError::Server(err)),
        _ => Err(DevError::NoFreePort {
            first: candidates.first().copied().unwrap_or(DEFAULT_PORT),
            last: candidates.last().copied().unwrap_or(DEFAULT_PORT),
        }),
    }
}

/// Builds, serves and watches until Ctrl-C or SIGTERM.
pub fn run(opts: &DevOptions) -> Result<(), DevError> {
    let cwd = std::env::current_dir().map_err(DevError::CurrentDir)?;
    let pkg = resolve_package(&cwd, opts.package.as_deref())?;
    let exe = std::env::current_exe().map_err(DevError::CurrentExe)?;
    let bundle = pkg.bundle_dir();
    std::fs::create_dir_all(&bundle).map_err(|source| DevError::BundleDir {
        path: bundle.clone(),
        source,
    })?;

    // Watching starts before the first build so that edits made during it count.
    let (event_tx, event_rx) = mpsc::channel();
    let mut watcher = watch(&pkg, event_tx)?;
    let instance = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .wrapping_add(u128::from(std::process::id()));
    let (status_tx, status_rx) = watch::channel(Status {
        instance: format!("{instance:x}"),
        generation: 0,
        state: BuildState::Ready,
        error: None,
    });
    let running = Running::default();
    let builder = Builder {
        exe,
        pkg: pkg.clone(),
        release: opts.release,
        status: status_tx,
        running: Arc::clone(&running),
    };
    builder.build()?;
    std::thread::spawn(move || builder.run(&mut watcher, &event_rx));

    let runtime = tokio::runtime::Runtime::new().map_err(DevError::Runtime)?;
    runtime.block_on(async {
        let (closing_tx, closing_rx) = watch::channel(false);
        let dev = Arc::new(Dev {
            crate_dir: pkg.dir.clone(),
            crate_app: server::app(&pkg.dir)?,
            status: status_rx,
            closing: closing_rx,
        });
        let app = router(&pkg, dev)?;
        let (listener, addr) = bind_first(&port_candidates(opts.port)).await?;
        let url = format!("http://{addr}/");
        {
            let mut out = io::stdout().lock();
            // Best effort: the URL is also the only thing a user needs, so a closed stdout is not fatal.
            let _ = writeln!(out, "wasmbridge: dev server for {} at {url}", pkg.name)
                .and_then(|()| out.flush());
        }
        eprintln!(
            "wasmbridge: watching {} for changes; Ctrl-C stops",
            pkg.dir.display()
        );
        if opts.open {
            open_browser(&url);
        }
        let signal = server::shutdown_signal().map_err(DevError::Signal)?;
        let shutdown = async move {
            signal.await;
            // Ends the open event streams, so the graceful shutdown need not wait for them.
            let _ = closing_tx.send(true);
        };
        server::serve_with(listener, app, &ServerConfig::default(), shutdown).await?;
        Ok::<_, DevError>(())
    })?;
    // A build started by the last change would otherwise go on after the server is gone.
    if let Some(mut child) = lock(&running).take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(())
}

/// Opens `url` in the default browser; failing to is only worth a line.
fn open_browser(url: &str) {
    let mut cmd = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        Command::new("xdg-open")
    };
    let opened = cmd
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if opened.is_err() {
        eprintln!("wasmbridge: could not open a browser; open {url} yourself");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn debouncer_waits_for_quiet_and_merges_a_burst() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Duration::from_millis(200));
        assert_eq!(d.due(), None);
        assert_eq!(d.take(at(t0, 1000)), None);
        d.push(Change::Reload, at(t0, 0));
        d.push(Change::Rebuild, at(t0, 50));
        d.push(Change::Reload, at(t0, 100));
        // Quiet time counts from the last event, not the first.
        assert_eq!(d.due(), Some(at(t0, 300)));
        assert_eq!(d.take(at(t0, 250)), None);
        // A rebuild anywhere in the burst wins over the reloads around it.
        assert_eq!(d.take(at(t0, 300)), Some(Change::Rebuild));
        assert_eq!(d.take(at(t0, 900)), None);
        assert_eq!(d.due(), None);
    }

    #[test]
    fn debouncer_fires_a_reload_alone() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(Duration::from_millis(200));
        d.push(Change::Reload, t0);
        assert_eq!(d.take(at(t0, 200)), Some(Change::Reload));
        d.push(Change::Rebuild, at(t0, 500));
        assert_eq!(d.take(at(t0, 800)), Some(Change::Rebuild));
    }

    #[test]
    fn classify_sorts_changes() {
        let dir = Path::new("/w/guest");
        let target = Path::new("/w/guest/target");
        let c = |p: &str| classify(Path::new(p), dir, target);
        assert_eq!(c("/w/guest/src/lib.rs"), Some(Change::Rebuild));
        assert_eq!(c("/w/guest/src/deep/mod.rs"), Some(Change::Rebuild));
        assert_eq!(c("/w/guest/Cargo.toml"), Some(Change::Rebuild));
        assert_eq!(c("/w/guest/build.rs"), Some(Change::Rebuild));
        assert_eq!(c("/w/guest/index.html"), Some(Change::Reload));
        assert_eq!(c("/w/guest/static/app.css"), Some(Change::Reload));
        assert_eq!(c("/w/guest/Cargo.lock"), None);
        assert_eq!(c("/w/guest/target/debug/x.wasm"), None);
        assert_eq!(c("/w/guest/.git/index"), None);
        assert_eq!(c("/w/guest/src/.lib.rs.swp"), None);
        assert_eq!(c("/w/guest/src/lib.rs~"), None);
        assert_eq!(c("/w/guest/src/4913"), None);
        assert_eq!(c("/w/guest/node_modules/a/b.js"), None);
        assert_eq!(c("/w/guest"), None);
        assert_eq!(c("/elsewhere/src/lib.rs"), None);
        // A target directory elsewhere (CARGO_TARGET_DIR) inside the crate all the same.
        assert_eq!(
            classify(
                Path::new("/w/guest/build-out/x"),
                dir,
                Path::new("/w/guest/build-out")
            ),
            None
        );
    }

    #[test]
    fn inject_goes_before_head_end_then_body_end_then_at_the_end() {
        let tag = "<script src=x></script>";
        assert_eq!(
            inject("<html><HEAD><title>t</title></HEAD><body></body>", tag),
            "<html><HEAD><title>t</title><script src=x></script>\n</HEAD><body></body>"
        );
        assert_eq!(
            inject("<p>a</p></body></html>", tag),
            "<p>a</p><script src=x></script>\n</body></html>"
        );
        assert_eq!(inject("<p>a</p>", tag), "<p>a</p><script src=x></script>\n");
        assert_eq!(inject("", tag), "<script src=x></script>\n");
        // Multi-byte text before the insertion point stays intact.
        assert_eq!(
            inject("<title>größe</title></head>", tag),
            "<title>größe</title><script src=x></script>\n</head>"
        );
    }

    #[test]
    fn client_tag_names_the_generation_and_instance() {
        let status = Status {
            instance: "abc".into(),
            generation: 7,
            state: BuildState::Ready,
            error: None,
        };
        assert_eq!(
            client_tag(&status),
            "<script type=\"module\" src=\"/_wasmbridge/client.js?generation=7&amp;instance=abc\"></script>"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["state"], "ready");
        assert!(json.get("error").is_none());
    }

    #[test]
    fn failure_text_keeps_the_diagnostics() {
        let out = "wasmbridge: compiling g\n   Compiling g v0.1.0 (/t/g)\nerror: this file contains an unclosed delimiter\n --> src/lib.rs:3:2\n\nerror: could not compile `g`\n";
        let text = failure_text(out);
        assert!(!text.contains("Compiling g"));
        assert!(text.contains("unclosed delimiter\n --> src/lib.rs:3:2"));
        assert!(text.starts_with("wasmbridge: compiling g"));
        let long = "é".repeat(MAX_ERROR_TEXT);
        assert!(failure_text(&long).ends_with("the terminal has all of it)"));
    }

    #[test]
    fn port_candidates_start_at_the_default() {
        let ports = port_candidates(None);
        assert_eq!(ports.first(), Some(&DEFAULT_PORT));
        assert_eq!(ports.len(), usize::from(PORT_TRIES));
        assert!(ports.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(port_candidates(Some(0)), [0]);
        assert_eq!(port_candidates(Some(9000)), [9000]);
    }

    #[tokio::test]
    async fn bind_first_skips_a_taken_port() {
        let (taken, taken_addr) = bind_first(&[0]).await.unwrap();
        let (free, free_addr) = bind_first(&[0]).await.unwrap();
        let free_port = free_addr.port();
        drop(free);
        let (_listener, addr) = bind_first(&[taken_addr.port(), free_port]).await.unwrap();
        assert_eq!(addr.port(), free_port);
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        // A port asked for alone that is taken is a bind error, not "no free port".
        let err = bind_first(&[taken_addr.port()]).await.unwrap_err();
        assert!(
            matches!(err, DevError::Server(ServerError::Bind { .. })),
            "{err}"
        );
        let err = bind_first(&[taken_addr.port(), taken_addr.port()])
            .await
            .unwrap_err();
        assert!(matches!(err, DevError::NoFreePort { .. }), "{err}");
        drop(taken);
    }

    #[test]
    fn the_bundle_lives_under_the_target_directory() {
        let p = Package {
            name: "core".into(),
            dir: PathBuf::from("/w/crates/core"),
            target: PathBuf::from("/w/target"),
        };
        assert_eq!(p.bundle_dir(), Path::new("/w/target/wasmbridge/dev/core"));
    }
}
