//! The record of csvseal's own multipart uploads, so that `recover` aborts
//! those and nothing else.
//!
//! S3 lists incomplete uploads by key and id only (the metadata set at
//! their creation is not readable until they complete), so an upload
//! cannot say it is csvseal's. Instead, right after starting one, the
//! writer puts a small marker object `{dir}.csvseal-uploads/{NAME}` next
//! to the target, `NAME` being the SHA-256 (hex) of the key and the
//! upload id, its body naming the write id, key and upload; the marker is
//! deleted once the upload is completed or aborted. A user's own upload of
//! `report.csv` has no marker, and `recover` leaves it alone. A writer
//! killed between starting the upload and putting the marker (one
//! request) leaves an upload no marker names: the bucket's lifecycle rule
//! for incomplete uploads is the backstop for that.

use sha2::{Digest, Sha256};

use super::bucket::Bucket;
use super::read;
use super::s3api::Condition;
use crate::error::Result;

/// The directory of markers, in the directory of the uploads they name.
pub(crate) const DIR: &str = ".csvseal-uploads";

/// The directory part of `key`: up to and including its last `/`.
fn dir_of(key: &str) -> &str {
    &key[..key.rfind('/').map_or(0, |i| i + 1)]
}

/// The marker's name for upload `upload_id` of `key`.
pub(crate) fn marker_name(key: &str, upload_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(b"\n");
    h.update(upload_id.as_bytes());
    hex::encode(h.finalize())
}

fn marker_key(key: &str, upload_id: &str) -> String {
    format!("{}{DIR}/{}", dir_of(key), marker_name(key, upload_id))
}

/// Records that upload `upload_id` of `key` is this write's.
pub(crate) async fn record(b: &Bucket, key: &str, upload_id: &str, write_id: &str) -> Result<()> {
    let body = format!(
        "csvseal multipart upload (deleted when the upload completes or is aborted)\n\
         write-id {write_id}\nkey {key}\nupload-id {upload_id}\n"
    );
    let sha: [u8; 32] = Sha256::digest(body.as_bytes()).into();
    // Its name is unique to this upload: nothing to clobber.
    b.put_conditional(
        &marker_key(key, upload_id),
        body.into_bytes().into(),
        sha,
        &Condition::Create,
        write_id,
    )
    .await?;
    Ok(())
}

/// Deletes the marker of an upload that was completed or aborted. A
/// failure is logged: `recover` deletes markers whose upload is gone.
pub(crate) fn forget(b: &Bucket, key: &str, upload_id: &str) {
    let marker = marker_key(key, upload_id);
    if let Err(e) = read::delete(b, &marker) {
        tracing::warn!(file = %b.url_of(&marker).display(), cause = %e,
            "could not delete the marker of a finished upload; `csvseal recover` will");
    }
}

/// The markers in directory `dir` (a prefix ending in `/`, or empty).
pub(crate) fn markers(b: &Bucket, dir: &str) -> Result<Vec<read::Listed>> {
    read::list(b, &format!("{dir}{DIR}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_sit_next_to_the_upload_and_name_it_alone() {
        let k = marker_key("a/b/report.csv", "U1");
        assert!(k.starts_with("a/b/.csvseal-uploads/"), "{k}");
        assert_eq!(k.len(), "a/b/.csvseal-uploads/".len() + 64);
        assert!(marker_key("top.csv", "U1").starts_with(".csvseal-uploads/"));
        assert_ne!(marker_name("a.csv", "U1"), marker_name("a.csv", "U2"));
        assert_ne!(marker_name("a.csv", "U1"), marker_name("b.csv", "U1"));
    }
}
