//! The disk as a power cut sees it: what is durable, what is only in the
//! page cache, and every state a cut may leave.
//!
//! The persistence model (ARCHITECTURE.md, "Power loss"):
//! - a file's bytes are durable once the file is fsynced; bytes written
//!   since may be lost, or kept as any page-granular prefix (files are only
//!   appended to, so what survives is a prefix of what was written);
//! - a create, rename, link, unlink or mkdir is durable once its directory is
//!   fsynced; until then each may be lost on its own, in any combination
//!   (no ordering between them is assumed);
//! - nothing made durable by an fsync is undone.
//!
//! Inodes are the real ones of the recorded run, so a rename or link keeps
//! pointing at the same file in every crash state.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use bytes::Bytes;

/// The page size prefixes are cut at.
pub const PAGE: usize = 4096;
/// At most this many pending directory operations are combined exhaustively
/// in one directory (2^N subsets); beyond, the newest N vary.
const MAX_PENDING: usize = 10;
/// At most this many lengths of one file with unsynced bytes.
const MAX_PREFIXES: usize = 96;
/// At most this many combinations of torn files in one state's tree.
const MAX_PRODUCT: usize = 256;

/// A directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    File(u64),
    Dir(u64),
}

/// A recorded mutation, as the model needs it (real inode numbers).
#[derive(Debug, Clone)]
pub enum Op {
    Create { dir: u64, name: String, ino: u64 },
    Append { ino: u64, bytes: Vec<u8> },
    SyncFile { ino: u64 },
    Rename { dir: u64, from: String, to: String },
    Link { dir: u64, from: String, to: String },
    Remove { dir: u64, name: String },
    Mkdir { dir: u64, name: String, ino: u64 },
    SyncDir { dir: u64 },
}

/// A change to a directory not yet made durable.
#[derive(Debug, Clone)]
enum Pending {
    /// `name` now refers to the node (create, link, mkdir).
    Link(String, Node),
    /// `from`, which referred to the node, is now `to`.
    Rename(String, String, Node),
    Unlink(String),
}

/// A file's contents, shared (`Bytes`): states hold slices, not copies.
#[derive(Debug, Clone, Default)]
struct FileData {
    durable: Bytes,
    volatile: Bytes,
}

#[derive(Debug, Clone, Default)]
struct DirData {
    durable: BTreeMap<String, Node>,
    pending: Vec<Pending>,
}

impl DirData {
    fn volatile(&self) -> BTreeMap<String, Node> {
        let all = vec![true; self.pending.len()];
        apply(&self.durable, &self.pending, &all)
    }
}

/// Applies the `kept` pending operations, in order, to `entries`.
fn apply(
    entries: &BTreeMap<String, Node>,
    pending: &[Pending],
    kept: &[bool],
) -> BTreeMap<String, Node> {
    let mut out = entries.clone();
    for (p, _) in pending.iter().zip(kept).filter(|(_, k)| **k) {
        match p {
            Pending::Link(name, node) => {
                out.insert(name.clone(), *node);
            }
            Pending::Rename(from, to, node) => {
                if out.get(from) == Some(node) {
                    out.remove(from);
                }
                out.insert(to.clone(), *node);
            }
            Pending::Unlink(name) => {
                out.remove(name);
            }
        }
    }
    out
}

/// One state a power cut may leave: a tree of names and contents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Tree {
    pub files: BTreeMap<String, Bytes>,
    pub dirs: Vec<String>,
}

impl Tree {
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }

    /// Writes the tree under `root` (an empty directory).
    pub fn materialize(&self, root: &Path) {
        for d in &self.dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for (path, bytes) in &self.files {
            std::fs::write(root.join(path), bytes).unwrap();
        }
    }
}

/// The model: the recorded run's files and directories, durable and not.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    root: u64,
    files: HashMap<u64, FileData>,
    dirs: HashMap<u64, DirData>,
}

impl Disk {
    /// A disk whose every file and directory under `root` is durable.
    pub fn scan(root: &Path) -> Disk {
        let mut disk = Disk {
            root: ino(root),
            ..Disk::default()
        };
        disk.scan_dir(root);
        disk
    }

    fn scan_dir(&mut self, path: &Path) {
        let mut data = DirData::default();
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap();
            let p = entry.path();
            let name = entry.file_name().into_string().unwrap();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let i = ino(&p);
            if meta.is_dir() {
                data.durable.insert(name, Node::Dir(i));
                self.scan_dir(&p);
            } else {
                assert!(
                    meta.is_file(),
                    "{}: only files and directories",
                    p.display()
                );
                let bytes = Bytes::from(std::fs::read(&p).unwrap());
                self.files.insert(
                    i,
                    FileData {
                        durable: bytes.clone(),
                        volatile: bytes,
                    },
                );
                data.durable.insert(name, Node::File(i));
            }
        }
        self.dirs.insert(ino(path), data);
    }

    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Create { dir, name, ino } => {
                self.files.insert(*ino, FileData::default());
                self.dir(*dir)
                    .pending
                    .push(Pending::Link(name.clone(), Node::File(*ino)));
            }
            Op::Append { ino, bytes } => {
                let f = self.files.get_mut(ino).expect("append to a recorded file");
                f.volatile = [&f.volatile[..], &bytes[..]].concat().into();
            }
            Op::SyncFile { ino } => {
                let f = self.files.get_mut(ino).expect("fsync of a recorded file");
                f.durable = f.volatile.clone();
            }
            Op::Rename { dir, from, to } => {
                let d = self.dir(*dir);
                let node = *d.volatile().get(from).expect("rename of a recorded name");
                d.pending
                    .push(Pending::Rename(from.clone(), to.clone(), node));
            }
            Op::Link { dir, from, to } => {
                let d = self.dir(*dir);
                let node = *d.volatile().get(from).expect("link of a recorded name");
                d.pending.push(Pending::Link(to.clone(), node));
            }
            Op::Remove { dir, name } => self.dir(*dir).pending.push(Pending::Unlink(name.clone())),
            Op::Mkdir { dir, name, ino } => {
                self.dirs.insert(*ino, DirData::default());
                self.dir(*dir)
                    .pending
                    .push(Pending::Link(name.clone(), Node::Dir(*ino)));
            }
            Op::SyncDir { dir } => {
                let d = self.dir(*dir);
                d.durable = d.volatile();
                d.pending.clear();
            }
        }
    }

    fn dir(&mut self, ino: u64) -> &mut DirData {
        self.dirs
            .get_mut(&ino)
            .unwrap_or_else(|| panic!("directory inode {ino} is not under the explored root"))
    }

    /// The tree as the running system sees it (nothing lost).
    pub fn volatile_tree(&self) -> Tree {
        let choice: HashMap<u64, Vec<bool>> = self
            .dirs
            .iter()
            .map(|(i, d)| (*i, vec![true; d.pending.len()]))
            .collect();
        let shape = self.shape(&choice);
        let mut tree = Tree {
            dirs: shape.dirs,
            ..Tree::default()
        };
        for (path, ino) in shape.files {
            tree.files.insert(path, self.files[&ino].volatile.clone());
        }
        tree
    }

    /// Every distinct tree a power cut now may leave, at most `cap` of them
    /// (a deterministic spread when there are more).
    pub fn crash_trees(&self, cap: usize) -> Vec<Tree> {
        // Directory outcomes: every subset of each directory's pending ops.
        let mut dir_ids: Vec<u64> = self
            .dirs
            .keys()
            .copied()
            .filter(|i| !self.dirs[i].pending.is_empty())
            .collect();
        dir_ids.sort();
        let mut dir_choices: Vec<HashMap<u64, Vec<bool>>> = vec![HashMap::new()];
        for i in &dir_ids {
            let n = self.dirs[i].pending.len();
            let vary = n.min(MAX_PENDING);
            let mut next = Vec::new();
            for choice in &dir_choices {
                for mask in 0u32..(1 << vary) {
                    let mut kept = vec![true; n];
                    for (b, k) in kept[n - vary..].iter_mut().enumerate() {
                        *k = mask & (1 << b) != 0;
                    }
                    let mut c = choice.clone();
                    c.insert(*i, kept);
                    next.push(c);
                }
            }
            dir_choices = next;
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for choice in &dir_choices {
            let shape = self.shape(choice);
            // Content outcomes: for each reachable file with unsynced bytes,
            // its durable bytes, each page-granular prefix, or all of it.
            let mut trees = vec![Tree {
                dirs: shape.dirs.clone(),
                ..Tree::default()
            }];
            let options: Vec<Vec<usize>> = shape
                .files
                .iter()
                .map(|(_, i)| prefixes(&self.files[i]))
                .collect();
            if options.iter().map(Vec::len).product::<usize>() > MAX_PRODUCT {
                // Too many torn files at once to combine: each file's
                // lengths in turn, the others whole; then all at their
                // durable lengths.
                for (k, lens) in options.iter().enumerate() {
                    for len in lens {
                        let mut t = trees[0].clone();
                        for (j, (path, ino)) in shape.files.iter().enumerate() {
                            let f = &self.files[ino];
                            let l = if j == k { *len } else { f.volatile.len() };
                            t.files.insert(path.clone(), f.volatile.slice(..l));
                        }
                        push(t, &mut seen, &mut out);
                    }
                }
                let mut t = trees[0].clone();
                for (path, ino) in &shape.files {
                    t.files
                        .insert(path.clone(), self.files[ino].durable.clone());
                }
                push(t, &mut seen, &mut out);
                continue;
            }
            for (path, ino) in &shape.files {
                let f = &self.files[ino];
                let options = prefixes(f);
                let mut next = Vec::with_capacity(trees.len() * options.len());
                for t in &trees {
                    for len in &options {
                        let mut t = t.clone();
                        t.files.insert(path.clone(), f.volatile.slice(..*len));
                        next.push(t);
                    }
                }
                trees = next;
            }
            for t in trees {
                push(t, &mut seen, &mut out);
            }
        }
        if out.len() > cap {
            let step = out.len() as f64 / cap as f64;
            out = (0..cap)
                .map(|k| out[(k as f64 * step) as usize].clone())
                .collect();
        }
        out
    }

    /// Paths of the files and directories reachable from the root, with the
    /// `kept` pending operations of each directory applied.
    fn shape(&self, kept: &HashMap<u64, Vec<bool>>) -> Shape {
        let mut shape = Shape::default();
        self.walk(self.root, "", kept, &mut shape, 0);
        shape
    }

    fn walk(
        &self,
        dir: u64,
        prefix: &str,
        kept: &HashMap<u64, Vec<bool>>,
        shape: &mut Shape,
        depth: usize,
    ) {
        assert!(depth < 16, "directory cycle");
        let d = &self.dirs[&dir];
        let all;
        let k = match kept.get(&dir) {
            Some(k) => k,
            None => {
                all = vec![true; d.pending.len()];
                &all
            }
        };
        for (name, node) in apply(&d.durable, &d.pending, k) {
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            match node {
                Node::File(i) => shape.files.push((path, i)),
                Node::Dir(i) => {
                    shape.dirs.push(path.clone());
                    self.walk(i, &path, kept, shape, depth + 1);
                }
            }
        }
    }
}

fn push(t: Tree, seen: &mut HashSet<u64>, out: &mut Vec<Tree>) {
    if seen.insert(t.fingerprint()) {
        out.push(t);
    }
}

#[derive(Default)]
struct Shape {
    files: Vec<(String, u64)>,
    dirs: Vec<String>,
}

/// The lengths a file may have after a cut: its durable length, each page
/// boundary past it, and its whole length.
fn prefixes(f: &FileData) -> Vec<usize> {
    assert!(
        f.volatile.starts_with(&f.durable),
        "files are only appended to: the durable bytes are a prefix"
    );
    let (lo, hi) = (f.durable.len(), f.volatile.len());
    let mut out = vec![lo];
    let mut p = (lo / PAGE + 1) * PAGE;
    while p < hi {
        out.push(p);
        p += PAGE;
    }
    if hi > lo {
        out.push(hi);
    }
    // Long files: an even spread of the torn lengths, both ends kept.
    if out.len() > MAX_PREFIXES {
        let last = out.len() - 1;
        out = (0..MAX_PREFIXES)
            .map(|k| out[k * last / (MAX_PREFIXES - 1)])
            .collect();
    }
    out
}

/// The inode number of `path` (not following a symlink).
pub fn ino(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).unwrap().ino()
}
