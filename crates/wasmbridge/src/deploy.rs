//! `wasmbridge deploy`: configuration for serving a bundle with another web server.
//!
//! [`nginx_config`] writes an nginx `server { }` block that gives every
//! response (error pages included) the headers `wasmbridge serve` sends:
//! `Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy:
//! require-corp`, `Cross-Origin-Resource-Policy: same-origin` and
//! `X-Content-Type-Options: nosniff`. It also sets the MIME types the runtime
//! needs (`application/wasm`, `text/javascript`), serves precompressed `.gz`
//! files (`gzip_static`), caches content-hashed names for a year and
//! everything else with `no-cache`, answers `/healthz`, and never lists a
//! directory.
//!
//! Two nginx rules shape the block: `add_header` is inherited from the server
//! level only by locations that have no `add_header` of their own, so every
//! location repeats the full set; and without `always` it only applies to
//! 2xx/3xx responses, so the headers carry `always`.
//!
//! [`precompress`] writes `FILE.gz` next to every compressible file, so
//! `gzip_static` (and `wasmbridge serve`, which prefers them too) has
//! something to send.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::server::mime;
use crate::tree::{self, Symlinks, WalkError};

/// Everything `wasmbridge deploy` can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The directory to serve does not resolve.
    #[error("expected {} to be an existing directory: {source}", path.display())]
    RootNotFound {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The directory to serve is a file or something else.
    #[error("expected {} to be a directory, but it is not one", path.display())]
    RootNotDirectory { path: PathBuf },
    /// nginx reads its configuration as UTF-8.
    #[error("expected the directory to serve to have a UTF-8 path, got {}", path.display())]
    RootNotUtf8 { path: PathBuf },
    /// A character nginx would read differently inside a quoted string.
    #[error("expected a directory path nginx can quote, but {text:?} contains {bad:?}")]
    RootUnquotable { text: String, bad: char },
    /// `--server-name` would break out of the directive.
    #[error("expected --server-name to be host names separated by single spaces, got {0:?}")]
    ServerName(String),
    /// The default output file goes next to the directory, which needs a parent.
    #[error("expected a directory with a parent to put the config next to, got {}: pass --out", path.display())]
    NoParent { path: PathBuf },
    /// Walking the directory for `--precompress` failed.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A file operation failed; `what` says which (`reading`, `writing`, ...).
    #[error("expected {what} {} to succeed, but it failed: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Printing the block to stdout failed.
    #[error("expected to write the config to stdout, but it failed: {0}")]
    Stdout(#[source] io::Error),
}

type Result<T, E = DeployError> = std::result::Result<T, E>;

/// Wraps an I/O error with the operation and the path it was about.
fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DeployError {
    let path = path.to_path_buf();
    move |source| DeployError::Io { what, path, source }
}

/// `wasmbridge deploy <target>`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The server to write configuration for.
    #[command(subcommand)]
    pub target: DeployTarget,
}

/// Servers `wasmbridge deploy` knows.
#[derive(Debug, clap::Subcommand)]
pub enum DeployTarget {
    /// Write an nginx server block serving DIR with COOP/COEP/CORP, the wasm MIME type, gzip_static and caching
    Nginx(NginxArgs),
}

/// `wasmbridge deploy nginx`.
#[derive(Debug, Clone, clap::Args)]
pub struct NginxArgs {
    /// Directory to serve (a bundle, or a site holding one)
    pub dir: PathBuf,
    /// File to write the server block to, `-` for stdout [default: DIR.nginx.conf, next to DIR]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// nginx server_name (one or more names separated by spaces)
    #[arg(long, default_value = "localhost")]
    pub server_name: String,
    /// Address and port nginx listens on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Also write FILE.gz next to every file of a type worth compressing in DIR (.js, .wasm, .html, .json, .css, .svg, ...)
    #[arg(long)]
    pub precompress: bool,
}

/// What goes into the server block besides the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxOptions {
    /// `listen` address; default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// `server_name`; default `localhost`.
    pub server_name: String,
}

impl Default for NginxOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 8080),
            server_name: "localhost".into(),
        }
    }
}

/// `Cache-Control` of content-hashed files, and their names as an nginx
/// regex: the same rule `wasmbridge serve` follows.
pub use crate::server::mime::{HASHED_NAME, IMMUTABLE};

/// The headers every response carries.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("X-Content-Type-Options", "nosniff"),
];

/// The server block, with `@NAME@` placeholders [`nginx_config`] fills in.
/// `@SECURITY@` stands for the four security headers (with `always`).
const TEMPLATE: &str = r#"# nginx server block written by `wasmbridge deploy nginx`.
# Serves @ROOT@
# Include it inside the http { } block of nginx.conf:
#     include /path/to/this/file;
#
# Every response, error pages included, carries COOP, COEP, CORP and nosniff:
# nginx does not inherit add_header into a location that has add_header of
# its own, so every location repeats the whole set, and `always` adds them to
# 4xx and 5xx responses as well. Browsers grant cross-origin isolation only to
# secure contexts: serve it over https (or from localhost).
server {
    listen @LISTEN@;
    server_name @SERVER_NAME@;
    root "@ROOT@";
    index index.html;
    autoindex off;
    server_tokens off;
    absolute_redirect off;
    client_header_timeout 10s;
    client_body_timeout 10s;

    # These types replace nginx's mime.types for this server.
    types {
@TYPES@    }
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/plain text/css;  # text/html is always included

    # FILE.gz next to FILE (`wasmbridge deploy nginx --precompress`) is sent as
    # is; other compressible responses are gzipped on the fly.
    gzip_static on;
    # brotli_static on;  # needs the ngx_brotli module, which Debian's nginx package lacks
    gzip on;
    gzip_vary on;
    gzip_min_length 256;
    gzip_types @GZIP_TYPES@;

    # Responses no location produces (a malformed request's 400, a 414) get them here.
@SECURITY@    add_header Cache-Control "no-cache" always;

    location = /healthz {
        access_log off;
        default_type text/plain;
@SECURITY@        add_header Cache-Control "no-store" always;
        return 200 "ok\n";
    }

    # Hidden files (.git, .env) are never served; /.well-known/ is.
    location ~ "/\.(?!well-known/)" {
@SECURITY@        add_header Cache-Control "no-cache" always;
        return 404;
    }

    # Content-hashed names (name.0123abcd.wasm) never change: cache them for a
    # year. Not `always`: a 404 must not be cached that long.
    location ~ "@HASHED_NAME@" {
@SECURITY@        add_header Cache-Control "@IMMUTABLE@";
        try_files $uri @missing;
    }

    # HTML, manifest.json and every name that keeps its place: revalidate.
    location / {
@SECURITY@        add_header Cache-Control "no-cache" always;
        try_files $uri $uri/ =404;
    }

    location @missing {
@SECURITY@        add_header Cache-Control "no-cache" always;
        return 404;
    }
}
"#;

/// The nginx `server { }` block serving `root` (which should be absolute; it
/// is written as given, quoted). Check `root` with [`check_root`] and the
/// server name with [`check_server_name`] first: `"`, `\`, `$` or `;` would
/// not be read back as written.
pub fn nginx_config(root: &Path, opts: &NginxOptions) -> String {
    let mut types = String::new();
    for ty in mime::TYPES {
        let _ = writeln!(types, "        {} {};", ty.mime, ty.extensions.join(" "));
    }
    // nginx always compresses text/html and warns when it is listed.
    let gzip_types: Vec<&str> = mime::TYPES
        .iter()
        .filter(|t| t.compressible && t.mime != "text/html")
        .map(|t| t.mime)
        .collect();
    let mut out = String::with_capacity(TEMPLATE.len() * 2);
    for line in TEMPLATE.split_inclusive('\n') {
        if let Some(rest) = line.trim_start().strip_prefix("@SECURITY@") {
            // Indented like the line that follows it.
            let pad = &rest[..rest.len() - rest.trim_start().len()];
            for (name, value) in SECURITY_HEADERS {
                let _ = writeln!(out, "{pad}add_header {name} \"{value}\" always;");
            }
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out.replace("@TYPES@", &types)
        .replace("@GZIP_TYPES@", &gzip_types.join(" "))
        .replace("@LISTEN@", &opts.listen.to_string())
        .replace("@SERVER_NAME@", &opts.server_name)
        .replace("@HASHED_NAME@", HASHED_NAME)
        .replace("@IMMUTABLE@", IMMUTABLE)
        .replace("@ROOT@", &root.display().to_string())
}

/// Refuses roots nginx would misread inside a quoted string (`"`, `\`, `$`
/// starts a variable) or that are not UTF-8.
pub fn check_root(root: &Path) -> Result<()> {
    let Some(text) = root.to_str() else {
        return Err(DeployError::RootNotUtf8 {
            path: root.to_path_buf(),
        });
    };
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(c, '"' | '\\' | '$') || c.is_control())
    {
        return Err(DeployError::RootUnquotable {
            text: text.to_owned(),
            bad,
        });
    }
    Ok(())
}

/// Refuses server names that would break out of the `server_name` directive.
pub fn check_server_name(name: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | '~');
    if name.split(' ').any(|n| n.is_empty() || !n.chars().all(ok)) {
        return Err(DeployError::ServerName(name.to_owned()));
    }
    Ok(())
}

/// What [`precompress`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Precompressed {
    /// `.gz` files written.
    pub written: usize,
    /// Compressible files whose gzip would not be smaller (tiny files): no `.gz`
    /// for them, and a stale one was removed.
    pub skipped: usize,
    /// Bytes of the files compressed.
    pub original_bytes: u64,
    /// Bytes of the `.gz` files written.
    pub compressed_bytes: u64,
}

/// Writes `FILE.gz` ([`tree::gzip`]: level 9, no timestamp, so the same input
/// gives the same bytes) next to every file under `dir` whose type
/// [`mime::TYPES`] marks compressible, replacing older ones. Symlinks are not
/// followed.
pub fn precompress(dir: &Path) -> Result<Precompressed> {
    let mut report = Precompressed::default();
    let files = tree::walk(dir, Symlinks::Skip)?
        .into_iter()
        .filter(|f| mime::of_path(f).compressible);
    for file in files {
        let bytes = std::fs::read(&file).map_err(io_err("reading", &file))?;
        let gz = tree::gzip(&bytes).map_err(io_err("compressing", &file))?;
        let mut target = file.clone().into_os_string();
        target.push(".gz");
        let target = PathBuf::from(target);
        if gz.len() >= bytes.len() {
            match std::fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("removing", &target)(e)),
            }
            report.skipped += 1;
            continue;
        }
        write_atomically(&target, &gz)?;
        report.written += 1;
        report.original_bytes += bytes.len() as u64;
        report.compressed_bytes += gz.len() as u64;
    }
    Ok(report)
}

/// Writes through a temporary file next to `path`, so nginx never sends half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io_err("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err("renaming into place", path))
}

/// What [`write_nginx`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxReport {
    /// The absolute root the block serves.
    pub root: PathBuf,
    /// Where it was written; `None` for stdout.
    pub out: Option<PathBuf>,
    /// Set with `--precompress`.
    pub precompressed: Option<Precompressed>,
}

/// `DIR.nginx.conf` next to `DIR` (outside it, so it is not served).
pub fn default_out(root: &Path) -> Result<PathBuf> {
    let (Some(parent), Some(name)) = (root.parent(), root.file_name()) else {
        return Err(DeployError::NoParent {
            path: root.to_path_buf(),
        });
    };
    let mut file = name.to_owned();
    file.push(".nginx.conf");
    Ok(parent.join(file))
}

/// Precompresses (if asked) and writes the server block; prints nothing.
pub fn write_nginx(args: &NginxArgs) -> Result<NginxReport> {
    let root = std::fs::canonicalize(&args.dir).map_err(|source| DeployError::RootNotFound {
        path: args.dir.clone(),
        source,
    })?;
    if !root.is_dir() {
        return Err(DeployError::RootNotDirectory { path: root });
    }
    check_root(&root)?;
    check_server_name(&args.server_name)?;
    let opts = NginxOptions {
        listen: args.listen,
        server_name: args.server_name.clone(),
    };
    let precompressed = if args.precompress {
        Some(precompress(&root)?)
    } else {
        None
    };
    let config = nginx_config(&root, &opts);
    let out = match args.out.as_deref() {
        Some(p) if p == Path::new("-") => None,
        Some(p) => Some(p.to_path_buf()),
        None => Some(default_out(&root)?),
    };
    match &out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(config.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(DeployError::Stdout)?;
        }
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
            }
            write_atomically(path, config.as_bytes())?;
        }
    }
    Ok(NginxReport {
        root,
        out,
        precompressed,
    })
}

/// `wasmbridge deploy ...`: writes the configuration and says where.
pub fn run(args: &DeployArgs) -> Result<()> {
    match &args.target {
        DeployTarget::Nginx(nginx) => {
            let report = write_nginx(nginx)?;
            if let Some(p) = report.precompressed {
                eprintln!(
                    "wasmbridge: precompressed {} files ({} bytes to {} bytes); {} too small to gain",
                    p.written, p.original_bytes, p.compressed_bytes, p.skipped
                );
            }
            if let Some(out) = &report.out {
                let shown = std::fs::canonicalize(out).unwrap_or_else(|_| out.clone());
                println!(
                    "wasmbridge: wrote the nginx server block for {} (listen {}) to {}",
                    report.root.display(),
                    nginx.listen,
                    shown.display()
                );
                eprintln!(
                    "wasmbridge: put `include {};` inside the http {{ }} block of nginx.conf, then `nginx -t && nginx -s reload`",
                    shown.display()
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config() -> String {
        nginx_config(Path::new("/srv/site"), &NginxOptions::default())
    }

    /// The directives of each `location` block, keyed by its header line.
    fn locations(c: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut current: Option<(String, String)> = None;
        for line in c.lines() {
            let t = line.trim();
            if t.starts_with("location ") {
                current = Some((t.to_owned(), String::new()));
            } else if t == "}" {
                if let Some(done) = current.take() {
                    out.push(done);
                }
            } else if let Some((_, body)) = current.as_mut() {
                body.push_str(t);
                body.push('\n');
            }
        }
        out
    }

    #[test]
    fn every_location_repeats_the_security_headers_with_always() {
        let c = config();
        let locs = locations(&c);
        assert_eq!(locs.len(), 5, "{c}");
        for (head, body) in &locs {
            for (name, value) in SECURITY_HEADERS {
                let want = format!("add_header {name} \"{value}\" always;");
                assert!(body.contains(&want), "{head} lacks {want}");
            }
        }
        // And at server level, for responses no location produces.
        let server_level: String = c
            .lines()
            .take_while(|l| !l.trim().starts_with("location"))
            .collect::<Vec<_>>()
            .join("\n");
        for (name, _) in SECURITY_HEADERS {
            assert!(
                server_level.contains(&format!("add_header {name} ")),
                "{name}"
            );
        }
        assert_eq!(
            c.matches("add_header Cross-Origin-Embedder-Policy \"require-corp\" always;")
                .count(),
            6
        );
    }

    #[test]
    fn caching_health_and_listing() {
        let c = config();
        let locs = locations(&c);
        let find = |prefix: &str| {
            locs.iter()
                .find(|(h, _)| h.starts_with(prefix))
                .map(|(_, b)| b.clone())
                .unwrap()
        };
        let hashed = find("location ~ \"\\.[0-9a-f]{8,}");
        assert!(
            hashed.contains(&format!("add_header Cache-Control \"{IMMUTABLE}\";")),
            "{hashed}"
        );
        assert!(hashed.contains("try_files $uri @missing;"));
        let root = find("location / {");
        assert!(root.contains("add_header Cache-Control \"no-cache\" always;"));
        assert!(root.contains("try_files $uri $uri/ =404;"));
        let health = find("location = /healthz {");
        assert!(health.contains("return 200 \"ok\\n\";"));
        assert!(health.contains("no-store"));
        assert!(c.contains("    autoindex off;\n"));
        assert!(c.contains("    server_tokens off;\n"));
        assert!(c.contains("    gzip_static on;\n"));
        assert!(c.contains("    # brotli_static on;"));
        assert!(!c.contains("\n    brotli"));
        assert!(c.contains("        application/wasm wasm;\n"));
        assert!(c.contains("        text/javascript js mjs cjs;\n"));
        assert!(c.contains("    root \"/srv/site\";\n"));
        assert!(c.contains("    listen 127.0.0.1:8080;\n"));
        assert!(c.contains("    server_name localhost;\n"));
        // Balanced braces, outside quoted strings.
        let unquoted: String = c
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| l.split('"').step_by(2).collect::<String>())
            .collect();
        assert_eq!(unquoted.matches('{').count(), unquoted.matches('}').count());
    }

    #[test]
    fn options_and_ipv6() {
        let c = nginx_config(
            Path::new("/a b/site"),
            &NginxOptions {
                listen: "[::1]:9000".parse().unwrap(),
                server_name: "example.org www.example.org".into(),
            },
        );
        assert!(c.contains("    listen [::1]:9000;\n"));
        assert!(c.contains("    server_name example.org www.example.org;\n"));
        assert!(c.contains("    root \"/a b/site\";\n"));
    }

    #[test]
    fn unsafe_roots_and_names_are_refused() {
        for bad in ["/a\"b", "/a\\b", "/srv/$host", "/a\nb"] {
            assert!(check_root(Path::new(bad)).is_err(), "{bad:?}");
        }
        assert!(check_root(Path::new("/srv/my site/dist")).is_ok());
        for bad in ["", "a;b", "a  b", "a{", "x\"y", "evil; return 200"] {
            assert!(check_server_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_server_name("localhost *.example.org ~^www\\.").is_err());
        assert!(check_server_name("localhost *.example.org _").is_ok());
    }

    #[test]
    fn hashed_names_match_the_regex_shape() {
        // The regex itself runs in nginx; check it has the shape of the rule
        // serve follows (`mime::is_content_hashed`, tested there).
        assert_eq!(HASHED_NAME, r"\.[0-9a-f]{8,}\.(?:wasm|m?js)$");
        use crate::server::mime::is_content_hashed;
        assert!(is_content_hashed(Path::new(
            "demo_guest_bg.ebc41135f2.wasm"
        )));
        assert!(is_content_hashed(Path::new("demo_guest.bc076cc655.js")));
        assert!(!is_content_hashed(Path::new("wasmbridge.js")));
    }

    #[test]
    fn default_out_is_next_to_the_directory() {
        assert_eq!(
            default_out(Path::new("/srv/site")).unwrap(),
            PathBuf::from("/srv/site.nginx.conf")
        );
        assert!(default_out(Path::new("/")).is_err());
    }

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Deploy(DeployArgs),
    }

    #[test]
    fn arguments() {
        let cli = Cli::try_parse_from(["x", "deploy", "nginx", "site"]).unwrap();
        let Top::Deploy(DeployArgs {
            target: DeployTarget::Nginx(a),
        }) = cli.command;
        assert_eq!(a.dir, PathBuf::from("site"));
        assert_eq!(a.out, None);
        assert_eq!(a.server_name, "localhost");
        assert_eq!(a.listen.to_string(), "127.0.0.1:8080");
        assert!(!a.precompress);
        let cli = Cli::try_parse_from([
            "x",
            "deploy",
            "nginx",
            "site",
            "--out",
            "s.conf",
            "--server-name",
            "example.org",
            "--listen",
            "0.0.0.0:80",
            "--precompress",
        ])
        .unwrap();
        let Top::Deploy(DeployArgs {
            target: DeployTarget::Nginx(a),
        }) = cli.command;
        assert_eq!(a.out, Some(PathBuf::from("s.conf")));
        assert_eq!(a.server_name, "example.org");
        assert_eq!(a.listen.port(), 80);
        assert!(a.precompress);
        assert!(Cli::try_parse_from(["x", "deploy", "nginx", "site", "--listen", "8080"]).is_err());
        assert!(Cli::try_parse_from(["x", "deploy", "apache", "site"]).is_err());
        assert!(Cli::try_parse_from(["x", "deploy", "nginx"]).is_err());
    }
}
