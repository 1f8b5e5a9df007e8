//! Verified backups of objects, made by `write --replace` before the
//! conditional overwrite.
//!
//! A backup of `PREFIX/NAME` is `BACKUP_PREFIX/NAME.YYYYMMDDTHHMMSS.NNNNNNNNNZ.bak`
//! (UTC; names sort by age), `BACKUP_PREFIX` being `PREFIX/.csvseal-backup/`
//! unless `--backup-dir` names another `s3://` location. It is read with
//! `If-Match` on the ETag the overwrite will be conditional on (so the
//! backup is of exactly the version replaced), verified while it is copied,
//! and committed like a sealed file: an upload, hashes checked, created with
//! `If-None-Match: *`, the stored checksum confirmed. A `--backup-dir` is
//! probed for conditional writes before the write starts, like the target.
//! The replaced version's signature, if it has one, is kept beside its
//! backup as `BACKUP.minisig`, put before the backup is committed.

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::format_description;

use super::bucket::{Bucket, connect};
use super::probe::ensure_conditional_writes;
use super::read;
use super::s3api::Condition;
use super::upload::{PART_SIZE, Upload, new_write_id};
use crate::backup::{BackupPolicy, DEFAULT_BACKUP_DIR};
use crate::checked_seal::copy_checked;
use crate::error::{Error, Result};
use crate::location::{Location, ObjectUrl};
use crate::sandbox::Sandbox;

const SUFFIX: &str = ".bak";

/// Where backups of objects in `target`'s prefix go.
pub(crate) fn backup_prefix(target: &ObjectUrl, policy: &BackupPolicy) -> Result<ObjectUrl> {
    let Some(dir) = &policy.dir else {
        let key = &target.key[..target.key.len() - target.file_name().len()];
        let prefix = ObjectUrl {
            bucket: target.bucket.clone(),
            key: key.to_owned(),
        };
        return Ok(prefix.join(DEFAULT_BACKUP_DIR).as_prefix());
    };
    match Location::from_path(dir)? {
        Location::Object(url) => Ok(url.as_prefix()),
        Location::Local(_) => Err(Error::Usage(format!(
            "--backup-dir {}: backups of objects go to object storage: give an s3:// location",
            dir.display()
        ))),
    }
}

/// Refuses a `--backup-dir` on a store that ignores conditional writes,
/// as the target's prefix is refused ([`ensure_conditional_writes`]): the
/// backup is committed with `If-None-Match: *` too, and may be in another
/// bucket. The default backup prefix is under the target's, probed already.
pub(crate) fn ensure_backup_location(
    bucket: &Arc<Bucket>,
    target: &ObjectUrl,
    policy: &BackupPolicy,
) -> Result<()> {
    if policy.dir.is_none() {
        return Ok(());
    }
    let prefix = backup_prefix(target, policy)?;
    ensure_conditional_writes(&*bucket_of(bucket, &prefix)?, &prefix.key)
}

/// The connection to `prefix`'s bucket.
fn bucket_of(bucket: &Arc<Bucket>, prefix: &ObjectUrl) -> Result<Arc<Bucket>> {
    if prefix.bucket == bucket.name {
        Ok(bucket.clone())
    } else {
        connect(&prefix.bucket, &bucket.options)
    }
}

/// Makes a verified backup of version `etag` of `target`, and of its
/// signature `signature` (its text) when it has one; returns its URL.
pub(crate) fn backup_object(
    bucket: &Arc<Bucket>,
    verifier: &Sandbox,
    target: &ObjectUrl,
    etag: &str,
    signature: Option<&str>,
    policy: &BackupPolicy,
) -> Result<ObjectUrl> {
    let prefix = backup_prefix(target, policy)?;
    let into = bucket_of(bucket, &prefix)?;
    ensure_backup_location(bucket, target, policy)?;
    let stamp = OffsetDateTime::now_utc()
        .format(format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:9]Z"
        ))
        .map_err(|e| Error::Usage(format!("cannot format the time: {e}")))?;
    let backup = prefix.join(&format!("{}.{stamp}{SUFFIX}", target.file_name()));
    let mut source = read::open(bucket, &target.key, Some(etag))?;
    let source_path = target.to_path();
    let mut upload = Upload::new(into.clone(), backup.key.clone(), new_write_id());
    let (report, digests) = copy_checked(
        verifier,
        &mut source,
        &source_path,
        &mut upload,
        PART_SIZE as u64,
    )?;
    if !report.valid {
        return Err(Error::SourceInvalid {
            path: source_path,
            report: Box::new(report),
        });
    }
    // The signature first, as beside the target: a backup is never
    // listed without it.
    if let Some(text) = signature {
        let sig_key = super::signature::key_of(&backup.key);
        super::signature::put(&into, &sig_key, text, None, &new_write_id())?;
    }
    upload.commit(&digests.digests, &Condition::Create)?;
    tracing::info!(file = %source_path.display(), backup = %backup, "backup made");
    Ok(backup)
}

/// With `--keep N`: deletes all but the newest N backups of `target`.
/// Failures are logged, not fatal: the write has committed.
pub(crate) fn prune(bucket: &Arc<Bucket>, target: &ObjectUrl, policy: &BackupPolicy) {
    let Some(keep) = policy.keep else { return };
    let result = (|| {
        let prefix = backup_prefix(target, policy)?;
        let into = connect(&prefix.bucket, &bucket.options)?;
        let stem = format!("{}.", target.file_name());
        let mut names: Vec<_> = read::list(&into, &prefix.key)?
            .into_iter()
            .filter(|l| l.name.starts_with(&stem) && l.name.ends_with(SUFFIX))
            .collect();
        names.sort_by(|a, b| b.name.cmp(&a.name));
        for old in names.iter().skip(keep.max(1)) {
            read::delete(&into, &old.key)?;
            read::delete(&into, &super::signature::key_of(&old.key))?;
            tracing::info!(file = %into.url_of(&old.key).display(), "old backup deleted (--keep)");
        }
        Ok::<_, Error>(())
    })();
    if let Err(e) = result {
        tracing::warn!(file = %target, cause = %e, "could not prune old backups");
    }
}
