//! Raw S3 requests, signed with SigV4, for what `object_store` does not
//! offer: completing a multipart upload with `If-None-Match: *` or
//! `If-Match`, uploading parts with csvseal's own SHA-256, listing and
//! aborting uploads, reading an object's stored checksum.
//!
//! This is the only code that touches a credential: it borrows one from
//! `object_store`'s provider for the time it takes to sign, into an
//! `Authorization` header (never into a URL), and neither logs it nor puts
//! it in an error. Transient failures are retried here with exponential
//! backoff and jitter, within the bucket's [`super::ObjectOptions`].

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use object_store::aws::AwsAuthorizer;
use object_store::client::{HttpErrorKind, HttpRequest, HttpRequestBody};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::bucket::Bucket;

/// AWS's URI encoding: everything but unreserved characters (and `/` in
/// paths), as `object_store` encodes keys.
const QUERY_SET: AsciiSet = NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const PATH_SET: AsciiSet = QUERY_SET.remove(b'/');

/// One request.
#[derive(Debug, Clone)]
pub(crate) struct Req<'a> {
    pub method: Method,
    /// The object's key; `None` addresses the bucket itself.
    pub key: Option<&'a str>,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(HeaderName, String)>,
    pub body: HttpRequestBody,
    /// SHA-256 of the body when the caller has it (spares hashing it again).
    pub body_sha256: Option<[u8; 32]>,
    /// Retry `409 Conflict` (S3's answer to concurrent conditional writes
    /// it could not order).
    pub retry_conflict: bool,
    /// A `200 OK` whose body is an `<Error>` is a failure (S3 does this for
    /// CompleteMultipartUpload).
    pub error_in_ok: bool,
}

impl<'a> Req<'a> {
    pub fn new(method: Method, key: Option<&'a str>) -> Self {
        Req {
            method,
            key,
            query: vec![],
            headers: vec![],
            body: HttpRequestBody::empty(),
            body_sha256: None,
            retry_conflict: false,
            error_in_ok: false,
        }
    }

    pub fn query(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.query.push((k, v.into()));
        self
    }

    pub fn header(mut self, k: HeaderName, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
}

/// A response (any status), its body read whole (S3's replies to these
/// requests are small XML documents).
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// How many times the request was sent (more than 1: a retry happened,
    /// so an earlier attempt may have taken effect).
    pub attempts: u32,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// S3's error code and message from the body, or the status.
    pub fn error_text(&self) -> String {
        match parse_error(&self.body) {
            Some((code, message)) => format!("HTTP {}: {code}: {message}", self.status.as_u16()),
            None => format!("HTTP {}", self.status),
        }
    }

    /// S3's error code, if the body has one.
    pub fn error_code(&self) -> Option<String> {
        parse_error(&self.body).map(|(c, _)| c)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct S3Error {
    code: Option<String>,
    message: Option<String>,
}

fn parse_error(body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("<Error>") {
        return None;
    }
    let e: S3Error = quick_xml::de::from_str(text).ok()?;
    Some((e.code.unwrap_or_default(), e.message.unwrap_or_default()))
}

/// A request that could not get an answer (after retries).
#[derive(Debug)]
pub(crate) struct SendError(pub String);

impl Bucket {
    /// The request's URL: the endpoint, the percent-encoded key, the query.
    fn url(&self, req: &Req<'_>) -> String {
        let mut url = format!("{}/", self.endpoint);
        if let Some(key) = req.key {
            url.extend(utf8_percent_encode(key, &PATH_SET));
        }
        for (i, (k, v)) in req.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            if !v.is_empty() {
                let _ = write!(url, "={}", utf8_percent_encode(v, &QUERY_SET));
            }
        }
        url
    }

    /// Builds and signs one attempt of `req`.
    async fn signed(&self, req: &Req<'_>) -> Result<HttpRequest, String> {
        let mut request = http::Request::builder()
            .method(req.method.clone())
            .uri(self.url(req))
            .body(req.body.clone())
            .map_err(|e| format!("bad request: {e}"))?;
        let headers = request.headers_mut();
        for (k, v) in &req.headers {
            let v = HeaderValue::from_str(v).map_err(|e| format!("bad header {k}: {e}"))?;
            headers.append(k.clone(), v);
        }
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(req.body.content_length()),
        );
        let credential = self
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(|e| format!("cannot get credentials: {e}"))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, req.body_sha256.as_ref().map(|d| &d[..]))
            .map_err(|e| format!("cannot sign request: {e}"))?;
        Ok(request)
    }

    /// Sends `req`, retrying transient failures (connection errors,
    /// timeouts, 5xx, 429, and 409 if asked) with backoff; returns the
    /// first other response, whatever its status.
    pub(crate) async fn send(&self, req: &Req<'_>) -> Result<Resp, SendError> {
        let started = Instant::now();
        let options = &self.options;
        let mut delay = options.backoff().init_backoff;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let failure = match self.send_once(req).await {
                Ok(resp) if !self.retryable(req, &resp) => return Ok(Resp { attempts, ..resp }),
                Ok(resp) => resp.error_text(),
                Err(Fatal(e)) => return Err(SendError(e)),
                Err(Transient(e)) => e,
            };
            let may_retry = (attempts as usize) <= options.max_retries
                && started.elapsed() + delay < options.retry_timeout;
            if !may_retry {
                return Err(SendError(format!(
                    "{failure} (gave up after {attempts} attempt(s) in {:.1?})",
                    started.elapsed()
                )));
            }
            tracing::info!(method = %req.method, key = req.key.unwrap_or(""), attempt = attempts,
                cause = %failure, "object store request failed; retrying");
            tokio::time::sleep(jitter(delay)).await;
            delay = (delay * 2).min(options.backoff().max_backoff);
        }
    }

    async fn send_once(&self, req: &Req<'_>) -> Result<Resp, Failure> {
        let request = self.signed(req).await.map_err(Fatal)?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| match e.kind() {
                HttpErrorKind::Decode | HttpErrorKind::Unknown if !is_io(&e) => {
                    Fatal(error_chain(&e))
                }
                _ => Transient(error_chain(&e)),
            })?;
        let (parts, body) = response.into_parts();
        // A body cut off midway is a transient failure like any other.
        let body = body.bytes().await.map_err(|e| Transient(error_chain(&e)))?;
        Ok(Resp {
            status: parts.status,
            headers: parts.headers,
            body,
            attempts: 1,
        })
    }

    fn retryable(&self, req: &Req<'_>, resp: &Resp) -> bool {
        let s = resp.status;
        s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT
            || (req.retry_conflict && s == StatusCode::CONFLICT)
            || (req.error_in_ok && s.is_success() && parse_error(&resp.body).is_some())
    }
}

enum Failure {
    Fatal(String),
    Transient(String),
}
use Failure::{Fatal, Transient};

/// Whether an "unknown" HTTP error is an I/O failure underneath (worth a retry).
fn is_io(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// An error and its causes on one line. `object_store` strips URLs from
/// HTTP errors; ours carry no credentials anyway (they are in a header).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let text = c.to_string();
        if !s.contains(&text) {
            s += ": ";
            s += &text;
        }
        source = c.source();
    }
    s
}

/// Between half and all of `d`, so that many writers retrying at once
/// spread out.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d / 2 + d.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_errors() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>PreconditionFailed</Code><Message>At least one</Message><Key>k</Key></Error>";
        assert_eq!(
            parse_error(body),
            Some(("PreconditionFailed".into(), "At least one".into()))
        );
        assert_eq!(parse_error(b"<CompleteMultipartUploadResult/>"), None);
    }

    #[test]
    fn jitter_stays_in_range() {
        let d = Duration::from_millis(400);
        let j = jitter(d);
        assert!(j >= d / 2 && j <= d, "{j:?}");
    }
}
