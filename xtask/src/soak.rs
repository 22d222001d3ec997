//! `cargo xtask soak`: `wasmbridge serve` (release build) against Debian's nginx
//! with the block `wasmbridge deploy nginx` writes, both on free 127.0.0.1
//! ports serving the same files, loaded by `wrk`; then a longer run against
//! wasmbridge alone while its resident memory is sampled.
//!
//! Not a test: it prints figures. Every run is bounded (`wrk -d`), every
//! target is 127.0.0.1, and both servers are stopped at the end.
//!
//! Flags: `--seconds N` per file and server (default 10), `--memory-seconds N`
//! for the memory run (default 60), `--connections N` (default 64); each at most 600.
//!
//! [`run`] is a sequence of phases: `environment`, `prepare` (CLI, bundle,
//! site), the two servers, `check_same_files`, `throughput`, `memory_run`
//! (each returning what it measured), then `print_summary` of the report.

use anyhow::{bail, Context, Result};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NGINX: &str = "/usr/sbin/nginx";
const WRK: &str = "/usr/bin/wrk";
const MAX_SECONDS: u64 = 600;
/// Growth of resident memory over the memory run that counts as "grew".
const RSS_GROWTH_LIMIT: f64 = 0.10;

/// `cargo xtask soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Seconds of wrk per file and server
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    pub seconds: u64,
    /// Seconds of the memory run against wasmbridge alone
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    pub memory_seconds: u64,
    /// Connections wrk keeps open
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    pub connections: u64,
}

/// A child process stopped (SIGTERM, then SIGKILL after 5 s) when dropped.
struct Guard {
    name: &'static str,
    child: Child,
}

impl Guard {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM lets nginx's master stop its workers; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                eprintln!("soak: stopped {}", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("soak: killed {} (it ignored SIGTERM for 5 s)", self.name);
    }
}

/// One wrk run's figures.
#[derive(Debug, Default, Clone, PartialEq)]
struct WrkResult {
    requests: u64,
    requests_per_sec: f64,
    transfer_per_sec: String,
    non_2xx: u64,
    socket_errors: u64,
    latency_avg: String,
    latency_p50: String,
    latency_p99: String,
}

impl WrkResult {
    fn errors(&self) -> u64 {
        self.non_2xx + self.socket_errors
    }
}

/// Reads the summary wrk prints (with `--latency`).
fn parse_wrk(text: &str) -> Result<WrkResult> {
    let mut r = WrkResult::default();
    let mut saw_rate = false;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(rate) = line.strip_prefix("Requests/sec:") {
            r.requests_per_sec = rate.trim().parse().context("wrk's Requests/sec")?;
            saw_rate = true;
        } else if let Some(rate) = line.strip_prefix("Transfer/sec:") {
            r.transfer_per_sec = rate.trim().to_owned();
        } else if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            r.non_2xx = n.trim().parse().context("wrk's non-2xx count")?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 12"
            r.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum();
        } else if words.len() >= 3 && words[1] == "requests" && words[2] == "in" {
            r.requests = words[0].parse().context("wrk's request count")?;
        } else if words.len() >= 2 && words[0] == "Latency" && words[1] != "Distribution" {
            r.latency_avg = words[1].to_owned();
        } else if words.len() == 2 && words[0] == "50%" {
            r.latency_p50 = words[1].to_owned();
        } else if words.len() == 2 && words[0] == "99%" {
            r.latency_p99 = words[1].to_owned();
        }
    }
    if !saw_rate {
        bail!("wrk printed no Requests/sec line:\n{text}");
    }
    Ok(r)
}

/// What a soak run measured, for the summary.
struct SoakReport {
    date: String,
    seconds: f64,
    opts: SoakArgs,
    /// Per file: wasmbridge's and nginx's wrk figures.
    rows: Vec<(String, [WrkResult; 2])>,
    memory: MemoryReport,
}

/// The memory run: wrk against wasmbridge alone while VmRSS is sampled.
struct MemoryReport {
    file: String,
    wrk: WrkResult,
    rss_fresh: u64,
    rss_before: u64,
    rss_after: u64,
    hwm: u64,
    /// (seconds into the run, VmRSS KiB), the first before and the last after the run.
    samples: Vec<(u64, u64)>,
}

/// The files both servers serve and the CLI that serves them.
struct Prepared {
    bin: PathBuf,
    work: PathBuf,
    site: PathBuf,
    files: Vec<String>,
}

pub fn run(root: &Path, opts: &SoakArgs) -> Result<()> {
    let started = Instant::now();
    let date = environment()?;
    let prepared = prepare(root)?;

    let wasmbridge = start_wasmbridge(&prepared.bin, &prepared.site)?;
    let nginx = start_nginx(&prepared.bin, &prepared.site, &prepared.work.join("nginx"))?;
    let pid = wasmbridge.0.pid();
    let rss_fresh = rss_kib(pid)?;
    println!(
        "soak: wasmbridge serve (pid {pid}) at {}, resident {rss_fresh} KiB",
        wasmbridge.1
    );
    println!("soak: nginx (pid {}) at {}", nginx.0.pid(), nginx.1);
    let urls = [wasmbridge.1.as_str(), nginx.1.as_str()];
    check_same_files(&prepared, urls)?;
    let rows = throughput(opts, &prepared.files, urls)?;
    let memory = memory_run(opts, pid, urls[0], &prepared.files[1], rss_fresh)?;
    // Stop both servers before printing the summary.
    drop(nginx);
    drop(wasmbridge);

    print_summary(&SoakReport {
        date,
        seconds: started.elapsed().as_secs_f64(),
        opts: opts.clone(),
        rows,
        memory,
    });
    Ok(())
}

/// Prints the date, cores, load and nginx version; installs missing tools.
fn environment() -> Result<String> {
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "soak: {date}; {} cores; load average {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    ensure_tools()?;
    let nginx_version = Command::new(NGINX)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    println!("soak: {nginx_version}");
    Ok(date)
}

/// Builds the release CLI and the demo guest's release bundle, and lays out
/// the site both servers serve: a 1 KiB file and the guest's .wasm.
fn prepare(root: &Path) -> Result<Prepared> {
    eprintln!("soak: building the release CLI (cargo build --release -p wasmbridge)");
    super::run(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "-p",
        "wasmbridge",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release").join("wasmbridge");
    let work = root.join("target").join("soak");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    let bundle = work.join("bundle");
    eprintln!("soak: building the demo guest's release bundle");
    super::run(
        Command::new(&bin)
            .current_dir(root)
            .args(["build", "-p", "demo-guest", "--release", "--simd", "--out"])
            .arg(&bundle),
    )?;

    let site = work.join("site");
    std::fs::create_dir_all(&site).with_context(|| format!("creating {}", site.display()))?;
    let small = "1k.txt";
    let line = "wasmbridge soak test: 1 KiB of text, served by both servers.\n";
    let text: String = line
        .repeat(1024 / line.len() + 1)
        .chars()
        .take(1024)
        .collect();
    std::fs::write(site.join(small), text).context("writing the 1 KiB file")?;
    let manifest = std::fs::read_to_string(bundle.join("manifest.json"))
        .context("reading the bundle's manifest.json")?;
    let wasm = manifest_wasm(&manifest).context("the bundle's manifest.json names no wasm file")?;
    std::fs::copy(bundle.join(&wasm), site.join(&wasm)).context("copying the .wasm")?;
    Ok(Prepared {
        bin,
        work,
        site,
        files: vec![small.to_owned(), wasm],
    })
}

/// Both servers send every file whole before any load is measured.
fn check_same_files(prepared: &Prepared, urls: [&str; 2]) -> Result<()> {
    for file in &prepared.files {
        let sizes = [
            content_length(urls[0], file)?,
            content_length(urls[1], file)?,
        ];
        let disk = std::fs::metadata(prepared.site.join(file))
            .with_context(|| format!("reading the size of {file}"))?
            .len();
        if sizes != [disk, disk] {
            bail!("expected both servers to send {file} whole ({disk} bytes), got {sizes:?}");
        }
    }
    Ok(())
}

/// wrk against each server for each file, in turn.
fn throughput(
    opts: &SoakArgs,
    files: &[String],
    urls: [&str; 2],
) -> Result<Vec<(String, [WrkResult; 2])>> {
    let mut rows = Vec::new();
    for file in files {
        let mut pair: [WrkResult; 2] = Default::default();
        for (slot, (name, url)) in pair
            .iter_mut()
            .zip(["wasmbridge", "nginx"].iter().zip(urls))
        {
            eprintln!(
                "soak: wrk -t2 -c{} -d{}s {url}{file}",
                opts.connections, opts.seconds
            );
            let r = wrk(&format!("{url}{file}"), opts.connections, opts.seconds)?;
            println!(
                "soak: {name:<10} {file:<34} {:>10.0} req/s  {:>7} errors  latency avg {} p50 {} p99 {}  {}/s",
                r.requests_per_sec,
                r.errors(),
                r.latency_avg,
                r.latency_p50,
                r.latency_p99,
                r.transfer_per_sec
            );
            *slot = r;
        }
        rows.push((file.clone(), pair));
    }
    Ok(rows)
}

/// A longer run against wasmbridge alone, sampling VmRSS every 10 s.
fn memory_run(
    opts: &SoakArgs,
    pid: u32,
    url: &str,
    file: &str,
    rss_fresh: u64,
) -> Result<MemoryReport> {
    let rss_before = rss_kib(pid)?;
    println!(
        "soak: memory run: wrk -t2 -c{} -d{}s {url}{file}; VmRSS before {rss_before} KiB",
        opts.connections, opts.memory_seconds
    );
    let mut wrk_child = Command::new(WRK)
        .args(wrk_args(
            &format!("{url}{file}"),
            opts.connections,
            opts.memory_seconds,
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting wrk")?;
    let mut stdout = wrk_child.stdout.take().context("wrk's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let mut samples = vec![(0_u64, rss_before)];
    let run_started = Instant::now();
    let mut next = 10;
    while wrk_child.try_wait()?.is_none() {
        if run_started.elapsed() >= Duration::from_secs(next) && next < opts.memory_seconds {
            let rss = rss_kib(pid)?;
            println!("soak:   {next:>3} s  VmRSS {rss} KiB");
            samples.push((next, rss));
            next += 10;
        }
        if run_started.elapsed() > Duration::from_secs(opts.memory_seconds + 30) {
            let _ = wrk_child.kill();
            bail!("wrk ran 30 s past its -d{}s", opts.memory_seconds);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let wrk = parse_wrk(&reader.join().unwrap_or_default())?;
    std::thread::sleep(Duration::from_secs(1));
    let rss_after = rss_kib(pid)?;
    samples.push((opts.memory_seconds, rss_after));
    Ok(MemoryReport {
        file: file.to_owned(),
        wrk,
        rss_fresh,
        rss_before,
        rss_after,
        hwm: rss_hwm_kib(pid).unwrap_or(0),
        samples,
    })
}

fn print_summary(report: &SoakReport) {
    let opts = &report.opts;
    println!("\nsoak summary ({}, {:.0} s)", report.date, report.seconds);
    println!(
        "  {:<36} {:>12} {:>12} {:>8} {:>8} {:>8}",
        format!("file (wrk -t2 -c{} -d{}s)", opts.connections, opts.seconds),
        "wasmbridge",
        "nginx",
        "ratio",
        "wb err",
        "ngx err"
    );
    for (file, pair) in &report.rows {
        println!(
            "  {:<36} {:>10.0}/s {:>10.0}/s {:>8.2} {:>8} {:>8}",
            file,
            pair[0].requests_per_sec,
            pair[1].requests_per_sec,
            pair[0].requests_per_sec / pair[1].requests_per_sec.max(1.0),
            pair[0].errors(),
            pair[1].errors()
        );
    }
    let m = &report.memory;
    println!(
        "  memory run: {} s on {}: {:.0} req/s, {} errors",
        opts.memory_seconds,
        m.file,
        m.wrk.requests_per_sec,
        m.wrk.errors()
    );
    let peak = m.samples.iter().map(|s| s.1).max().unwrap_or(m.rss_before);
    println!(
        "  VmRSS of wasmbridge serve: fresh {} KiB, before {} KiB, peak sampled {peak} KiB, after {} KiB, VmHWM {} KiB",
        m.rss_fresh, m.rss_before, m.rss_after, m.hwm
    );
    println!(
        "  samples (s, KiB): {}",
        m.samples
            .iter()
            .map(|(s, k)| format!("{s}:{k}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Allocators keep freed pages for a while, so also show the trend while
    // under load: a leak keeps climbing, a working set levels off.
    let under_load = &m.samples[1..m.samples.len().saturating_sub(1).max(1)];
    if let (Some(first), Some(last)) = (under_load.first(), under_load.last()) {
        if under_load.len() >= 2 {
            println!(
                "  under load, first to last sample ({} s to {} s): {:+.1}%",
                first.0,
                last.0,
                (last.1 as f64 - first.1 as f64) / first.1.max(1) as f64 * 100.0
            );
        }
    }
    let growth = (m.rss_after as f64 - m.rss_before as f64) / m.rss_before.max(1) as f64;
    println!(
        "  RSS growth over the memory run: {:+.1}% -> {}",
        growth * 100.0,
        if growth > RSS_GROWTH_LIMIT {
            "GREW by more than 10%"
        } else {
            "did not grow by more than 10%"
        }
    );
}

/// Installs nginx and wrk when missing and we are root; otherwise says how.
fn ensure_tools() -> Result<()> {
    let missing: Vec<&str> = [(NGINX, "nginx"), (WRK, "wrk")]
        .into_iter()
        .filter(|(bin, _)| !Path::new(bin).exists())
        .map(|(_, pkg)| pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    super::apt_install(&missing)
}

/// `"wasm": "name"` from manifest.json, without a JSON dependency.
fn manifest_wasm(manifest: &str) -> Option<String> {
    manifest.match_indices("\"wasm\"").find_map(|(at, key)| {
        let rest = manifest[at + key.len()..].trim_start().strip_prefix(':')?;
        let rest = rest.trim_start().strip_prefix('"')?;
        let name = &rest[..rest.find('"')?];
        let plain = !name.contains(['/', '\\']) && name.len() > 5 && name.ends_with(".wasm");
        plain.then(|| name.to_owned())
    })
}

fn wrk_args(url: &str, connections: u64, seconds: u64) -> Vec<String> {
    vec![
        "-t2".into(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--timeout".into(),
        "5s".into(),
        "--latency".into(),
        url.into(),
    ]
}

fn wrk(url: &str, connections: u64, seconds: u64) -> Result<WrkResult> {
    assert_loopback(url)?;
    let out = Command::new(WRK)
        .args(wrk_args(url, connections, seconds))
        .output()
        .context("running wrk")?;
    if !out.status.success() {
        bail!(
            "wrk failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

fn assert_loopback(url: &str) -> Result<()> {
    if !url.starts_with("http://127.0.0.1:") {
        bail!("soak only loads 127.0.0.1, not {url}");
    }
    Ok(())
}

/// Starts `wasmbridge serve SITE --port 0` and reads the URL it prints.
fn start_wasmbridge(bin: &Path, site: &Path) -> Result<(Guard, String)> {
    let mut child = Command::new(bin)
        .arg("serve")
        .arg(site)
        .args(["--host", "127.0.0.1", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting wasmbridge serve")?;
    let mut stdout = child.stdout.take().context("wasmbridge's stdout")?;
    let guard = Guard {
        name: "wasmbridge serve",
        child,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0_u8; 512];
        let mut seen = String::new();
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen.contains('\n') {
                let _ = tx.send(seen.clone());
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .context("wasmbridge serve printed no URL within 10 s")?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .context("no URL in wasmbridge's output")?
        .to_owned();
    let url = if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    };
    assert_loopback(&url)?;
    wait_healthy(&url)?;
    Ok((guard, url))
}

/// Writes the server block with `wasmbridge deploy nginx` and an nginx.conf
/// around it in `dir`, and starts nginx in the foreground (master and two workers).
fn start_nginx(bin: &Path, site: &Path, dir: &Path) -> Result<(Guard, String)> {
    std::fs::create_dir_all(dir)?;
    let port = free_port()?;
    let conf_block = dir.join("site.conf");
    super::run(
        Command::new(bin)
            .args(["deploy", "nginx"])
            .arg(site)
            .arg("--out")
            .arg(&conf_block)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
    )?;
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let d = dir.display();
    let mut conf = String::from("daemon off;\nworker_processes 2;\n");
    if is_root {
        conf.push_str("user root;\n");
    }
    conf.push_str(&format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n"
    ));
    for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        conf.push_str(&format!("  {t}_temp_path {d}/{t}_temp;\n"));
    }
    conf.push_str(&format!("  include {};\n}}\n", conf_block.display()));
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let child = Command::new(NGINX)
        .arg("-p")
        .arg(format!("{d}/"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nginx")?;
    let guard = Guard {
        name: "nginx",
        child,
    };
    let url = format!("http://127.0.0.1:{port}/");
    wait_healthy(&url).with_context(|| {
        format!(
            "nginx did not come up; its log: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        )
    })?;
    Ok((guard, url))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A GET over a fresh connection: (status line, headers and body as text).
fn http_get(url: &str, path: &str) -> Result<String> {
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix('/'))
        .context("expected an http://host:port/ URL")?;
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn wait_healthy(url: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = http_get(url, "healthz") {
            if text.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{url}healthz did not answer 200 within 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn content_length(url: &str, path: &str) -> Result<u64> {
    let text = http_get(url, path)?;
    if !text.starts_with("HTTP/1.1 200") {
        bail!(
            "expected 200 for {url}{path}, got {:?}",
            text.lines().next().unwrap_or("")
        );
    }
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .with_context(|| format!("{url}{path} sent no Content-Length"))
}

fn status_field(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Resident memory (`VmRSS`) in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    status_field(pid, "VmRSS:")
}

/// Peak resident memory (`VmHWM`) in KiB.
fn rss_hwm_kib(pid: u32) -> Result<u64> {
    status_field(pid, "VmHWM:")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 10s test @ http://127.0.0.1:8080/1k.txt
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   460.01us  300.12us  12.00ms   90.00%
    Req/Sec    68.40k     5.12k   80.00k    70.00%
  Latency Distribution
     50%  400.00us
     75%  500.00us
     90%  700.00us
     99%    1.50ms
  1361578 requests in 10.00s, 1.30GB read
  Socket errors: connect 0, read 2, write 0, timeout 12
  Non-2xx or 3xx responses: 5
Requests/sec: 136081.07
Transfer/sec:    133.12MB
";
        let r = parse_wrk(text).unwrap();
        assert_eq!(r.requests, 1_361_578);
        assert!((r.requests_per_sec - 136_081.07).abs() < 0.01);
        assert_eq!((r.non_2xx, r.socket_errors, r.errors()), (5, 14, 19));
        assert_eq!(r.latency_avg, "460.01us");
        assert_eq!(r.latency_p50, "400.00us");
        assert_eq!(r.latency_p99, "1.50ms");
        assert_eq!(r.transfer_per_sec, "133.12MB");
        assert!(parse_wrk("unable to connect").is_err());
    }

    #[test]
    fn finds_the_wasm_in_a_manifest() {
        let m = r#"{"format":1,"name":"demo-guest","glue":"g.js","wasm": "demo_guest_bg.ebc41135f2.wasm","files":[]}"#;
        assert_eq!(
            manifest_wasm(m).as_deref(),
            Some("demo_guest_bg.ebc41135f2.wasm")
        );
        assert_eq!(manifest_wasm(r#"{"wasm":"../x.wasm"}"#), None);
        assert_eq!(manifest_wasm(r#"{"glue":"x"}"#), None);
        assert_eq!(
            manifest_wasm(r#"{"files":[{"kind":"wasm"}],"wasm":"m.wasm"}"#).as_deref(),
            Some("m.wasm")
        );
    }

    #[test]
    fn options_are_bounded() {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            soak: SoakArgs,
        }
        let parse =
            |v: &[&str]| Cli::try_parse_from(std::iter::once("soak").chain(v.iter().copied()));
        let o = parse(&[]).unwrap().soak;
        assert_eq!((o.seconds, o.memory_seconds, o.connections), (10, 60, 64));
        let o = parse(&["--seconds", "3", "--memory-seconds", "20"])
            .unwrap()
            .soak;
        assert_eq!((o.seconds, o.memory_seconds), (3, 20));
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--seconds", "601"]).is_err());
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--forever"]).is_err());
        assert!(assert_loopback("http://10.0.0.1:80/").is_err());
        assert!(assert_loopback("http://127.0.0.1:80/x").is_ok());
    }
}
