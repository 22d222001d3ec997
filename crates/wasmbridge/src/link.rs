//! Links the runtime's page modules into one file for a bundle. The browser
//! learns a module's imports only once it has that module, and on a reload it
//! revalidates every module one after another, so the eleven modules a pool
//! starts with cost a request level, and eleven revalidations, before any of
//! them runs. In a bundle, `wasmbridge.js` is therefore the entry and every
//! module it imports statically, in one file: their texts one after another,
//! in the order the browser would run them, in one scope (the runtime's
//! modules declare no top-level name twice, and `Runtime::entry` checks that
//! no module sees another's names that it did not import). The page modules
//! loaded later (`lane.js`, `audio.js`, `ring.js`, `godot.js`) take what they
//! import from the linked entry (one object per folded module) instead of
//! loading second copies, so a class such as `WasmBridgeError` is the same
//! class everywhere on the page. Worker scripts, and what they import, stay as
//! they are: they run in other realms, where a second copy is what they need.
//!
//! The runtime is our own code, so this reads a narrow form of JavaScript by
//! lines: import and export statements and top-level declarations start at
//! column 0, specifiers are `'./NAME.js'`, declarations are exported with
//! `export` in front of them. Anything else at column 0 that starts with
//! `import` or `export` is an error, and `tests` below link the runtime the
//! CLI carries.

use std::collections::{BTreeMap, BTreeSet};

/// V8's explicit compile hint (Chromium 136 and later; a comment elsewhere):
/// compile every function of the file with it, instead of each on its first
/// call. A pool calls most of the runtime while it starts: on a reload,
/// `createPool` took 8–12 ms from the runtime's import to its first
/// `new Worker` compiled lazily, 1–6 ms with the hint, over three runs of
/// `bench/startup/run.mjs --phases` each; fresh loads showed no clear difference.
const EAGER: &str = "//# allFunctionsCalledOnLoad";

/// What linked code names its module objects with; runtime sources must not use it.
const RESERVED: &str = "__wb_";
/// The page modules loaded later hold the linked entry's objects in this.
const LINKED: &str = "__wb_linked";
/// `Symbol.for` key of the map, on `globalThis`, from a linked entry's
/// directory URL to its objects.
const REGISTRY: &str = "wasmbridge/linked";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{file}:{line}: expected {expected}, got `{text}`")]
    Unsupported {
        file: String,
        line: usize,
        expected: &'static str,
        text: String,
    },
    #[error("{file} imports {specifier}: expected './NAME.js' naming a runtime file")]
    UnknownImport { file: String, specifier: String },
    #[error("{file} imports itself through {chain}: expected modules without import cycles")]
    Cycle { file: String, chain: String },
    #[error("{file} uses the name prefix `{RESERVED}`, which linking reserves for its own names")]
    Reserved { file: String },
    #[error("the runtime has no file {0}")]
    Missing(String),
    #[error("{first} and {second} both declare `{name}` at top level: expected names unique across the modules {entry} links")]
    Collision {
        name: String,
        first: String,
        second: String,
        entry: String,
    },
    #[error("{user} uses `{name}`, which {owner} declares at top level and {user} does not import: linked into one scope, it would see {owner}'s")]
    Capture {
        name: String,
        owner: String,
        user: String,
    },
    #[error("{file} imports `{name}` from {from}, which does not export it")]
    NotExported {
        file: String,
        name: String,
        from: String,
    },
}

type Result<T, E = LinkError> = std::result::Result<T, E>;

/// One binding of an import or re-export: the name in the source module and
/// the name it takes here (`default` for a default import, `*` for a
/// namespace import).
#[derive(Debug, Clone)]
struct Binding {
    imported: String,
    local: String,
}

#[derive(Debug)]
enum Piece {
    /// Text kept as it is (with `export` taken off a declaration when folded).
    Text { original: String, folded: String },
    /// `import … from './file'` (no bindings: an import for its effects).
    Import {
        file: String,
        bindings: Vec<Binding>,
    },
    /// `export { … } from './file'`: bindings' `local` is the exported name.
    ReExport {
        file: String,
        bindings: Vec<Binding>,
    },
    /// `export { a, b as c };`, dropped when folded (the exports are recorded).
    ExportList { original: String },
}

/// What an exported name stands for.
#[derive(Debug, Clone)]
enum Target {
    /// A top-level name of the module itself.
    Local(String),
    /// A name exported by another module (`export { a } from './x.js'`).
    From { file: String, name: String },
}

#[derive(Debug)]
struct Module {
    pieces: Vec<Piece>,
    /// Exported name → what it stands for.
    exports: Vec<(String, Target)>,
    /// Names declared at top level (column 0), exported or not.
    declared: Vec<String>,
    /// Targets of `import('./x.js')`.
    dynamic: Vec<String>,
    /// Targets of `new URL('./x.js', import.meta.url)`: worker scripts and worklets.
    scripts: Vec<String>,
}

impl Module {
    fn static_deps(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Import { file, .. } | Piece::ReExport { file, .. } => Some(file.as_str()),
            _ => None,
        })
    }
}

/// The runtime, read once: what the entry folds in and which page modules
/// take their imports from it.
#[derive(Debug)]
pub struct Runtime {
    modules: BTreeMap<String, Module>,
    entry: String,
    /// The entry's static imports and theirs, dependencies first (the entry last).
    folded: Vec<String>,
}

impl Runtime {
    /// Reads every `.js` file of `files` (name, text); `entry` is the module
    /// pages import.
    pub fn read(files: &[(&str, &str)], entry: &str) -> Result<Runtime> {
        let names: BTreeSet<&str> = files.iter().map(|(n, _)| *n).collect();
        let mut modules = BTreeMap::new();
        for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".js")) {
            modules.insert(name.to_string(), parse(name, text, &names)?);
        }
        if !modules.contains_key(entry) {
            return Err(LinkError::Missing(entry.to_owned()));
        }
        let mut folded = Vec::new();
        visit(entry, &modules, &mut Vec::new(), &mut folded)?;
        Ok(Runtime {
            modules,
            entry: entry.to_owned(),
            folded,
        })
    }

    /// The linked entry. `replace` gives other texts for some of the folded
    /// files (a bundle's own `manifest.js`).
    pub fn entry(&self, replace: &[(&str, &str)]) -> Result<String> {
        let names: BTreeSet<&str> = self.modules.keys().map(String::as_str).collect();
        let mut replaced = BTreeMap::new();
        for (name, text) in replace {
            replaced.insert(*name, parse(name, text, &names)?);
        }
        let module = |name: &str| replaced.get(name).unwrap_or(&self.modules[name]);
        self.check_scope(&module)?;

        let others: Vec<&str> = self
            .folded
            .iter()
            .filter(|f| **f != self.entry)
            .map(String::as_str)
            .collect();
        let mut out = format!(
            "{EAGER}\n\
             // {entry}, linked by `wasmbridge build`: the runtime's entry and the modules it\n\
             // imports ({list}), one after another in one scope, so a page loads the pool in\n\
             // one request. The modules loaded later take these modules' exports from the\n\
             // objects exported at the end. The sources, unlinked, are the npm package\n\
             // `wasmbridge`. The first line asks V8 to compile every function with the file.\n",
            entry = self.entry,
            list = others.join(", "),
        );
        for name in &self.folded {
            let m = module(name);
            out.push_str(&format!("\n// ---- {name} ----\n"));
            for piece in &m.pieces {
                match piece {
                    Piece::Text { folded, .. } => out.push_str(folded),
                    Piece::Import { file, bindings } => {
                        for b in bindings {
                            let source = if b.imported == "*" {
                                object_name(file)
                            } else {
                                self.resolve(&module, name, file, &b.imported)?
                            };
                            if source != b.local {
                                out.push_str(&format!("const {} = {source};\n", b.local));
                            }
                        }
                    }
                    Piece::ReExport { .. } | Piece::ExportList { .. } => {}
                }
            }
            if *name != self.entry {
                let mut fields = Vec::new();
                for (exported, _) in &m.exports {
                    let local = self.resolve(&module, name, name, exported)?;
                    fields.push(field(exported, &local));
                }
                let object = if fields.is_empty() {
                    "{}".to_owned()
                } else {
                    format!("{{ {} }}", fields.join(", "))
                };
                out.push_str(&format!("const {} = {object};\n", object_name(name)));
            }
        }
        let mut exports = Vec::new();
        for (exported, _) in &module(&self.entry).exports {
            let local = self.resolve(&module, &self.entry, &self.entry, exported)?;
            exports.push(if *exported == local {
                local
            } else {
                format!("{local} as {exported}")
            });
        }
        out.push_str(&format!("\nexport {{ {} }};\n", exports.join(", ")));
        let objects = others
            .iter()
            .map(|n| object_name(n))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "// For the modules loaded later (lane.js, audio.js, ring.js, godot.js), which\n\
             // find them by this file's directory, whatever URL a page imported it by.\n\
             const {RESERVED}registry = (globalThis[Symbol.for('{REGISTRY}')] ??= new Map());\n\
             const {RESERVED}here = new URL('./', import.meta.url).href;\n\
             if (!{RESERVED}registry.has({RESERVED}here)) {RESERVED}registry.set({RESERVED}here, {{ {objects} }});\n\
             export {{ {objects} }};\n"
        ));
        Ok(out)
    }

    /// The top-level name that `name`, exported by `from`, stands for
    /// (following re-exports); `file` is the importer, for the error.
    fn resolve<'m>(
        &self,
        module: &impl Fn(&str) -> &'m Module,
        file: &str,
        from: &str,
        name: &str,
    ) -> Result<String> {
        let not_exported = || LinkError::NotExported {
            file: file.to_owned(),
            name: name.to_owned(),
            from: from.to_owned(),
        };
        let (_, target) = module(from)
            .exports
            .iter()
            .find(|(e, _)| e == name)
            .ok_or_else(not_exported)?;
        match target {
            Target::Local(local) => Ok(local.clone()),
            Target::From {
                file: next,
                name: inner,
            } => self.resolve(module, from, next, inner),
        }
    }

    /// Every top-level name is declared by one folded module, and a module
    /// mentions another's only when it imports it (as itself, not renamed).
    fn check_scope<'m>(&self, module: &impl Fn(&str) -> &'m Module) -> Result<()> {
        let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
        for name in &self.folded {
            for declared in &module(name).declared {
                if let Some(first) = owner.insert(declared, name) {
                    return Err(LinkError::Collision {
                        name: declared.clone(),
                        first: first.to_owned(),
                        second: name.clone(),
                        entry: self.entry.clone(),
                    });
                }
            }
        }
        for user in &self.folded {
            let m = module(user);
            let imported: BTreeSet<&str> = m
                .pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Import { bindings, .. } => Some(bindings),
                    _ => None,
                })
                .flatten()
                .map(|b| b.local.as_str())
                .collect();
            let code: String = m
                .pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Text { folded, .. } => Some(folded.as_str()),
                    _ => None,
                })
                .collect();
            for word in words(&without_comments(&code)) {
                if let Some(owner) = owner.get(word) {
                    if owner != user && !imported.contains(word) {
                        return Err(LinkError::Capture {
                            name: word.to_owned(),
                            owner: owner.to_string(),
                            user: user.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The page modules outside the entry that import what it folds in,
    /// rewritten to take those from the linked entry: (file name, text).
    /// Modules that a worker or worklet script reaches are left as they are.
    pub fn rewritten(&self) -> Vec<(String, String)> {
        let folded: BTreeSet<&str> = self.folded.iter().map(String::as_str).collect();
        let other_realms = self.other_realms();
        let mut out = Vec::new();
        for (name, module) in &self.modules {
            let takes_folded = module.static_deps().any(|d| folded.contains(d));
            if folded.contains(name.as_str())
                || other_realms.contains(name.as_str())
                || !takes_folded
            {
                continue;
            }
            out.push((name.clone(), self.rewrite(module, &folded)));
        }
        out
    }

    fn rewrite(&self, module: &Module, folded: &BTreeSet<&str>) -> String {
        let mut out = String::new();
        let mut imported = false;
        for piece in &module.pieces {
            let (file, bindings, reexport) = match piece {
                Piece::Text { original, .. } | Piece::ExportList { original } => {
                    out.push_str(original);
                    continue;
                }
                Piece::Import { file, bindings } => (file, bindings, false),
                Piece::ReExport { file, bindings } => (file, bindings, true),
            };
            if !folded.contains(file.as_str()) {
                out.push_str(&statement(file, bindings, reexport));
                continue;
            }
            if !imported {
                // A static import, so the entry runs first, as the modules it
                // replaces would have; then the objects of the entry registered
                // first for this directory: a page that imported it under
                // another URL (with a query) has its classes there, while the
                // import loaded a second copy.
                out.push_str(&format!(
                    "import * as {RESERVED}entry from './{}';\n\
                     const {LINKED} = globalThis[Symbol.for('{REGISTRY}')]?.get(new URL('./', import.meta.url).href) ?? {RESERVED}entry;\n",
                    self.entry
                ));
                imported = true;
            }
            if !bindings.is_empty() {
                out.push_str(&destructure(
                    &format!("{LINKED}.{}", object_name(file)),
                    bindings,
                ));
            }
            if reexport {
                let names: Vec<&str> = bindings.iter().map(|b| b.local.as_str()).collect();
                out.push_str(&format!("export {{ {} }};\n", names.join(", ")));
            }
        }
        out
    }

    /// Worker scripts and worklets (`new URL('./x.js', import.meta.url)`) and
    /// every module they reach, statically or dynamically.
    fn other_realms(&self) -> BTreeSet<&str> {
        let mut todo: Vec<&str> = self
            .modules
            .values()
            .flat_map(|m| m.scripts.iter().map(String::as_str))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(m) = self.modules.get(name) {
                todo.extend(m.static_deps());
                todo.extend(m.dynamic.iter().map(String::as_str));
            }
        }
        seen
    }
}

/// Depth first, dependencies before dependents, as the browser evaluates modules.
fn visit(
    name: &str,
    modules: &BTreeMap<String, Module>,
    path: &mut Vec<String>,
    done: &mut Vec<String>,
) -> Result<()> {
    if done.iter().any(|d| d == name) {
        return Ok(());
    }
    if path.iter().any(|p| p == name) {
        let mut chain = path.clone();
        chain.push(name.to_owned());
        return Err(LinkError::Cycle {
            file: name.to_owned(),
            chain: chain.join(" → "),
        });
    }
    let module = modules
        .get(name)
        .ok_or_else(|| LinkError::Missing(name.to_owned()))?;
    path.push(name.to_owned());
    for dep in module.static_deps() {
        visit(dep, modules, path, done)?;
    }
    path.pop();
    done.push(name.to_owned());
    Ok(())
}

/// `const { a, b: c } = object;` (a namespace import takes the object itself).
fn destructure(object: &str, bindings: &[Binding]) -> String {
    let mut out = String::new();
    let mut fields = Vec::new();
    for b in bindings {
        if b.imported == "*" {
            out.push_str(&format!("const {} = {object};\n", b.local));
        } else {
            fields.push(field(&b.imported, &b.local));
        }
    }
    if !fields.is_empty() {
        out.push_str(&format!("const {{ {} }} = {object};\n", fields.join(", ")));
    }
    out
}

/// An import or re-export statement, written back (for files not folded).
fn statement(file: &str, bindings: &[Binding], reexport: bool) -> String {
    let names = |b: &Binding| {
        if b.imported == b.local {
            b.local.clone()
        } else {
            format!("{} as {}", b.imported, b.local)
        }
    };
    if reexport {
        let list: Vec<String> = bindings.iter().map(names).collect();
        return format!("export {{ {} }} from './{file}';\n", list.join(", "));
    }
    if bindings.is_empty() {
        return format!("import './{file}';\n");
    }
    let mut clauses = Vec::new();
    if let Some(d) = bindings.iter().find(|b| b.imported == "default") {
        clauses.push(d.local.clone());
    }
    if let Some(n) = bindings.iter().find(|b| b.imported == "*") {
        clauses.push(format!("* as {}", n.local));
    }
    let named: Vec<String> = bindings
        .iter()
        .filter(|b| b.imported != "default" && b.imported != "*")
        .map(names)
        .collect();
    if !named.is_empty() {
        clauses.push(format!("{{ {} }}", named.join(", ")));
    }
    format!("import {} from './{file}';\n", clauses.join(", "))
}

fn field(exported: &str, local: &str) -> String {
    if exported == local {
        local.to_owned()
    } else {
        format!("{exported}: {local}")
    }
}

/// `pool-call.js` → `__wb_pool_call`.
fn object_name(file: &str) -> String {
    let stem = file.strip_suffix(".js").unwrap_or(file);
    let clean: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{RESERVED}{clean}")
}

/// The name a top-level declaration line declares: `None` when the line is
/// no declaration, `Some(None)` when it is one this cannot read (destructuring).
fn declaration(line: &str) -> Option<Option<String>> {
    const KEYWORDS: [&str; 8] = [
        "async function* ",
        "async function ",
        "function* ",
        "function ",
        "class ",
        "const ",
        "let ",
        "var ",
    ];
    let rest = KEYWORDS.iter().find_map(|k| line.strip_prefix(k))?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| is_ident_char(*c))
        .collect();
    Some(ident(&name).then_some(name))
}

/// The identifiers of `code` that may name a variable: not inside '' or ""
/// strings, not a property after `.` or a private name after `#`, not a key
/// of an object literal, not an accessor's name.
fn words(code: &str) -> Vec<&str> {
    let bytes = code.as_bytes();
    let prev_solid = |at: usize| code[..at].trim_end().chars().next_back();
    let next_solid = |at: usize| code[at..].trim_start().chars().next();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c == '\'' || c == '"' {
            i += 1;
            while i < bytes.len() && bytes[i] as char != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if !is_ident_char(c) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident_char(bytes[i] as char) {
            i += 1;
        }
        let property = start > 0 && matches!(bytes[start - 1], b'.' | b'#');
        let accessor = ["get ", "set ", "static "]
            .iter()
            .any(|k| code[..start].ends_with(k));
        let key = next_solid(i) == Some(':') && matches!(prev_solid(start), Some('{' | ','));
        if !property && !key && !accessor {
            out.push(&code[start..i]);
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

fn parse(file: &str, text: &str, names: &BTreeSet<&str>) -> Result<Module> {
    if text.contains(RESERVED) {
        return Err(LinkError::Reserved {
            file: file.to_owned(),
        });
    }
    let resolve = |specifier: &str| -> Result<String> {
        specifier
            .strip_prefix("./")
            .filter(|n| n.ends_with(".js") && names.contains(n))
            .map(str::to_owned)
            .ok_or_else(|| LinkError::UnknownImport {
                file: file.to_owned(),
                specifier: specifier.to_owned(),
            })
    };
    let unsupported = |line: usize, expected: &'static str, text: &str| LinkError::Unsupported {
        file: file.to_owned(),
        line,
        expected,
        text: text.trim_end().to_owned(),
    };

    let mut pieces = Vec::new();
    let mut exports = Vec::new();
    let mut declared = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        let is_import = line.starts_with("import ") && !line.starts_with("import(");
        let is_export_list = line.starts_with("export {") || line.starts_with("export *");
        if is_import || is_export_list {
            let mut stmt = String::new();
            while i < lines.len() {
                stmt.push_str(lines[i]);
                i += 1;
                if stmt.trim_end().ends_with(';') {
                    break;
                }
            }
            let flat = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
            let flat = flat.strip_suffix(';').unwrap_or(&flat).trim();
            if is_import {
                let rest = flat.trim_start_matches("import").trim();
                let (clause, specifier) = match rest.rsplit_once(" from ") {
                    Some((c, s)) => (c.trim(), s),
                    None => ("", rest),
                };
                let file = resolve(
                    unquote(specifier)
                        .ok_or_else(|| unsupported(number, "import … from './NAME.js'", &stmt))?,
                )?;
                let bindings = import_clause(clause).ok_or_else(|| {
                    unsupported(
                        number,
                        "`import { a, b as c }`, `import name`, `import * as name` or `import './NAME.js'`",
                        &stmt,
                    )
                })?;
                pieces.push(Piece::Import { file, bindings });
            } else {
                let rest = flat.trim_start_matches("export").trim();
                let (list, from) = match rest.rsplit_once(" from ") {
                    Some((l, s)) => (l.trim(), Some(s)),
                    None => (rest, None),
                };
                let bindings = named_list(list).ok_or_else(|| {
                    unsupported(
                        number,
                        "`export { a, b as c }` with or without `from`",
                        &stmt,
                    )
                })?;
                match from {
                    Some(specifier) => {
                        let file = resolve(unquote(specifier).ok_or_else(|| {
                            unsupported(number, "export … from './NAME.js'", &stmt)
                        })?)?;
                        exports.extend(bindings.iter().map(|b| {
                            let target = Target::From {
                                file: file.clone(),
                                name: b.imported.clone(),
                            };
                            (b.local.clone(), target)
                        }));
                        pieces.push(Piece::ReExport { file, bindings });
                    }
                    None => {
                        // `export { a as b }`: `imported` is the local name here.
                        exports.extend(
                            bindings
                                .iter()
                                .map(|b| (b.local.clone(), Target::Local(b.imported.clone()))),
                        );
                        pieces.push(Piece::ExportList { original: stmt });
                    }
                }
            }
            continue;
        }
        i += 1;
        if let Some(rest) = line.strip_prefix("export ") {
            let (folded, name, exported) = if let Some(expr) = rest.strip_prefix("default ") {
                let local = format!("{}_default", object_name(file));
                (
                    format!("const {local} = {expr}"),
                    local,
                    "default".to_owned(),
                )
            } else {
                let name = declaration(rest).flatten().ok_or_else(|| {
                    unsupported(
                        number,
                        "an exported declaration (`export function|class|const|let name`)",
                        line,
                    )
                })?;
                (rest.to_owned(), name.clone(), name)
            };
            declared.push(name.clone());
            exports.push((exported, Target::Local(name)));
            pieces.push(Piece::Text {
                original: line.to_owned(),
                folded,
            });
            continue;
        }
        if line.starts_with("import")
            && !line.starts_with("import(")
            && !line.starts_with("import.")
        {
            return Err(unsupported(number, "an import statement", line));
        }
        if line.starts_with("export") {
            return Err(unsupported(number, "an export statement", line));
        }
        match declaration(line) {
            Some(Some(name)) => declared.push(name),
            Some(None) => {
                return Err(unsupported(
                    number,
                    "a top-level declaration of one name",
                    line,
                ))
            }
            None => {}
        }
        pieces.push(Piece::Text {
            original: line.to_owned(),
            folded: line.to_owned(),
        });
    }

    // Comments name modules too (`@type {import('./x.js').T}`, examples).
    let code = without_comments(text);
    let mut dynamic = Vec::new();
    for target in literals_after(&code, "import('") {
        dynamic.push(resolve(&target)?);
    }
    let mut scripts = Vec::new();
    for (at, _) in code.match_indices("new URL('./") {
        let rest = &code[at + "new URL('".len()..];
        if let Some((target, tail)) = rest.split_once('\'') {
            if tail.starts_with(", import.meta.url)") && target.ends_with(".js") {
                scripts.push(resolve(target)?);
            }
        }
    }
    Ok(Module {
        pieces,
        exports,
        declared,
        dynamic,
        scripts,
    })
}

/// The text without `/* … */` and `// …` comments. Not aware of strings: it
/// only serves to find module names in code, and a `//` inside a string only
/// hides the rest of its line.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                rest = rest[b..].split_once("*/").map_or("", |(_, after)| after);
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |n| &rest[l + n..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Every `'./x.js'` right after `open` (such as `import('`), relative ones only.
fn literals_after(text: &str, open: &str) -> Vec<String> {
    text.match_indices(open)
        .filter_map(|(at, _)| {
            let rest = &text[at + open.len()..];
            let (target, _) = rest.split_once('\'')?;
            target.starts_with("./").then(|| target.to_owned())
        })
        .collect()
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
}

/// The clause of an import: empty (for its effects), `name`, `* as name` or `{ … }`.
fn import_clause(clause: &str) -> Option<Vec<Binding>> {
    if clause.is_empty() {
        return Some(Vec::new());
    }
    if let Some(name) = clause.strip_prefix("* as ") {
        return ident(name.trim()).then(|| {
            vec![Binding {
                imported: "*".to_owned(),
                local: name.trim().to_owned(),
            }]
        });
    }
    if clause.starts_with('{') {
        return named_list(clause);
    }
    ident(clause).then(|| {
        vec![Binding {
            imported: "default".to_owned(),
            local: clause.to_owned(),
        }]
    })
}

/// `{ a, b as c }` (a trailing comma allowed).
fn named_list(list: &str) -> Option<Vec<Binding>> {
    let inner = list.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    for item in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (imported, local) = match item.split_once(" as ") {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (item, item),
        };
        if !ident(imported) || !ident(local) {
            return None;
        }
        out.push(Binding {
            imported: imported.to_owned(),
            local: local.to_owned(),
        });
    }
    Some(out)
}

fn ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_ident_char) && !s.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn runtime(files: &[(&str, &str)]) -> Runtime {
        Runtime::read(files, "main.js").unwrap()
    }

    #[test]
    fn folds_the_static_graph_in_evaluation_order() {
        let r = runtime(&[
            (
                "main.js",
                "import './b.js';\nexport { x } from './a.js';\nexport function go() { return 1; }\n",
            ),
            ("a.js", "import { y as z } from './c.js';\nexport const x = z + 1;\n"),
            ("b.js", "import d from './c.js';\nconsole.info(d);\n"),
            ("c.js", "export const y = 1;\nexport default 7;\n"),
        ]);
        assert_eq!(r.folded, ["c.js", "b.js", "a.js", "main.js"]);
        let entry = r.entry(&[]).unwrap();
        assert!(
            entry.starts_with("//# allFunctionsCalledOnLoad\n// main.js, linked by"),
            "{entry}"
        );
        let body = entry.split_once("\n\n").unwrap().1;
        assert_eq!(
            body,
            "// ---- c.js ----\nconst y = 1;\nconst __wb_c_default = 7;\nconst __wb_c = { y, default: __wb_c_default };\n\n\
             // ---- b.js ----\nconst d = __wb_c_default;\nconsole.info(d);\nconst __wb_b = {};\n\n\
             // ---- a.js ----\nconst z = y;\nconst x = z + 1;\nconst __wb_a = { x };\n\n\
             // ---- main.js ----\nfunction go() { return 1; }\n\n\
             export { x, go };\n\
             // For the modules loaded later (lane.js, audio.js, ring.js, godot.js), which\n\
             // find them by this file's directory, whatever URL a page imported it by.\n\
             const __wb_registry = (globalThis[Symbol.for('wasmbridge/linked')] ??= new Map());\n\
             const __wb_here = new URL('./', import.meta.url).href;\n\
             if (!__wb_registry.has(__wb_here)) __wb_registry.set(__wb_here, { __wb_c, __wb_b, __wb_a });\n\
             export { __wb_c, __wb_b, __wb_a };\n"
        );
    }

    #[test]
    fn a_replaced_file_is_folded_in_its_place() {
        let r = runtime(&[
            (
                "main.js",
                "import m from './m.js';\nexport const got = m;\n",
            ),
            ("m.js", "export default null;\n"),
        ]);
        let entry = r
            .entry(&[("m.js", "export default { \"name\": \"x\" };\n")])
            .unwrap();
        assert!(
            entry.contains("const __wb_m_default = { \"name\": \"x\" };"),
            "{entry}"
        );
        assert!(!entry.contains("null"), "{entry}");
    }

    #[test]
    fn names_of_one_module_never_reach_another_unimported() {
        let read = |a: &str, main: &str| {
            Runtime::read(&[("main.js", main), ("a.js", a)], "main.js")
                .and_then(|r| r.entry(&[]))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            read("export const n = 1;\n", "import './a.js';\nconst n = 2;\n").unwrap_err(),
            "a.js and main.js both declare `n` at top level: expected names unique across the modules main.js links"
        );
        assert_eq!(
            read("const hidden = 1;\nexport const n = hidden;\n", "import { n } from './a.js';\nexport const m = hidden + n;\n").unwrap_err(),
            "main.js uses `hidden`, which a.js declares at top level and main.js does not import: linked into one scope, it would see a.js's"
        );
        assert_eq!(
            read("export const n = 1;\n", "import { m } from './a.js';\n").unwrap_err(),
            "main.js imports `m` from a.js, which does not export it"
        );
        // Properties, private names, object keys, accessors and strings are not variables.
        read(
            "const hidden = 1;\nexport const n = hidden;\n",
            "import { n } from './a.js';\nclass C { #hidden = 1; get hidden() { return this.#hidden; } }\n\
             export const m = { hidden: n, x: new C().hidden, s: 'hidden', t: \"hidden\" };\n",
        )
        .unwrap();
    }

    #[test]
    fn page_modules_take_folded_imports_from_the_entry_and_workers_keep_theirs() {
        let r = runtime(&[
            ("main.js", "import { E } from './err.js';\nexport { E };\nexport const w = new URL('./worker.js', import.meta.url);\nexport const later = () => import('./late.js');\n"),
            ("err.js", "export class E {}\n"),
            ("late.js", "import { E } from './err.js';\nimport { k } from './codec.js';\nexport { E as Again } from './err.js';\nexport const late = new E();\n"),
            ("codec.js", "export const k = 1;\n"),
            ("worker.js", "import('./helper.js');\n"),
            ("helper.js", "import { E } from './err.js';\nimport { k } from './codec.js';\n"),
        ]);
        let rewritten: BTreeMap<String, String> = r.rewritten().into_iter().collect();
        assert_eq!(rewritten.keys().collect::<Vec<_>>(), ["late.js"]);
        assert_eq!(
            rewritten["late.js"],
            "import * as __wb_entry from './main.js';\n\
             const __wb_linked = globalThis[Symbol.for('wasmbridge/linked')]?.get(new URL('./', import.meta.url).href) \
             ?? __wb_entry;\nconst { E } = __wb_linked.__wb_err;\n\
             import { k } from './codec.js';\nconst { E: Again } = __wb_linked.__wb_err;\nexport { Again };\n\
             export const late = new E();\n"
        );
        let entry = r.entry(&[]).unwrap();
        assert!(entry.ends_with("export { __wb_err };\n"), "{entry}");
        assert!(
            entry.contains("__wb_registry.set(__wb_here, { __wb_err });"),
            "{entry}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_link() {
        let read = |text: &str| {
            Runtime::read(
                &[("main.js", text), ("a.js", "export const a = 1;\n")],
                "main.js",
            )
        };
        let err = read("export * from './a.js';\n").unwrap_err().to_string();
        assert_eq!(err, "main.js:1: expected `export { a, b as c }` with or without `from`, got `export * from './a.js';`");
        let err = read("import { a } from 'a';\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "main.js imports a: expected './NAME.js' naming a runtime file"
        );
        let err = read("import { a } from './nope.js';\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "main.js imports ./nope.js: expected './NAME.js' naming a runtime file"
        );
        let err = read("export const { a } = x;\n").unwrap_err().to_string();
        assert!(
            err.starts_with("main.js:1: expected an exported declaration"),
            "{err}"
        );
        let err = read("const __wb_x = 1;\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "main.js uses the name prefix `__wb_`, which linking reserves for its own names"
        );
        let cycle = Runtime::read(
            &[
                ("main.js", "import './a.js';\n"),
                ("a.js", "import './main.js';\n"),
            ],
            "main.js",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(cycle, "main.js imports itself through main.js → a.js → main.js: expected modules without import cycles");
    }

    #[test]
    fn links_the_runtime_this_cli_carries() {
        let r = Runtime::read(crate::runtime::FILES, crate::runtime::ENTRY).unwrap();
        let entry = r.entry(&[]).unwrap();
        for name in [
            "pool.js",
            "pool-call.js",
            "pool-validate.js",
            "pool-load.js",
            "supervisor.js",
            "protocol.js",
            "error.js",
            "shared.js",
            "manifest.js",
        ] {
            assert!(
                r.folded.iter().any(|f| f == name),
                "{name} is not folded: {:?}",
                r.folded
            );
        }
        assert!(
            !entry.contains("\nimport "),
            "the linked entry still imports"
        );
        let rewritten: Vec<String> = r.rewritten().into_iter().map(|(n, _)| n).collect();
        assert_eq!(rewritten, ["audio.js", "godot.js", "lane.js", "ring.js"]);
        assert!(!r.other_realms().contains("lane.js"));
        assert!(r.other_realms().contains("lane-worker.js"));
    }
}
