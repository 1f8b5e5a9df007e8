//! Records up to the cap (`--max-record-mib`) are written and verified
//! within the memory docs/security.md states: several records each 1 MiB under the
//! cap, at the default cap of 64 MiB and at a smaller one. A batch of rows
//! hashed together once held a copy of each, so four records near the cap
//! took four times the cap and hit the sandbox's memory limit.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{csvseal_measured_env, stderr, stdout};
use serde_json::Value;

/// docs/security.md ("Peak memory"): with records up to the cap, `verify` peaks
/// under about 4 times `--max-record-mib` plus 32 MiB (two instances at work
/// on parts, each holding one record), `write` under about 8 times it plus
/// 32 MiB (its sealer and verifier, and the sealed record crossing to the
/// verifier's thread).
fn bound_kib(cap_mib: u64, times: u64) -> u64 {
    (cap_mib * times + 32) << 10
}

/// How the built-in component is loaded.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// The copy compiled ahead of time into the executable (this machine
    /// can run it), as on most runs.
    Embedded,
    /// Compiled by this run, as on a machine that cannot run that copy:
    /// Cranelift's memory must not add to the peak.
    Compiled,
}

impl Load {
    fn env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Load::Embedded => &[],
            Load::Compiled => &[("CSVSEAL_PRECOMPILED", "0"), ("CSVSEAL_NO_CACHE", "1")],
        }
    }
}

/// `csvseal ARGS --json --max-record-mib CAP`: exit code, JSON, peak KiB.
fn run(args: &[&OsStr], cap_mib: u64) -> (Option<i32>, Value, u64) {
    run_loaded(args, cap_mib, Load::Embedded)
}

fn run_loaded(args: &[&OsStr], cap_mib: u64, load: Load) -> (Option<i32>, Value, u64) {
    let cap = cap_mib.to_string();
    let mut all = args.to_vec();
    all.extend([
        OsStr::new("--json"),
        OsStr::new("--max-record-mib"),
        OsStr::new(&cap),
    ]);
    let (out, peak) = csvseal_measured_env(&all, load.env());
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    (out.status.code(), v, peak)
}

/// Writes `rows` records of one field of `cap - 1` MiB each (with
/// `quoted`, one holds quotes and commas, so it is quoted: the slower
/// path, kept to the small cap), then verifies the file: both pass within
/// the bound, with the component `load`ed as given.
fn records_just_under_the_cap(cap_mib: u64, rows: usize, quoted: bool, load: Load) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let field = ((cap_mib - 1) << 20) as usize;
    let mut data = b"x\n".to_vec();
    for r in 0..rows {
        let start = data.len();
        data.resize(start + field, b'a' + r as u8);
        if quoted && r == 1 {
            // Quoted in the output: its `"` doubled, still under the cap.
            data[start] = b'"';
            data[start + 1..start + 8].copy_from_slice(b",\"\"a\"\",");
            *data.last_mut().unwrap() = b'"';
        }
        data.push(b'\n');
    }
    std::fs::write(&input, &data).unwrap();
    drop(data);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let (code, v, peak) = run_loaded(
        &[
            "write".as_ref(),
            "--name".as_ref(),
            "big".as_ref(),
            "--dir".as_ref(),
            out_dir.as_os_str(),
            "--input".as_ref(),
            input.as_os_str(),
        ],
        cap_mib,
        load,
    );
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["rows"], rows, "{v}");
    eprintln!("cap {cap_mib} MiB, {rows} rows, {load:?}: write peak RSS {peak} KiB");
    let bound = bound_kib(cap_mib, 8);
    assert!(
        peak < bound,
        "write: peak RSS {peak} KiB, bound {bound} KiB"
    );
    let sealed = Path::new(v["path"].as_str().unwrap()).to_owned();
    let (code, v, peak) = run_loaded(&["verify".as_ref(), sealed.as_os_str()], cap_mib, load);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["files"][0]["rows"], rows, "{v}");
    eprintln!("cap {cap_mib} MiB, {rows} rows, {load:?}: verify peak RSS {peak} KiB");
    let bound = bound_kib(cap_mib, 4);
    assert!(
        cap_mib > 64 || peak < 320 << 10,
        "verify: peak RSS {peak} KiB"
    );
    assert!(
        peak < bound,
        "verify: peak RSS {peak} KiB, bound {bound} KiB"
    );
}

#[test]
fn records_just_under_a_small_cap_pass_within_the_bound() {
    records_just_under_the_cap(8, 5, true, Load::Embedded);
}

#[test]
fn records_just_under_a_small_cap_pass_within_the_bound_when_the_component_is_compiled() {
    records_just_under_the_cap(8, 5, true, Load::Compiled);
}

#[test]
fn records_just_under_the_default_cap_pass_within_the_bound() {
    records_just_under_the_cap(64, 4, false, Load::Embedded);
}

#[test]
fn a_memory_limit_hit_names_the_file_and_the_line() {
    // A record the cap allows but the memory limit does not: the error
    // names where it is, for a whole file and one verified in parts.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-row.csv");
    let mut data = b"file_seq,x,checksum_sha256\r\n".to_vec();
    data.extend_from_slice(b"1,a,0\r\n2,b,0\r\n3,");
    data.resize(data.len() + (24 << 20), b'c');
    data.extend_from_slice(b",0\r\n");
    std::fs::write(&path, &data).unwrap();
    for jobs in ["1", "2"] {
        let args: [&OsStr; 5] = [
            "verify".as_ref(),
            "--jobs".as_ref(),
            jobs.as_ref(),
            "--memory-limit-mib".as_ref(),
            "16".as_ref(),
        ];
        let mut args = args.to_vec();
        args.push(path.as_os_str());
        let (code, v, _) = run(&args, 64);
        assert_eq!(code, Some(2), "{v}");
        let error = &v["files"][0]["error"];
        assert_eq!(error["kind"], "limit", "{v}");
        let message = error["message"].as_str().unwrap();
        let want = format!("{}: line 4:", path.display());
        assert!(message.contains(&want), "{jobs} jobs: {message}");
    }
}
