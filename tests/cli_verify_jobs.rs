//! `csvseal verify --jobs N`: a large file in parts, many files at once;
//! the output is the same for every N, in the order the files were given.

mod common;

use std::path::Path;

use common::{csvseal, csvseal_measured, stdout, write_ok};

/// An input whose rows carry a quoted field of many embedded line ends, so
/// the first `\n` after most cut targets is inside quotes.
fn multiline_input(bytes: usize) -> String {
    let note = "line\n".repeat(300);
    let mut input = String::from("symbol,note,amount\n");
    let mut i = 0;
    while input.len() < bytes {
        input.push_str(&format!("EUR{i},\"{note}\",{}.25\n", i % 1000));
        i += 1;
    }
    input
}

/// `verify ARGS` with `--jobs N`: exit code, stdout.
fn verify_with_jobs(jobs: usize, args: &[&str]) -> (Option<i32>, String) {
    let jobs = jobs.to_string();
    let mut all = vec!["verify", "--jobs", &jobs];
    all.extend_from_slice(args);
    let out = csvseal(&all, None);
    (out.status.code(), stdout(&out))
}

#[test]
fn seams_inside_quoted_fields_give_the_same_report_with_1_to_8_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_ok(dir.path(), "multi", &multiline_input(10 << 20), &[]);
    // A damaged copy: one byte changed inside a quoted field near the
    // middle, and the last line end gone (a torn row).
    let mut bytes = std::fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    let at = mid + bytes[mid..].windows(4).position(|w| w == b"line").unwrap();
    bytes[at] = b'L';
    bytes.truncate(bytes.len() - 1);
    let bad = dir.path().join("damaged.csv");
    std::fs::write(&bad, &bytes).unwrap();
    let bad = bad.to_string_lossy().into_owned();
    for (path, code) in [(&good, 0), (&bad, 1)] {
        for args in [vec!["--json", path.as_str()], vec![path.as_str()]] {
            let one = verify_with_jobs(1, &args);
            assert_eq!(one.0, Some(code), "{}", one.1);
            for jobs in 2..=8 {
                assert_eq!(verify_with_jobs(jobs, &args), one, "--jobs {jobs} {args:?}");
            }
        }
    }
}

#[test]
fn files_of_quoted_line_breaks_are_cut_at_record_boundaries() {
    // Most `\n` here are inside quotes: cuts at the first `\n` after each
    // target landed inside a field, every part after the first failed, and
    // the file was verified whole after all (issue 20). Cuts at an even
    // number of `"` engage the split.
    let dir = tempfile::tempdir().unwrap();
    let good = write_ok(dir.path(), "multi", &multiline_input(6 << 20), &[]);
    for jobs in ["2", "3", "5"] {
        let out = csvseal(&["-vv", "verify", "--jobs", jobs, &good], None);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let err = common::stderr(&out);
        assert!(
            err.contains("verified in parts file=") && err.contains(&format!("parts={jobs}")),
            "--jobs {jobs}: {err}"
        );
    }
}

#[test]
fn many_files_are_reported_in_the_order_given_whatever_the_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for i in 0..9 {
        let rows: String = (0..50 + i * 7).map(|r| format!("s{r},{i}\n")).collect();
        let p = write_ok(
            dir.path(),
            &format!("f{i}"),
            &format!("symbol,n\n{rows}"),
            &[],
        );
        paths.push(p);
    }
    // Some broken, one missing, one a directory, and a repeat.
    let text = std::fs::read_to_string(&paths[3]).unwrap();
    std::fs::write(&paths[3], text.replacen("s1,3", "s1,X", 1)).unwrap();
    std::fs::write(&paths[6], &text[..text.len() - 5]).unwrap();
    paths.insert(
        2,
        dir.path()
            .join("missing.csv")
            .to_string_lossy()
            .into_owned(),
    );
    paths.insert(5, dir.path().to_string_lossy().into_owned());
    paths.push(paths[0].clone());
    let mut args: Vec<&str> = vec!["--json"];
    args.extend(paths.iter().map(String::as_str));
    let one = verify_with_jobs(1, &args);
    assert_eq!(one.0, Some(2), "an I/O error wins: {}", one.1);
    let doc: serde_json::Value = serde_json::from_str(&one.1).unwrap();
    let listed: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, paths.iter().map(String::as_str).collect::<Vec<_>>());
    for jobs in [2, 3, 8, 16] {
        assert_eq!(verify_with_jobs(jobs, &args), one, "--jobs {jobs}");
        let text_args: Vec<&str> = args[1..].to_vec();
        assert_eq!(
            verify_with_jobs(jobs, &text_args),
            verify_with_jobs(1, &text_args),
            "--jobs {jobs}, text"
        );
    }
}

#[test]
fn jobs_must_be_a_positive_number() {
    for bad in ["0", "-1", "x"] {
        let out = csvseal(&["verify", "--jobs", bad, "f.csv"], None);
        assert_eq!(out.status.code(), Some(2), "--jobs {bad}");
    }
}

#[test]
fn memory_stays_flat_with_many_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let input: String = std::iter::once("symbol,price,note\n".to_owned())
        .chain((0..400_000).map(|i| format!("SYM{i},{}.5,\"a, b\"\n", i % 977)))
        .collect();
    let path = write_ok(dir.path(), "big", &input, &[]);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 30 << 20, "{size} bytes");
    let (out, peak) = csvseal_measured(&[
        "-vv".as_ref(),
        "verify".as_ref(),
        "--jobs".as_ref(),
        "8".as_ref(),
        Path::new(&path).as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        common::stderr(&out).contains("verified in parts file=")
            && common::stderr(&out).contains("parts=8"),
        "{}",
        common::stderr(&out)
    );
    assert!(peak < 64 << 10, "peak RSS {peak} KiB with 8 jobs");
}

#[test]
fn a_pipe_is_read_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_ok(dir.path(), "multi", &multiline_input(3 << 20), &[]);
    let expected = verify_with_jobs(4, &["--json", &path]);
    let bytes = std::fs::read(&path).unwrap();
    let out = csvseal(
        &["verify", "--jobs", "4", "--json", "/dev/stdin"],
        Some(&bytes),
    );
    let piped = stdout(&out).replace("/dev/stdin", &path);
    assert_eq!((out.status.code(), piped), expected);
}

#[test]
fn parts_and_files_share_the_memory_limit() {
    // Records of 12-20 MiB: with --jobs 4, four parts of one file, or four
    // files at once, may each use a quarter of --memory-limit-mib, so
    // together they need no more than verifying one by one; whatever hits
    // its share is verified again alone, with the same report.
    let dir = tempfile::tempdir().unwrap();
    let wide = |name: &str, records: u64, mib: usize| {
        let path = dir.path().join(name);
        let mut data = b"file_seq,x,checksum_sha256\r\n".to_vec();
        for seq in 1..=records {
            data.extend_from_slice(format!("{seq},").as_bytes());
            data.resize(data.len() + (mib << 20), b'a');
            data.extend_from_slice(b",0000\r\n");
        }
        std::fs::write(&path, &data).unwrap();
        path.to_string_lossy().into_owned()
    };
    let one_file = vec![wide("four.csv", 4, 12)];
    // Each needs more than a quarter of the limit: verified again alone.
    let four_files: Vec<String> = (0..4).map(|i| wide(&format!("w{i}.csv"), 1, 20)).collect();
    for files in [one_file, four_files] {
        let run = |jobs: &str| {
            let fixed = [
                "verify",
                "--json",
                "--memory-limit-mib",
                "96",
                "--jobs",
                jobs,
            ];
            let mut args: Vec<&std::ffi::OsStr> = fixed.iter().map(std::ffi::OsStr::new).collect();
            args.extend(files.iter().map(std::ffi::OsStr::new));
            csvseal_measured(&args)
        };
        let (one, one_peak) = run("1");
        let (four, four_peak) = run("4");
        assert_eq!(one.status.code(), Some(1), "{}", stdout(&one));
        assert_eq!(stdout(&four), stdout(&one));
        assert!(
            four_peak < one_peak + (24 << 10),
            "{files:?}: 4 jobs peak {four_peak} KiB, 1 job {one_peak} KiB"
        );
    }
}
