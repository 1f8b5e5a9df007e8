//! Every example the docs give runs: the examples at the end of each
//! command's `--help` (in a directory holding the files they name), and
//! every code block of README.md, docs/*.md and the package READMEs, as
//! printed: shell blocks here, each in a fresh empty directory, every line
//! through `sh -c`; Python and JS blocks by the bindings' tests. An example
//! expected to fail says so with a trailing `# exit N`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use tempfile::TempDir;

/// The files the examples name: inputs, a schema, sealed files in `out/`, a
/// damaged copy in `damaged/`.
fn fixture() -> TempDir {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    put(d, "trades.csv", TRADES.as_bytes());
    // A European export: ';'-separated, decimal commas, Windows-1252 (ü = 0xFC).
    put(
        d,
        "eu.csv",
        b"timestamp;trade_id;desk;profit_loss\r\n\
          2024-09-10T14:30:00Z;T1;Z\xfcrich;25,0\r\n\
          2024-09-10T14:31:00Z;T2;K\xf6ln;-12,5\r\n",
    );
    put(
        d,
        "signals.schema.json",
        br#"{"fields":[
            {"name":"signal_id","type":"string","constraints":{"required":true,"unique":true}},
            {"name":"symbol","type":"string","constraints":{"pattern":"[A-Z]{6}"}},
            {"name":"strength","type":"number","constraints":{"minimum":0,"maximum":1}}
        ],"primaryKey":["signal_id"]}"#,
    );
    put(
        d,
        "signals.jsonl",
        b"{\"signal_id\":\"S1\",\"symbol\":\"EURUSD\",\"strength\":0.7}\n\
          {\"signal_id\":\"S2\",\"symbol\":\"GBPUSD\",\"strength\":0.2}\n",
    );
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let trades = write_ok(&out, "trades", TRADES, &[]);
    let sig = std::fs::read_to_string(d.join("signals.jsonl")).unwrap();
    let schema = d.join("signals.schema.json");
    write_ok(
        &out,
        "signals",
        &sig,
        &["--format", "jsonl", "--schema", schema.to_str().unwrap()],
    );
    // A key pair for the signing examples.
    let (secret, public) = (d.join("signer.key"), d.join("signer.pub"));
    let o = csvseal(
        &[
            "keygen",
            "--secret-key",
            secret.to_str().unwrap(),
            "--public-key",
            public.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let damaged = d.join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    let mut torn = std::fs::read(&trades).unwrap();
    torn.truncate(torn.len() - 20);
    std::fs::write(damaged.join("trades_20240910_143000.csv"), torn).unwrap();
    // Where backups kept apart (--backup-dir) live.
    std::fs::create_dir(d.join("backups")).unwrap();
    dir
}

/// Runs one example line in `dir` with the binary first on PATH; returns
/// its exit code and output.
fn run(dir: &Path, line: &str) -> (i32, String) {
    run_in(dir, &dir.join(".cache"), line)
}

/// [`run`], with the compile cache in `cache`.
fn run_in(dir: &Path, cache: &Path, line: &str) -> (i32, String) {
    let bin_dir = csvseal_bin().parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .env("CSVSEAL_CACHE_DIR", cache)
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&o), stderr(&o));
    (o.status.code().unwrap_or(-1), text)
}

/// `line`'s expected exit code (a trailing `# exit N`, else 0) and the
/// line without it.
fn expectation(line: &str) -> (i32, String) {
    match line.rsplit_once("# exit ") {
        Some((cmd, code)) => (code.trim().parse().unwrap(), cmd.trim().to_owned()),
        None => (0, line.to_owned()),
    }
}

fn check_all(dir: &Path, lines: &[String], source: &str) {
    assert!(!lines.is_empty(), "no examples in {source}");
    for line in lines {
        let (want, cmd) = expectation(line);
        let (code, output) = run(dir, &cmd);
        assert_eq!(code, want, "{source}: `{cmd}` exited {code}:\n{output}");
    }
}

/// The example command lines at the end of `--help` output.
fn help_examples(help: &str) -> Vec<String> {
    let Some((_, examples)) = help.split_once("\nExamples:\n") else {
        return vec![];
    };
    examples
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .filter(|l| l.starts_with("csvseal "))
        .map(String::from)
        .collect()
}

#[test]
fn every_help_example_runs() {
    let top = stdout(&csvseal(&["--help"], None));
    for name in COMMANDS {
        assert!(top.contains(&format!("  {name} ")), "{name} not in --help");
    }
    let dir = fixture();
    check_all(dir.path(), &help_examples(&top), "csvseal --help");
    for name in COMMANDS {
        let help = stdout(&csvseal(&[name, "--help"], None));
        let examples = help_examples(&help);
        assert!(
            (2..=4).contains(&examples.len()) || matches!(*name, "inspect" | "man"),
            "{name}: {} examples",
            examples.len()
        );
        // Each command's examples run in their own copy of the files.
        let dir = fixture();
        check_all(dir.path(), &examples, &format!("csvseal {name} --help"));
    }
}

#[test]
fn write_and_verify_help_list_their_exit_codes() {
    for (name, codes) in [
        ("write", &["0", "1", "2", "3", "4"][..]),
        ("verify", &["0", "1", "2"]),
    ] {
        let help = stdout(&csvseal(&[name, "--help"], None));
        let (_, exits) = help.split_once("\nExit codes:\n").expect(name);
        for code in codes {
            assert!(
                exits
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code}  "))),
                "{name}: exit code {code} not listed:\n{exits}"
            );
        }
    }
}

/// The documents whose code blocks must run as printed.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    let mut all = vec![root.join("README.md")];
    all.extend(docs);
    all.push(root.join("bindings/python/README.md"));
    all.push(root.join("bindings/js/README.md"));
    all
}

/// Shell blocks: run here, line by line.
const SHELL: &[&str] = &["sh", "bash", "shell"];
/// Blocks run by the bindings' tests, and the documents those tests read.
const PYTHON: (&str, &str) = ("python", "bindings/python/tests/test_readme.py");
const JS: (&str, &str) = ("js", "bindings/js/test/readme.test.js");
/// Samples (output, file contents, formulas): shown, never run.
const NOT_RUN: &[&str] = &["text", "console", "csv", "json", "toml", "yaml"];

/// A command that installs or builds: a block holding one runs only in the
/// test its skip comment names.
const INSTALLS: &[&str] = &[
    "cargo install",
    "cargo build",
    "cargo test",
    "cargo bench",
    "cargo +",
    "pip install",
    "npm install",
    "npm ci",
    "npm run",
    "npm pack",
    "git clone",
    "scripts/",
    "http.server",
];

/// One fenced code block.
struct Block {
    /// `path:line` of the opening fence.
    at: String,
    lang: String,
    lines: Vec<String>,
    /// The reason of a `<!-- not run here: WHY; run by WHAT -->` comment on
    /// the line before the fence.
    skip: Option<String>,
}

/// The skip comment's text, checked for its form: `not run here:` a reason,
/// then `; run by` what runs it instead.
fn skip_comment(line: &str, at: &str) -> Option<String> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let rest = inner.strip_prefix("not run here:")?;
    let (why, by) = rest.split_once("; run by ").unwrap_or_else(|| {
        panic!("{at}: a skip comment must say `not run here: WHY; run by WHAT`: {line}")
    });
    assert!(
        !why.trim().is_empty() && !by.trim().is_empty(),
        "{at}: empty reason or runner in {line}"
    );
    Some(inner.to_owned())
}

fn blocks(doc: &Path) -> Vec<Block> {
    let rel = doc
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string();
    let text = std::fs::read_to_string(doc).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let at = format!("{rel}:{}", i + 1);
        let before = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
        let skip = before.and_then(|l| skip_comment(l, &at));
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "```" {
            body.push(lines[i].to_owned());
            i += 1;
        }
        assert!(i < lines.len(), "{at}: the block is never closed");
        out.push(Block {
            at,
            lang: lang.trim().to_owned(),
            lines: body,
            skip,
        });
        i += 1;
    }
    out
}

/// A shell block's command lines, in order: continuation lines joined,
/// comment and blank lines dropped.
fn command_lines(block: &Block) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for raw in &block.lines {
        let line = raw.trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending += head;
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        if !full.is_empty() && !full.starts_with('#') {
            lines.push(full);
        }
    }
    lines
}

/// Every fenced block of README.md, docs/*.md and the package READMEs has a
/// known language; shell blocks run here, each in a fresh empty directory
/// with the built `csvseal` first on PATH, line by line, every line exiting
/// 0 or the `# exit N` it states. A shell block that installs or builds
/// must be skipped by a comment naming what runs it; Python and JS blocks
/// are run by the bindings' tests, which read exactly these documents.
#[test]
fn every_code_block_in_the_docs_runs_as_printed() {
    let cache = TempDir::new().unwrap();
    let mut ran = 0;
    let mut ran_in_readme = 0;
    for doc in documents() {
        let rel = doc
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        for block in blocks(&doc) {
            let at = &block.at;
            let lang = block.lang.as_str();
            if let Some((_, runner)) = [PYTHON, JS].into_iter().find(|(l, _)| *l == lang) {
                assert!(
                    block.skip.is_none(),
                    "{at}: {runner} runs every {lang} block"
                );
                let other = if lang == "python" { "js" } else { "python" };
                assert!(
                    !rel.starts_with(&format!("bindings/{other}/")),
                    "{at}: {runner} does not read {rel}"
                );
                continue;
            }
            if NOT_RUN.contains(&lang) {
                assert!(block.skip.is_none(), "{at}: a `{lang}` block is never run");
                continue;
            }
            assert!(
                SHELL.contains(&lang),
                "{at}: code block language `{lang}` is neither run ({SHELL:?}, python, js) \
                 nor a sample ({NOT_RUN:?})"
            );
            let lines = command_lines(&block);
            if block.skip.is_some() {
                continue;
            }
            for line in &lines {
                assert!(
                    !INSTALLS.iter().any(|i| line.contains(i)),
                    "{at}: `{line}` installs or builds: precede the block with \
                     `<!-- not run here: WHY; run by TEST -->`"
                );
            }
            assert!(!lines.is_empty(), "{at}: an empty shell block");
            let dir = TempDir::new().unwrap();
            for line in &lines {
                let (want, cmd) = expectation(line);
                let (code, output) = run_in(dir.path(), cache.path(), &cmd);
                assert_eq!(code, want, "{at}: `{cmd}` exited {code}:\n{output}");
            }
            ran += 1;
            if rel == "README.md" {
                ran_in_readme += 1;
            }
        }
    }
    assert!(ran >= 8, "only {ran} shell blocks ran");
    assert!(
        ran_in_readme >= 2,
        "only {ran_in_readme} README.md blocks ran"
    );
}

#[test]
fn completions_and_man_pages_install_and_cover_every_command() {
    let dir = TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let o = csvseal(&["completions", shell], None);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = stdout(&o);
        for name in COMMANDS.iter().chain(&["delimiter", "encoding", "replace"]) {
            assert!(script.contains(name), "{shell} completion lacks {name}");
        }
    }
    // bash: the script loads, and completes a subcommand and an option.
    let script = put(
        dir.path(),
        "csvseal.bash",
        &csvseal(&["completions", "bash"], None).stdout,
    );
    let complete = |words: &str, cword: usize| {
        let probe = format!(
            "source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _csvseal csvseal; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let o = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert!(complete("csvseal ins", 1).lines().any(|l| l == "inspect"));
    assert!(
        complete("csvseal write --enc", 2)
            .lines()
            .any(|l| l == "--encoding")
    );

    // man: one page per command, each naming its options.
    let man = dir.path().join("man1");
    let o = csvseal(&["man", "--dir", man.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pages: Vec<PathBuf> = stdout(&o).lines().map(PathBuf::from).collect();
    assert_eq!(pages.len(), COMMANDS.len() + 1);
    let write = std::fs::read_to_string(man.join("csvseal-write.1")).unwrap();
    assert!(write.starts_with(".ie \\n(.g .ds Aq"), "not roff");
    for needle in [
        "csvseal\\-write",
        "\\-\\-delimiter",
        "\\-\\-encoding",
        "Exit codes",
    ] {
        assert!(write.contains(needle), "csvseal-write.1 lacks {needle}");
    }
    // Rendered by man(1) where it is installed.
    if let Ok(o) = Command::new("man")
        .arg("-l")
        .arg(man.join("csvseal.1"))
        .output()
        && o.status.success()
    {
        assert!(stdout(&o).contains("inspect"), "{}", stdout(&o));
    }
}
