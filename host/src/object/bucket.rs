//! A connection to one bucket: `object_store`'s S3 client (reads, lists,
//! deletes) and the HTTP client and endpoint that [`super::signed`] uses
//! for the requests `object_store` does not offer (conditional completes,
//! upload listings, checksum reads).
//!
//! Credentials, region and endpoint come from the environment the way AWS
//! tools read them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL`, web identity, container and instance credentials),
//! with `--endpoint` taking precedence. They stay inside `object_store`'s
//! credential provider; only [`super::signed`] borrows one to sign.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::client::{ClientOptions, HttpClient, HttpConnector, ReqwestConnector};
use object_store::{BackoffConfig, RetryConfig};

use crate::error::{Error, Result};

/// How csvseal talks to object storage (the CLI's `--endpoint` and
/// `--retry-timeout`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectOptions {
    /// An S3-compatible endpoint, e.g. `http://127.0.0.1:8333`; default
    /// `AWS_ENDPOINT_URL`, else AWS itself.
    pub endpoint: Option<String>,
    /// Transient failures (connection errors, timeouts, 5xx, 429) are
    /// retried with exponential backoff for up to this long per request.
    pub retry_timeout: Duration,
    /// And at most this many times per request (default: no count, the
    /// time bounds it, so an outage shorter than `retry_timeout` is ridden
    /// through however fast the attempts fail).
    pub max_retries: usize,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        ObjectOptions {
            endpoint: None,
            retry_timeout: Duration::from_secs(60),
            max_retries: usize::MAX,
        }
    }
}

impl ObjectOptions {
    pub(crate) fn backoff(&self) -> BackoffConfig {
        BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        }
    }
}

/// One bucket, connected.
#[derive(Debug)]
pub struct Bucket {
    pub(crate) name: String,
    pub(crate) s3: AmazonS3,
    pub(crate) http: HttpClient,
    /// `{endpoint}/{bucket}` (path style) or the virtual-hosted endpoint.
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) options: ObjectOptions,
    /// What the probe found: [`CHECKSUMS_UNKNOWN`], [`CHECKSUMS_CHECKED`]
    /// or [`CHECKSUMS_UNCHECKED`] (which wins over the others).
    checksums: AtomicU8,
}

const CHECKSUMS_UNKNOWN: u8 = 0;
const CHECKSUMS_CHECKED: u8 = 1;
const CHECKSUMS_UNCHECKED: u8 = 2;

impl Bucket {
    /// Records whether the store was seen to refuse a part whose checksum
    /// is wrong. Once seen to take one, it stays unchecked for the run.
    pub(crate) fn note_checksums_checked(&self, checked: bool) {
        let v = if checked {
            CHECKSUMS_CHECKED
        } else {
            CHECKSUMS_UNCHECKED
        };
        self.checksums.fetch_max(v, Ordering::Relaxed);
    }

    /// True only if the probe saw the store refuse a wrong checksum (and
    /// never take one): then the checksum it reports is its own.
    pub(crate) fn checksums_checked(&self) -> bool {
        self.checksums.load(Ordering::Relaxed) == CHECKSUMS_CHECKED
    }
}

/// Per-request time limit: a part of [`super::upload::PART_SIZE`] must
/// get through in it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Connects to `bucket` (once per process per bucket and options).
pub fn connect(bucket: &str, options: &ObjectOptions) -> Result<Arc<Bucket>> {
    type Cache = Mutex<HashMap<(String, ObjectOptions), Arc<Bucket>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (bucket.to_owned(), options.clone());
    if let Some(b) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(b.clone());
    }
    let b = Arc::new(build(bucket, options)?);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, b.clone());
    Ok(b)
}

fn build(bucket: &str, options: &ObjectOptions) -> Result<Bucket> {
    let url = format!("s3://{bucket}/");
    let fail = |e: object_store::Error| {
        // object_store's configuration errors name keys, never values.
        Error::io(
            &url,
            "configure object store",
            std::io::Error::other(e.to_string()),
        )
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_checksum_algorithm(Checksum::SHA256);
    if let Some(endpoint) = &options.endpoint {
        // Wins over AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_S3.
        builder = builder
            .with_config(AmazonS3ConfigKey::Endpoint, endpoint)
            .with_config(AmazonS3ConfigKey::S3Endpoint, endpoint);
    }
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    let from = if options.endpoint.is_some() {
        "--endpoint"
    } else {
        "AWS_ENDPOINT_URL"
    };
    if let Some(e) = &endpoint {
        check_url(from, e)?;
    }
    // The credential providers' URLs end up in their errors too.
    for (key, name) in [
        (AmazonS3ConfigKey::StsEndpoint, "AWS_ENDPOINT_URL_STS"),
        (AmazonS3ConfigKey::MetadataEndpoint, "AWS_METADATA_ENDPOINT"),
        (
            AmazonS3ConfigKey::ContainerCredentialsFullUri,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ),
    ] {
        if let Some(url) = builder.get_config_value(&key) {
            check_url(name, &url)?;
        }
    }
    let region = builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let virtual_hosted = builder
        .get_config_value(&AmazonS3ConfigKey::VirtualHostedStyleRequest)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // An endpoint given as http:// is the user's explicit choice.
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    let client_options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_timeout(REQUEST_TIMEOUT)
        .with_connect_timeout(Duration::from_secs(5));
    let retry = RetryConfig {
        backoff: options.backoff(),
        max_retries: options.max_retries,
        retry_timeout: options.retry_timeout,
    };
    let s3 = builder
        .with_client_options(client_options.clone())
        .with_retry(retry)
        .build()
        .map_err(fail)?;
    let http = ReqwestConnector::default()
        .connect(&client_options)
        .map_err(fail)?;
    let endpoint = match (endpoint, virtual_hosted) {
        (Some(e), true) => e.trim_end_matches('/').to_owned(),
        (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    };
    Ok(Bucket {
        name: bucket.to_owned(),
        s3,
        http,
        endpoint,
        region,
        options: options.clone(),
        checksums: AtomicU8::new(CHECKSUMS_UNKNOWN),
    })
}

/// Refuses a URL with credentials in it (`user:password@`) or a query or
/// fragment (a signed URL's signature, a token): the HTTP stack puts the
/// whole URL in its errors, so they would be printed and logged. The
/// message shows the URL with those parts replaced by `***`.
fn check_url(from: &str, url: &str) -> Result<()> {
    let what = if url.contains('@') {
        "credentials (user:password@)"
    } else if url.contains(['?', '#']) {
        "a query string or fragment"
    } else {
        return Ok(());
    };
    Err(Error::Usage(format!(
        "{from} {}: has {what} in it, which would be shown in errors and logs; \
         an endpoint is scheme://host[:port][/path], and credentials go in \
         AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN",
        redacted(url)
    )))
}

/// `url` with any `user:password@` and any query or fragment as `***`.
fn redacted(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    // Everything up to the last `@`, wherever it is: a password may hold
    // a `/`, `?` or `#` (so this comes before the query is cut).
    let (user, rest) = match rest.rfind('@') {
        Some(i) => ("***@", &rest[i + 1..]),
        None => ("", rest),
    };
    let (rest, cut) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], "?***"),
        None => (rest, ""),
    };
    format!("{scheme}{user}{rest}{cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_secrets_are_refused_and_shown_without_them() {
        for (url, shown) in [
            ("http://user:PASSW0RD@127.0.0.1:9", "http://***@127.0.0.1:9"),
            ("http://us:SE/CR@ET@h/p", "http://***@h/p"),
            ("https://h/p?X-Amz-Signature=PASSW0RD", "https://h/p?***"),
            ("https://h#PASSW0RD", "https://h?***"),
            ("u:PASSW0RD@h?t=PASSW0RD", "***@h?***"),
            ("http://u:PA?SSW0RD@h", "http://***@h"),
            ("http://u:PA#SSW0RD@h/p", "http://***@h/p"),
        ] {
            let e = check_url("--endpoint", url).unwrap_err().to_string();
            assert!(!e.contains("PASSW0RD"), "{e}");
            assert!(e.contains(shown), "{e}");
        }
        for url in ["http://127.0.0.1:8333", "https://s3.example.com/base/"] {
            check_url("--endpoint", url).unwrap();
        }
    }
}
