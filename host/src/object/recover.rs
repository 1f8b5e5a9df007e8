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
//!
//! A signature `X.csv.minisig` without `X.csv` is an orphan (a signed write
//! died between its two commits, or could not undo its signature). It is
//! removed only when it is older than `older_than` (the same rule as an
//! upload's: its writer may still be running) and no upload of `X.csv` is
//! pending; otherwise kept and reported.

use std::collections::{HashMap, HashSet};
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
use crate::store::naming::signed_file_of;
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
    // Any pending upload of a key (csvseal's or not) spares its signature.
    let pending: HashSet<String> = uploads.iter().map(|u| u.key.clone()).collect();
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
    // Listed after the uploads: an object committed in between is seen.
    let listed = read::list(&bucket, &prefix.key)?;
    for l in &listed {
        if !l.name.ends_with(".csv") {
            continue;
        }
        let path = bucket.url_of(&l.key);
        let verified = read::open(&bucket, &l.key, None)
            .and_then(|mut r| verify_reader(sandbox, None, &mut r, &path));
        report.record(path, verified);
    }
    let objects: HashSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    for l in &listed {
        let Some(csv) = signed_file_of(&l.name) else {
            continue;
        };
        if objects.contains(csv) {
            continue;
        }
        let csv_key = format!("{}{csv}", prefix.key);
        let path = bucket.url_of(&l.key);
        let age = now.duration_since(l.modified).unwrap_or_default();
        if pending.contains(&csv_key) || age <= older_than {
            // Not an orphan yet, as a local signature whose writer holds
            // its CSV's temp is not: left alone, and said why in the log.
            let reason = orphan_kept_reason(pending.contains(&csv_key), age, older_than);
            tracing::info!(file = %path.display(), reason = %reason, "signature kept");
            continue;
        }
        if dry_run {
            report.orphan_signatures.push(path);
            continue;
        }
        // Only the version judged an orphan: one a new writer has put
        // since is its own (and its writer puts it back if this races it).
        let still = |h: &Option<super::s3api::Head>| {
            let bare = |e: &str| e.trim_matches('"').to_owned();
            h.as_ref()
                .is_some_and(|h| Some(bare(&h.etag)) == l.etag.as_deref().map(bare))
        };
        match block_on(bucket.head(&l.key)).and_then(|h| {
            if still(&h) {
                read::delete(&bucket, &l.key).map(|()| true)
            } else {
                Ok(false)
            }
        }) {
            Ok(true) => report.orphan_signatures.push(path),
            Ok(false) => {}
            Err(e) => report.unreadable.push(Unreadable {
                path,
                error: format!("remove orphan signature: {e}"),
            }),
        }
    }
    Ok(report)
}

fn orphan_kept_reason(pending: bool, age: Duration, older_than: Duration) -> String {
    if pending {
        return "a signature without its object, whose upload is pending: its writer may be \
                between its two commits"
            .into();
    }
    format!(
        "a signature without its object, put {} ago, not more than --older-than {}: its writer \
         may be between its two commits",
        humantime::format_duration(Duration::from_secs(age.as_secs())),
        humantime::format_duration(older_than)
    )
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
