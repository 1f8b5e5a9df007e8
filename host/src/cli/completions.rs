//! `csvseal completions SHELL` and `csvseal man --dir DIR`: the shell
//! completion script and the man pages, generated from the same command
//! definitions as `--help`, so they always match the binary installed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use clap_complete::Shell;

use super::args::EXIT_OK;
use super::output;

pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  # bash: load now, or install for every new shell
  csvseal completions bash > csvseal.bash
  # zsh: a file named _csvseal in a directory of $fpath
  csvseal completions zsh > _csvseal
  # fish
  csvseal completions fish > csvseal.fish";

pub const MAN_EXAMPLES: &str = "\
Examples:
  # Write csvseal.1, csvseal-write.1, ... into man1/ (then: man -l man1/csvseal.1)
  csvseal man --dir man1";

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Directory to write the pages in (created if missing).
    #[arg(long)]
    dir: PathBuf,
}

/// Prints the completion script for a shell on stdout.
pub fn completions(args: CompletionsArgs, mut cmd: clap::Command) -> i32 {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "csvseal", &mut out);
    let written = std::io::Write::write_all(&mut std::io::stdout().lock(), &out)
        .context("cannot write the completion script to stdout");
    match written {
        Ok(()) => EXIT_OK,
        Err(e) => output::failed("completions", e, false),
    }
}

/// Writes one man page per command into `--dir`.
pub fn man(args: ManArgs, cmd: clap::Command) -> i32 {
    match write_pages(&args.dir, cmd) {
        Ok(pages) => {
            for p in pages {
                out!("{}", p.display());
            }
            EXIT_OK
        }
        Err(e) => output::failed("man", e, false),
    }
}

fn write_pages(dir: &Path, mut cmd: clap::Command) -> anyhow::Result<Vec<PathBuf>> {
    cap_std::fs::Dir::create_ambient_dir_all(dir, cap_std::ambient_authority())
        .map_err(|e| csvseal::Error::io(dir, "create directory", e))
        .context("cannot write the man pages")?;
    // Built, so that subcommands carry the global options too.
    cmd.build();
    let mut pages = vec![render(dir, "csvseal", &cmd)?];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("csvseal-{}", sub.get_name());
        let sub = sub
            .clone()
            .display_name(name.clone())
            .bin_name(format!("csvseal {}", sub.get_name()));
        pages.push(render(dir, &name, &sub)?);
    }
    Ok(pages)
}

fn render(dir: &Path, name: &str, cmd: &clap::Command) -> anyhow::Result<PathBuf> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut page)
        .with_context(|| format!("cannot render the man page {name}.1"))?;
    let path = dir.join(format!("{name}.1"));
    csvseal::store::atomic_replace::replace_file(&path, &page)
        .with_context(|| format!("cannot write the man page {name}.1"))?;
    Ok(path)
}
