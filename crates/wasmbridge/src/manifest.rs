//! The bundle manifest (`manifest.json`): which files make up a guest, their
//! sizes and hashes, and the callable functions with parameter names and types
//! read from the TypeScript definitions wasm-bindgen writes.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Version of the manifest format; `crates/wasmbridge/runtime/pool.js` reads version 1.
pub const FORMAT: u32 = 1;

/// Prefix of the guest library's own exports; they are never callable.
pub const RESERVED_PREFIX: &str = "__wasmbridge";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The guest crate's package name.
    pub name: String,
    /// File name of the wasm-bindgen JS glue, relative to the bundle.
    pub glue: String,
    /// File name of the `.wasm` module, relative to the bundle.
    pub wasm: String,
    /// Every file of the bundle but the manifest itself.
    pub files: BTreeMap<String, FileInfo>,
    pub functions: Vec<Function>,
    /// The shared-memory build (`wasmbridge build --threads`), with the same
    /// functions; the runtime picks it only on a cross-origin isolated page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub threads: Option<Module>,
}

/// A module of the bundle and its glue, by file name relative to the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    pub glue: String,
    pub wasm: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub size: u64,
    /// Size after gzip -9, the figure that matters on the wire.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gzip: Option<u64>,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Subresource Integrity value (`sha256-<base64>`), usable in `fetch` and `<script integrity>`.
    pub integrity: String,
}

impl FileInfo {
    pub fn of(bytes: &[u8]) -> FileInfo {
        let digest = Sha256::digest(bytes);
        FileInfo {
            size: bytes.len() as u64,
            gzip: None,
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            integrity: format!("sha256-{}", BASE64.encode(digest)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub params: Vec<Param>,
    pub returns: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub doc: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub optional: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("line {line} of the type definitions: expected `export function name(params): type;`, got {text:?}")]
    BadSignature { line: usize, text: String },
    #[error("line {line} of the type definitions: parameter {param:?} of {function} has no type")]
    UntypedParam {
        line: usize,
        function: String,
        param: String,
    },
    #[error("the type definitions export no callable function: the guest needs at least one #[wasm_bindgen] pub fn")]
    NoFunctions,
}

/// Functions wasm-bindgen's glue exports that are not the guest's.
const GLUE_FUNCTIONS: &[&str] = &["initSync", "__wbg_init", "default"];

/// Reads the callable functions out of wasm-bindgen's `.d.ts`, with their doc
/// comments. Only top-level `export function` declarations count.
pub fn functions_from_dts(dts: &str) -> Result<Vec<Function>, ManifestError> {
    let mut out = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut in_doc = false;
    let mut depth = 0i32;
    for (index, raw) in dts.lines().enumerate() {
        let line = raw.trim();
        if in_doc {
            if let Some(rest) = line.strip_suffix("*/") {
                push_doc(&mut doc, rest);
                in_doc = false;
            } else {
                push_doc(&mut doc, line);
            }
            continue;
        }
        if line.starts_with("/**") {
            doc.clear();
            let body = line.trim_start_matches("/**");
            match body.strip_suffix("*/") {
                Some(inner) => push_doc(&mut doc, inner),
                None => {
                    push_doc(&mut doc, body);
                    in_doc = true;
                }
            }
            continue;
        }
        if depth == 0 && line.starts_with("export function ") {
            let f = parse_signature(line, index + 1)?;
            let keep =
                !GLUE_FUNCTIONS.contains(&f.name.as_str()) && !f.name.starts_with(RESERVED_PREFIX);
            if keep {
                let text = doc.join(" ").trim().to_string();
                out.push(Function {
                    doc: (!text.is_empty()).then_some(text),
                    ..f
                });
            }
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if !line.starts_with("/*") && !line.starts_with('*') {
            doc.clear();
        }
    }
    if out.is_empty() {
        return Err(ManifestError::NoFunctions);
    }
    Ok(out)
}

fn push_doc(doc: &mut Vec<String>, text: &str) {
    let text = text.trim().trim_start_matches('*').trim();
    if !text.is_empty() {
        doc.push(text.to_string());
    }
}

fn parse_signature(line: &str, line_no: usize) -> Result<Function, ManifestError> {
    let bad = || ManifestError::BadSignature {
        line: line_no,
        text: line.to_string(),
    };
    let rest = line.strip_prefix("export function ").ok_or_else(bad)?;
    let open = rest.find('(').ok_or_else(bad)?;
    let name = rest[..open].trim().to_string();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    {
        return Err(bad());
    }
    let close = matching_paren(rest, open).ok_or_else(bad)?;
    let params_text = &rest[open + 1..close];
    let returns = rest[close + 1..]
        .trim()
        .strip_prefix(':')
        .ok_or_else(bad)?
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_string();
    let mut params = Vec::new();
    for part in split_top_level(params_text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (pname, ty) = part
            .split_once(':')
            .ok_or_else(|| ManifestError::UntypedParam {
                line: line_no,
                function: name.clone(),
                param: part.to_string(),
            })?;
        let pname = pname.trim();
        let optional = pname.ends_with('?') || ty.split('|').any(|t| t.trim() == "undefined");
        params.push(Param {
            name: pname.trim_end_matches('?').to_string(),
            ty: ty.trim().to_string(),
            optional,
        });
    }
    Ok(Function {
        name,
        params,
        returns,
        doc: None,
    })
}

fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on commas that are not inside `()`, `<>`, `{}` or `[]`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'<' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            b'>' if i == 0 || bytes[i - 1] != b'=' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DTS: &str = r#"/* tslint:disable */
/* eslint-disable */
/**
 * `a / b`; division by zero is `GUEST_ERROR`.
 */
export function divide(a: number, b: number): number;
export function echo(value: any): any;
/**
 * Sum of the bytes.
 */
export function sumBytes(data: Uint8Array): number;
export function maybe(n?: number | null, label?: string): string | undefined;
export function callback(f: (a: number, b: number) => void, m: Map<string, number>): void;
export function __wasmbridge_abi(): number;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
  readonly memory: WebAssembly.Memory;
  readonly divide: (a: number, b: number) => [number, number, number];
}

export type SyncInitInput = BufferSource | WebAssembly.Module;
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
"#;

    #[test]
    fn reads_functions_params_and_docs() {
        let fs = functions_from_dts(DTS).unwrap();
        let names: Vec<&str> = fs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["divide", "echo", "sumBytes", "maybe", "callback"]);
        assert_eq!(
            fs[0].doc.as_deref(),
            Some("`a / b`; division by zero is `GUEST_ERROR`.")
        );
        assert_eq!(
            fs[0].params[1],
            Param {
                name: "b".into(),
                ty: "number".into(),
                optional: false
            }
        );
        assert_eq!(fs[0].returns, "number");
        assert_eq!(fs[1].doc, None);
        assert_eq!(fs[2].params[0].ty, "Uint8Array");
        assert_eq!(fs[2].doc.as_deref(), Some("Sum of the bytes."));
        assert!(fs[3].params.iter().all(|p| p.optional));
        assert_eq!(fs[3].returns, "string | undefined");
        assert_eq!(fs[4].params.len(), 2);
        assert_eq!(fs[4].params[0].ty, "(a: number, b: number) => void");
        assert_eq!(fs[4].params[1].ty, "Map<string, number>");
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert_eq!(
            functions_from_dts("export type X = number;\n"),
            Err(ManifestError::NoFunctions)
        );
        assert!(matches!(
            functions_from_dts("export function broken(a: number\n"),
            Err(ManifestError::BadSignature { line: 1, .. })
        ));
        assert!(matches!(
            functions_from_dts("export function f(a): number;\n"),
            Err(ManifestError::UntypedParam { .. })
        ));
    }

    #[test]
    fn file_info_hashes() {
        let info = FileInfo::of(b"abc");
        assert_eq!(info.size, 3);
        assert_eq!(
            info.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            info.integrity,
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn manifest_round_trips_as_json() {
        let mut files = BTreeMap::new();
        files.insert("g_bg.wasm".to_string(), FileInfo::of(b"\0asm"));
        let m = Manifest {
            format: FORMAT,
            name: "g".into(),
            glue: "g.js".into(),
            wasm: "g_bg.wasm".into(),
            files,
            functions: functions_from_dts(DTS).unwrap(),
            threads: None,
        };
        let text = serde_json::to_string(&m).unwrap();
        // A bundle without a threaded module says nothing about one.
        assert!(!text.contains("threads"));
        assert!(text.contains(r#""type":"number""#));
        let back: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        let threaded = Manifest {
            threads: Some(Module {
                glue: "threads/g.js".into(),
                wasm: "threads/g_bg.wasm".into(),
            }),
            ..m
        };
        let text = serde_json::to_string(&threaded).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), threaded);
    }
}
