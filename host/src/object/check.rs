//! Checking what is in object storage: `verify s3://…`, `verify --series
//! s3://… BASE` (with `--key`, signatures and the chain too), and `audit
//! s3://…` (the audit's [`AuditSource`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::bucket::{Bucket, ObjectOptions, connect};
use super::ledger;
use super::read;
use super::runtime::block_on;
use super::signature;
use crate::error::{Error, Result};
use crate::jobs::audit::{
    AuditOptions, AuditReport, AuditSource, DEFAULT_STATE_FILE, Entry, StateStore, audit_source,
};
use crate::jobs::series::{SeriesReport, check_chain, is_member, series_report};
use crate::location::ObjectUrl;
use crate::plugin::{builtin_for, verify_checked};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::verify::signed::{stream_signature_of, verify_signed_by};
use crate::verify::{Schema, TrustedKeys, verify_reader};

/// Verifies the object at `url`. With a plugin (`sandbox` not built in),
/// the built-in verifier's verdict is combined with the plugin's, as for
/// local files.
pub fn verify_object(
    sandbox: &Sandbox,
    builtin: Option<&Sandbox>,
    schema: Option<&Schema>,
    url: &ObjectUrl,
    options: &ObjectOptions,
) -> Result<VerifyReport> {
    let bucket = connect(&url.bucket, options)?;
    verify_checked(sandbox, builtin, |s| {
        verify_key(&bucket, s, schema, &url.key)
    })
}

fn verify_key(
    bucket: &Arc<Bucket>,
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    key: &str,
) -> Result<VerifyReport> {
    let url = bucket.url_of(key);
    match read::open(bucket, key, None) {
        Ok(mut r) => verify_reader(sandbox, schema, &mut r, &url),
        Err(e) => {
            let failed = Err(e);
            crate::monitor::metrics::verification(&failed);
            failed
        }
    }
}

/// Verifies the object at `url` with `verify` while its signature
/// (`KEY.minisig`, read bounded) is checked against `keys` by `builtin`
/// (csvseal's own component) on another thread, the object streamed into
/// the check; as [`crate::verify::verify_signed`] does for a local file.
pub fn verify_object_signed(
    builtin: &Sandbox,
    keys: &TrustedKeys,
    url: &ObjectUrl,
    options: &ObjectOptions,
    verify: impl FnOnce() -> Result<VerifyReport>,
) -> Result<VerifyReport> {
    let bucket = connect(&url.bucket, options)?;
    verify_key_signed(builtin, keys, &bucket, &url.key, verify)
}

fn verify_key_signed(
    builtin: &Sandbox,
    keys: &TrustedKeys,
    bucket: &Arc<Bucket>,
    key: &str,
    verify: impl FnOnce() -> Result<VerifyReport>,
) -> Result<VerifyReport> {
    let label = bucket.url_of(key);
    let file_name = key.rsplit('/').next().unwrap_or(key).to_owned();
    let stream = || {
        let text = signature::read_text(bucket, &signature::key_of(key), None)?.map(|s| s.text);
        stream_signature_of(builtin, keys, file_name, text, &label, || {
            Ok(Box::new(read::open(bucket, key, None)?))
        })
    };
    verify_signed_by(builtin, &label, stream, verify)
}

/// Verifies the series `{prefix}{base}_YYYYMMDD_HHMMSS.csv`: every object in
/// name order, and the seams between them; with `keys`, every object's
/// signature and the chain of signed links too ([`check_chain`]).
pub fn verify_series_at(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    keys: Option<&TrustedKeys>,
    prefix: &ObjectUrl,
    base: &str,
    options: &ObjectOptions,
) -> Result<SeriesReport> {
    crate::store::naming::check_base_name(base)?;
    let prefix = prefix.as_prefix();
    let bucket = connect(&prefix.bucket, options)?;
    let members: Vec<_> = read::list(&bucket, &prefix.key)?
        .into_iter()
        .filter(|l| is_member(&l.name, base))
        .collect();
    // With a plugin, csvseal's own verifier runs too and has the final say.
    let builtin = builtin_for(sandbox)?;
    let own = builtin.as_ref().unwrap_or(sandbox);
    let mut report = series_report(members.into_iter().map(|l| {
        let verify = || {
            verify_checked(sandbox, builtin.as_ref(), |s| {
                verify_key(&bucket, s, schema, &l.key)
            })
        };
        let r = match keys {
            Some(keys) => verify_key_signed(own, keys, &bucket, &l.key, verify),
            None => verify(),
        };
        (bucket.url_of(&l.key), r)
    }));
    if keys.is_some() {
        check_chain(own, &mut report)?;
    }
    Ok(report)
}

/// Audits the objects directly under `prefix` (`opts.dir` should be its
/// URL). Incomplete multipart uploads of `*.csv` keys are its temp files;
/// the state is kept in `{prefix}.csvseal-audit-state.json` unless
/// `opts.state_file` names a local file.
pub fn audit_prefix(
    sandbox: &Sandbox,
    opts: &AuditOptions,
    prefix: &ObjectUrl,
    options: &ObjectOptions,
) -> Result<AuditReport> {
    let prefix = prefix.as_prefix();
    let bucket = connect(&prefix.bucket, options)?;
    audit_source(sandbox, opts, &PrefixSource { bucket, prefix })
}

/// The prefix `prefix` as the audit's [`AuditSource`] (what
/// [`audit_prefix`] audits), for a caller that wraps it.
pub fn prefix_source(prefix: &ObjectUrl, options: &ObjectOptions) -> Result<Box<dyn AuditSource>> {
    let prefix = prefix.as_prefix();
    let bucket = connect(&prefix.bucket, options)?;
    Ok(Box::new(PrefixSource { bucket, prefix }))
}

/// The series `base`'s objects directly under `prefix`, in name order:
/// (URL, size, ETag id) of each, as [`verify_series_at`] lists them.
pub fn series_members(
    prefix: &ObjectUrl,
    base: &str,
    options: &ObjectOptions,
) -> Result<Vec<(PathBuf, u64, u64)>> {
    crate::store::naming::check_base_name(base)?;
    let prefix = prefix.as_prefix();
    let bucket = connect(&prefix.bucket, options)?;
    Ok(read::list(&bucket, &prefix.key)?
        .into_iter()
        .filter(|l| is_member(&l.name, base))
        .map(|l| (bucket.url_of(&l.key), l.size, etag_id(l.etag.as_deref())))
        .collect())
}

/// One object's version, for reading any range of it
/// ([`crate::verify::remote`]): every read is of the version first seen.
pub struct ObjectRanged {
    bucket: Arc<Bucket>,
    key: String,
    etag: Option<String>,
    size: u64,
    label: PathBuf,
}

/// Opens the object at `url` for ranged reads. With `expected_id` (the
/// audit's identity of it: a hash of the ETag listed), a different
/// version is an error: what is checked is what was listed.
pub fn open_ranged(
    url: &ObjectUrl,
    options: &ObjectOptions,
    expected_id: Option<u64>,
) -> Result<ObjectRanged> {
    use object_store::ObjectStoreExt;
    let bucket = connect(&url.bucket, options)?;
    let label = bucket.url_of(&url.key);
    let meta = block_on(bucket.s3.head(&read::path(&url.key))).map_err(|e| match e {
        object_store::Error::NotFound { .. } => Error::io(
            &label,
            "open",
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such object"),
        ),
        e => Error::io(&label, "open", std::io::Error::other(e.to_string())),
    })?;
    if expected_id.is_some_and(|id| id != etag_id(meta.e_tag.as_deref())) {
        return Err(Error::io(
            &label,
            "open",
            std::io::Error::other("changed since it was listed"),
        ));
    }
    Ok(ObjectRanged {
        bucket,
        key: url.key.clone(),
        etag: meta.e_tag,
        size: meta.size,
        label,
    })
}

impl crate::verify::remote::Ranged for ObjectRanged {
    fn len(&self) -> u64 {
        self.size
    }
    fn label(&self) -> &Path {
        &self.label
    }
    fn read_from(&self, start: u64) -> Result<Box<dyn std::io::Read + Send + '_>> {
        Ok(Box::new(read::open_from(
            &self.bucket,
            &self.key,
            self.etag.as_deref(),
            start,
        )?))
    }
}

/// Opens the object at `url` for reading from its start (a streamed GET).
pub fn open_object(url: &ObjectUrl, options: &ObjectOptions) -> Result<read::ObjectReader> {
    open_object_version(url, options, None)
}

/// [`open_object`], only while the object is still the version whose ETag
/// is `etag` (the store refuses the read otherwise): a second read of what
/// a first one verified.
pub fn open_object_version(
    url: &ObjectUrl,
    options: &ObjectOptions,
    etag: Option<&str>,
) -> Result<read::ObjectReader> {
    let bucket = connect(&url.bucket, options)?;
    read::open(&bucket, &url.key, etag)
}

struct PrefixSource {
    bucket: Arc<Bucket>,
    prefix: ObjectUrl,
}

impl AuditSource for PrefixSource {
    fn entries(&self, _warnings: &mut Vec<String>) -> Result<Vec<Entry>> {
        let now = SystemTime::now();
        let mut out = vec![];
        for l in read::list(&self.bucket, &self.prefix.key)? {
            if !l.name.ends_with(".csv") {
                continue;
            }
            let mtime_ns = l
                .modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128);
            out.push(Entry::File {
                path: self.bucket.url_of(&l.key),
                name: l.name,
                size: l.size,
                mtime_ns,
                ctime_ns: 0,
                ino: etag_id(l.etag.as_deref()),
            });
        }
        // csvseal's own uploads (its ledger names them), not a user's.
        let ours: HashSet<String> = ledger::markers(&self.bucket, &self.prefix.key)?
            .into_iter()
            .map(|m| m.name)
            .collect();
        for u in block_on(self.bucket.list_uploads(&self.prefix.key))? {
            let name = &u.key[self.prefix.key.len().min(u.key.len())..];
            if name.contains('/')
                || !name.ends_with(".csv")
                || !ours.contains(&ledger::marker_name(&u.key, &u.upload_id))
            {
                continue;
            }
            out.push(Entry::Temp {
                path: self.bucket.url_of(&u.key),
                age: upload_age(u.initiated, now),
            });
        }
        Ok(out)
    }

    fn verify(
        &self,
        sandbox: &Sandbox,
        schema: Option<&Schema>,
        _name: &str,
        path: &Path,
    ) -> Result<VerifyReport> {
        let key = key_of(&self.bucket, path)?;
        verify_key(&self.bucket, sandbox, schema, &key)
    }

    fn default_state(&self) -> Box<dyn StateStore> {
        Box::new(ObjectState {
            bucket: self.bucket.clone(),
            key: format!("{}{DEFAULT_STATE_FILE}", self.prefix.key),
        })
    }
}

/// The key in `bucket` of a path made by [`Bucket::url_of`].
fn key_of(bucket: &Bucket, path: &Path) -> Result<String> {
    let head = format!("s3://{}/", bucket.name);
    path.to_str()
        .and_then(|p| p.strip_prefix(&head))
        .map(str::to_owned)
        .ok_or_else(|| Error::Usage(format!("{}: not in {head}", path.display())))
}

/// A stable number for an ETag (the audit's "inode": a new ETag is a new
/// version).
fn etag_id(etag: Option<&str>) -> u64 {
    let d = Sha256::digest(etag.unwrap_or("").as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// How long ago an upload started (zero if the store does not say).
pub(crate) fn upload_age(initiated: Option<time::OffsetDateTime>, now: SystemTime) -> Duration {
    initiated
        .and_then(|t| {
            let at = SystemTime::UNIX_EPOCH
                + Duration::from_nanos(t.unix_timestamp_nanos().max(0) as u64);
            now.duration_since(at).ok()
        })
        .unwrap_or_default()
}

/// The audit's state as an object, replaced by a plain PutObject (atomic on
/// S3: readers see the old or the new state).
struct ObjectState {
    bucket: Arc<Bucket>,
    key: String,
}

impl StateStore for ObjectState {
    fn load(&self) -> std::result::Result<Option<Vec<u8>>, String> {
        let mut r = match read::open(&self.bucket, &self.key, None) {
            Ok(r) => r,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e.to_string()),
        };
        let mut bytes = vec![];
        std::io::Read::read_to_end(&mut r, &mut bytes).map_err(|e| e.to_string())?;
        Ok(Some(bytes))
    }

    fn save(&self, bytes: &[u8]) -> Result<()> {
        use object_store::ObjectStoreExt;
        block_on(
            self.bucket
                .s3
                .put(&read::path(&self.key), bytes.to_vec().into()),
        )
        .map(|_| ())
        .map_err(|e| {
            self.bucket
                .error(&self.key, "save audit state", e.to_string())
        })
    }

    fn label(&self) -> String {
        self.bucket.url_of(&self.key).display().to_string()
    }
}
