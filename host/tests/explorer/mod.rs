//! A crash-state explorer in the manner of ALICE (OSDI 2014): record a
//! command's file operations through the `FileOps` seam, then rebuild every
//! disk state a power cut after each operation may leave ([`disk`] states the
//! model), run `recover` on it, and check what must hold.

pub mod disk;
pub mod recorder;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use disk::{Disk, Op, Tree};

/// What a check is told about the state it judges.
pub struct Judged<'a> {
    /// The tree before the command ran (all of it durable).
    pub before: &'a Tree,
    /// The tree the command left, as the running system saw it.
    pub after: &'a Tree,
    /// The crash came after the command returned success.
    pub returned: bool,
    /// The state on disk, after `recover` ran on it.
    pub dir: &'a Path,
}

/// The outcome of exploring one recorded command.
pub struct Explored {
    pub operations: usize,
    pub states: usize,
    pub violations: Vec<String>,
}

/// Explores every crash state of `ops` applied to `before`, at most
/// `cap` states after each operation. `check` runs `recover` and judges.
pub fn explore(
    before_disk: &Disk,
    ops: &[Op],
    cap: usize,
    check: &(dyn Fn(&Judged) -> Result<(), String> + Sync),
) -> Explored {
    let before = before_disk.volatile_tree();
    let mut disk = before_disk.clone();
    for op in ops {
        disk.apply(op);
    }
    let after = disk.volatile_tree();

    // Every (state, returned) pair once, judged point by point so that only
    // one point's states are held at a time.
    let mut seen = HashSet::new();
    let mut states = 0;
    let violations = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let mut disk = before_disk.clone();
    for k in 0..=ops.len() {
        if k > 0 {
            disk.apply(&ops[k - 1]);
        }
        let returned = k == ops.len();
        let at = if k == 0 {
            "before the first operation".to_string()
        } else {
            format!(
                "after operation {k}/{} ({})",
                ops.len(),
                describe(&ops[k - 1])
            )
        };
        let work: Vec<Tree> = disk
            .crash_trees(cap)
            .into_iter()
            .filter(|t| seen.insert((t.fingerprint(), returned)))
            .collect();
        states += work.len();
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    while let Some(tree) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let scratch = tempfile::TempDir::new().unwrap();
                        tree.materialize(scratch.path());
                        let judged = Judged {
                            before: &before,
                            after: &after,
                            returned,
                            dir: scratch.path(),
                        };
                        if let Err(why) = check(&judged) {
                            violations
                                .lock()
                                .unwrap()
                                .push(format!("crash {at}, state {}: {why}", listing(tree)));
                        }
                    }
                });
            }
        });
    }
    Explored {
        operations: ops.len(),
        states,
        violations: violations.into_inner().unwrap(),
    }
}

fn describe(op: &Op) -> String {
    match op {
        Op::Create { name, .. } => format!("create {name}"),
        Op::Append { bytes, .. } => format!("append {} bytes", bytes.len()),
        Op::SyncFile { .. } => "fsync file".into(),
        Op::Rename { from, to, .. } => format!("rename {from} -> {to}"),
        Op::Link { from, to, .. } => format!("link {from} -> {to}"),
        Op::Remove { name, .. } => format!("unlink {name}"),
        Op::Mkdir { name, .. } => format!("mkdir {name}"),
        Op::SyncDir { .. } => "fsync directory".into(),
    }
}

/// The state's names and sizes, for a violation's message.
fn listing(tree: &Tree) -> String {
    let files: Vec<String> = tree
        .files
        .iter()
        .map(|(p, b)| format!("{p} ({} B)", b.len()))
        .collect();
    format!("[{}]", files.join(", "))
}

/// The tree of regular files and directories under `root`, as it is now.
pub fn read_tree(root: &Path) -> Tree {
    let mut tree = Tree::default();
    read_into(root, "", &mut tree);
    tree
}

fn read_into(dir: &Path, prefix: &str, tree: &mut Tree) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().into_string().unwrap();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        if meta.is_dir() {
            tree.dirs.push(path.clone());
            read_into(&e.path(), &path, tree);
        } else {
            tree.files
                .insert(path, std::fs::read(e.path()).unwrap().into());
        }
    }
}
