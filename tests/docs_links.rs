//! The docs hold together: README.md stays a front page (at most 300
//! lines), and every relative Markdown link in README.md, ARCHITECTURE.md,
//! docs/*.md and bindings/*/README.md resolves to a file or directory inside
//! the repository, with its `#anchor` a heading of the target when given.
//! No Markdown file anywhere in the repository links outside it, and the npm
//! package's README (shipped alone in the tarball) links to nothing outside
//! bindings/js/.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose links must all resolve.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut docs = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut in_docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    in_docs.sort();
    docs.extend(in_docs);
    for b in std::fs::read_dir(root.join("bindings")).unwrap() {
        let readme = b.unwrap().path().join("README.md");
        if readme.is_file() {
            docs.push(readme);
        }
    }
    docs
}

/// Every Markdown file of the repository but build output and dependencies.
fn every_markdown_file(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let name = e.file_name();
        let name = name.to_str().unwrap();
        if e.file_type().unwrap().is_dir() {
            if !matches!(
                name,
                "target" | "node_modules" | ".git" | "corpus" | "artifacts" | "gen"
            ) {
                every_markdown_file(&p, out);
            }
        } else if name.ends_with(".md") {
            out.push(p);
        }
    }
}

/// The text outside fenced code blocks, with inline code spans blanked
/// (a link shown as code is not a link; a span may run over a line break,
/// not over a blank line).
fn prose(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            in_code = false;
            continue;
        }
        if fenced {
            continue;
        }
        if line.trim().is_empty() {
            in_code = false;
        }
        let mut kept = String::new();
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            }
            kept.push(if in_code && c != '`' { ' ' } else { c });
        }
        out.push((i + 1, kept));
    }
    out
}

/// Link targets on a line: `[text](target)`, `![alt](target)` and
/// reference definitions `[label]: target`.
fn links(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].split_whitespace().next().unwrap_or("");
        out.push(target.trim_matches(['<', '>']).to_owned());
        rest = &after[end..];
    }
    let t = line.trim_start();
    if t.starts_with('[')
        && let Some((label, target)) = t.split_once("]:")
        && !label.contains(' ')
    {
        out.push(target.split_whitespace().next().unwrap_or("").to_owned());
    }
    out
}

/// GitHub's anchors for a Markdown file's headings.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

/// `path` with `.` and `..` resolved lexically; None if it climbs above
/// its start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            Component::Normal(p) => out.push(p),
            _ => return None,
        }
    }
    Some(out)
}

/// Problems with one file's links; `full` also checks that each resolves.
fn check_links(doc: &Path, full: bool, problems: &mut Vec<String>) {
    let root = root();
    let rel = doc.strip_prefix(&root).unwrap().to_owned();
    let text = std::fs::read_to_string(doc).unwrap();
    for (n, line) in prose(&text) {
        for target in links(&line) {
            let at = format!("{}:{n}: {target}", rel.display());
            if target.is_empty() {
                problems.push(format!("{at}: empty link"));
                continue;
            }
            if target.contains("://") || target.starts_with("mailto:") {
                // The web; the npm README must stand alone in its tarball.
                if rel == Path::new("bindings/js/README.md") && target.contains("github.com") {
                    problems.push(format!("{at}: the npm README links out of its package"));
                }
                continue;
            }
            if target.starts_with('/') {
                problems.push(format!("{at}: absolute path"));
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if path.is_empty() {
                Some(rel.clone())
            } else {
                normalize(&rel.parent().unwrap().join(path))
            };
            let Some(dest) = dest else {
                problems.push(format!("{at}: points outside the repository"));
                continue;
            };
            if rel == Path::new("bindings/js/README.md") && !dest.starts_with("bindings/js") {
                problems.push(format!("{at}: not in the npm package"));
            }
            if !full {
                continue;
            }
            let on_disk = root.join(&dest);
            if !on_disk.exists() {
                problems.push(format!("{at}: {} does not exist", dest.display()));
                continue;
            }
            let inside = on_disk
                .canonicalize()
                .unwrap()
                .starts_with(root.canonicalize().unwrap());
            if !inside {
                problems.push(format!("{at}: resolves outside the repository"));
                continue;
            }
            if let Some(anchor) = anchor {
                if dest.extension().is_none_or(|e| e != "md") {
                    problems.push(format!("{at}: an anchor into a file that is not Markdown"));
                    continue;
                }
                let headings = anchors(&std::fs::read_to_string(&on_disk).unwrap());
                if !headings.contains(anchor) {
                    problems.push(format!(
                        "{at}: no heading #{anchor} in {} (has: {headings:?})",
                        dest.display()
                    ));
                }
            }
        }
    }
}

#[test]
fn readme_is_a_front_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; the manual goes in docs/"
    );
    for needed in ["scripts/demo.sh", "scripts/test.sh", "docs/"] {
        assert!(
            readme.contains(needed),
            "README.md does not mention {needed}"
        );
    }
}

#[test]
fn every_relative_link_resolves_inside_the_repository() {
    let mut problems = Vec::new();
    let docs = documents();
    assert!(docs.len() >= 10, "{docs:?}");
    for doc in &docs {
        check_links(doc, true, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_markdown_file_links_outside_the_repository() {
    let mut all = Vec::new();
    every_markdown_file(&root(), &mut all);
    assert!(all.len() >= 15, "{all:?}");
    let mut problems = Vec::new();
    for doc in &all {
        check_links(doc, false, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "links leaving the repository:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_link_checker_catches_what_it_should() {
    assert_eq!(
        links("see [a](docs/a.md#b) and ![c](x.png)"),
        ["docs/a.md#b", "x.png"]
    );
    assert_eq!(links("[ref]: ../shared/policy.md"), ["../shared/policy.md"]);
    assert_eq!(normalize(Path::new("docs/../../shared/p.md")), None);
    assert_eq!(
        normalize(Path::new("docs/../README.md")),
        Some(PathBuf::from("README.md"))
    );
    let a = anchors("# T\n## Logs and progress\n### `csvseal audit`\n## Logs and progress\n");
    for want in [
        "t",
        "logs-and-progress",
        "csvseal-audit",
        "logs-and-progress-1",
    ] {
        assert!(a.contains(want), "{want} not in {a:?}");
    }
    let code = prose("```text\n[x](../out.md)\n```\nsee `[y](../z)` here, `a\n[b]: c` too\n");
    assert!(code.iter().all(|(_, l)| links(l).is_empty()), "{code:?}");
}
