//! The host's layering, checked from its source: every file sits on a floor,
//! nothing imports a floor above its own, and no two files import each
//! other, nor in a longer circle. ARCHITECTURE.md ("The host, by floor")
//! draws the same map.
//!
//! The check reads every file under `host/src`, skips comments, strings and
//! character literals, and collects every path the code names: `use` trees
//! (braces, globs, renames) and paths written inline
//! (`crate::monitor::metrics::write_ok(..)`), relative ones (`super::`,
//! `self::`, a child module's name) resolved against the module they are
//! written in, inline modules (`mod tests { .. }`) included. The CLI is the
//! binary crate: its `csvseal::` paths are the library's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, bottom up. A module belongs to the floor of the longest
/// prefix listed here; a file on floor N may import files on floors 0..=N.
const FLOORS: &[(&str, &[&str])] = &[
    (
        "foundation: types and pure helpers",
        &[
            "error",
            "report",
            "canonical_json",
            "deadline",
            "location",
            "segment_digest",
            "transcode",
        ],
    ),
    ("seam and engine: files, the sandbox", &["store", "sandbox"]),
    (
        "checked I/O: verify, write, what operators watch",
        &[
            "verify",
            "write",
            "signing",
            "checked_seal",
            "backup",
            "plugin",
            "inspect",
            "monitor",
        ],
    ),
    (
        "jobs: local directories and object storage",
        &["jobs", "object"],
    ),
    ("the command line", &["bin"]),
    ("the library's front door", &[""]),
];

/// Floors stricter than their number: what these folders may import.
const ONLY: &[(&str, &[&str])] = &[
    // The file seam: nothing of the crate but its errors.
    ("store", &["store", "error"]),
    // The engine is given bytes: it reaches no file through the crate.
    ("sandbox", &["sandbox", "error", "report"]),
];

#[test]
fn no_file_imports_a_floor_above_its_own() {
    let graph = Graph::of_host();
    let mut wrong = vec![];
    for (from, to) in graph.edges() {
        let (f, t) = (floor_of(from), floor_of(to));
        if t > f {
            wrong.push(format!(
                "{} (floor {f}, {}) imports {} (floor {t}, {})",
                graph.file(from),
                FLOORS[f].0,
                graph.file(to),
                FLOORS[t].0
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that climb:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_seam_and_the_engine_import_only_what_they_are_allowed() {
    let graph = Graph::of_host();
    let mut wrong = vec![];
    for (from, to) in graph.edges() {
        for (folder, allowed) in ONLY {
            if within(from, folder) && !allowed.iter().any(|a| within(to, a)) {
                wrong.push(format!("{} imports {}", graph.file(from), graph.file(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_two_files_import_each_other() {
    let graph = Graph::of_host();
    let mut pairs = vec![];
    for (from, to) in graph.edges() {
        if from < to && graph.edges.contains(&(to.to_owned(), from.to_owned())) {
            pairs.push(format!("{} <-> {}", graph.file(from), graph.file(to)));
        }
    }
    assert!(
        pairs.is_empty(),
        "files that import each other:\n{}",
        pairs.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let graph = Graph::of_host();
    if let Some(circle) = graph.circle() {
        let files: Vec<_> = circle.iter().map(|m| graph.file(m)).collect();
        panic!("a circle of imports: {}", files.join(" -> "));
    }
}

#[test]
fn every_file_is_on_a_floor_and_every_floor_names_real_modules() {
    let graph = Graph::of_host();
    // floor_of panics for a module no floor claims.
    for module in graph.files.keys() {
        floor_of(module);
    }
    for (name, prefixes) in FLOORS {
        for p in prefixes.iter().filter(|p| !p.is_empty()) {
            assert!(
                graph.files.keys().any(|m| within(m, p)),
                "floor {name:?} names {p:?}, which is no module"
            );
        }
    }
    // The check sees real imports: if it found none, it would pass anything.
    assert!(
        graph.edges.len() > 100,
        "only {} imports found",
        graph.edges.len()
    );
}

/// Prints the floors and each file's imports (`cargo test --release --test
/// layers -- --ignored --nocapture`).
#[test]
#[ignore = "prints the map; asserts nothing"]
fn print_the_map() {
    let graph = Graph::of_host();
    for (n, (name, _)) in FLOORS.iter().enumerate().rev() {
        println!("floor {n}: {name}");
        for module in graph.files.keys().filter(|m| floor_of(m) == n) {
            let to: Vec<_> = graph
                .edges()
                .filter(|(f, _)| f == module)
                .map(|(_, t)| display(t))
                .collect();
            println!("  {:<28} -> {}", display(module), to.join(", "));
        }
    }
}

fn display(module: &str) -> &str {
    if module.is_empty() { "lib" } else { module }
}

fn within(module: &str, prefix: &str) -> bool {
    prefix.is_empty() && module.is_empty()
        || !prefix.is_empty()
            && (module == prefix
                || module.starts_with(prefix) && module[prefix.len()..].starts_with("::"))
}

fn floor_of(module: &str) -> usize {
    FLOORS
        .iter()
        .enumerate()
        .flat_map(|(n, (_, prefixes))| prefixes.iter().map(move |p| (n, *p)))
        .filter(|(_, p)| within(module, p))
        .max_by_key(|(_, p)| p.len())
        .map(|(n, _)| n)
        .unwrap_or_else(|| panic!("{} is on no floor: add it to FLOORS", display(module)))
}

/// Files as modules (`store::naming`; the binary's under `bin`), and which
/// import which.
struct Graph {
    /// Module path → file, relative to `host/src`.
    files: BTreeMap<String, PathBuf>,
    /// (importer, imported), both file modules, never the same.
    edges: BTreeSet<(String, String)>,
}

impl Graph {
    fn of_host() -> Graph {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut paths = vec![];
        collect_rs(&src, &mut paths);
        let files: BTreeMap<String, PathBuf> = paths
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(&src).unwrap().to_owned();
                (module_of(&rel), rel)
            })
            .collect();
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        let reexports = reexports(&lib);
        let mut graph = Graph {
            files,
            edges: BTreeSet::new(),
        };
        for (module, rel) in graph.files.clone() {
            let text = std::fs::read_to_string(src.join(&rel)).unwrap();
            for target in named_paths(&module, &text) {
                if let Some(to) = graph.resolve(&target, &reexports)
                    && to != module
                {
                    graph.edges.insert((module.clone(), to));
                }
            }
        }
        graph
    }

    /// A path of imports that comes back to where it started, if any
    /// (depth-first search; the first file repeated at the end).
    fn circle(&self) -> Option<Vec<String>> {
        fn visit<'a>(
            g: &'a Graph,
            m: &'a str,
            done: &mut BTreeSet<&'a str>,
            path: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| *p == m) {
                let mut circle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                circle.push(m.to_owned());
                return Some(circle);
            }
            if !done.insert(m) {
                return None;
            }
            path.push(m);
            for (_, to) in g.edges().filter(|(f, _)| *f == m) {
                if let Some(c) = visit(g, to, done, path) {
                    return Some(c);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        self.files
            .keys()
            .find_map(|m| visit(self, m, &mut done, &mut vec![]))
    }

    fn edges(&self) -> impl Iterator<Item = (&str, &str)> {
        self.edges.iter().map(|(f, t)| (f.as_str(), t.as_str()))
    }

    fn file(&self, module: &str) -> String {
        self.files[module].display().to_string()
    }

    /// The file an absolute path (segments from a crate root) is in: the
    /// longest prefix that is a file module. A name the library root only
    /// re-exports resolves to where it is defined; other crates' paths and
    /// the library root's own items to `None`.
    fn resolve(
        &self,
        path: &[String],
        reexports: &BTreeMap<String, Vec<String>>,
    ) -> Option<String> {
        for n in (1..=path.len()).rev() {
            let m = path[..n].join("::");
            if self.files.contains_key(&m) {
                return Some(m);
            }
        }
        let first = path.first()?;
        if first == "bin" {
            return None;
        }
        let target = reexports.get(first)?;
        let mut full = target.clone();
        full.extend(path[1..].iter().cloned());
        (full != path)
            .then(|| self.resolve(&full, reexports))
            .flatten()
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `store/naming.rs` → `store::naming`; `sandbox/mod.rs` → `sandbox`;
/// `lib.rs` → ``; `main.rs` → `bin`; `cli/write.rs` → `bin::cli::write`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    if parts == ["main"] {
        return "bin".into();
    }
    if parts.first().is_some_and(|p| p == "cli") {
        parts.insert(0, "bin".into());
    }
    parts.join("::")
}

/// The library root's `pub use` names: name → where it is defined.
fn reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    for path in named_paths("", lib) {
        if let Some(last) = path.last() {
            map.entry(last.clone()).or_insert(path);
        }
    }
    map
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

/// Rust source as the few tokens paths are made of; comments, strings and
/// character literals dropped, lifetimes too.
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(&c, i);
        } else if ch == '\'' {
            i = skip_quote(&c, i);
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let prefix = matches!(word.as_str(), "r" | "b" | "br" | "c" | "cr");
            if prefix && matches!(c.get(i), Some('"' | '#')) {
                i = skip_prefixed_string(&c, i, word.contains('r'));
            } else {
                out.push(Tok::Ident(word));
            }
        } else if ch == ':' && next == Some(':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            out.push(match ch {
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                ';' => Tok::Semi,
                '*' => Tok::Star,
                _ => Tok::Other,
            });
            i += 1;
        }
    }
    out
}

/// Past a `"…"` string starting at `i`.
fn skip_string(c: &[char], mut i: usize) -> usize {
    i += 1;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Past a `b"…"`, `c"…"` or raw (`r#"…"#`) string whose prefix ends
/// before `i`.
fn skip_prefixed_string(c: &[char], mut i: usize, raw: bool) -> usize {
    if !raw {
        return skip_string(c, i);
    }
    let mut hashes = 0;
    while c.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if c.get(i) != Some(&'"') {
        return i; // `r#ident`, a raw identifier: not a string
    }
    i += 1;
    while i < c.len() {
        if c[i] == '"'
            && c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Past a character literal, or past the quote of a lifetime.
fn skip_quote(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        // `'\''`, `'\n'`, `'\u{..}'`: the escaped character is never the end.
        let mut j = i + 3;
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    i + 1
}

/// Every path `src` (the file of `module`) names that could be the crate's,
/// as absolute segments: from the library root, or from `bin` for the
/// binary's own modules.
fn named_paths(module: &str, src: &str) -> Vec<Vec<String>> {
    let toks = tokens(src);
    let bin = module == "bin" || module.starts_with("bin::");
    let base: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let scope = scopes(&toks, &base);
    // Child modules declared here (`mod x;`, `mod x { .. }`), per module:
    // `x::item` and `use x::item` are relative to the declaring module.
    let mut children: BTreeMap<&[String], BTreeSet<&str>> = BTreeMap::new();
    for (k, t) in toks.iter().enumerate() {
        if let (Tok::Ident(w), Some(Tok::Ident(name))) = (t, toks.get(k + 1))
            && w == "mod"
        {
            children.entry(&scope[k]).or_default().insert(name);
        }
    }

    let mut out = vec![];
    let mut k = 0;
    while k < toks.len() {
        match &toks[k] {
            Tok::Ident(w) if w == "use" => {
                let mut trees = vec![];
                let at = k;
                k = use_tree(&toks, k + 1, vec![], &mut trees);
                for p in trees {
                    if let Some(abs) = absolute(&p, &scope[at], bin, &children) {
                        out.push(abs);
                    }
                }
                continue;
            }
            Tok::Ident(first) if toks.get(k + 1) == Some(&Tok::PathSep) => {
                // An inline path: only at its start, not after another `::`.
                let starts = k == 0 || toks[k - 1] != Tok::PathSep;
                let mut path = vec![first.clone()];
                let mut j = k + 1;
                while toks.get(j) == Some(&Tok::PathSep) {
                    match toks.get(j + 1) {
                        Some(Tok::Ident(seg)) => path.push(seg.clone()),
                        _ => break,
                    }
                    j += 2;
                }
                if starts && let Some(abs) = absolute(&path, &scope[k], bin, &children) {
                    out.push(abs);
                }
                k = j;
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    out
}

/// The module each token is in: `base`, or an inline module inside it
/// (`mod tests { .. }`), by brace depth.
fn scopes(toks: &[Tok], base: &[String]) -> Vec<Vec<String>> {
    let mut scope = base.to_vec();
    let mut opened: Vec<bool> = vec![]; // per open `{`: whether it opened a module
    let mut out = Vec::with_capacity(toks.len());
    for (k, t) in toks.iter().enumerate() {
        out.push(scope.clone());
        match t {
            Tok::Open => {
                let before = |n: usize| k.checked_sub(n).map(|m| &toks[m]);
                let module = match (before(2), before(1)) {
                    (Some(Tok::Ident(w)), Some(Tok::Ident(name))) if w == "mod" => Some(name),
                    _ => None,
                };
                if let Some(name) = module {
                    scope.push(name.clone());
                }
                opened.push(module.is_some());
            }
            Tok::Close if opened.pop() == Some(true) => {
                scope.pop();
            }
            _ => {}
        }
    }
    out
}

/// Parses a `use` tree from `k` (after `use` or a `{`), adding each full
/// path to `out`; returns the index past its end (`;`, `,` or `}` left
/// for the caller of a nested tree).
fn use_tree(
    toks: &[Tok],
    mut k: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match toks.get(k) {
            Some(Tok::Ident(w)) if w == "as" => {
                k += 2; // the rename
            }
            Some(Tok::Ident(seg)) => {
                prefix.push(seg.clone());
                k += 1;
            }
            Some(Tok::PathSep) => k += 1,
            Some(Tok::Star) => k += 1,
            Some(Tok::Open) => {
                k += 1;
                loop {
                    k = use_tree(toks, k, prefix.clone(), out);
                    match toks.get(k) {
                        Some(Tok::Comma) => k += 1,
                        Some(Tok::Close) => {
                            k += 1;
                            break;
                        }
                        _ => return k,
                    }
                    if toks.get(k) == Some(&Tok::Close) {
                        k += 1;
                        break;
                    }
                }
                return k;
            }
            _ => {
                if !prefix.is_empty() {
                    // `self` in `a::{self, b}` is `a`.
                    if prefix.last().is_some_and(|s| s == "self") && prefix.len() > 1 {
                        prefix.pop();
                    }
                    out.push(prefix);
                }
                return k;
            }
        }
    }
}

/// `path` written in module `scope` as absolute segments, or `None` for
/// another crate's path.
fn absolute(
    path: &[String],
    scope: &[String],
    bin: bool,
    children: &BTreeMap<&[String], BTreeSet<&str>>,
) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut abs: Vec<String> = match first.as_str() {
        "crate" if bin => vec!["bin".into()],
        "crate" => vec![],
        "csvseal" if bin => vec![],
        "self" => scope.to_vec(),
        "super" => {
            let mut s = scope.to_vec();
            let mut rest = path;
            while rest.first().is_some_and(|p| p == "super") {
                s.pop();
                rest = &rest[1..];
            }
            s.extend(rest.iter().cloned());
            return Some(s);
        }
        name if children.get(scope).is_some_and(|c| c.contains(name)) => {
            let mut s = scope.to_vec();
            s.push(name.to_owned());
            s
        }
        _ => return None,
    };
    abs.extend(path[1..].iter().cloned());
    Some(abs)
}

#[cfg(test)]
mod checker {
    use super::*;

    fn paths(module: &str, src: &str) -> Vec<String> {
        named_paths(module, src)
            .into_iter()
            .map(|p| p.join("::"))
            .collect()
    }

    #[test]
    fn use_trees_expand_and_relative_paths_resolve() {
        let src = r#"
            use crate::{error::{Error, Result}, store::naming::{self, final_name as f}};
            use super::bindings::exports::wit;
            use limits::Limits;
            mod limits;
            fn f() { crate::monitor::metrics::write_ok(1); session::go(); }
            mod tests { use super::*; use super::super::engine_config; }
        "#;
        assert_eq!(
            paths("sandbox::x", src),
            [
                "error::Error",
                "error::Result",
                "store::naming",
                "store::naming::final_name",
                "sandbox::bindings::exports::wit",
                "sandbox::x::limits::Limits",
                "monitor::metrics::write_ok",
                "sandbox::x",
                "sandbox::engine_config",
            ]
        );
    }

    #[test]
    fn comments_strings_and_other_crates_are_not_imports() {
        let src = r##"
            // use crate::write;
            /* crate::verify /* nested */ crate::write */
            /// [`crate::write::write_sealed`]
            const A: &str = "crate::write";
            const B: &str = r#"crate::"write""#;
            const C: &[u8] = b"crate::write";
            const D: char = '"';
            const E: char = '\'';
            const F: &[u8] = br"crate::write\";
            const G: &str = "crate::\"write\"";
            fn g<'a>(x: &'a str) -> std::io::Result<()> { Ok(()) }
            use std::path::Path;
        "##;
        assert!(paths("store::naming", src).is_empty());
    }

    #[test]
    fn the_binary_names_the_library_as_csvseal() {
        let src = "use csvseal::backup; use crate::cli::output; fn f() { super::hints::x(); }";
        assert_eq!(
            paths("bin::cli::write", src),
            ["backup", "bin::cli::output", "bin::cli::hints::x"]
        );
    }

    #[test]
    fn the_floors_stand_in_the_order_architecture_gives() {
        // cli → jobs → write/verify → store + sandbox → error/report.
        assert!(floor_of("store::temp_lock") < floor_of("monitor::metrics"));
        assert!(floor_of("sandbox") < floor_of("verify"));
        assert!(floor_of("verify") < floor_of("jobs::series"));
        assert!(floor_of("object::write") < floor_of("bin::cli::write"));
        assert!(within("store::naming", "store") && !within("storex", "store"));
    }
}
