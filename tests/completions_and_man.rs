//! `csvseal completions` and `csvseal man` give what README.md's Install section says they
//! install: a completion script the shell accepts, naming every subcommand,
//! and one man page per command that `man` can render.

mod common;

use std::process::Command;

use common::*;

#[test]
fn the_bash_completion_parses_and_knows_every_subcommand() {
    let out = csvseal(&["completions", "bash"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    for name in COMMANDS {
        assert!(
            script.contains(name),
            "{name} missing from the bash completion"
        );
    }
    // `bash -n` parses without running: a broken script fails here.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("csvseal.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish"] {
        let out = csvseal(&["completions", shell], None);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(stdout(&out).contains("verify"), "{shell}");
    }
    assert_eq!(
        csvseal(&["completions", "tcsh"], None).status.code(),
        Some(2)
    );
}

#[test]
fn man_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let man1 = dir.path().join("man1");
    let out = csvseal(&["man", "--dir", man1.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let top = std::fs::read_to_string(man1.join("csvseal.1")).unwrap();
    assert!(
        top.starts_with(".ie") || top.contains(".TH csvseal 1"),
        "{top}"
    );
    for name in COMMANDS.iter().filter(|n| **n != "man") {
        let page = std::fs::read_to_string(man1.join(format!("csvseal-{name}.1")))
            .unwrap_or_else(|e| panic!("csvseal-{name}.1: {e}"));
        assert!(page.contains(".TH"), "csvseal-{name}.1 is not a man page");
    }
    // The write page carries its examples and exit codes from --help.
    let write = std::fs::read_to_string(man1.join("csvseal-write.1")).unwrap();
    assert!(
        write.contains("delimiter") && write.contains("Exit codes:"),
        "{write}"
    );
}
