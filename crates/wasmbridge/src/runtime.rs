//! The JS runtime (`crates/wasmbridge/runtime/`), compiled into the CLI so an
//! installed CLI needs nothing from this repository and a bundle never mixes
//! runtime versions. This is the one list of its files: `build` writes them
//! into every bundle and `godot` checks a bundle has what the adapter loads;
//! `tests/tidy.rs` checks the list against the directory and the imports.
//! The same files are the npm package `wasmbridge` (`runtime/package.json`,
//! whose `files` must list exactly these: `tests/npm_package.rs` checks it).

/// The Godot adapter (`window.WasmBridge`), also added to bundles built before it existed.
pub const GODOT_JS: &str = include_str!("../runtime/godot.js");

/// Every file of the runtime, by bundle file name: `build` writes all of them
/// into every bundle.
pub const FILES: &[(&str, &str)] = &[
    ("wasmbridge.js", include_str!("../runtime/wasmbridge.js")),
    (
        "wasmbridge.d.ts",
        include_str!("../runtime/wasmbridge.d.ts"),
    ),
    ("pool.js", include_str!("../runtime/pool.js")),
    ("pool-call.js", include_str!("../runtime/pool-call.js")),
    (
        "pool-validate.js",
        include_str!("../runtime/pool-validate.js"),
    ),
    ("pool-load.js", include_str!("../runtime/pool-load.js")),
    ("manifest.js", include_str!("../runtime/manifest.js")),
    ("supervisor.js", include_str!("../runtime/supervisor.js")),
    ("worker.js", include_str!("../runtime/worker.js")),
    ("protocol.js", include_str!("../runtime/protocol.js")),
    ("error.js", include_str!("../runtime/error.js")),
    ("godot.js", GODOT_JS),
    ("godot-codec.js", include_str!("../runtime/godot-codec.js")),
    ("godot.d.ts", include_str!("../runtime/godot.d.ts")),
    ("lane.js", include_str!("../runtime/lane.js")),
    ("lane-codec.js", include_str!("../runtime/lane-codec.js")),
    ("lane-worker.js", include_str!("../runtime/lane-worker.js")),
    ("shared.js", include_str!("../runtime/shared.js")),
    ("threads.js", include_str!("../runtime/threads.js")),
    (
        "thread-worker.js",
        include_str!("../runtime/thread-worker.js"),
    ),
    ("ring.js", include_str!("../runtime/ring.js")),
    ("ring.d.ts", include_str!("../runtime/ring.d.ts")),
    (
        "audio-worklet.js",
        include_str!("../runtime/audio-worklet.js"),
    ),
    ("audio.js", include_str!("../runtime/audio.js")),
    ("audio.d.ts", include_str!("../runtime/audio.d.ts")),
];

/// The module pages import. In a bundle it is linked (`link.rs`): it holds
/// every module it imports, the inlined manifest among them, so it is not
/// listed in the manifest's `files` either.
pub const ENTRY: &str = "wasmbridge.js";

/// The runtime file that holds the bundle's manifest: the runtime's copy (the
/// npm package's) holds none, and `build` writes the manifest of each build
/// into it, so it is not listed in the manifest's `files`.
pub const INLINED_MANIFEST: &str = "manifest.js";

/// The Godot adapter's own files: written from this program, all of them,
/// into an export whose bundle lacks any (so `godot.js` never meets another
/// version's codec).
pub const GODOT_ADAPTER: &[&str] = &["godot.js", "godot-codec.js"];

/// The other modules `godot.js` loads, directly or through `pool.js` (the worker
/// included): a bundle without them cannot work.
pub const GODOT_NEEDS: &[&str] = &[
    "pool.js",
    "pool-call.js",
    "pool-validate.js",
    "pool-load.js",
    "manifest.js",
    "supervisor.js",
    "worker.js",
    "protocol.js",
    "error.js",
    "lane.js",
    "lane-codec.js",
    "lane-worker.js",
    "shared.js",
    "threads.js",
    "thread-worker.js",
];
