//! Reading and listing objects through `object_store`: a GET streamed into
//! a blocking [`Read`] (so the same verifier code reads local files and
//! objects), and a prefix's direct children.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::bucket::Bucket;
use super::runtime::{block_on, spawn};
use crate::error::{Error, Result};

/// Body chunks fetched ahead of the reader.
const READ_AHEAD: usize = 32;

/// An object's bytes as a blocking reader; the fetching runs ahead on the
/// object-store runtime.
pub struct ObjectReader {
    rx: mpsc::Receiver<std::result::Result<Bytes, String>>,
    current: Bytes,
    /// Object size, from the GET's answer.
    pub size: u64,
    /// ETag of the version being read.
    pub etag: Option<String>,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

pub(crate) fn path(key: &str) -> Path {
    // Keys are checked by `Path::parse` when locations are parsed.
    Path::from(key)
}

/// Opens `key` for reading; with `if_match`, only that version (a changed
/// object is an error, not a silently different read).
pub(crate) fn open(
    bucket: &Arc<Bucket>,
    key: &str,
    if_match: Option<&str>,
) -> Result<ObjectReader> {
    open_from(bucket, key, if_match, 0)
}

/// [`open`] from byte `start` on (a ranged GET).
pub(crate) fn open_from(
    bucket: &Arc<Bucket>,
    key: &str,
    if_match: Option<&str>,
    start: u64,
) -> Result<ObjectReader> {
    let url = bucket.url_of(key);
    let options = GetOptions {
        if_match: if_match.map(str::to_owned),
        range: (start > 0).then_some(object_store::GetRange::Offset(start)),
        ..GetOptions::default()
    };
    let got = block_on(bucket.s3.get_opts(&path(key), options)).map_err(|e| match e {
        object_store::Error::NotFound { .. } => Error::io(
            &url,
            "open",
            io::Error::new(io::ErrorKind::NotFound, "no such object"),
        ),
        // Only when reading a version `if_match` named: it was replaced.
        object_store::Error::Precondition { .. } => Error::TargetChanged { path: url.clone() },
        e => Error::io(&url, "open", io::Error::other(e.to_string())),
    })?;
    let size = got.meta.size;
    let etag = got.meta.e_tag.clone();
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let mut stream = got.into_stream();
    spawn(async move {
        while let Some(item) = stream.next().await {
            let stop = item.is_err();
            if tx.send(item.map_err(|e| e.to_string())).await.is_err() || stop {
                break;
            }
        }
    });
    Ok(ObjectReader {
        rx,
        current: Bytes::new(),
        size,
        etag,
    })
}

/// SHA-256 of each `segment_len` bytes of the object's version `etag`.
pub(crate) fn segment_digests(
    bucket: &Arc<Bucket>,
    key: &str,
    etag: &str,
    segment_len: u64,
) -> Result<Vec<[u8; 32]>> {
    let url = bucket.url_of(key);
    let mut reader = open(bucket, key, Some(etag))?;
    let mut digests = vec![];
    loop {
        let mut h = Sha256::new();
        let n = io::copy(
            &mut (&mut reader).take(segment_len),
            &mut HashWriter(&mut h),
        )
        .map_err(|e| Error::io(&url, "read back", e))?;
        if n > 0 || digests.is_empty() {
            digests.push(h.finalize().into());
        }
        if n < segment_len {
            return Ok(digests);
        }
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An object directly under a prefix.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The name under the prefix.
    pub name: String,
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
    pub etag: Option<String>,
}

/// The objects directly under `prefix` (no deeper), sorted by name.
pub(crate) fn list(bucket: &Bucket, prefix: &str) -> Result<Vec<Listed>> {
    let dir = prefix.trim_end_matches('/');
    let dir = (!dir.is_empty()).then(|| path(dir));
    let listing = block_on(bucket.s3.list_with_delimiter(dir.as_ref())).map_err(|e| {
        Error::io(
            bucket.url_of(prefix),
            "list objects",
            io::Error::other(e.to_string()),
        )
    })?;
    let mut out: Vec<Listed> = listing
        .objects
        .into_iter()
        .filter_map(|m| {
            let key = m.location.as_ref().to_owned();
            let name = key.strip_prefix(prefix)?.to_owned();
            let secs = m.last_modified.timestamp();
            let modified = SystemTime::UNIX_EPOCH
                + Duration::new(secs.max(0) as u64, m.last_modified.timestamp_subsec_nanos());
            Some(Listed {
                name,
                key,
                size: m.size,
                modified,
                etag: m.e_tag,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Deletes `key` (used for pruning backups).
pub(crate) fn delete(bucket: &Bucket, key: &str) -> Result<()> {
    block_on(bucket.s3.delete(&path(key))).map_err(|e| {
        Error::io(
            bucket.url_of(key),
            "delete object",
            io::Error::other(e.to_string()),
        )
    })
}
