//! The S3 operations csvseal's commit protocol is made of, as signed
//! requests (see [`super::signed`]): conditional PutObject, the multipart
//! upload (create, parts with SHA-256 checksums, conditional complete,
//! abort), ListMultipartUploads and HeadObject with the stored checksum.

use std::path::PathBuf;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, Method, StatusCode};
use object_store::PutPayload;
use object_store::client::HttpRequestBody;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::bucket::Bucket;
use super::signed::{Req, Resp};
use crate::error::{Error, Result};

/// Object metadata csvseal sets on what it commits: a random id per write,
/// so a writer can tell its own commit from another's when a retried
/// request's answer is ambiguous.
pub(crate) const WRITE_ID_HEADER: &str = "x-amz-meta-csvseal-write-id";
const CHECKSUM_HEADER: &str = "x-amz-checksum-sha256";

/// What a commit must not clobber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// The key must not exist (`If-None-Match: *`).
    Create,
    /// The key must still hold this ETag (`If-Match`), for `--replace`.
    Match(String),
}

/// The answer to a conditional commit.
#[derive(Debug)]
pub(crate) enum Committed {
    /// Done; the new object's ETag.
    Done(String),
    /// `412`: the condition did not hold (or, after a retry, our own
    /// earlier attempt made it false: the caller checks the write id).
    PreconditionFailed,
}

/// A multipart upload that was started and never completed or aborted.
#[derive(Debug, Clone)]
pub(crate) struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<OffsetDateTime>,
}

/// What HeadObject says about an object.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub etag: String,
    /// `x-amz-checksum-sha256` when the store keeps and reports one: base64,
    /// with `-N` for a multipart object's composite checksum.
    pub checksum_sha256: Option<String>,
    pub write_id: Option<String>,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn name(s: &'static str) -> HeaderName {
    HeaderName::from_static(s)
}

impl Bucket {
    /// `s3://bucket/key`, for messages.
    pub(crate) fn url_of(&self, key: &str) -> PathBuf {
        PathBuf::from(format!("s3://{}/{key}", self.name))
    }

    /// An I/O-class error about `key`.
    pub(crate) fn error(&self, key: &str, op: &'static str, message: impl Into<String>) -> Error {
        Error::io(self.url_of(key), op, std::io::Error::other(message.into()))
    }

    async fn call(&self, key: &str, op: &'static str, req: &Req<'_>) -> Result<Resp> {
        self.send(req).await.map_err(|e| self.error(key, op, e.0))
    }

    fn unexpected(&self, key: &str, op: &'static str, resp: &Resp) -> Error {
        self.error(key, op, resp.error_text())
    }

    /// PutObject of a whole (small) sealed file under `cond`, with its
    /// SHA-256 for the store to check.
    pub(crate) async fn put_conditional(
        &self,
        key: &str,
        body: PutPayload,
        sha256: [u8; 32],
        cond: &Condition,
        write_id: &str,
    ) -> Result<Committed> {
        self.put_typed(key, body, sha256, cond, write_id, "text/csv")
            .await
    }

    /// [`Self::put_conditional`] of an object of another content type.
    pub(crate) async fn put_typed(
        &self,
        key: &str,
        body: PutPayload,
        sha256: [u8; 32],
        cond: &Condition,
        write_id: &str,
        content_type: &str,
    ) -> Result<Committed> {
        let op = "put object";
        let req = Req {
            body: HttpRequestBody::from(body),
            body_sha256: Some(sha256),
            retry_conflict: true,
            ..with_condition(Req::new(Method::PUT, Some(key)), cond)
                .header(name(CHECKSUM_HEADER), b64(&sha256))
                .header(name(WRITE_ID_HEADER), write_id)
                .header(http::header::CONTENT_TYPE, content_type)
        };
        let resp = self.call(key, op, &req).await?;
        commit_outcome(self, key, op, resp)
    }

    /// Starts a multipart upload whose parts carry SHA-256 checksums.
    pub(crate) async fn create_upload(&self, key: &str, write_id: &str) -> Result<String> {
        let op = "create multipart upload";
        let req = Req::new(Method::POST, Some(key))
            .query("uploads", "")
            .header(name("x-amz-checksum-algorithm"), "SHA256")
            .header(name(WRITE_ID_HEADER), write_id)
            .header(http::header::CONTENT_TYPE, "text/csv");
        let resp = self.call(key, op, &req).await?;
        if !resp.status.is_success() {
            return Err(self.unexpected(key, op, &resp));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Initiated {
            upload_id: String,
        }
        let r: Initiated = parse_xml(&resp.body).map_err(|e| self.error(key, op, e))?;
        Ok(r.upload_id)
    }

    /// Uploads part `number` (from 1); returns its ETag.
    pub(crate) async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: usize,
        body: PutPayload,
        sha256: [u8; 32],
    ) -> Result<String> {
        let op = "upload part";
        let resp = self
            .send_part(key, upload_id, number, body, sha256, sha256)
            .await?;
        if !resp.status.is_success() {
            return Err(self.unexpected(key, op, &resp));
        }
        resp.header("etag")
            .map(str::to_owned)
            .ok_or_else(|| self.error(key, op, "the store returned no ETag for the part"))
    }

    /// Uploads part `number` claiming `claimed` as its SHA-256 (its real
    /// one, `sha256`, signs the request). Whether the store took it: a
    /// store that checks the checksums it is sent refuses a wrong claim.
    pub(crate) async fn part_taken_with_checksum(
        &self,
        key: &str,
        upload_id: &str,
        number: usize,
        body: PutPayload,
        sha256: [u8; 32],
        claimed: [u8; 32],
    ) -> Result<bool> {
        let resp = self
            .send_part(key, upload_id, number, body, sha256, claimed)
            .await?;
        match resp.status {
            s if s.is_success() => Ok(true),
            s if s.is_client_error() => Ok(false),
            _ => Err(self.unexpected(key, "upload part", &resp)),
        }
    }

    async fn send_part(
        &self,
        key: &str,
        upload_id: &str,
        number: usize,
        body: PutPayload,
        sha256: [u8; 32],
        claimed: [u8; 32],
    ) -> Result<Resp> {
        let req = Req {
            body: HttpRequestBody::from(body),
            body_sha256: Some(sha256),
            ..Req::new(Method::PUT, Some(key))
                .query("partNumber", number.to_string())
                .query("uploadId", upload_id)
                .header(name(CHECKSUM_HEADER), b64(&claimed))
        };
        self.call(key, "upload part", &req).await
    }

    /// CompleteMultipartUpload under `cond`. `parts`: each part's ETag and
    /// SHA-256, in order.
    pub(crate) async fn complete_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(String, [u8; 32])],
        cond: &Condition,
    ) -> Result<Committed> {
        let op = "complete multipart upload";
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, (etag, sha)) in parts.iter().enumerate() {
            xml += &format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag><ChecksumSHA256>{}</ChecksumSHA256></Part>",
                i + 1,
                xml_escape(etag),
                b64(sha)
            );
        }
        xml += "</CompleteMultipartUpload>";
        let req = Req {
            body: HttpRequestBody::from(Bytes::from(xml)),
            retry_conflict: true,
            error_in_ok: true,
            ..with_condition(Req::new(Method::POST, Some(key)), cond).query("uploadId", upload_id)
        };
        let resp = self.call(key, op, &req).await?;
        commit_outcome(self, key, op, resp)
    }

    /// Aborts an upload: its parts are deleted and it can never complete.
    /// One already gone counts as aborted.
    pub(crate) async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<()> {
        let op = "abort multipart upload";
        let req = Req::new(Method::DELETE, Some(key)).query("uploadId", upload_id);
        let resp = self.call(key, op, &req).await?;
        if resp.status.is_success() || resp.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(self.unexpected(key, op, &resp))
    }

    /// Every incomplete multipart upload whose key starts with `prefix`.
    pub(crate) async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>> {
        let op = "list multipart uploads";
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Listing {
            #[serde(default)]
            upload: Vec<Upload>,
            is_truncated: Option<bool>,
            next_key_marker: Option<String>,
            next_upload_id_marker: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Upload {
            key: String,
            upload_id: String,
            initiated: Option<String>,
        }
        let mut out = vec![];
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut req = Req::new(Method::GET, None)
                .query("uploads", "")
                .query("prefix", prefix);
            if let Some((k, u)) = &markers {
                req = req.query("key-marker", k).query("upload-id-marker", u);
            }
            let resp = self.call(prefix, op, &req).await?;
            if !resp.status.is_success() {
                return Err(self.unexpected(prefix, op, &resp));
            }
            let page: Listing = parse_xml(&resp.body).map_err(|e| self.error(prefix, op, e))?;
            out.extend(page.upload.into_iter().map(|u| {
                PendingUpload {
                    initiated: u
                        .initiated
                        .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok()),
                    key: u.key,
                    upload_id: u.upload_id,
                }
            }));
            match (
                page.is_truncated,
                page.next_key_marker,
                page.next_upload_id_marker,
            ) {
                (Some(true), Some(k), Some(u))
                    if markers.as_ref() != Some(&(k.clone(), u.clone())) =>
                {
                    markers = Some((k, u))
                }
                _ => return Ok(out),
            }
        }
    }

    /// HeadObject, asking for the stored checksum; `None` if there is no
    /// such object.
    pub(crate) async fn head(&self, key: &str) -> Result<Option<Head>> {
        let op = "head object";
        let req = Req::new(Method::HEAD, Some(key)).header(name("x-amz-checksum-mode"), "ENABLED");
        let resp = self.call(key, op, &req).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status.is_success() {
            return Err(self.unexpected(key, op, &resp));
        }
        let etag = resp
            .header("etag")
            .ok_or_else(|| self.error(key, op, "the store returned no ETag"))?
            .to_owned();
        Ok(Some(Head {
            etag,
            checksum_sha256: resp.header(CHECKSUM_HEADER).map(str::to_owned),
            write_id: resp.header(WRITE_ID_HEADER).map(str::to_owned),
        }))
    }
}

fn with_condition<'a>(req: Req<'a>, cond: &Condition) -> Req<'a> {
    match cond {
        Condition::Create => req.header(http::header::IF_NONE_MATCH, "*"),
        Condition::Match(etag) => req.header(http::header::IF_MATCH, etag.clone()),
    }
}

fn commit_outcome(b: &Bucket, key: &str, op: &'static str, resp: Resp) -> Result<Committed> {
    match resp.status {
        s if s.is_success() => {
            let etag = match resp.header("etag") {
                Some(e) => e.to_owned(),
                None => {
                    #[derive(Deserialize)]
                    #[serde(rename_all = "PascalCase")]
                    struct Completed {
                        e_tag: String,
                    }
                    let c: Completed = parse_xml(&resp.body).map_err(|e| b.error(key, op, e))?;
                    c.e_tag
                }
            };
            Ok(Committed::Done(etag))
        }
        StatusCode::PRECONDITION_FAILED => Ok(Committed::PreconditionFailed),
        // An upload a retry finds gone was completed by an earlier attempt,
        // or aborted (by `recover`): the caller checks the write id.
        StatusCode::NOT_FOUND
            if resp.attempts > 1 && resp.error_code().as_deref() == Some("NoSuchUpload") =>
        {
            Ok(Committed::PreconditionFailed)
        }
        _ => Err(b.unexpected(key, op, &resp)),
    }
}

fn parse_xml<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("reply is not UTF-8: {e}"))?;
    quick_xml::de::from_str(text).map_err(|e| format!("unexpected reply from the store: {e}"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_etags() {
        assert_eq!(xml_escape("\"ab&c\""), "&quot;ab&amp;c&quot;");
    }
}
