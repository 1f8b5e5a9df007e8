//! Options for object-store locations (`s3://bucket/prefix/`), global to
//! every subcommand that takes a location.

use std::sync::OnceLock;
use std::time::Duration;

use clap::Args;
use csvseal::object::ObjectOptions;

#[derive(Args)]
pub struct ObjectArgs {
    /// S3-compatible endpoint for s3:// locations, e.g. http://127.0.0.1:8333
    /// [default: $AWS_ENDPOINT_URL, else AWS]. Credentials come from the
    /// usual AWS_* variables and are never printed or logged.
    #[arg(long, global = true, value_name = "URL")]
    endpoint: Option<String>,
    /// How long one object-store request is retried (with backoff) through
    /// transient failures before the command fails.
    #[arg(long, global = true, value_name = "DURATION", default_value = "60s",
          value_parser = super::args::parse_duration)]
    retry_timeout: Duration,
}

static OPTIONS: OnceLock<ObjectOptions> = OnceLock::new();

/// Records the options for the run.
pub fn init(args: &ObjectArgs) {
    let _ = OPTIONS.set(ObjectOptions {
        endpoint: args.endpoint.clone(),
        retry_timeout: args.retry_timeout,
        ..ObjectOptions::default()
    });
}

/// The run's object-store options.
pub fn options() -> ObjectOptions {
    OPTIONS.get().cloned().unwrap_or_default()
}
