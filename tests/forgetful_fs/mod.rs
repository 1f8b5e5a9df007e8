//! A FUSE file system that forgets, for power-loss tests (as LazyFS does):
//! an in-memory tree whose every change stays volatile until an fsync makes
//! it durable, and which, told so, drops everything not yet durable.
//!
//! # The persistence model (the crash-state explorer assumes the same)
//!
//! - **File data** not fsynced is lost. After a drop a file holds exactly
//!   its bytes (and mode) as of its last `fsync`; a file never fsynced is
//!   empty if its entry survives. A drop never keeps a prefix of unsynced
//!   data: all of it goes.
//! - **Directory entries**: a create, `mkdir`, rename, link or unlink is
//!   durable only once its directory is fsynced (`fsyncdir`, i.e. `fsync` on
//!   a descriptor of the directory). Each directory is durable on its own: a
//!   rename between two directories is two changes. `fsync` of a file does
//!   not make its name durable here (Linux file systems often do; this is
//!   the conservative reading of POSIX).
//! - Nothing made durable by an fsync is undone. A drop restores every
//!   directory to its durable entries and every file to its durable bytes;
//!   inodes no durable entry reaches any more are freed.
//!
//! Not modelled: torn or reordered writes within a file (a drop loses all
//! unsynced data, never part of it), drives that lie about flushes, xattrs,
//! symlinks and special files (refused with `EPERM`), timestamps (reported,
//! never made durable).
//!
//! # Power cut
//!
//! [`Shared::cut`] is the moment power fails: it SIGKILLs the victim process
//! and freezes the file system (every later change fails with `EIO`, reads
//! still work), so nothing the victim had in flight reaches "disk" after
//! that instant. The test then unmounts, calls [`Shared::drop_volatile`]
//! (which reports what was discarded), and mounts the same model again, so
//! no kernel cache can hide the drop. A cut may be armed at the Nth request
//! ([`Shared::arm`]): the file system kills the caller when that request
//! arrives, before or after applying it. Entries and attributes have TTL 0
//! and files are opened `direct_io`, so the kernel never answers from a
//! cache of its own either.
//!
//! `CSVSEAL_FORGETFS_NO_DROP=1` turns the drop into a no-op (it then reports
//! nothing discarded), to show that the tests notice.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};

const ROOT: u64 = 1;
const TTL: Duration = Duration::ZERO;
/// The largest write request the kernel sends.
const MAX_WRITE: u32 = 16 * 1024;

#[derive(Debug, Clone)]
enum Body {
    File {
        data: Vec<u8>,
        durable: Vec<u8>,
    },
    Dir {
        entries: BTreeMap<OsString, u64>,
        durable: BTreeMap<OsString, u64>,
    },
}

#[derive(Debug, Clone)]
struct Inode {
    body: Body,
    perm: u16,
    durable_perm: u16,
    mtime: SystemTime,
}

impl Inode {
    fn file(perm: u16, data: Vec<u8>, durable: bool) -> Inode {
        Inode {
            body: Body::File {
                durable: if durable { data.clone() } else { vec![] },
                data,
            },
            perm,
            durable_perm: perm,
            mtime: SystemTime::now(),
        }
    }

    fn dir(perm: u16) -> Inode {
        Inode {
            body: Body::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
            },
            perm,
            durable_perm: perm,
            mtime: SystemTime::now(),
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }
}

/// A change the file system applied, in order, with the index of the
/// request that made it (for classifying where a cut landed).
#[derive(Debug, Clone)]
pub struct Event {
    pub op_index: u64,
    pub kind: &'static str,
    /// The directory changed or synced (its inode), for entry changes.
    #[allow(dead_code)] // shown in failure messages (Debug)
    pub parent: u64,
    pub name: String,
    /// For rename and link: the new parent and name.
    pub to: Option<(u64, String)>,
}

/// Where a cut happened.
#[derive(Debug, Clone)]
pub struct CutInfo {
    /// The request index it happened at (armed cuts) or the number of
    /// requests seen before it (timed cuts).
    #[allow(dead_code)] // shown in failure messages (Debug)
    pub op_index: u64,
    /// The request it happened at, and whether it was applied first.
    #[allow(dead_code)] // shown in failure messages (Debug)
    pub at: Option<(&'static str, bool)>,
    /// How many events had been applied when it happened.
    pub events: usize,
}

/// What a drop discarded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Unsynced bytes: for each file whose content differed from its
    /// durable content, the length of what it held.
    pub bytes: u64,
    /// Files whose content or mode went back to their last fsync.
    pub files: u64,
    /// Directory entries added, removed or re-pointed and not yet durable.
    pub entries: u64,
}

impl Dropped {
    pub fn any(&self) -> bool {
        self.bytes + self.files + self.entries > 0
    }
}

#[derive(Debug)]
struct Model {
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    /// Requests seen since the last [`Shared::arm`].
    ops: u64,
    kill_at: Option<(u64, bool)>,
    victim: i32,
    cut: Option<CutInfo>,
    events: Vec<Event>,
}

/// The file system's state, shared by the mounts made of it.
#[derive(Debug)]
pub struct Shared {
    model: Mutex<Model>,
}

impl Shared {
    /// An empty file system (a root directory, durable).
    pub fn new() -> Arc<Shared> {
        let mut inodes = HashMap::new();
        inodes.insert(ROOT, Inode::dir(0o755));
        Arc::new(Shared {
            model: Mutex::new(Model {
                inodes,
                next_ino: ROOT + 1,
                ops: 0,
                kill_at: None,
                victim: 0,
                cut: None,
                events: vec![],
            }),
        })
    }

    /// A file system holding a copy of the real directory `src` (regular
    /// files and directories only), all of it durable.
    pub fn from_dir(src: &Path) -> Arc<Shared> {
        let shared = Shared::new();
        {
            let mut m = shared.lock();
            m.import(ROOT, src);
        }
        shared
    }

    fn lock(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts counting requests from 0 and forgets the event log; with
    /// `kill_at = Some((n, after))`, request `n` cuts the power (SIGKILLs
    /// its caller, freezes the file system), before applying it or after.
    /// Also thaws a frozen file system.
    pub fn arm(&self, kill_at: Option<(u64, bool)>) {
        let mut m = self.lock();
        m.ops = 0;
        m.kill_at = kill_at;
        m.victim = 0;
        m.cut = None;
        m.events.clear();
    }

    /// The process an armed cut kills when the request's caller is unknown.
    pub fn set_victim(&self, pid: u32) {
        self.lock().victim = pid as i32;
    }

    /// Cuts the power now: SIGKILLs `pid` and freezes the file system
    /// (both under the lock, so no request slips in between). A second cut
    /// keeps the first one's record.
    pub fn cut(&self, pid: u32) {
        let mut m = self.lock();
        m.cut_now(pid as i32, None);
    }

    /// Where the power was cut, if it was.
    pub fn cut_info(&self) -> Option<CutInfo> {
        self.lock().cut.clone()
    }

    /// Requests seen since [`Shared::arm`].
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// The changes applied since [`Shared::arm`].
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The power-loss drop: every directory back to its durable entries,
    /// every file to its durable bytes, unreachable inodes freed; thaws the
    /// file system. Call it unmounted. Reports what it discarded; with
    /// `CSVSEAL_FORGETFS_NO_DROP=1` set, discards nothing.
    pub fn drop_volatile(&self) -> Dropped {
        let mut m = self.lock();
        m.cut = None;
        m.kill_at = None;
        if no_drop() {
            return Dropped::default();
        }
        m.drop_volatile()
    }
}

/// Whether `CSVSEAL_FORGETFS_NO_DROP` turns drops off.
pub fn no_drop() -> bool {
    std::env::var_os("CSVSEAL_FORGETFS_NO_DROP").is_some_and(|v| !v.is_empty() && v != "0")
}

impl Model {
    fn import(&mut self, dir: u64, src: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let mut names: Vec<_> = std::fs::read_dir(src)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let perm = (meta.permissions().mode() & 0o7777) as u16;
            let ino = self.next_ino;
            self.next_ino += 1;
            if meta.is_dir() {
                self.inodes.insert(ino, Inode::dir(perm));
                self.import(ino, &e.path());
            } else if meta.is_file() {
                let data = std::fs::read(e.path()).unwrap();
                self.inodes.insert(ino, Inode::file(perm, data, true));
            } else {
                panic!("{}: only files and directories", e.path().display());
            }
            if let Body::Dir { entries, durable } = &mut self.inodes.get_mut(&dir).unwrap().body {
                entries.insert(e.file_name(), ino);
                durable.insert(e.file_name(), ino);
            }
        }
    }

    fn cut_now(&mut self, pid: i32, at: Option<(&'static str, bool)>) {
        if pid > 0 {
            // SAFETY: kill(2) has no memory-safety preconditions. A thread
            // id kills its whole process; a process already gone is ESRCH.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if self.cut.is_none() {
            self.cut = Some(CutInfo {
                op_index: if at.is_some() {
                    self.ops.saturating_sub(1)
                } else {
                    self.ops
                },
                at,
                events: self.events.len(),
            });
        }
    }

    fn drop_volatile(&mut self) -> Dropped {
        let mut d = Dropped::default();
        for ino in self.inodes.values_mut() {
            match &mut ino.body {
                Body::File { data, durable } => {
                    if data != durable || ino.perm != ino.durable_perm {
                        d.files += 1;
                        d.bytes += data.len() as u64;
                        *data = durable.clone();
                    }
                }
                Body::Dir { entries, durable } => {
                    let keys: HashSet<&OsString> = entries.keys().chain(durable.keys()).collect();
                    d.entries += keys
                        .into_iter()
                        .filter(|k| entries.get(*k) != durable.get(*k))
                        .count() as u64;
                    *entries = durable.clone();
                }
            }
            ino.perm = ino.durable_perm;
        }
        // Free what no durable entry reaches.
        let mut reach = HashSet::from([ROOT]);
        let mut todo = vec![ROOT];
        while let Some(i) = todo.pop() {
            if let Some(Inode {
                body: Body::Dir { entries, .. },
                ..
            }) = self.inodes.get(&i)
            {
                for c in entries.values() {
                    if reach.insert(*c) {
                        todo.push(*c);
                    }
                }
            }
        }
        self.inodes.retain(|i, _| reach.contains(i));
        d
    }

    fn get(&self, ino: u64) -> Result<&Inode, Errno> {
        self.inodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn get_mut(&mut self, ino: u64) -> Result<&mut Inode, Errno> {
        self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    fn entries(&self, dir: u64) -> Result<&BTreeMap<OsString, u64>, Errno> {
        match &self.get(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File { .. } => Err(Errno::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: u64) -> Result<&mut BTreeMap<OsString, u64>, Errno> {
        let i = self.get_mut(dir)?;
        i.mtime = SystemTime::now();
        match &mut i.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File { .. } => Err(Errno::ENOTDIR),
        }
    }

    fn child(&self, dir: u64, name: &OsStr) -> Result<Option<u64>, Errno> {
        Ok(self.entries(dir)?.get(name).copied())
    }

    fn nlink(&self, ino: u64) -> u32 {
        let mut n = 0;
        let mut subdirs = 0;
        for (i, node) in &self.inodes {
            if let Body::Dir { entries, .. } = &node.body {
                n += entries.values().filter(|c| **c == ino).count() as u32;
                if *i == ino {
                    subdirs = entries
                        .values()
                        .filter(|c| self.inodes.get(c).is_some_and(Inode::is_dir))
                        .count() as u32;
                }
            }
        }
        if self.inodes.get(&ino).is_some_and(Inode::is_dir) {
            // Its name in its parent (the root has none), ".", and each
            // subdirectory's "..".
            1 + u32::from(ino == ROOT) + n.min(1) + subdirs
        } else {
            n
        }
    }

    fn attr(&self, ino: u64) -> Result<FileAttr, Errno> {
        let i = self.get(ino)?;
        let (kind, size) = match &i.body {
            Body::File { data, .. } => (FileType::RegularFile, data.len() as u64),
            Body::Dir { entries, .. } => (FileType::Directory, 4096 + entries.len() as u64),
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: i.mtime,
            mtime: i.mtime,
            ctime: i.mtime,
            crtime: i.mtime,
            kind,
            perm: i.perm,
            nlink: self.nlink(ino),
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn event(&mut self, kind: &'static str, parent: u64, name: &OsStr, to: Option<(u64, &OsStr)>) {
        self.events.push(Event {
            op_index: self.ops.saturating_sub(1),
            kind,
            parent,
            name: name.to_string_lossy().into_owned(),
            to: to.map(|(p, n)| (p, n.to_string_lossy().into_owned())),
        });
    }

    fn new_node(&mut self, parent: u64, name: &OsStr, node: Inode) -> Result<u64, Errno> {
        if self.child(parent, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(ino, node);
        self.entries_mut(parent)?.insert(name.to_owned(), ino);
        Ok(ino)
    }

    fn remove(&mut self, parent: u64, name: &OsStr, dir: bool) -> Result<(), Errno> {
        let ino = self.child(parent, name)?.ok_or(Errno::ENOENT)?;
        match (&self.get(ino)?.body, dir) {
            (Body::Dir { .. }, false) => return Err(Errno::EISDIR),
            (Body::File { .. }, true) => return Err(Errno::ENOTDIR),
            (Body::Dir { entries, .. }, true) if !entries.is_empty() => {
                return Err(Errno::ENOTEMPTY);
            }
            _ => {}
        }
        self.entries_mut(parent)?.remove(name);
        Ok(())
    }

    fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        noreplace: bool,
    ) -> Result<(), Errno> {
        let ino = self.child(parent, name)?.ok_or(Errno::ENOENT)?;
        let src_dir = self.get(ino)?.is_dir();
        if let Some(old) = self.child(newparent, newname)? {
            if noreplace {
                return Err(Errno::EEXIST);
            }
            if old == ino {
                // Two names of one file: rename(2) does nothing.
                return Ok(());
            }
            match (&self.get(old)?.body, src_dir) {
                (Body::Dir { .. }, false) => return Err(Errno::EISDIR),
                (Body::File { .. }, true) => return Err(Errno::ENOTDIR),
                (Body::Dir { entries, .. }, true) if !entries.is_empty() => {
                    return Err(Errno::ENOTEMPTY);
                }
                _ => {}
            }
        }
        if src_dir {
            // Moving a directory into itself or below it.
            let mut up = vec![newparent];
            while let Some(d) = up.pop() {
                if d == ino {
                    return Err(Errno::EINVAL);
                }
                for (p, node) in &self.inodes {
                    if let Body::Dir { entries, .. } = &node.body
                        && entries.values().any(|c| *c == d)
                    {
                        up.push(*p);
                    }
                }
            }
        }
        self.entries_mut(parent)?.remove(name);
        self.entries_mut(newparent)?.insert(newname.to_owned(), ino);
        Ok(())
    }
}

/// The [`Filesystem`] over a [`Shared`] model.
struct ForgetfulFs(Arc<Shared>);

/// Whether a request changes anything (refused once the power is cut).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Change,
}

impl ForgetfulFs {
    /// Runs one request: counts it, applies an armed cut before or after
    /// it, refuses a change after the cut.
    fn op<T>(
        &self,
        req: &Request,
        name: &'static str,
        kind: Kind,
        f: impl FnOnce(&mut Model) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let mut m = self.0.lock();
        let idx = m.ops;
        m.ops += 1;
        let pid = match req.pid() as i32 {
            0 => m.victim,
            p => p,
        };
        let armed = match m.kill_at {
            Some((at, after)) if at == idx && m.cut.is_none() => Some(after),
            _ => None,
        };
        if armed == Some(false) {
            m.cut_now(pid, Some((name, false)));
            return Err(Errno::EIO);
        }
        if m.cut.is_some() && kind == Kind::Change {
            return Err(Errno::EIO);
        }
        let r = f(&mut m);
        if armed == Some(true) {
            m.cut_now(pid, Some((name, true)));
        }
        r
    }
}

fn direct() -> FopenFlags {
    FopenFlags::FOPEN_DIRECT_IO
}

impl Filesystem for ForgetfulFs {
    fn init(&mut self, _req: &Request, config: &mut fuser::KernelConfig) -> std::io::Result<()> {
        // Small writes: a file of any size arrives in many requests, so a
        // cut can land between them.
        let _ = config.set_max_write(MAX_WRITE);
        Ok(())
    }

    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.op(req, "lookup", Kind::Read, |m| {
            let ino = m.child(parent.0, name)?.ok_or(Errno::ENOENT)?;
            m.attr(ino)
        }) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.op(req, "getattr", Kind::Read, |m| m.attr(ino.0)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let kind = if mode.is_some() || size.is_some() {
            Kind::Change
        } else {
            Kind::Read
        };
        match self.op(req, "setattr", kind, |m| {
            let i = m.get_mut(ino.0)?;
            if let Some(mode) = mode {
                i.perm = (mode & 0o7777) as u16;
            }
            if let Some(size) = size {
                match &mut i.body {
                    Body::File { data, .. } => data.resize(size as usize, 0),
                    Body::Dir { .. } => return Err(Errno::EISDIR),
                }
            }
            match mtime {
                Some(TimeOrNow::SpecificTime(t)) => i.mtime = t,
                Some(TimeOrNow::Now) => i.mtime = SystemTime::now(),
                None if size.is_some() => i.mtime = SystemTime::now(),
                None => {}
            }
            if kind == Kind::Change {
                m.event("setattr", ino.0, OsStr::new(""), None);
            }
            m.attr(ino.0)
        }) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        match self.op(req, "mknod", Kind::Change, |m| {
            if mode & libc::S_IFMT != libc::S_IFREG {
                return Err(Errno::EPERM);
            }
            let perm = (mode & !umask & 0o7777) as u16;
            let ino = m.new_node(parent.0, name, Inode::file(perm, vec![], false))?;
            m.event("create", parent.0, name, None);
            m.attr(ino)
        }) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        match self.op(req, "mkdir", Kind::Change, |m| {
            let ino = m.new_node(parent.0, name, Inode::dir((mode & !umask & 0o7777) as u16))?;
            m.event("mkdir", parent.0, name, None);
            m.attr(ino)
        }) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.op(req, "unlink", Kind::Change, |m| {
            m.remove(parent.0, name, false)?;
            m.event("unlink", parent.0, name, None);
            Ok(())
        }) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.op(req, "rmdir", Kind::Change, |m| {
            m.remove(parent.0, name, true)?;
            m.event("rmdir", parent.0, name, None);
            Ok(())
        }) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        match self.op(req, "rename", Kind::Change, |m| {
            let noreplace = flags.contains(RenameFlags::RENAME_NOREPLACE);
            if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
                return Err(Errno::EINVAL);
            }
            m.rename(parent.0, name, newparent.0, newname, noreplace)?;
            m.event("rename", parent.0, name, Some((newparent.0, newname)));
            Ok(())
        }) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        match self.op(req, "link", Kind::Change, |m| {
            if m.get(ino.0)?.is_dir() {
                return Err(Errno::EPERM);
            }
            if m.child(newparent.0, newname)?.is_some() {
                return Err(Errno::EEXIST);
            }
            m.entries_mut(newparent.0)?
                .insert(newname.to_owned(), ino.0);
            m.event("link", newparent.0, newname, Some((newparent.0, newname)));
            m.attr(ino.0)
        }) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.op(req, "open", Kind::Read, |m| match m.get(ino.0)?.body {
            Body::File { .. } => Ok(()),
            Body::Dir { .. } => Err(Errno::EISDIR),
        }) {
            Ok(()) => reply.opened(FileHandle(0), direct()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.op(req, "read", Kind::Read, |m| match &m.get(ino.0)?.body {
            Body::File { data, .. } => {
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(size as usize).min(data.len());
                Ok(data[start..end].to_vec())
            }
            Body::Dir { .. } => Err(Errno::EISDIR),
        }) {
            Ok(d) => reply.data(&d),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        bytes: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.op(req, "write", Kind::Change, |m| {
            let i = m.get_mut(ino.0)?;
            i.mtime = SystemTime::now();
            match &mut i.body {
                Body::File { data, .. } => {
                    let end = offset as usize + bytes.len();
                    if data.len() < end {
                        data.resize(end, 0);
                    }
                    data[offset as usize..end].copy_from_slice(bytes);
                }
                Body::Dir { .. } => return Err(Errno::EISDIR),
            }
            m.event("write", ino.0, OsStr::new(""), None);
            Ok(bytes.len() as u32)
        }) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Close writes nothing back: the data is already here (volatile).
        match self.op(req, "flush", Kind::Read, |_| Ok(())) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.op(req, "fsync", Kind::Change, |m| {
            let i = m.get_mut(ino.0)?;
            i.durable_perm = i.perm;
            match &mut i.body {
                Body::File { data, durable } => *durable = data.clone(),
                Body::Dir { entries, durable } => *durable = entries.clone(),
            }
            m.event("fsync", ino.0, OsStr::new(""), None);
            Ok(())
        }) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.op(req, "opendir", Kind::Read, |m| m.entries(ino.0).map(|_| ())) {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let listed = self.op(req, "readdir", Kind::Read, |m| {
            let mut all = vec![
                (ino.0, FileType::Directory, OsString::from(".")),
                (ino.0, FileType::Directory, OsString::from("..")),
            ];
            for (name, c) in m.entries(ino.0)? {
                let kind = match m.inodes.get(c).map(Inode::is_dir) {
                    Some(true) => FileType::Directory,
                    _ => FileType::RegularFile,
                };
                all.push((*c, kind, name.clone()));
            }
            Ok(all)
        });
        match listed {
            Ok(all) => {
                for (i, (c, kind, name)) in all.into_iter().enumerate().skip(offset as usize) {
                    if reply.add(INodeNo(c), i as u64 + 1, kind, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.op(req, "fsyncdir", Kind::Change, |m| {
            let i = m.get_mut(ino.0)?;
            i.durable_perm = i.perm;
            match &mut i.body {
                Body::Dir { entries, durable } => *durable = entries.clone(),
                Body::File { .. } => return Err(Errno::ENOTDIR),
            }
            m.event("fsyncdir", ino.0, OsStr::new(""), None);
            Ok(())
        }) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.op(req, "statfs", Kind::Read, |_| Ok(())) {
            Ok(()) => reply.statfs(1 << 20, 1 << 19, 1 << 19, 1 << 16, 1 << 15, 4096, 255, 4096),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.op(req, "create", Kind::Change, |m| {
            if mode & libc::S_IFMT != libc::S_IFREG {
                return Err(Errno::EPERM);
            }
            let ino = match m.child(parent.0, name)? {
                // Without O_EXCL an existing file is opened (and truncated
                // by the kernel's setattr for O_TRUNC).
                Some(ino) if flags & libc::O_EXCL == 0 && !m.get(ino)?.is_dir() => ino,
                Some(_) => return Err(Errno::EEXIST),
                None => {
                    let perm = (mode & !umask & 0o7777) as u16;
                    let ino = m.new_node(parent.0, name, Inode::file(perm, vec![], false))?;
                    m.event("create", parent.0, name, None);
                    ino
                }
            };
            m.attr(ino)
        }) {
            Ok(a) => reply.created(&TTL, &a, Generation(0), FileHandle(0), direct()),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &Path,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::from_i32(libc::EOPNOTSUPP));
    }
}

/// A mount of a [`Shared`] file system; unmounts on drop, even when the
/// test is failing (lazily, if something still holds it).
pub struct Mount {
    session: Option<BackgroundSession>,
    path: PathBuf,
}

impl Mount {
    /// Mounts `shared` on the directory `path`.
    pub fn new(shared: &Arc<Shared>, path: &Path) -> std::io::Result<Mount> {
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName("forgetfs".into()),
            MountOption::Subtype("forgetfs".into()),
            MountOption::RW,
        ];
        let session = fuser::spawn_mount(ForgetfulFs(shared.clone()), path, &config)?;
        Ok(Mount {
            session: Some(session),
            path: path.to_owned(),
        })
    }

    /// Unmounts and waits for the session to end. Panics if the mount is
    /// busy (after detaching it): a drop while an old session still serves
    /// open files would not be a clean power cut.
    pub fn unmount(mut self) {
        if let Err(e) = self.unmount_now() {
            panic!("forgetfs: unmounting {}: {e}", self.path.display());
        }
    }

    fn unmount_now(&mut self) -> std::io::Result<()> {
        let Some(s) = self.session.take() else {
            return Ok(());
        };
        let c = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes())?;
        // Busy for a moment when another test thread's fork copied a
        // descriptor of ours just before we closed it (until its exec):
        // try again for a while.
        let mut result = Ok(());
        for _ in 0..250 {
            // SAFETY: a valid C string; umount2 has no other precondition.
            result = match unsafe { libc::umount2(c.as_ptr(), 0) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            };
            match &result {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => break,
            }
        }
        match result {
            // The session ends by itself once the kernel drops the
            // connection; fuser's own unmount then finds nothing to do.
            Ok(()) => s.join(),
            Err(e) => {
                // SAFETY: as above.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                Err(e)
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Err(e) = self.unmount_now() {
            eprintln!(
                "forgetfs: unmounting {}: {e}; detached",
                self.path.display()
            );
        }
    }
}
