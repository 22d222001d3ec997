//! The two halves of the wire protocol, pinned against each other: every
//! `pub const` of `src/protocol.rs` the worker needs must be an `export const`
//! of the same name and value in `crates/wasmbridge/runtime/protocol.js` (and
//! every guest-facing `GUEST_*`/`HOST_*` constant there must be one here), and
//! every `ErrorCode` must be in its `CODES` under its own name. The JS file is
//! read as text, as `js/test/ring.test.mjs` reads `tests/ring_layout.rs`.

use std::collections::BTreeMap;
use wasmbridge_guest::protocol::{self, ErrorCode};

fn protocol_js() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wasmbridge/runtime/protocol.js"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// `export const NAME = VALUE;` lines whose value is a number or a quoted
/// string, by name, the value without its quotes.
fn scalar_exports(js: &str) -> BTreeMap<String, String> {
    js.lines()
        .filter_map(|line| line.strip_prefix("export const "))
        .filter_map(|rest| rest.split_once(" = "))
        .filter_map(|(name, value)| {
            let value = value.strip_suffix(';')?;
            let unquoted = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .map(str::to_owned);
            let number = value
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| value.to_owned());
            Some((name.to_owned(), unquoted.or(number)?))
        })
        .collect()
}

/// The `KEY: 'VALUE'` entries of `export const CODES = Object.freeze({ … });`.
fn codes(js: &str) -> BTreeMap<String, String> {
    let start = js
        .find("export const CODES = Object.freeze({")
        .unwrap_or_else(|| panic!("protocol.js has no CODES"));
    let body = &js[start..];
    let body = &body[..body
        .find("});")
        .unwrap_or_else(|| panic!("CODES never ends"))];
    body.lines()
        .filter_map(|line| line.trim().strip_suffix(','))
        .filter_map(|entry| entry.split_once(": '"))
        .filter_map(|(key, value)| Some((key.to_owned(), value.strip_suffix('\'')?.to_owned())))
        .collect()
}

#[test]
fn every_rust_constant_has_its_js_twin() {
    let js = scalar_exports(&protocol_js());
    // RESERVED_PREFIX is not among them: the build leaves those exports out of
    // the manifest, so the JS runtime never meets them.
    let rust = [
        ("GUEST_ABI", protocol::GUEST_ABI.to_string()),
        (
            "GUEST_ERROR_MARKER",
            protocol::GUEST_ERROR_MARKER.to_owned(),
        ),
        ("GUEST_ERROR_CODE", protocol::GUEST_ERROR_CODE.to_owned()),
        ("GUEST_ERROR_DATA", protocol::GUEST_ERROR_DATA.to_owned()),
        ("HOST_PANIC", protocol::HOST_PANIC.to_owned()),
        ("HOST_CANCELLED", protocol::HOST_CANCELLED.to_owned()),
        ("HOST_PROGRESS", protocol::HOST_PROGRESS.to_owned()),
        ("HOST_IN_PLACE", protocol::HOST_IN_PLACE.to_owned()),
    ];
    for (name, value) in &rust {
        assert_eq!(
            js.get(*name),
            Some(value),
            "protocol.js must export const {name} = {value:?}, as protocol.rs does"
        );
    }
    for name in js.keys() {
        if name.starts_with("GUEST_") || name.starts_with("HOST_") {
            assert!(
                rust.iter().any(|(n, _)| n == name),
                "protocol.js exports {name}, which protocol.rs does not define"
            );
        }
    }
}

#[test]
fn every_rust_constant_is_listed_here() {
    // A constant added to protocol.rs without a twin check above fails here.
    let source = include_str!("../src/protocol.rs");
    let declared: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split(':').next())
        .collect();
    assert_eq!(
        declared,
        [
            "GUEST_ABI",
            "RESERVED_PREFIX",
            "GUEST_ERROR_MARKER",
            "GUEST_ERROR_CODE",
            "GUEST_ERROR_DATA",
            "HOST_PANIC",
            "HOST_CANCELLED",
            "HOST_PROGRESS",
            "HOST_IN_PLACE",
        ]
    );
}

#[test]
fn every_guest_error_code_is_in_the_js_codes() {
    let js = codes(&protocol_js());
    assert!(js.len() >= ErrorCode::ALL.len(), "CODES parsed as {js:?}");
    for code in ErrorCode::ALL {
        assert_eq!(
            js.get(code.as_str()).map(String::as_str),
            Some(code.as_str()),
            "protocol.js CODES must hold {0}: '{0}'",
            code.as_str()
        );
    }
}
