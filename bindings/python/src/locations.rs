//! Where sealed files live, for the extension: a local path or an
//! `s3://bucket/key` location (parsed by the host's
//! [`csvseal::location::Location`], the CLI's parser), the object-store
//! options from Python, and [`open_read`]: one way for any native code to
//! open a location's file for reading.
//!
//! Credentials come from the environment (`AWS_*`), as for the CLI; they
//! stay inside the host's object-store client. An endpoint URL holding a
//! password, a query or a fragment is refused with the secret replaced by
//! `***` (the host's check), so no secret reaches an exception or a log.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use csvseal::location::Location;
use csvseal::object::ObjectOptions;

/// Object-store options as the Python layer passes them: (endpoint,
/// retry timeout in seconds); `None` for either: the CLI's default
/// (`AWS_ENDPOINT_URL`, else AWS; 60 s).
pub(crate) type ObjectArg = Option<(Option<String>, Option<f64>)>;

/// The options for `arg`.
pub(crate) fn object_options(arg: ObjectArg) -> csvseal::Result<ObjectOptions> {
    let (endpoint, retry) = arg.unwrap_or((None, None));
    let mut options = ObjectOptions {
        endpoint,
        ..ObjectOptions::default()
    };
    if let Some(secs) = retry {
        options.retry_timeout = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| d.as_secs() <= 100 * 365 * 86_400)
            .ok_or_else(|| {
                csvseal::Error::Usage(format!(
                    "retry_timeout={secs}: must be between 0 and 100 years"
                ))
            })?;
    }
    Ok(options)
}

/// Parses a location as the CLI does (`s3://…`: object storage; another
/// `scheme://`: refused; anything else: a local path).
pub(crate) fn parse(path: &Path) -> csvseal::Result<Location> {
    Location::from_path(path)
}

/// Opens the file at `location` for reading, from its start, and returns
/// it with the label reports and errors give it (the path, or the
/// `s3://bucket/key` URL).
///
/// - A local path is opened as `csvseal.verify(path)` opens it
///   (`csvseal::store::by_path::open_file`: its directory through cap-std,
///   a directory refused, a pipe or device read once, in order).
/// - An object is a streamed GET through the host's object reader (the
///   CLI's code: credentials from `AWS_*`, retries for `retry_timeout`).
///
/// Call it without the GIL: it does I/O. (The entry point for native
/// readers of locations, e.g. `csvseal.read("s3://…")`.)
pub(crate) fn open_read(
    location: &Path,
    object: &ObjectOptions,
) -> csvseal::Result<(Box<dyn Read + Send>, PathBuf)> {
    match parse(location)? {
        Location::Local(path) => {
            let file = csvseal::store::by_path::open_file(&path, "open")?;
            Ok((Box::new(file.into_std()), path))
        }
        Location::Object(url) => {
            let reader = csvseal::object::open_object(&url, object)?;
            Ok((Box::new(reader), url.to_path()))
        }
    }
}
