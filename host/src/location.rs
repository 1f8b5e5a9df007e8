//! Where sealed files live, parsed in one place: a plain path is a local
//! directory or file; `s3://bucket/prefix/` is object storage.
//!
//! Every command that takes a location (`write --to`, `verify`, `verify
//! --series`, `recover`, `audit`) parses it here and dispatches on the
//! result: [`Location::Local`] to `store/` (today's code, unchanged), and
//! [`Location::Object`] to `object/`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A parsed location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory or file.
    Local(PathBuf),
    /// An object or a prefix in an S3-compatible bucket.
    Object(ObjectUrl),
}

/// `s3://bucket/key`: a bucket and a key (or a key prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectUrl {
    pub bucket: String,
    /// The key, or the prefix: no leading `/`; a prefix is empty or ends in `/`.
    pub key: String,
}

const S3_SCHEME: &str = "s3://";

impl Location {
    /// Parses `s`: `s3://bucket/...` is object storage, a string with another
    /// `scheme://` is refused, anything else is a local path.
    pub fn parse(s: &str) -> Result<Location> {
        if let Some(rest) = s.strip_prefix(S3_SCHEME) {
            return ObjectUrl::parse_rest(s, rest).map(Location::Object);
        }
        if let Some((scheme, _)) = s.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(Error::Usage(format!(
                "{s}: unsupported location scheme {scheme:?}: csvseal writes to local paths and to S3-compatible stores (s3://bucket/prefix/)"
            )));
        }
        Ok(Location::Local(PathBuf::from(s)))
    }

    /// [`Location::parse`] for a path-typed argument.
    pub fn from_path(p: &Path) -> Result<Location> {
        match p.to_str() {
            Some(s) => Location::parse(s),
            // Not UTF-8: cannot be a URL.
            None => Ok(Location::Local(p.to_owned())),
        }
    }
}

impl ObjectUrl {
    fn parse_rest(whole: &str, rest: &str) -> Result<ObjectUrl> {
        let bad = |why: &str| Err(Error::Usage(format!("{whole}: {why}")));
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return bad("no bucket: expected s3://bucket/prefix/");
        }
        // S3's bucket rules (virtual-host safe): 3–63 of a-z 0-9 . -
        let ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !ok {
            return bad("bucket names are 3 to 63 characters of a-z, 0-9, '.' and '-'");
        }
        if !key.is_empty() {
            let trimmed = key.strip_suffix('/').unwrap_or(key);
            if let Err(e) = object_store::path::Path::parse(trimmed) {
                return bad(&format!("not a usable object key: {e}"));
            }
        }
        Ok(ObjectUrl {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// This URL as a prefix (a "directory"): the key with a trailing `/`
    /// unless it is empty.
    pub fn as_prefix(&self) -> ObjectUrl {
        let mut key = self.key.clone();
        if !key.is_empty() && !key.ends_with('/') {
            key.push('/');
        }
        ObjectUrl {
            bucket: self.bucket.clone(),
            key,
        }
    }

    /// The object `name` under this prefix.
    pub fn join(&self, name: &str) -> ObjectUrl {
        ObjectUrl {
            bucket: self.bucket.clone(),
            key: format!("{}{name}", self.as_prefix().key),
        }
    }

    /// The last segment of the key (a file name).
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }

    /// The URL as a path, for reports and errors (which carry paths).
    pub fn to_path(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{S3_SCHEME}{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("out/dir").unwrap(),
            Location::Local("out/dir".into())
        );
        let Location::Object(u) = Location::parse("s3://my-bucket/a/b/").unwrap() else {
            panic!()
        };
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("my-bucket", "a/b/"));
        assert_eq!(u.join("t.csv").to_string(), "s3://my-bucket/a/b/t.csv");
        let Location::Object(u) = Location::parse("s3://bkt/a/b").unwrap() else {
            panic!()
        };
        assert_eq!(u.as_prefix().key, "a/b/");
        assert_eq!(u.file_name(), "b");
        let Location::Object(u) = Location::parse("s3://bkt").unwrap() else {
            panic!()
        };
        assert_eq!(u.as_prefix().key, "");
        assert_eq!(u.join("x.csv").key, "x.csv");
    }

    #[test]
    fn refuses_bad_locations() {
        for bad in [
            "s3://",
            "s3:///key",
            "s3://Upper/key",
            "s3://ab/key",
            "s3://bkt/a//b",
            "s3://bkt/a/../b",
            "gs://bkt/x",
            "https://host/x",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
