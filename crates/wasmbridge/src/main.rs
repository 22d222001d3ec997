//! The `wasmbridge` command line: start a guest crate, build it into a
//! bundle, serve it with the headers cross-origin isolation needs, run the demo.
//!
//! Errors are printed here, as `error: …` and one `caused by: …` line per
//! cause, with exit status 1 (clap's usage errors exit with 2). No backtrace
//! unless `WASMBRIDGE_BACKTRACE=1`: `RUST_BACKTRACE=1` is often set for other
//! reasons, and a user of the CLI has no use for its stack.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wasmbridge::build::{self, BuildOptions, Debug as DebugInfo, Opt};
use wasmbridge::new::GuestSource;
use wasmbridge::server::{self, ServeOptions};

#[derive(Debug, Parser)]
#[command(
    name = "wasmbridge",
    version,
    about = "Rust in a pool of Web Workers, called from pages and Godot"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a new guest crate: Cargo.toml, src/lib.rs with a test, index.html, .gitignore
    New(NewArgs),
    /// Build a guest crate into a bundle: runtime, JS glue, .wasm and manifest.json
    Build(BuildArgs),
    /// Serve a directory with COOP/COEP/CORP headers, the wasm MIME type and compression
    Serve(ServeArgs),
    /// Build the demo guest and serve the demo page
    Demo(DemoArgs),
    /// Build a guest crate, serve its page, rebuild and reload the page on every change
    Dev(DevArgs),
    /// Godot web exports
    #[command(subcommand)]
    Godot(GodotCommand),
    /// Configuration for serving a bundle with another web server (nginx)
    Deploy(wasmbridge::deploy::DeployArgs),
}

#[derive(Debug, Subcommand)]
enum GodotCommand {
    /// Copy a bundle into <export-dir>/wasmbridge/ and load it from the export's index.html
    Install {
        /// The directory of a Godot web export (holding index.html)
        export_dir: PathBuf,
        /// The bundle to install [default: target/wasmbridge/demo-guest/]
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Also add coi-serviceworker.js, which makes the page cross-origin
        /// isolated on hosts that cannot send COOP/COEP (reloads it once)
        #[arg(long)]
        coi_serviceworker: bool,
    },
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// Name of the crate and of the directory it is written to
    name: String,
    /// Depend on wasmbridge-guest at this path (a checkout's crates/wasmbridge-guest)
    #[arg(long, value_name = "PATH", conflicts_with = "guest_git")]
    guest_path: Option<PathBuf>,
    /// Depend on wasmbridge-guest from this git repository
    #[arg(long, value_name = "URL")]
    guest_git: Option<String>,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The guest crate [default: the package in the current directory]
    #[arg(short = 'p', long = "package")]
    package: Option<String>,
    /// Optimised build: release profile with fat LTO (your own profile settings win), then wasm-opt
    #[arg(long)]
    release: bool,
    /// What a release build optimises for
    #[arg(long, value_enum, default_value_t = OptArg::Speed, requires = "release")]
    opt: OptArg,
    /// Compile with simd128 (every current browser supports it); added to your rustflags
    #[arg(long)]
    simd: bool,
    /// Also build a shared-memory module with your crate's `threads` feature (nightly
    /// toolchain; rust-src is added when missing), used on cross-origin isolated pages
    #[arg(long)]
    threads: bool,
    /// Bundle directory [default: <target>/wasmbridge/<package>/]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not run wasm-opt
    #[arg(long)]
    no_opt: bool,
    /// Keep function names and DWARF debug info (wasm-bindgen keep_debug, wasm-opt -g)
    #[arg(long, conflicts_with = "profiling")]
    keep_debug: bool,
    /// Keep function names only, so panics and DevTools profiles show Rust names
    #[arg(long)]
    profiling: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OptArg {
    /// opt-level 3 and wasm-opt -O3
    Speed,
    /// opt-level "z" and wasm-opt -Oz
    Size,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Directory to serve
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(Debug, clap::Args)]
struct NetArgs {
    /// Address to bind
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to bind; 0 picks a free one
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Leave out COOP/COEP (pages are then not cross-origin isolated)
    #[arg(long)]
    no_isolation: bool,
}

#[derive(Debug, clap::Args)]
struct DevArgs {
    /// The guest crate [default: the package of the current directory]
    #[arg(short = 'p', long = "package")]
    package: Option<String>,
    /// Port to bind on 127.0.0.1 [default: 8080, or the next free one]; 0 picks any free port
    #[arg(long)]
    port: Option<u16>,
    /// Optimised builds, as `build --release`
    #[arg(long)]
    release: bool,
    /// Do not open the page in a browser
    #[arg(long)]
    no_open: bool,
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    #[command(flatten)]
    net: NetArgs,
    /// Build the demo guest without optimisation (faster to compile)
    #[arg(long)]
    debug: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", report(&err));
            ExitCode::FAILURE
        }
    }
}

/// `error: …` and one `caused by: …` line per cause; the backtrace only on request.
fn report(err: &anyhow::Error) -> String {
    let mut text = format!("error: {err}");
    for cause in err.chain().skip(1) {
        text.push_str(&format!("\ncaused by: {cause}"));
    }
    if std::env::var_os("WASMBRIDGE_BACKTRACE").is_some_and(|v| v == "1") {
        text.push_str(&format!("\n{}", err.backtrace()));
    }
    text
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::New(args) => new(&args),
        Command::Build(args) => {
            build::build(&args.into_options())?;
            Ok(())
        }
        Command::Serve(args) => serve(&args.dir, &args.net),
        Command::Demo(args) => demo(&args),
        Command::Dev(args) => Ok(wasmbridge::dev::run(&wasmbridge::dev::DevOptions {
            package: args.package,
            port: args.port,
            release: args.release,
            open: !args.no_open,
        })?),
        Command::Deploy(args) => Ok(wasmbridge::deploy::run(&args)?),
        Command::Godot(GodotCommand::Install {
            export_dir,
            bundle,
            coi_serviceworker,
        }) => {
            let bundle = bundle.unwrap_or_else(|| PathBuf::from("target/wasmbridge/demo-guest"));
            let options = wasmbridge::godot::InstallOptions { coi_serviceworker };
            let report = wasmbridge::godot::install_with(&export_dir, &bundle, options)
                .with_context(|| {
                    format!(
                        "installing {} into {}",
                        bundle.display(),
                        export_dir.display()
                    )
                })?;
            println!("{report}");
            Ok(())
        }
    }
}

impl BuildArgs {
    fn into_options(self) -> BuildOptions {
        BuildOptions {
            package: self.package,
            dir: None,
            release: self.release,
            opt: match self.opt {
                OptArg::Speed => Opt::Speed,
                OptArg::Size => Opt::Size,
            },
            simd: self.simd,
            threads: self.threads,
            out: self.out,
            no_opt: self.no_opt,
            debug: if self.keep_debug {
                DebugInfo::Full
            } else if self.profiling {
                DebugInfo::Profiling
            } else {
                DebugInfo::Default
            },
        }
    }
}

fn new(args: &NewArgs) -> Result<()> {
    let source = match (&args.guest_path, &args.guest_git) {
        (Some(path), _) => GuestSource::Path(path.clone()),
        (None, Some(url)) => GuestSource::Git(url.clone()),
        (None, None) => GuestSource::default_for_this_cli(),
    };
    let here = std::env::current_dir().context("reading the current directory")?;
    let created = wasmbridge::new::create(&here, &args.name, source)
        .with_context(|| format!("creating the guest crate {}", args.name))?;
    let from = match &created.source {
        GuestSource::Path(p) => format!("the path {}", p.display()),
        GuestSource::Git(url) => format!("git {url}"),
        GuestSource::Registry => format!("crates.io (version {})", env!("CARGO_PKG_VERSION")),
    };
    eprintln!(
        "wasmbridge: created {} (wasmbridge-guest from {from})",
        created.dir.display()
    );
    println!(
        "next: cd {} && cargo test && wasmbridge build --release --out wasmbridge && wasmbridge serve .",
        args.name
    );
    Ok(())
}

fn serve(dir: &Path, net: &NetArgs) -> Result<()> {
    let mut opts = ServeOptions::new(dir);
    opts.host = net.host;
    opts.port = net.port;
    opts.isolation = !net.no_isolation;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime
        .block_on(server::run(opts))
        .with_context(|| format!("serving {}", dir.display()))
}

/// Builds the demo guest, lays the demo page and the bundle out in one
/// directory under target/ and serves it.
fn demo(args: &DemoArgs) -> Result<()> {
    // The threaded module needs the nightly toolchain; the demo runs without
    // it (the page then runs the plain module), so it is built only when there.
    let threads = wasmbridge::toolchain::has_nightly();
    if !threads {
        eprintln!("wasmbridge: no nightly toolchain (rustup toolchain install nightly), so the demo is built without its threaded module");
    }
    let report = build::build(&BuildOptions {
        release: !args.debug,
        simd: true,
        threads,
        ..BuildOptions::new(Some("demo-guest".into()))
    })?;
    let target = report
        .out
        .parent()
        .context("the bundle directory has no parent")?
        .to_path_buf();
    let root = workspace_root(&target)?;
    let site = target.join("demo-site");
    if site.exists() {
        std::fs::remove_dir_all(&site).with_context(|| format!("clearing {}", site.display()))?;
    }
    build::copy_dir(&root.join("web").join("demo"), &site).context("copying the demo page")?;
    build::copy_dir(&report.out, &site.join("wasmbridge"))
        .context("copying the bundle next to the demo page")?;
    eprintln!(
        "wasmbridge: demo ready in {}; open the URL below",
        site.display()
    );
    serve(&site, &args.net)
}

/// The workspace holding `target/wasmbridge/`: two levels above it.
fn workspace_root(wasmbridge_dir: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let found = [
        wasmbridge_dir.parent().and_then(Path::parent),
        cwd.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("web").join("demo").join("index.html").exists())
    .map(Path::to_path_buf);
    found
        .context("the demo page (web/demo/index.html) was not found: run `wasmbridge demo` inside the wasmbridge repository")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn build_arguments() {
        let cli = Cli::try_parse_from([
            "wasmbridge",
            "build",
            "-p",
            "test-guest",
            "--release",
            "--out",
            "x",
        ])
        .unwrap();
        let Command::Build(args) = cli.command else {
            panic!("expected build")
        };
        let opts = args.into_options();
        assert_eq!(opts.package.as_deref(), Some("test-guest"));
        assert!(opts.release && !opts.simd && !opts.no_opt);
        assert_eq!(opts.out, Some(PathBuf::from("x")));
    }

    #[test]
    fn build_defaults_to_the_package_here() {
        let cli = Cli::try_parse_from(["wasmbridge", "build"]).unwrap();
        let Command::Build(args) = cli.command else {
            panic!("expected build")
        };
        assert_eq!(args.package, None);
        assert!(!args.release);
        let opts = args.into_options();
        assert_eq!((opts.opt, opts.debug), (Opt::Speed, DebugInfo::Default));
    }

    #[test]
    fn build_flags_for_size_and_names() {
        let cli = Cli::try_parse_from([
            "wasmbridge",
            "build",
            "--release",
            "--opt",
            "size",
            "--profiling",
        ])
        .unwrap();
        let Command::Build(args) = cli.command else {
            panic!("expected build")
        };
        let opts = args.into_options();
        assert_eq!((opts.opt, opts.debug), (Opt::Size, DebugInfo::Profiling));
        assert!(Cli::try_parse_from(["wasmbridge", "build", "--opt", "size"]).is_err());
        assert!(
            Cli::try_parse_from(["wasmbridge", "build", "--keep-debug", "--profiling"]).is_err()
        );
    }

    #[test]
    fn errors_print_their_causes_without_a_backtrace() {
        let err = anyhow::anyhow!("disk on fire").context("writing the bundle");
        assert_eq!(
            report(&err),
            "error: writing the bundle\ncaused by: disk on fire"
        );
    }

    #[test]
    fn new_arguments() {
        let cli =
            Cli::try_parse_from(["wasmbridge", "new", "hello", "--guest-path", "../g"]).unwrap();
        let Command::New(args) = cli.command else {
            panic!("expected new")
        };
        assert_eq!(
            (args.name.as_str(), args.guest_path),
            ("hello", Some(PathBuf::from("../g")))
        );
        assert!(Cli::try_parse_from([
            "wasmbridge",
            "new",
            "x",
            "--guest-path",
            "a",
            "--guest-git",
            "b"
        ])
        .is_err());
    }

    #[test]
    fn serve_arguments() {
        let cli = Cli::try_parse_from([
            "wasmbridge",
            "serve",
            "site",
            "--port",
            "8080",
            "--host",
            "0.0.0.0",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(args.dir, PathBuf::from("site"));
        assert_eq!(args.net.port, 8080);
        assert_eq!(args.net.host.to_string(), "0.0.0.0");
        let cli = Cli::try_parse_from(["wasmbridge", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!((args.dir, args.net.port), (PathBuf::from("."), 0));
    }

    #[test]
    fn dev_arguments() {
        let cli = Cli::try_parse_from(["wasmbridge", "dev"]).unwrap();
        let Command::Dev(args) = cli.command else {
            panic!("expected dev")
        };
        assert_eq!((args.package, args.port), (None, None));
        assert!(!args.release && !args.no_open);
        let cli = Cli::try_parse_from([
            "wasmbridge",
            "dev",
            "-p",
            "my-guest",
            "--port",
            "0",
            "--release",
            "--no-open",
        ])
        .unwrap();
        let Command::Dev(args) = cli.command else {
            panic!("expected dev")
        };
        assert_eq!(args.package.as_deref(), Some("my-guest"));
        assert_eq!(args.port, Some(0));
        assert!(args.release && args.no_open);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(Cli::try_parse_from(["wasmbridge", "serve", "--port", "70000"]).is_err());
        assert!(Cli::try_parse_from(["wasmbridge", "serve", "--host", "not-an-ip"]).is_err());
        assert!(Cli::try_parse_from(["wasmbridge", "frobnicate"]).is_err());
    }
}
