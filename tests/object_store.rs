#![cfg(target_os = "linux")]
//! Sealed files on object storage, through the real binary against a real
//! SeaweedFS (started here: see `object_store/weed.rs`), one bucket per
//! test: the same bytes as a local write, racing writers, a writer killed
//! mid-upload, a store failing mid-write, stores that ignore conditional
//! writes or report no checksums, `--replace`, series and audit on a
//! prefix, and no credential in any output.

mod common;
#[path = "object_store/proxy.rs"]
mod proxy;
#[path = "object_store/weed.rs"]
mod weed;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::TempDir;

const STAMP: &str = "2024-09-10T14:30:00Z";

/// `csvseal SUBCOMMAND --endpoint ENDPOINT ARGS…` with the test identity
/// and no other AWS_* settings.
pub fn s3cmd(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = s3cmd_no_endpoint(&[args[0]]);
    cmd.args(["--endpoint", endpoint]).args(&args[1..]);
    cmd
}

/// [`s3cmd`] without `--endpoint` (the environment may give one).
fn s3cmd_no_endpoint(args: &[&str]) -> Command {
    let mut cmd = Command::new(csvseal_bin());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", weed::KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", weed::SECRET)
        .env("AWS_REGION", "us-east-1")
        .env(
            "CSVSEAL_CACHE_DIR",
            std::env::temp_dir().join(format!("csvseal-test-cache-{}", std::process::id())),
        )
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(endpoint: &str, args: &[&str]) -> Output {
    s3cmd(endpoint, args).output().unwrap()
}

/// `write --to TO --name NAME --timestamp STAMP --input INPUT EXTRA…`.
fn write_to(endpoint: &str, to: &str, name: &str, input: &str, extra: &[&str]) -> Output {
    let args = [
        "write",
        "--to",
        to,
        "--name",
        name,
        "--timestamp",
        STAMP,
        "--input",
        input,
    ];
    run(endpoint, &[&args[..], extra].concat())
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

/// A bucket of this test's own.
fn bucket(test: &str) -> String {
    format!("t-{test}-{}", std::process::id())
}

/// `rows` rows of trades; `tag` makes inputs differ.
fn input(rows: usize, tag: &str) -> String {
    let mut s = String::with_capacity(rows * 64);
    s += "timestamp,trade_id,symbol,profit_loss\n";
    for i in 0..rows {
        s += &format!("2024-09-10T14:30:00Z,TRADE_{tag}_{i:08},EURUSD,{i}.25\n");
    }
    s
}

/// Rows whose sealed form is over one part (8 MiB): a multipart upload.
const LARGE: usize = 100_000;

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// The incomplete uploads under a prefix, as `recover --dry-run` lists
/// them (kept: younger than `older_than`; removed: older).
fn uploads(endpoint: &str, prefix: &str, older_than: &str) -> (usize, usize) {
    let o = run(
        endpoint,
        &[
            "recover",
            "--dir",
            prefix,
            "--dry-run",
            "--json",
            "--older-than",
            older_than,
        ],
    );
    let v = json(&o);
    (
        v["kept"].as_array().unwrap().len(),
        v["removed"].as_array().unwrap().len(),
    )
}

#[test]
fn the_same_sealed_file_locally_and_in_the_store_byte_for_byte() {
    let w = weed::shared();
    let b = bucket("same");
    let tmp = TempDir::new().unwrap();
    let local = tmp.path().join("local");
    std::fs::create_dir(&local).unwrap();
    for (base, rows) in [("small", 50), ("large", LARGE)] {
        let inp = write_file(tmp.path(), &format!("{base}.csv"), &input(rows, base));
        let to = format!("s3://{b}/sealed/");
        let common = [
            "--name",
            base,
            "--timestamp",
            STAMP,
            "--input",
            &inp,
            "--json",
        ];
        let o = run(
            &w.endpoint,
            &[&["write", "--to", &to][..], &common[..]].concat(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let doc = json(&o);
        let name = format!("{base}_20240910_143000.csv");
        assert_eq!(doc["path"], format!("s3://{b}/sealed/{name}"));
        assert_eq!(doc["rows"], rows as u64);
        let l = csvseal(
            &[
                &["write", "--dir", local.to_str().unwrap()][..],
                &common[..],
            ]
            .concat(),
            None,
        );
        assert_eq!(l.status.code(), Some(0), "{}", stderr(&l));
        let local_bytes = std::fs::read(local.join(&name)).unwrap();
        // Read through the filer: neither S3 nor csvseal.
        let stored = w
            .filer_get(&b, &format!("sealed/{name}"))
            .expect("object stored");
        assert!(
            stored == local_bytes,
            "{name}: stored bytes differ from the local file"
        );
        if rows == LARGE {
            assert!(stored.len() > 8 << 20, "meant to be a multipart upload");
        }
        let v = run(&w.endpoint, &["verify", &format!("s3://{b}/sealed/{name}")]);
        assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
        assert!(
            stdout(&v).contains(&format!("OK: {rows} rows")),
            "{}",
            stdout(&v)
        );
        let v = csvseal(&["verify", local.join(&name).to_str().unwrap()], None);
        assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    }
    // Nothing but the files and the probe object; no upload left behind,
    // no upload marker (SeaweedFS keeps their emptied directory).
    assert_eq!(
        w.filer_list(&b, "sealed/.csvseal-uploads/"),
        [] as [String; 0]
    );
    let mut names = w.filer_list(&b, "sealed/");
    names.retain(|n| n != ".csvseal-uploads");
    names.sort();
    assert_eq!(
        names,
        [
            ".csvseal-probe",
            "large_20240910_143000.csv",
            "small_20240910_143000.csv"
        ]
    );
    assert_eq!(
        uploads(&w.endpoint, &format!("s3://{b}/sealed/"), "1h"),
        (0, 0)
    );
}

#[test]
fn sixteen_writers_racing_for_one_key_one_commits_fifteen_get_exists() {
    let w = weed::shared();
    let b = bucket("race");
    let to = format!("s3://{b}/race/");
    // Half the writers commit by one PutObject, half by a multipart
    // upload: both conditional paths race each other.
    let inputs: Vec<String> = (0..16)
        .map(|i| {
            input(
                if i % 2 == 0 { 3000 + i } else { LARGE + i },
                &format!("w{i}"),
            )
        })
        .collect();
    let mut writers: Vec<_> = (0..16)
        .map(|_| streaming_writer(&w.endpoint, &to, "race", &[]))
        .collect();
    // Each writer reads its input only after checking that the target does
    // not exist; once it has taken more than a pipe holds, it is past that
    // check. So all 16 race at the commit, the real guard.
    const HEAD: usize = 128 << 10;
    for ((child, stdin), text) in writers.iter_mut().zip(&inputs) {
        if let Err(e) = stdin.write_all(&text.as_bytes()[..HEAD]) {
            let _ = child.kill();
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("writer stopped reading ({e}): {err}");
        }
    }
    let children: Vec<Child> = writers
        .into_iter()
        .zip(&inputs)
        .map(|((child, mut stdin), text)| {
            stdin.write_all(&text.as_bytes()[HEAD..]).unwrap();
            child
        })
        .collect();
    let results: Vec<(i32, Value)> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            (o.status.code().expect("exited"), json(&o))
        })
        .collect();
    let winners: Vec<_> = results.iter().filter(|(c, _)| *c == 0).collect();
    assert_eq!(winners.len(), 1, "{results:#?}");
    for (code, doc) in results.iter().filter(|(c, _)| *c != 0) {
        assert_eq!(*code, 3, "{doc}");
        assert_eq!(doc["error"]["kind"], "target-exists", "{doc}");
        assert!(
            doc["error"]["message"]
                .as_str()
                .unwrap()
                .contains("target already exists"),
            "{doc}"
        );
    }
    let key = format!("{to}race_20240910_143000.csv");
    let v = run(&w.endpoint, &["verify", &key, "--json"]);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert_eq!(json(&v)["files"][0]["rows"], winners[0].1["rows"]);
    // The losers aborted their uploads.
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
}

/// Starts a writer reading stdin; returns it and its stdin.
fn streaming_writer(
    endpoint: &str,
    to: &str,
    name: &str,
    extra: &[&str],
) -> (Child, std::process::ChildStdin) {
    let mut cmd = s3cmd(
        endpoint,
        &[
            &[
                "write",
                "--to",
                to,
                "--name",
                name,
                "--timestamp",
                STAMP,
                "--json",
            ][..],
            extra,
        ]
        .concat(),
    );
    let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

/// Waits until `prefix` has an incomplete upload.
fn wait_for_upload(endpoint: &str, prefix: &str) {
    let start = Instant::now();
    while uploads(endpoint, prefix, "1h").0 == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no upload started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_writer_killed_mid_upload_leaves_nothing_visible_and_recover_aborts_its_upload() {
    let w = weed::shared();
    let b = bucket("kill");
    let to = format!("s3://{b}/k/");
    let (mut child, mut stdin) = streaming_writer(&w.endpoint, &to, "stream", &[]);
    let text = input(3 * LARGE, "kill");
    // Enough for two parts to be under way; the rest never comes.
    stdin.write_all(&text.as_bytes()[..text.len() / 2]).unwrap();
    wait_for_upload(&w.endpoint, &to);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);

    let key = format!("s3://{b}/k/stream_20240910_143000.csv");
    let v = run(&w.endpoint, &["verify", &key]);
    assert_eq!(v.status.code(), Some(2), "{}", stdout(&v));
    assert!(stderr(&v).contains("no such object"), "{}", stderr(&v));
    assert_eq!(w.filer_get(&b, "k/stream_20240910_143000.csv"), None);

    // audit flags it once it is old; recover keeps it while it is young.
    std::thread::sleep(Duration::from_millis(1200));
    let a = run(
        &w.endpoint,
        &["audit", "--dir", &to, "--max-temp-age", "1s", "--json"],
    );
    assert_eq!(a.status.code(), Some(32 + 4), "{}", stdout(&a));
    assert_eq!(
        json(&a)["classes"],
        serde_json::json!(["temp-file-not-cleaned-up"])
    );
    let r = run(&w.endpoint, &["recover", "--dir", &to, "--json"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(
        json(&r)["kept"].as_array().unwrap().len(),
        1,
        "{}",
        stdout(&r)
    );
    assert!(json(&r)["removed"].as_array().unwrap().is_empty());
    let r = run(
        &w.endpoint,
        &["recover", "--dir", &to, "--older-than", "1s", "--json"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let removed = json(&r)["removed"].clone();
    assert_eq!(removed.as_array().unwrap().len(), 1, "{}", stdout(&r));
    assert!(
        removed[0]
            .as_str()
            .unwrap()
            .contains("stream_20240910_143000.csv")
    );
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
    let a = run(
        &w.endpoint,
        &["audit", "--dir", &to, "--max-temp-age", "1s", "--json"],
    );
    assert_eq!(a.status.code(), Some(0), "{}", stdout(&a));
}

#[test]
fn a_store_failing_mid_write_fails_the_write_and_shows_nothing() {
    let mut w = weed::Weed::start(true);
    let b = bucket("fail");
    let to = format!("s3://{b}/f/");

    // A short outage, within --retry-timeout: retried, and the write commits.
    let (child, mut stdin) =
        streaming_writer(&w.endpoint, &to, "brief", &["--retry-timeout", "120s"]);
    let text = input(3 * LARGE, "brief");
    let half = text.len() / 2;
    stdin.write_all(&text.as_bytes()[..half]).unwrap();
    wait_for_upload(&w.endpoint, &to);
    w.kill();
    w.restart();
    let fed = stdin.write_all(&text.as_bytes()[half..]);
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    fed.unwrap();
    let v = run(
        &w.endpoint,
        &["verify", &format!("{to}brief_20240910_143000.csv")],
    );
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));

    // An outage longer than --retry-timeout: the write fails, nothing shows.
    let (child, mut stdin) =
        streaming_writer(&w.endpoint, &to, "stream", &["--retry-timeout", "2s"]);
    let text = input(3 * LARGE, "fail");
    let half = text.len() / 2;
    stdin.write_all(&text.as_bytes()[..half]).unwrap();
    wait_for_upload(&w.endpoint, &to);
    w.kill();
    // The writer goes on reading; its uploads now fail.
    let _ = stdin.write_all(&text.as_bytes()[half..]);
    drop(stdin);
    let started = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "io", "{doc}");
    assert!(started.elapsed() < Duration::from_secs(60));

    w.restart();
    assert_eq!(w.filer_get(&b, "f/stream_20240910_143000.csv"), None);
    let v = run(
        &w.endpoint,
        &["verify", &format!("{to}stream_20240910_143000.csv")],
    );
    assert_eq!(v.status.code(), Some(2), "{}", stdout(&v));
    // The upload the writer could not abort is swept by recover.
    std::thread::sleep(Duration::from_millis(1200));
    let (_, stale) = uploads(&w.endpoint, &to, "1s");
    assert!(
        stale >= 1,
        "the failed write's upload should be left for recover"
    );
    let r = run(
        &w.endpoint,
        &["recover", "--dir", &to, "--older-than", "1s", "--json"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(uploads(&w.endpoint, &to, "1s"), (0, 0));
    w.stop();
}

#[test]
fn credentials_never_appear_in_output_logs_json_or_metrics() {
    let w = weed::shared();
    let b = bucket("leak");
    let tmp = TempDir::new().unwrap();
    let small = write_file(tmp.path(), "s.csv", &input(20, "leak"));
    let large = write_file(tmp.path(), "l.csv", &input(LARGE, "leak"));
    let metrics = tmp.path().join("metrics.prom");
    let m = metrics.to_str().unwrap();
    let to = format!("s3://{b}/p/");
    let obj = format!("{to}s_20240910_143000.csv");
    let write = |name: &'static str, input: &str, extra: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "write",
            "--to",
            &to,
            "--name",
            name,
            "--timestamp",
            STAMP,
            "--input",
            input,
        ]
        .map(String::from)
        .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let runs: Vec<Vec<String>> = vec![
        write("s", &small, &[]),
        write("l", &large, &[]),
        write("s", &small, &[]), // fails: target exists
        write("r", &small, &["--replace"]),
        write("r", &small, &["--replace"]),
        vec!["verify".into(), obj.clone()],
        ["verify", "--series", &to, "s"].map(String::from).to_vec(),
        ["recover", "--dir", &to].map(String::from).to_vec(),
        ["audit", "--dir", &to].map(String::from).to_vec(),
    ];
    let mut seen = String::new();
    for args in &runs {
        for format in ["text", "json"] {
            for json_flag in [false, true] {
                let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
                a.extend(["-vvv", "--log-format", format, "--metrics-file", m]);
                if json_flag {
                    a.push("--json");
                }
                let o = run(&w.endpoint, &a);
                seen += &stdout(&o);
                seen += &stderr(&o);
            }
        }
    }
    // At -vvv only csvseal's own events are logged, none of the HTTP
    // stack's (which carry whole URLs and requests). (An error may name
    // the URL: see the refused request below.)
    let host = w.endpoint.trim_start_matches("http://");
    if let Some(i) = seen.find(host) {
        panic!(
            "the endpoint's address was logged: …{}…",
            &seen[i.saturating_sub(300)..(i + 100).min(seen.len())]
        );
    }
    // And a refused request: wrong secret (403), which is also never shown.
    let wrong = "WRONGsecretLEAKCHECK/42";
    let o = s3cmd(&w.endpoint, &["verify", &obj, "-vvv", "--json"])
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    seen += &stdout(&o);
    seen += &stderr(&o);
    assert!(!seen.contains(wrong), "the wrong secret was printed");
    // Credentials or a token in the endpoint URL itself, through the flag
    // and through the environment: refused, and never shown.
    let url_secret = "URLsecretLEAKCHECK";
    for url in [
        format!("http://user:{url_secret}@{host}"),
        format!("http://{host}/?X-Amz-Signature={url_secret}"),
    ] {
        for via_env in [false, true] {
            for args in [
                vec!["verify", &obj, "-vvv", "--log-format", "json", "--json"],
                write("s", &small, &[]).iter().map(String::as_str).collect(),
            ] {
                let mut cmd = if via_env {
                    let mut c = s3cmd_no_endpoint(&args);
                    c.env("AWS_ENDPOINT_URL", &url);
                    c
                } else {
                    s3cmd(&url, &args)
                };
                let o = cmd.arg("-vvv").output().unwrap();
                let out = stdout(&o) + &stderr(&o);
                assert_eq!(o.status.code(), Some(2), "{url} env={via_env}: {out}");
                assert!(
                    out.contains("***") && out.contains("AWS_SECRET_ACCESS_KEY"),
                    "{out}"
                );
                seen += &out;
            }
        }
    }
    // The credential providers' URLs too.
    for var in [
        "AWS_ENDPOINT_URL_STS",
        "AWS_METADATA_ENDPOINT",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        let o = s3cmd(&w.endpoint, &["verify", &obj, "-vvv", "--json"])
            .env(var, format!("http://user:{url_secret}@{host}"))
            .output()
            .unwrap();
        let out = stdout(&o) + &stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{var}: {out}");
        assert!(out.contains(var) && out.contains("***@"), "{out}");
        seen += &out;
    }
    assert!(
        !seen.contains(url_secret),
        "an endpoint's secret was printed"
    );
    seen += &std::fs::read_to_string(&metrics).unwrap();
    assert!(seen.contains("committed"), "the runs did log (-vvv)");
    assert!(
        seen.contains("csvseal_writes_ok_total"),
        "metrics were written"
    );
    for secret in [weed::KEY_ID, weed::SECRET] {
        if let Some(i) = seen.find(secret) {
            panic!(
                "credential printed: …{}…",
                &seen[i.saturating_sub(200)..(i + 100).min(seen.len())]
            );
        }
    }
}

#[test]
fn a_store_that_ignores_conditional_writes_is_refused() {
    let w = weed::shared_open();
    let b = bucket("ignore");
    w.create_bucket(&b);
    let tmp = TempDir::new().unwrap();
    let inp = write_file(tmp.path(), "in.csv", &input(20, "ign"));
    // The same store, directly: it enforces them, so writes work.
    let o = write_to(
        &w.endpoint,
        &format!("s3://{b}/direct/"),
        "t",
        &inp,
        &["--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Behind a proxy that drops If-None-Match and If-Match: refused.
    let p = proxy::Proxy::start(&w.endpoint, proxy::Mode::IgnoreConditions);
    let o = write_to(
        &p.endpoint,
        &format!("s3://{b}/via/"),
        "t",
        &inp,
        &["--json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "store-unsupported", "{doc}");
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("If-None-Match: * on PutObject") && msg.contains("refuses"),
        "{msg}"
    );
    assert!(p.tampered.load(std::sync::atomic::Ordering::SeqCst) > 0);
    assert_eq!(w.filer_get(&b, "via/t_20240910_143000.csv"), None);
}

#[test]
fn a_store_reporting_no_checksum_gets_the_object_read_back() {
    let w = weed::shared_open();
    let b = bucket("nocksum");
    w.create_bucket(&b);
    let tmp = TempDir::new().unwrap();
    let inp = write_file(tmp.path(), "in.csv", &input(LARGE, "nock"));
    let p = proxy::Proxy::start(&w.endpoint, proxy::Mode::NoChecksums);
    let to = format!("s3://{b}/n/");
    let o = write_to(&p.endpoint, &to, "n", &inp, &["-vv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no stored checksum; reading the object back")
            && stderr(&o).contains("check=ReadBack"),
        "{}",
        stderr(&o)
    );
    // Directly, the store's checksum is used instead.
    let o = write_to(&w.endpoint, &to, "m", &inp, &["-vv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("check=Checksum"), "{}", stderr(&o));
}

#[test]
fn a_part_corrupted_in_transit_is_refused_and_nothing_is_visible() {
    let w = weed::shared_open();
    let b = bucket("corrupt");
    w.create_bucket(&b);
    let tmp = TempDir::new().unwrap();
    let inp = write_file(tmp.path(), "in.csv", &input(LARGE, "cor"));
    let p = proxy::Proxy::start(&w.endpoint, proxy::Mode::CorruptFirstPart);
    let to = format!("s3://{b}/c/");
    let o = write_to(&p.endpoint, &to, "c", &inp, &["--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let doc = json(&o);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upload part"),
        "{doc}"
    );
    assert_eq!(p.tampered.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(w.filer_get(&b, "c/c_20240910_143000.csv"), None);
    assert_eq!(
        uploads(&w.endpoint, &to, "1h"),
        (0, 0),
        "the upload was aborted"
    );
}

#[test]
fn replace_backs_up_the_version_replaced_and_detects_a_concurrent_change() {
    let w = weed::shared();
    let b = bucket("replace");
    let tmp = TempDir::new().unwrap();
    let to = format!("s3://{b}/r/");
    let key = format!("{to}stream_20240910_143000.csv");
    let write = |rows: usize, extra: &[&str]| {
        let inp = write_file(
            tmp.path(),
            &format!("in{rows}.csv"),
            &input(rows, &rows.to_string()),
        );
        write_to(
            &w.endpoint,
            &to,
            "stream",
            &inp,
            &[&["--json"][..], extra].concat(),
        )
    };
    let rows_of = |url: &str| {
        let v = run(&w.endpoint, &["verify", url, "--json"]);
        assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
        json(&v)["files"][0]["rows"].as_u64().unwrap()
    };
    let backups = || {
        let mut n = w.filer_list(&b, "r/.csvseal-backup/");
        n.sort();
        n
    };
    assert_eq!(write(50, &[]).status.code(), Some(0));
    let o = write(60, &[]);
    assert_eq!(o.status.code(), Some(3), "no --replace: exists");
    let o = write(70, &["--replace"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(rows_of(&key), 70);
    let made = backups();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].starts_with("stream_20240910_143000.csv.") && made[0].ends_with(".bak"));
    assert_eq!(rows_of(&format!("{to}.csvseal-backup/{}", made[0])), 50);

    // A writer that read the target's version, then another replaces it
    // first: the first one's backup or commit finds the change.
    let (child, mut stdin) = streaming_writer(&w.endpoint, &to, "stream", &["--replace"]);
    let text = input(LARGE, "slow");
    // More than a pipe holds: the writer is reading, so it has read the ETag.
    stdin.write_all(&text.as_bytes()[..4 << 20]).unwrap();
    let o = write(80, &["--replace"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdin.write_all(&text.as_bytes()[4 << 20..]).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        json(&o)["error"]["kind"],
        "target-changed",
        "{}",
        stdout(&o)
    );
    assert_eq!(rows_of(&key), 80, "the concurrent change is kept, not lost");

    // --keep 1 prunes older backups; --backup-dir puts them elsewhere.
    let o = write(90, &["--replace", "--keep", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(backups().len(), 1, "{:?}", backups());
    let elsewhere = format!("s3://{b}/elsewhere/");
    let o = write(100, &["--replace", "--backup-dir", &elsewhere]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut other = w.filer_list(&b, "elsewhere/");
    other.sort();
    assert_eq!(other.len(), 2, "{other:?}");
    assert_eq!(other[0], ".csvseal-probe", "--backup-dir is probed");
    assert_eq!(rows_of(&format!("{elsewhere}{}", other[1])), 90);
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
}

#[test]
fn series_and_audit_on_a_prefix() {
    let w = weed::shared();
    let b = bucket("series");
    let tmp = TempDir::new().unwrap();
    let to = format!("s3://{b}/s/");
    for (stamp, start, rows) in [
        ("2024-09-10T14:30:00Z", "1", 10),
        ("2024-09-10T14:31:00Z", "11", 10),
        ("2024-09-10T14:32:00Z", "25", 10),
    ] {
        let inp = write_file(tmp.path(), &format!("{start}.csv"), &input(rows, start));
        let o = run(
            &w.endpoint,
            &[
                "write",
                "--to",
                &to,
                "--name",
                "s",
                "--timestamp",
                stamp,
                "--start-seq",
                start,
                "--input",
                &inp,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let v = run(&w.endpoint, &["verify", "--series", &to, "s", "--json"]);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let doc = json(&v);
    assert_eq!(doc["files"].as_array().unwrap().len(), 3);
    assert_eq!(doc["gaps"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["gaps"][0]["first"], 25);

    let a = run(&w.endpoint, &["audit", "--dir", &to, "--json"]);
    assert_eq!(a.status.code(), Some(32 + 2), "{}", stdout(&a));
    let doc = json(&a);
    assert_eq!(doc["classes"], serde_json::json!(["sequence-gap"]));
    assert_eq!(
        (doc["files"].as_u64(), doc["verified"].as_u64()),
        (Some(3), Some(3))
    );
    // The state object remembers the results.
    assert!(w.filer_get(&b, "s/.csvseal-audit-state.json").is_some());
    let a = run(&w.endpoint, &["audit", "--dir", &to, "--json"]);
    assert_eq!(json(&a)["unchanged"], 3, "{}", stdout(&a));

    // An overlap is an error.
    let inp = write_file(tmp.path(), "o.csv", &input(5, "o"));
    let o = run(
        &w.endpoint,
        &[
            "write",
            "--to",
            &to,
            "--name",
            "s",
            "--timestamp",
            "2024-09-10T14:33:00Z",
            "--start-seq",
            "30",
            "--input",
            &inp,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = run(&w.endpoint, &["verify", "--series", &to, "s", "--json"]);
    assert_eq!(v.status.code(), Some(1), "{}", stdout(&v));
    assert_eq!(json(&v)["overlaps"].as_array().unwrap().len(), 1);
    // `--continue` needs a series lock, which object storage lacks.
    let o = run(
        &w.endpoint,
        &[
            "write",
            "--to",
            &to,
            "--name",
            "s",
            "--continue",
            "--input",
            &inp,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--continue is not supported for object storage"));
}

#[test]
fn a_write_past_its_timeout_is_abandoned_and_its_upload_aborted() {
    let w = weed::shared();
    let b = bucket("timeout");
    let to = format!("s3://{b}/t/");
    let (child, mut stdin) = streaming_writer(&w.endpoint, &to, "stream", &["--timeout", "3s"]);
    let text = input(2 * LARGE, "slow");
    // Over a part's worth, then the producer stalls.
    stdin.write_all(&text.as_bytes()[..text.len() / 2]).unwrap();
    let o = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(o.status.code(), Some(4), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(json(&o)["error"]["kind"], "timeout", "{}", stdout(&o));
    assert_eq!(w.filer_get(&b, "t/stream_20240910_143000.csv"), None);
    assert_eq!(
        uploads(&w.endpoint, &to, "1h"),
        (0, 0),
        "the upload was aborted"
    );
}

#[test]
fn a_commit_whose_reply_is_lost_is_recognised_as_the_writers_own() {
    let w = weed::shared_open();
    let b = bucket("lostreply");
    w.create_bucket(&b);
    let tmp = TempDir::new().unwrap();
    let p = proxy::Proxy::start(&w.endpoint, proxy::Mode::LoseFirstCommitReply);
    let to = format!("s3://{b}/l/");
    // One PutObject commit, one CompleteMultipartUpload commit.
    for (name, rows) in [("small", 100), ("large", LARGE)] {
        let inp = write_file(tmp.path(), &format!("{name}.csv"), &input(rows, name));
        let o = write_to(&p.endpoint, &to, name, &inp, &["-v"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("an earlier attempt of the commit took effect"),
            "{}",
            stderr(&o)
        );
        let v = run(
            &w.endpoint,
            &[
                "verify",
                &format!("{to}{name}_20240910_143000.csv"),
                "--json",
            ],
        );
        assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
        assert_eq!(json(&v)["files"][0]["rows"], rows as u64);
    }
    assert_eq!(p.tampered.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
}

/// The text between `start` and `end` in `s`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap_or_else(|| panic!("no {start} in {s}")) + start.len();
    &s[from..from + s[from..].find(end).unwrap()]
}

#[test]
fn recover_and_audit_leave_a_users_own_upload_alone() {
    let w = weed::shared_open();
    let b = bucket("users");
    w.create_bucket(&b);
    let to = format!("s3://{b}/u/");
    let host = w.endpoint.trim_start_matches("http://");
    // The user's own multipart upload of report.csv, in progress.
    let (status, body) = weed::http_request(host, "POST", &format!("/{b}/u/report.csv?uploads"));
    let body = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 200, "{body}");
    let users = between(&body, "<UploadId>", "</UploadId>").to_owned();
    // And csvseal's, of a writer killed mid-upload.
    let (mut child, mut stdin) = streaming_writer(&w.endpoint, &to, "stream", &[]);
    let text = input(2 * LARGE, "users");
    stdin
        .write_all(&text.as_bytes()[..text.len() * 3 / 4])
        .unwrap();
    wait_for_upload(&w.endpoint, &to);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    // A marker whose upload is gone (its writer could not delete it).
    let stale = format!("/{b}/u/.csvseal-uploads/{}", "0".repeat(64));
    assert_eq!(weed::http_request(host, "PUT", &stale).0, 200);
    std::thread::sleep(Duration::from_millis(1200));

    // Only csvseal's upload is a stale temp file, and only it is aborted.
    let a = run(
        &w.endpoint,
        &["audit", "--dir", &to, "--max-temp-age", "1s", "--json"],
    );
    assert_eq!(json(&a)["temp_files"], 1, "{}", stdout(&a));
    let r = run(
        &w.endpoint,
        &["recover", "--dir", &to, "--older-than", "1s", "--json"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let doc = json(&r);
    let removed = doc["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{doc}");
    assert!(
        removed[0]
            .as_str()
            .unwrap()
            .contains("stream_20240910_143000.csv"),
        "{doc}"
    );
    assert!(!doc.to_string().contains("report.csv"), "{doc}");
    let (_, listing) = weed::http_get(host, &format!("/{b}?uploads&prefix=u/"));
    let listing = String::from_utf8_lossy(&listing);
    assert!(
        listing.contains(&users),
        "the user's upload survives: {listing}"
    );
    assert!(!listing.contains("stream_"), "{listing}");
    assert_eq!(w.filer_list(&b, "u/.csvseal-uploads/"), [] as [String; 0]);
    let a = run(
        &w.endpoint,
        &["audit", "--dir", &to, "--max-temp-age", "1s", "--json"],
    );
    assert_eq!(a.status.code(), Some(0), "{}", stdout(&a));
}

#[test]
fn a_backup_dir_that_ignores_conditional_writes_is_refused() {
    let w = weed::shared_open();
    let b = bucket("bkdir");
    let other = bucket("bkother");
    w.create_bucket(&b);
    w.create_bucket(&other);
    let tmp = TempDir::new().unwrap();
    // Conditions are dropped in the backup bucket only.
    let only: &'static str = Box::leak(format!("/{other}/").into_boxed_str());
    let p = proxy::Proxy::start(&w.endpoint, proxy::Mode::IgnoreConditionsIn(only));
    let to = format!("s3://{b}/t/");
    let first = write_file(tmp.path(), "a.csv", &input(20, "first"));
    let o = write_to(&p.endpoint, &to, "t", &first, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = w.filer_get(&b, "t/t_20240910_143000.csv").unwrap();
    let second = write_file(tmp.path(), "b.csv", &input(30, "second"));
    let backups = format!("s3://{other}/bk/");
    let o = write_to(
        &p.endpoint,
        &to,
        "t",
        &second,
        &["--replace", "--backup-dir", &backups, "--json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "store-unsupported", "{doc}");
    assert!(
        doc["error"]["message"].as_str().unwrap().contains(&backups),
        "{doc}"
    );
    assert!(p.tampered.load(std::sync::atomic::Ordering::SeqCst) > 0);
    assert_eq!(
        w.filer_get(&b, "t/t_20240910_143000.csv").unwrap(),
        before,
        "the target is untouched"
    );
    let made = w.filer_list(&other, "bk/");
    assert!(made.iter().all(|n| !n.ends_with(".bak")), "{made:?}");
}

#[test]
fn a_store_echoing_checksums_it_does_not_check_gets_the_object_read_back() {
    let w = weed::shared_open();
    let b = bucket("echo");
    w.create_bucket(&b);
    let tmp = TempDir::new().unwrap();
    let inp = write_file(tmp.path(), "in.csv", &input(20, "echo"));
    // The store keeps a corrupted copy and reports the checksum csvseal
    // sent: the checksum proves nothing, the read-back finds it.
    let p = proxy::Proxy::start(&w.endpoint, proxy::Mode::EchoUncheckedChecksums);
    let o = write_to(
        &p.endpoint,
        &format!("s3://{b}/e/"),
        "e",
        &inp,
        &["--json", "-vv"],
    );
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "stored-mismatch", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reading the committed object back gives other bytes"),
        "{doc}"
    );
    assert!(
        stderr(&o).contains("the store takes parts whose x-amz-checksum-sha256 is wrong"),
        "{}",
        stderr(&o)
    );
    // The store did echo: one corrupted body, at least one HEAD answered.
    assert!(p.tampered.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

/// The one bucket of the signature tests, each in a prefix of its own:
/// SeaweedFS gives every bucket volumes of its own, and a disk with little
/// free space has few.
const SIGNED: &str = "signed";

/// A key pair made by `csvseal keygen` in `dir`: (secret, public).
fn keypair(dir: &Path) -> (String, String) {
    let s = dir.join("sign.key").to_string_lossy().into_owned();
    let p = dir.join("sign.pub").to_string_lossy().into_owned();
    let out = csvseal(&["keygen", "--secret-key", &s, "--public-key", &p], None);
    assert_eq!(out.status.code(), Some(0), "keygen: {}", stderr(&out));
    (s, p)
}

/// `verify --key PUBLIC URL --json`: (exit code, the file's report).
fn verify_key(endpoint: &str, public: &str, url: &str) -> (Option<i32>, Value) {
    let o = run(endpoint, &["verify", "--key", public, url, "--json"]);
    (o.status.code(), json(&o)["files"][0].clone())
}

fn error_kinds(file: &Value) -> Vec<String> {
    file["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Debian's `minisign -Vm` on a copy of `bytes` with the signature `sig`;
/// `None` when minisign is not installed.
fn minisign_verifies(dir: &Path, bytes: &[u8], sig: &[u8], public: &str) -> Option<bool> {
    if Command::new("minisign").arg("-v").output().is_err() {
        eprintln!("skipped: minisign not installed");
        return None;
    }
    let file = dir.join("copy.csv");
    std::fs::write(&file, bytes).unwrap();
    std::fs::write(dir.join("copy.csv.minisig"), sig).unwrap();
    let o = Command::new("minisign")
        .args(["-V", "-m", file.to_str().unwrap(), "-p", public])
        .output()
        .unwrap();
    Some(o.status.success())
}

#[test]
fn a_signed_write_commits_a_signature_that_verify_key_and_minisign_check() {
    let w = weed::shared();
    let b = bucket(SIGNED);
    let tmp = TempDir::new().unwrap();
    let (secret, public) = keypair(tmp.path());
    let to = format!("s3://{b}/s/");
    // One part and a multipart upload: the prehash spans the parts.
    for (base, rows) in [("small", 50), ("large", LARGE)] {
        let inp = write_file(tmp.path(), &format!("{base}.csv"), &input(rows, base));
        let o = write_to(
            &w.endpoint,
            &to,
            base,
            &inp,
            &["--sign-key", &secret, "--json"],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let name = format!("{base}_20240910_143000.csv");
        let url = format!("{to}{name}");
        assert_eq!(json(&o)["signature"]["path"], format!("{url}.minisig"));
        let stored = w.filer_get(&b, &format!("s/{name}")).expect("object");
        let sig = w
            .filer_get(&b, &format!("s/{name}.minisig"))
            .expect("signature object");
        let text = String::from_utf8(sig.clone()).unwrap();
        assert!(
            text.contains(&format!(
                "file:{name}\trows:{rows}\tfirst_seq:1\tlast_seq:{rows}"
            )),
            "{text}"
        );
        let (code, file) = verify_key(&w.endpoint, &public, &url);
        assert_eq!(code, Some(0), "{file}");
        assert_eq!(file["signature"]["status"], "valid", "{file}");
        if let Some(ok) = minisign_verifies(tmp.path(), &stored, &sig, &public) {
            assert!(ok, "minisign -Vm refuses {name}");
        }
    }

    // Re-sealed with other values, the same rows and seqs (every checksum
    // recomputed): valid without a key, signature-invalid with it.
    let name = "small_20240910_143000.csv";
    let url = format!("{to}{name}");
    let forged = write_file(tmp.path(), "forged.csv", &input(50, "FORGED"));
    let o = write_to(&w.endpoint, &to, "small", &forged, &["--replace"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = run(&w.endpoint, &["verify", &url]);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let (code, file) = verify_key(&w.endpoint, &public, &url);
    assert_eq!(code, Some(1), "{file}");
    assert_eq!(error_kinds(&file), ["signature-invalid"], "{file}");
    // The backup of the version replaced kept its signature, which still
    // verifies over the backup's bytes.
    let backups = w.filer_list(&b, "s/.csvseal-backup/");
    let bak = backups
        .iter()
        .find(|n| n.ends_with(".bak"))
        .expect("a backup");
    assert!(backups.contains(&format!("{bak}.minisig")), "{backups:?}");
    let bytes = w
        .filer_get(&b, &format!("s/.csvseal-backup/{bak}"))
        .unwrap();
    let sig = w
        .filer_get(&b, &format!("s/.csvseal-backup/{bak}.minisig"))
        .unwrap();
    if let Some(ok) = minisign_verifies(tmp.path(), &bytes, &sig, &public) {
        assert!(ok, "minisign -Vm refuses the backup");
    }

    // A signed --replace replaces the signature too (If-Match on it).
    let inp = write_file(tmp.path(), "again.csv", &input(50, "again"));
    let o = write_to(
        &w.endpoint,
        &to,
        "small",
        &inp,
        &["--replace", "--sign-key", &secret],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (code, file) = verify_key(&w.endpoint, &public, &url);
    assert_eq!(code, Some(0), "{file}");

    // Signature missing: the object alone is not enough.
    w.filer_delete(&b, &format!("s/{name}.minisig"));
    let (code, file) = verify_key(&w.endpoint, &public, &url);
    assert_eq!(code, Some(1), "{file}");
    assert_eq!(error_kinds(&file), ["signature-missing"], "{file}");

    // The series: every file's signature; first files link to none, so
    // two unrelated signed files do not make a chain.
    let s = run(
        &w.endpoint,
        &[
            "verify", "--series", &to, "large", "--key", &public, "--json",
        ],
    );
    assert_eq!(s.status.code(), Some(0), "{}", stdout(&s));
    assert_eq!(json(&s)["files"][0]["signature"]["status"], "valid");
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
}

#[test]
fn an_orphan_signature_is_taken_over_by_the_next_writer_and_removed_by_recover_only_when_old() {
    let w = weed::shared();
    let b = bucket(SIGNED);
    let tmp = TempDir::new().unwrap();
    let (secret, public) = keypair(tmp.path());
    let to = format!("s3://{b}/o/");
    let name = "stream_20240910_143000.csv";
    let url = format!("{to}{name}");
    let sig_key = format!("o/{name}.minisig");
    let inp = write_file(tmp.path(), "in.csv", &input(20, "first"));
    let o = write_to(&w.endpoint, &to, "stream", &inp, &["--sign-key", &secret]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The object gone, its signature left: a writer that died between its
    // two commits leaves this.
    w.filer_delete(&b, &format!("o/{name}"));
    let orphans = |older_than: &str, dry_run: bool| {
        let mut args = vec![
            "recover",
            "--dir",
            &to,
            "--json",
            "--older-than",
            older_than,
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let r = run(&w.endpoint, &args);
        assert_eq!(r.status.code(), Some(0), "{}{}", stdout(&r), stderr(&r));
        json(&r)["orphan_signatures"].as_array().unwrap().len()
    };
    // Fresh: its writer may be between its commits.
    assert_eq!(orphans("1h", false), 0);
    assert!(
        w.filer_get(&b, &sig_key).is_some(),
        "a fresh orphan is kept"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(orphans("1s", true), 1, "old enough, nothing pending");

    // A writer of that key mid-upload: the orphan is spared, whatever its
    // age; then the writer replaces it (If-Match on the orphan's ETag).
    let (child, mut stdin) = streaming_writer(&w.endpoint, &to, "stream", &["--sign-key", &secret]);
    let text = input(3 * LARGE, "second");
    stdin.write_all(&text.as_bytes()[..text.len() / 2]).unwrap();
    wait_for_upload(&w.endpoint, &to);
    assert_eq!(orphans("1s", true), 0, "an upload of its object is pending");
    stdin.write_all(&text.as_bytes()[text.len() / 2..]).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (code, file) = verify_key(&w.endpoint, &public, &url);
    assert_eq!(code, Some(0), "{file}");
    assert_eq!(file["rows"], 3 * LARGE as u64);
    assert_eq!(orphans("1s", false), 0, "joined by its object: kept");
    assert!(w.filer_get(&b, &sig_key).is_some());

    // Orphaned again, and old: removed.
    w.filer_delete(&b, &format!("o/{name}"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(orphans("1s", false), 1);
    assert_eq!(w.filer_get(&b, &sig_key), None, "the old orphan is removed");
    assert_eq!(orphans("1s", false), 0);
}

#[test]
fn signed_writers_racing_for_one_key_one_commits_with_its_own_signature() {
    let w = weed::shared();
    let b = bucket(SIGNED);
    let tmp = TempDir::new().unwrap();
    let (secret, public) = keypair(tmp.path());
    let to = format!("s3://{b}/race/");
    let inputs: Vec<String> = (0..6)
        .map(|i| input(if i == 5 { LARGE } else { 3000 + i }, &format!("w{i}")))
        .collect();
    let mut writers: Vec<_> = (0..6)
        .map(|_| streaming_writer(&w.endpoint, &to, "race", &["--sign-key", &secret]))
        .collect();
    // Past their checks of the target and its signature, all race at the
    // signature's If-None-Match and the object's.
    const HEAD: usize = 128 << 10;
    for ((_, stdin), text) in writers.iter_mut().zip(&inputs) {
        stdin.write_all(&text.as_bytes()[..HEAD]).unwrap();
    }
    let results: Vec<(i32, Value)> = writers
        .into_iter()
        .zip(&inputs)
        .map(|((child, mut stdin), text)| {
            stdin.write_all(&text.as_bytes()[HEAD..]).unwrap();
            child
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            (o.status.code().expect("exited"), json(&o))
        })
        .collect();
    let winners: Vec<_> = results.iter().filter(|(c, _)| *c == 0).collect();
    assert_eq!(winners.len(), 1, "{results:#?}");
    for (code, doc) in results.iter().filter(|(c, _)| *c != 0) {
        assert_eq!(*code, 3, "{doc}");
        assert_eq!(doc["error"]["kind"], "target-exists", "{doc}");
    }
    let url = format!("{to}race_20240910_143000.csv");
    let (code, file) = verify_key(&w.endpoint, &public, &url);
    assert_eq!(code, Some(0), "the winner's own signature: {file}");
    assert_eq!(file["rows"], winners[0].1["rows"]);
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
}

#[test]
fn a_signed_write_whose_commit_fails_takes_its_signature_back() {
    let w = weed::shared();
    let b = bucket(SIGNED);
    let tmp = TempDir::new().unwrap();
    let (secret, _public) = keypair(tmp.path());
    let to = format!("s3://{b}/u/");
    let name = "t_20240910_143000.csv";
    let sig_key = format!("u/{name}.minisig");
    let small = write_file(tmp.path(), "small.csv", &input(10, "small"));
    let text = input(LARGE, "slow");
    // A signed writer past its checks; an unsigned one commits the key
    // first. The signed one's signature went in, its object cannot: the
    // signature is deleted.
    let (child, mut stdin) = streaming_writer(&w.endpoint, &to, "t", &["--sign-key", &secret]);
    stdin.write_all(&text.as_bytes()[..4 << 20]).unwrap();
    let o = write_to(&w.endpoint, &to, "t", &small, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdin.write_all(&text.as_bytes()[4 << 20..]).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(json(&o)["error"]["kind"], "target-exists");
    assert_eq!(w.filer_get(&b, &sig_key), None, "its signature is deleted");

    // Signed now; a signed --replace past its checks, and an unsigned
    // --replace first: the signature it replaced is put back.
    let o = write_to(
        &w.endpoint,
        &to,
        "t",
        &small,
        &["--replace", "--sign-key", &secret],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let original = w.filer_get(&b, &sig_key).expect("signature");
    let (child, mut stdin) =
        streaming_writer(&w.endpoint, &to, "t", &["--replace", "--sign-key", &secret]);
    stdin.write_all(&text.as_bytes()[..4 << 20]).unwrap();
    // Other bytes (the same bytes would have the same ETag).
    let other = write_file(tmp.path(), "other.csv", &input(12, "other"));
    let o = write_to(&w.endpoint, &to, "t", &other, &["--replace"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdin.write_all(&text.as_bytes()[4 << 20..]).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(json(&o)["error"]["kind"], "target-changed");
    assert_eq!(
        w.filer_get(&b, &sig_key),
        Some(original),
        "the replaced signature is put back"
    );
    assert_eq!(uploads(&w.endpoint, &to, "1h"), (0, 0));
}

#[test]
fn a_series_signed_locally_and_uploaded_has_its_chain_walked_on_the_prefix() {
    let w = weed::shared();
    let b = bucket(SIGNED);
    let tmp = TempDir::new().unwrap();
    let (secret, public) = keypair(tmp.path());
    let local = tmp.path().join("local");
    std::fs::create_dir(&local).unwrap();
    let stamps = ["14:30:00", "14:31:00", "14:32:00"];
    for (i, stamp) in stamps.iter().enumerate() {
        let inp = write_file(
            tmp.path(),
            &format!("in{i}.csv"),
            &input(10, &format!("c{i}")),
        );
        let stamp = format!("2024-09-10T{stamp}Z");
        let mut args = vec![
            "write",
            "--dir",
            local.to_str().unwrap(),
            "--name",
            "t",
            "--timestamp",
            &stamp,
            "--input",
            &inp,
            "--sign-key",
            &secret,
        ];
        if i > 0 {
            args.push("--continue");
        }
        let o = csvseal(&args, None);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    // The bucket and prefix made through S3; then the files and their
    // signatures uploaded as they are.
    let to = format!("s3://{b}/c/");
    let other = write_file(tmp.path(), "other.csv", &input(3, "other"));
    let o = write_to(&w.endpoint, &to, "other", &other, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&local)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv") || n.ends_with(".minisig"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for n in &names {
        w.filer_put(&b, "c/", n, &std::fs::read(local.join(n)).unwrap());
    }
    let series = || {
        let o = run(
            &w.endpoint,
            &["verify", "--series", &to, "t", "--key", &public, "--json"],
        );
        (o.status.code(), json(&o))
    };
    let (code, doc) = series();
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["files"].as_array().unwrap().len(), 3, "{doc}");

    // The middle file and its signature deleted: the chain breaks at the
    // file after the gap, naming both files.
    w.filer_delete(&b, "c/t_20240910_143100.csv");
    w.filer_delete(&b, "c/t_20240910_143100.csv.minisig");
    let (code, doc) = series();
    assert_eq!(code, Some(1), "{doc}");
    let last = &doc["files"][1];
    assert_eq!(error_kinds(last), ["chain-broken"], "{doc}");
    let message = last["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("t_20240910_143000.csv") && message.contains("t_20240910_143100.csv"),
        "{message}"
    );
}
