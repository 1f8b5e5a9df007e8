//! `recover` on an object-store prefix: the stale-temp sweep and the
//! re-verification of every final file.
//!
//! A store cannot tell whether an upload's writer is alive (there is no
//! lock to test, as there is for a local temp file), so age decides: an
//! incomplete multipart upload started more than `older_than` ago is
//! aborted; a younger one is kept and reported. Aborting the upload of a
//! writer that is still running (one slower than `older_than`) makes that
//! write fail; it never makes anything partial visible. Only csvseal's own
//! uploads are touched: those its ledger names ([`super::ledger`]), under
//! the prefix and its default backup prefix, and the probe's.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::bucket::{ObjectOptions, connect};
use super::check::upload_age;
use super::ledger;
use super::probe::PROBE_NAME;
use super::read;
use super::runtime::block_on;
use crate::backup::DEFAULT_BACKUP_DIR;
use crate::error::Result;
use crate::jobs::recover::{Kept, RecoverReport, Unreadable};
use crate::location::ObjectUrl;
use crate::monitor::metrics::{ORIGIN_STALE, temp_sweep_failed, temp_swept};
use crate::sandbox::Sandbox;
use crate::verify::verify_reader;

/// Aborts csvseal's incomplete uploads directly under `prefix` (and its
/// default backup prefix) older than `older_than`, and verifies every `*.csv`
/// directly under `prefix`.
pub fn recover_prefix(
    sandbox: &Sandbox,
    prefix: &ObjectUrl,
    older_than: Duration,
    dry_run: bool,
    options: &ObjectOptions,
) -> Result<RecoverReport> {
    let prefix = prefix.as_prefix();
    let bucket = connect(&prefix.bucket, options)?;
    let mut report = RecoverReport {
        dry_run,
        ..RecoverReport::default()
    };
    let backups = format!("{}{DEFAULT_BACKUP_DIR}/", prefix.key);
    let now = SystemTime::now();
    // csvseal's uploads of sealed files and backups are the ones its
    // ledger names; the probe's key is csvseal's own.
    let mut markers = HashMap::new();
    for dir in [&prefix.key, &backups] {
        for m in ledger::markers(&bucket, dir)? {
            markers.insert(m.name.clone(), m);
        }
    }
    let mut uploads = block_on(bucket.list_uploads(&prefix.key))?;
    uploads.sort_by(|a, b| (&a.key, a.initiated).cmp(&(&b.key, b.initiated)));
    for u in uploads {
        let name = &u.key[prefix.key.len()..];
        let marker = markers.remove(&ledger::marker_name(&u.key, &u.upload_id));
        if marker.is_none() && name != PROBE_NAME {
            continue;
        }
        let label = format!(
            "{} (incomplete upload {})",
            bucket.url_of(&u.key).display(),
            u.upload_id
        );
        let age = upload_age(u.initiated, now);
        if u.initiated.is_none() || age <= older_than {
            report.kept.push(Kept {
                path: label.into(),
                reason: kept_reason(u.initiated.is_some(), age, older_than),
            });
            continue;
        }
        if dry_run {
            report.removed.push(label.into());
            continue;
        }
        match block_on(bucket.abort_upload(&u.key, &u.upload_id)) {
            Ok(()) => {
                temp_swept(ORIGIN_STALE);
                report.removed.push(label.into());
                if marker.is_some() {
                    ledger::forget(&bucket, &u.key, &u.upload_id);
                }
            }
            Err(e) => {
                temp_sweep_failed(ORIGIN_STALE);
                report.unreadable.push(Unreadable {
                    path: label.into(),
                    error: format!("abort upload: {e}"),
                });
            }
        }
    }
    // Markers left by a writer that finished but could not delete its
    // marker (the upload is gone). A young one may be a write that started
    // after the listing of uploads: kept.
    if !dry_run {
        for m in markers.values() {
            if now.duration_since(m.modified).unwrap_or_default() > older_than
                && let Err(e) = read::delete(&bucket, &m.key)
            {
                tracing::warn!(file = %bucket.url_of(&m.key).display(), cause = %e,
                    "could not delete the marker of a finished upload");
            }
        }
    }
    for l in read::list(&bucket, &prefix.key)? {
        if !l.name.ends_with(".csv") {
            continue;
        }
        let path = bucket.url_of(&l.key);
        let verified = read::open(&bucket, &l.key, None)
            .and_then(|mut r| verify_reader(sandbox, None, &mut r, &path));
        report.record(path, verified);
    }
    Ok(report)
}

fn kept_reason(known: bool, age: Duration, older_than: Duration) -> String {
    if !known {
        return "the store does not say when this upload started; abort it by hand if its writer is gone".into();
    }
    format!(
        "started {} ago, not more than --older-than {}: its writer may still be running",
        humantime::format_duration(Duration::from_secs(age.as_secs())),
        humantime::format_duration(older_than)
    )
}
