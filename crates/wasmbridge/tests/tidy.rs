//! Tidy checks over the repository's sources, in the manner of rust-analyzer's
//! `tidy.rs`: rules that reviewers would otherwise have to remember.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wasmbridge::runtime;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/wasmbridge sits two levels below the repository")
        .to_path_buf()
}

fn runtime_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime")
}

/// Every file below `dir` whose name ends with one of `suffixes`, skipping
/// dependency and build directories.
fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                if !matches!(name.as_str(), "node_modules" | "target" | ".git" | ".cache") {
                    stack.push(path);
                }
            } else if kind.is_file() && suffixes.iter().any(|s| name.ends_with(s)) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("//") || t.starts_with("/*") || t.starts_with('*')
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_runtime_file_is_in_the_one_list() {
    let on_disk: BTreeSet<String> = files(&runtime_dir(), &[".js", ".d.ts"])
        .iter()
        .map(|p| name_of(p))
        .collect();
    let listed: BTreeSet<String> = runtime::FILES
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    assert_eq!(
        listed, on_disk,
        "crates/wasmbridge/src/runtime.rs FILES must list exactly the files of crates/wasmbridge/runtime/"
    );
    for (name, text) in runtime::FILES {
        let disk = std::fs::read_to_string(runtime_dir().join(name)).unwrap();
        assert_eq!(*text, disk, "{name} is embedded from another file");
    }
}

/// The text of the runtime file `name`, as the CLI embeds it.
fn text(name: &str) -> &'static str {
    runtime::FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("{name} is not in runtime::FILES"))
}

/// The runtime modules `source` refers to in code: static imports
/// (`from './x.js'`) and URLs built from a name (`new URL('x.js', base)`).
fn references(source: &str) -> BTreeSet<String> {
    let listed: BTreeSet<&str> = runtime::FILES.iter().map(|(n, _)| *n).collect();
    let mut out = BTreeSet::new();
    for line in source.lines().filter(|l| !is_comment(l)) {
        for (i, quoted) in line.split('\'').enumerate() {
            let name = quoted.strip_prefix("./").unwrap_or(quoted);
            if i % 2 == 1 && name.ends_with(".js") && listed.contains(name) {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

/// Every module reached from `start` by following `edges` (the start
/// modules themselves only when an edge leads back to them).
fn reach(start: &[String], edges: fn(&str) -> BTreeSet<String>) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    let mut unread: Vec<String> = start.to_vec();
    while let Some(module) = unread.pop() {
        for next in edges(text(&module)) {
            if reached.insert(next.clone()) {
                unread.push(next);
            }
        }
    }
    reached
}

#[test]
fn the_godot_adapter_needs_what_its_imports_reach() {
    let mut reached = reach(&["godot.js".to_owned()], references);
    reached.remove("godot.js");
    let declared: BTreeSet<String> = runtime::GODOT_NEEDS
        .iter()
        .chain(runtime::GODOT_ADAPTER)
        .filter(|n| **n != "godot.js")
        .map(|n| (*n).to_owned())
        .collect();
    assert_eq!(
        declared, reached,
        "runtime::GODOT_NEEDS and GODOT_ADAPTER must be what godot.js loads, directly or not"
    );
}

/// The runtime modules `source` imports statically (`import './x.js'`,
/// `import … from './x.js'`, `export … from './x.js'`): those the browser
/// fetches before the module runs.
fn static_imports(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in source
        .lines()
        .map(str::trim_start)
        .filter(|l| !is_comment(l))
    {
        let rest = line
            .strip_prefix("import './")
            .or_else(|| line.split(" from './").nth(1));
        if let Some(name) = rest.and_then(|r| r.split('\'').next()) {
            out.insert(name.to_owned());
        }
    }
    out
}

#[test]
fn the_entries_import_every_module_they_start_with_directly() {
    // A module the entry reaches only through another module is fetched one
    // round trip later: start-up waits for the deepest level.
    for entry in ["wasmbridge.js", "godot.js"] {
        let direct = static_imports(text(entry));
        let start: Vec<String> = direct.iter().cloned().collect();
        let mut reached = reach(&start, static_imports);
        reached.extend(direct.iter().cloned());
        assert_eq!(
            direct, reached,
            "{entry} must import every module its static imports reach, directly"
        );
    }
}

#[test]
fn the_preload_hints_are_the_entry_and_its_imports() {
    // A bundle's entry is linked: the hints are it and whatever it still imports.
    let linked = wasmbridge::link::Runtime::read(runtime::FILES, runtime::ENTRY)
        .and_then(|r| r.entry(&[]))
        .unwrap();
    let mut expected = BTreeSet::from([runtime::ENTRY.to_owned()]);
    expected.extend(static_imports(&linked));
    // README's example, and the page `wasmbridge new` writes.
    for (file, prefix) in [
        ("README.md", "<link rel=\"modulepreload\" href=\"/wasm/"),
        (
            "crates/wasmbridge/src/new.rs",
            "<link rel=\"modulepreload\" href=\"./wasmbridge/",
        ),
    ] {
        let source = std::fs::read_to_string(repo().join(file)).unwrap();
        let hinted: BTreeSet<String> = source
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect();
        assert_eq!(
            hinted, expected,
            "{file}'s modulepreload hints must name the linked wasmbridge.js and every module it imports statically"
        );
    }
}

#[test]
fn every_runtime_module_opens_with_its_header_comment() {
    for path in files(&runtime_dir(), &[".js", ".d.ts"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or("");
        let words = first
            .strip_prefix("// ")
            .map_or(0, |t| t.split_whitespace().count());
        assert!(
            words >= 3,
            "{} must open with a `// ` comment that says what the module is, got {first:?}",
            path.display()
        );
    }
}

#[test]
fn no_console_log_in_the_runtime() {
    for path in files(&runtime_dir(), &[".js"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (no, line) in text.lines().enumerate() {
            assert!(
                is_comment(line) || !line.contains("console.log"),
                "{}:{}: console.log left in the runtime: {line}",
                path.display(),
                no + 1
            );
        }
    }
}

/// A "not yet" guard: a test or benchmark that skips, or reports a feature as
/// pending, because it supposes the feature might not exist.
fn is_yet_guard(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let says_yet = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "yet")
        || lower.contains("not in this tree");
    let guards = ["skip", "pending", "todo", "diagnostic", "fallback"]
        .iter()
        .any(|g| lower.contains(g));
    says_yet && guards
}

#[test]
fn no_yet_guards_in_tests_or_benchmarks() {
    let root = repo();
    let mut found = Vec::new();
    for dir in ["js/test", "bench", "crates"] {
        for path in files(&root.join(dir), &[".mjs", ".js", ".rs", ".gd"]) {
            if path.ends_with("tests/tidy.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (no, line) in text.lines().enumerate() {
                if is_yet_guard(line) {
                    found.push(format!(
                        "{}:{}: {}",
                        path.strip_prefix(&root).unwrap().display(),
                        no + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "features under test exist; drop the guards:\n{}",
        found.join("\n")
    );
}

#[test]
fn yet_guards_are_recognised() {
    assert!(is_yet_guard(
        "return t.skip('the bundle has no fibonacci yet');"
    ));
    assert!(is_yet_guard(
        "if (!x) return { pending: 'pool.fastCall does not exist in this tree yet' };"
    ));
    assert!(!is_yet_guard(
        "assert.equal(x, true, 'nothing to stop yet');"
    ));
    assert!(!is_yet_guard("} catch { /* not listening yet */ }"));
}

#[test]
fn every_rust_source_opens_with_a_module_doc() {
    let root = repo();
    let mut sources = files(&root.join("crates"), &[".rs"]);
    sources.extend(files(&root.join("xtask"), &[".rs"]));
    sources.extend(files(&root.join("fuzz"), &[".rs"]));
    assert!(
        sources.len() > 20,
        "found only {} Rust files",
        sources.len()
    );
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a `//!` comment saying what it is for",
            path.display()
        );
    }
}

/// Top-level `const NAME` and `function NAME` statements of a JS source, by
/// name, `export ` dropped: the first line and every line after it that is
/// indented or closes a bracket.
fn top_level_statements(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some(rest) = line
            .strip_prefix("const ")
            .or_else(|| line.strip_prefix("function "))
        else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let mut text = line.to_owned();
        while let Some(next) = lines.next_if(|l| l.starts_with([' ', '}', ')'])) {
            text.push('\n');
            text.push_str(next);
        }
        out.push((name, text));
    }
    out
}

#[test]
fn the_worker_imports_nothing_and_its_copy_of_the_protocol_is_exact() {
    let worker = std::fs::read_to_string(runtime_dir().join("worker.js")).unwrap();
    // Static imports only: the lane's half is a dynamic import, loaded by the lane's worker alone.
    assert!(
        !worker.lines().any(|l| l.starts_with("import ")),
        "worker.js must not import statically: the worker would wait for another fetch"
    );
    let begin = "// ---- copied from protocol.js and error.js ----";
    let end = "// ---- end of the copy ----";
    let start = worker.find(begin).expect("worker.js marks its copy");
    let stop = worker
        .find(end)
        .expect("worker.js marks the end of its copy");
    let copy = top_level_statements(&worker[start..stop]);
    assert!(copy.len() > 10, "{copy:?}");
    let originals: std::collections::BTreeMap<String, String> = ["protocol.js", "error.js"]
        .iter()
        .flat_map(|f| {
            top_level_statements(&std::fs::read_to_string(runtime_dir().join(f)).unwrap())
        })
        .collect();
    for (name, text) in &copy {
        let original = originals.get(name).unwrap_or_else(|| {
            panic!("worker.js copies {name}, which protocol.js and error.js do not export")
        });
        assert_eq!(
            text, original,
            "worker.js's copy of {name} differs from the original"
        );
    }
    // Every other top-level name of worker.js is its own: none shadows an original it should have copied.
    for (name, _) in top_level_statements(&worker[stop..]) {
        assert!(
            !originals.contains_key(&name),
            "worker.js defines {name} outside its copy, and protocol.js or error.js export it too"
        );
    }
}
