//! Every example the docs give runs: the examples at the end of each
//! command's `--help`, and every `csvseal` command line in README.md's `sh`
//! blocks, each through `sh -c` in a directory holding the files they name.
//! An example expected to fail says so with a trailing `# exit N`.

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
    dir
}

/// Runs one example line in `dir` with the binary first on PATH; returns
/// its exit code and output.
fn run(dir: &Path, line: &str) -> (i32, String) {
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
        .env("CSVSEAL_CACHE_DIR", dir.join(".cache"))
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

/// Commands README's `sh` blocks may run: csvseal and the shell tools the
/// examples set up files with. Other lines (`pip install ...`) are shown,
/// not run; a line that runs csvseal any other way fails the test.
const RUNNABLE: &[&str] = &["csvseal", "cat", "cp", "sed", "printf", "echo", "mkdir"];

/// README.md's command lines, in order: from its `sh` blocks (`bash` blocks
/// are for set-up commands, not run), continuation lines joined, comment
/// lines dropped.
fn readme_examples() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut lines = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for raw in readme.lines() {
        if raw.starts_with("```") {
            in_sh = raw == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = raw.trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending += head;
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        if full.is_empty() || full.starts_with('#') {
            continue;
        }
        let first = full.split_whitespace().next().unwrap_or_default();
        if RUNNABLE.contains(&first) {
            lines.push(full);
        } else {
            assert!(!full.contains("csvseal "), "README example not run: {full}");
        }
    }
    lines
}

#[test]
fn every_readme_example_runs() {
    let dir = fixture();
    let lines = readme_examples();
    assert!(
        lines.len() >= 20,
        "only {} README examples found",
        lines.len()
    );
    check_all(dir.path(), &lines, "README.md");
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
