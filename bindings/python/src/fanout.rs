//! The native side of `csvseal.dask`: an audit or a series check whose
//! files are verified by tasks elsewhere (Dask workers), and whose report
//! is built on the caller by the host's own code, the CLI's.
//!
//! - [`audit`] runs `csvseal::jobs::audit::audit_source` over the
//!   location's own source (local directory or `s3://` prefix), listed
//!   once; at the audit's plan ([`AuditSource::will_verify`]) it hands the
//!   files to verify to a Python callable (`run`), which fans them out and
//!   returns one outcome per file; the audit's `verify` then returns those.
//! - [`verify_series`] lists the series once, has `run` verify its files,
//!   and builds the report with `csvseal::jobs::series::series_report`.
//! - [`verify_task`] is what a worker runs: one file whole, or part `k` of
//!   `n` (`csvseal::verify::remote`); [`merge_parts`] is the host's exact
//!   merge of the parts, on the caller.
//!
//! An outcome is the host's `TaskOutcome` as JSON. A file counts as
//! verified only with a `report` a worker sent; a missing, extra or
//! malformed outcome stops the audit (nothing is reported or saved).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use csvseal::jobs::audit::{AuditOptions, AuditSource, Entry, Identity, StateStore, ToVerify};
use csvseal::location::Location;
use csvseal::verify::remote::{self, LocalRanged, TaskOutcome};
use csvseal::{Error, Sandbox, Schema, VerifyReport};
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::locations::{self, ObjectArg};
use crate::readers::{ErrorSlot, finish, keep, new_slot};
use crate::sandboxes::{self, LimitsKey};
use crate::{SchemaArg, schema};

/// One task as Python sees it: (name, path or URL, size, identity as JSON
/// or None).
type Task = (String, String, u64, Option<String>);

/// Verifies the file at `location` (a path or an `s3://` URL) as a task:
/// whole when `n <= 1`, else part `k` of `n`. With `identity` (JSON, as
/// the audit listed the file), a file that is no longer that one fails.
/// Returns the outcome as JSON. Never raises for the file's own problems.
#[pyfunction]
#[pyo3(signature = (location, k, n, identity, schema_arg, limits, object=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_task(
    py: Python<'_>,
    location: PathBuf,
    k: usize,
    n: usize,
    identity: Option<String>,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    object: ObjectArg,
) -> PyResult<String> {
    let outcome = py.detach(|| {
        let run = || -> csvseal::Result<TaskOutcome> {
            let sandbox = sandboxes::get(limits)?;
            let schema = schema(schema_arg);
            let id: Option<Identity> = identity
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| Error::Usage(format!("identity: {e}")))?;
            let file: Box<dyn remote::Ranged> = match locations::parse(&location)? {
                Location::Local(path) => Box::new(open_local(&path, id.as_ref())?),
                Location::Object(url) => Box::new(csvseal::object::open_ranged(
                    &url,
                    &locations::object_options(object)?,
                    id.map(|i| i.ino),
                )?),
            };
            Ok(task(&sandbox, schema.as_ref(), file.as_ref(), k, n))
        };
        match run() {
            Ok(outcome) => outcome,
            Err(_) if n > 1 => TaskOutcome::Unsplit,
            Err(e) => TaskOutcome::Failed {
                message: e.to_string(),
            },
        }
    });
    serde_json::to_string(&outcome).map_err(|e| to_py(Error::Sandbox(e.to_string())))
}

fn task(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    file: &dyn remote::Ranged,
    k: usize,
    n: usize,
) -> TaskOutcome {
    if n <= 1 {
        remote::verify_whole(sandbox, schema, file)
    } else {
        remote::verify_part(sandbox, schema, file, k, n)
    }
}

/// Opens a local file without following a link at its name or blocking on
/// a FIFO; only a regular file, and with `id` only that very file.
fn open_local(path: &Path, id: Option<&Identity>) -> csvseal::Result<LocalRanged> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, "open", e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "stat", e))?;
    if !meta.is_file() {
        return Err(Error::io(
            path,
            "open",
            std::io::Error::other("not a regular file"),
        ));
    }
    if id.is_some_and(|id| *id != csvseal::jobs::audit::identity_of(&meta)) {
        return Err(Error::io(
            path,
            "open",
            std::io::Error::other("changed since it was listed"),
        ));
    }
    Ok(LocalRanged {
        file,
        len: meta.len(),
        path: path.to_owned(),
    })
}

/// The whole file's outcome from its parts' outcomes (JSON, in file
/// order): a `report` when every part came back and the host's merge
/// accepts them; `None` when the file must be verified whole.
#[pyfunction]
pub(crate) fn merge_parts(parts: Vec<String>, limits: LimitsKey) -> PyResult<Option<String>> {
    let mut got = Vec::with_capacity(parts.len());
    for text in &parts {
        match serde_json::from_str(text) {
            Ok(TaskOutcome::Part { part }) => got.push(part),
            Ok(_) => return Ok(None),
            Err(e) => return Err(to_py(Error::Sandbox(format!("a part's outcome: {e}")))),
        }
    }
    let max_errors = limits.0;
    Ok(remote::merge_parts(&got, max_errors).map(|report| {
        serde_json::to_string(&TaskOutcome::Report { report }).expect("a report serializes")
    }))
}

/// Calls `run(tasks)` (with the GIL) and returns one final outcome per
/// task: a `report` or a `failed` message. A Python exception is kept in
/// `slot` (raised when the job has stopped).
fn run_tasks(
    run: &Py<PyAny>,
    tasks: Vec<Task>,
    slot: &ErrorSlot,
) -> csvseal::Result<Vec<csvseal::Result<VerifyReport>>> {
    let n = tasks.len();
    let texts: Vec<String> = Python::attach(|py| {
        run.call1(py, (tasks,))
            .and_then(|r| r.extract::<Vec<String>>(py))
            .map_err(|e| Error::Sandbox(keep(slot, e).to_string()))
    })?;
    if texts.len() != n {
        return Err(Error::Sandbox(format!(
            "{} outcome(s) for {n} file(s): every file needs a worker's report",
            texts.len()
        )));
    }
    texts
        .iter()
        .map(|t| match serde_json::from_str(t) {
            Ok(TaskOutcome::Report { report }) => Ok(Ok(report)),
            Ok(TaskOutcome::Failed { message }) => Ok(Err(Error::Usage(message))),
            Ok(other) => Err(Error::Sandbox(format!(
                "not a file's final outcome: {other:?}"
            ))),
            Err(e) => Err(Error::Sandbox(format!("a worker's outcome: {e}"))),
        })
        .collect()
}

/// An audit source whose files are verified by `run`, once, at the plan.
struct FanOut<'a> {
    inner: Box<dyn AuditSource + 'a>,
    run: &'a Py<PyAny>,
    slot: &'a ErrorSlot,
    results: RefCell<BTreeMap<String, csvseal::Result<VerifyReport>>>,
}

impl AuditSource for FanOut<'_> {
    fn entries(&self, warnings: &mut Vec<String>) -> csvseal::Result<Vec<Entry>> {
        self.inner.entries(warnings)
    }

    fn will_verify(&self, files: &[ToVerify]) -> csvseal::Result<()> {
        let tasks = files
            .iter()
            .map(|f| {
                let id = serde_json::to_string(&f.id).expect("an identity serializes");
                let size = f.id.size;
                (
                    f.name.clone(),
                    f.path.to_string_lossy().into_owned(),
                    size,
                    Some(id),
                )
            })
            .collect();
        let outcomes = run_tasks(self.run, tasks, self.slot)?;
        let mut results = self.results.borrow_mut();
        for (f, r) in files.iter().zip(outcomes) {
            results.insert(f.name.clone(), r);
        }
        Ok(())
    }

    fn verify(
        &self,
        _sandbox: &Sandbox,
        _schema: Option<&Schema>,
        name: &str,
        path: &Path,
    ) -> csvseal::Result<VerifyReport> {
        // Only the worker's own outcome; none is a failure of the audit
        // (never a file counted valid without a report).
        self.results.borrow_mut().remove(name).unwrap_or_else(|| {
            Err(Error::Sandbox(format!(
                "{}: no worker verified it",
                path.display()
            )))
        })
    }

    fn default_state(&self) -> Box<dyn StateStore> {
        self.inner.default_state()
    }

    fn is_orphan(&self, csv: &str) -> bool {
        self.inner.is_orphan(csv)
    }
}

/// The audit of `location` (a local directory or an `s3://` prefix), its
/// files verified by `run`, as `csvseal audit --json` prints it (pretty
/// JSON, a final newline). `opts`: (max_temp_age_secs, state_file,
/// metrics_file, full, rescan_after_secs, max_bytes).
#[pyfunction]
#[pyo3(name = "fanout_audit", signature = (location, run, schema_arg, limits, opts, object=None))]
pub(crate) fn audit(
    py: Python<'_>,
    location: PathBuf,
    run: Py<PyAny>,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    opts: (
        f64,
        Option<PathBuf>,
        Option<PathBuf>,
        bool,
        f64,
        Option<u64>,
    ),
    object: ObjectArg,
) -> PyResult<String> {
    let slot = new_slot();
    let (max_temp_age, state_file, metrics_file, full, rescan_after, max_bytes) = opts;
    let result = py.detach(|| {
        let sandbox = sandboxes::get(limits)?;
        let schema = schema(schema_arg);
        let opts = AuditOptions {
            dir: location.clone(),
            max_temp_age: secs(max_temp_age)?,
            state_file,
            metrics_file,
            schema,
            full,
            rescan_after: secs(rescan_after)?,
            max_bytes,
            keys: None,
        };
        let local: PathBuf;
        let inner = match locations::parse(&location)? {
            Location::Local(path) => {
                local = path;
                csvseal::jobs::audit::local_source(&local)?
            }
            Location::Object(url) => {
                csvseal::object::prefix_source(&url, &locations::object_options(object)?)?
            }
        };
        let source = FanOut {
            inner,
            run: &run,
            slot: &slot,
            results: RefCell::default(),
        };
        let report = csvseal::jobs::audit::audit_source(&sandbox, &opts, &source)?;
        let doc = report.json_document(&location, false);
        Ok(serde_json::to_string_pretty(&doc).expect("JSON") + "\n")
    });
    finish(&slot, result)
}

fn secs(s: f64) -> csvseal::Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s).map_err(|e| Error::Usage(format!("{s} seconds: {e}")))
}

/// The series `base` at `location` (a local directory or an `s3://`
/// prefix), listed once, its files verified by `run`, as `csvseal verify
/// --series --json` prints it (pretty JSON, a final newline).
#[pyfunction]
#[pyo3(name = "fanout_series", signature = (location, base, run, object=None))]
pub(crate) fn verify_series(
    py: Python<'_>,
    location: PathBuf,
    base: String,
    run: Py<PyAny>,
    object: ObjectArg,
) -> PyResult<String> {
    let slot = new_slot();
    let result = py.detach(|| {
        let tasks: Vec<Task> = match locations::parse(&location)? {
            Location::Local(dir) => csvseal::jobs::series::list_members(&dir, &base)?
                .into_iter()
                .map(|(path, size)| task_of(path, size, None))
                .collect(),
            Location::Object(url) => {
                csvseal::object::series_members(&url, &base, &locations::object_options(object)?)?
                    .into_iter()
                    .map(|(path, size, ino)| {
                        let id = Identity {
                            size,
                            mtime_ns: 0,
                            ctime_ns: 0,
                            ino,
                        };
                        task_of(path, size, Some(serde_json::to_string(&id).expect("JSON")))
                    })
                    .collect()
            }
        };
        let paths: Vec<PathBuf> = tasks.iter().map(|t| PathBuf::from(&t.1)).collect();
        let outcomes = run_tasks(&run, tasks, &slot)?;
        let report = csvseal::jobs::series::series_report(paths.into_iter().zip(outcomes));
        Ok(serde_json::to_string_pretty(&report.json_document()).expect("JSON") + "\n")
    });
    finish(&slot, result)
}

fn task_of(path: PathBuf, size: u64, id: Option<String>) -> Task {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (name, path.to_string_lossy().into_owned(), size, id)
}
