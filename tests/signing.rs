//! Signed files through the real binary: `keygen`, `write --sign-key`
//! (plain, `--continue`, `--replace`), `restore` and `recover` with
//! signatures, checked against Debian's `minisign` where it matters that
//! people can check them without csvseal.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;
use tempfile::TempDir;

/// Debian's minisign, which CI installs; skipped only outside CI.
fn minisign() -> Option<Command> {
    let found = Command::new("minisign").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "minisign is not installed (scripts/install-deps.sh installs it)"
        );
        eprintln!("skipped: minisign not installed");
        return None;
    }
    Some(Command::new("minisign"))
}

fn minisign_verifies(file: &str, public: &str) -> (bool, String) {
    let Some(mut cmd) = minisign() else {
        return (true, String::new());
    };
    let out = cmd.args(["-Vm", file, "-p", public]).output().unwrap();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    (out.status.success(), text)
}

fn signed_write(dir: &Path, stamp: &str, input: &str, key: &str, extra: &[&str]) -> String {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "write",
        "--dir",
        &d,
        "--name",
        "t",
        "--timestamp",
        stamp,
        "--sign-key",
        key,
    ];
    args.extend_from_slice(extra);
    let out = csvseal(&args, Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(0), "write: {}", stderr(&out));
    stdout(&out).trim_end().to_owned()
}

fn trusted_comment(sig: &str) -> String {
    let text = std::fs::read_to_string(sig).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))
        .unwrap()
        .to_owned()
}

fn b2sum(file: &str) -> String {
    let out = Command::new("b2sum").arg(file).output().unwrap();
    stdout(&out).split_whitespace().next().unwrap().to_owned()
}

#[test]
fn a_signed_write_verifies_with_debian_minisign_and_states_the_file() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    let out = TempDir::new().unwrap();
    let path = signed_write(out.path(), "2024-09-10T14:30:00Z", TRADES, &secret, &[]);
    let sig = format!("{path}.minisig");
    let (ok, text) = minisign_verifies(&path, &public);
    assert!(ok, "minisign -Vm: {text}");
    let comment = trusted_comment(&sig);
    assert_eq!(
        comment,
        format!(
            "csvseal-signature:1\tfile:t_20240910_143000.csv\trows:3\tfirst_seq:1\tlast_seq:3\tblake2b:{}\tprev:none",
            b2sum(&path)
        )
    );
    // One byte changed: minisign refuses it.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 70;
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    if minisign().is_some() {
        let (ok, text) = minisign_verifies(&path, &public);
        assert!(!ok, "a changed file must not verify: {text}");
    }
}

#[test]
fn continue_links_each_file_to_the_one_before() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    let first = signed_write(out.path(), "2024-09-10T14:30:00Z", TRADES, &secret, &[]);
    let second = signed_write(
        out.path(),
        "2024-09-11T14:30:00Z",
        TRADES,
        &secret,
        &["--continue"],
    );
    let comment = trusted_comment(&format!("{second}.minisig"));
    assert!(comment.contains("\tfirst_seq:4\tlast_seq:6\t"), "{comment}");
    assert!(
        comment.ends_with(&format!("\tprev:t_20240910_143000.csv/{}", b2sum(&first))),
        "{comment}"
    );
    let (ok, text) = minisign_verifies(&second, &public);
    assert!(ok, "{text}");
}

#[test]
fn replace_backs_up_both_files_and_restore_brings_both_back() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    let stamp = "2024-09-10T14:30:00Z";
    let path = signed_write(out.path(), stamp, TRADES, &secret, &[]);
    let old_csv = std::fs::read(&path).unwrap();
    let old_sig = std::fs::read(format!("{path}.minisig")).unwrap();
    let newer = "timestamp,trade_id,symbol,profit_loss\n2024-09-10T15:00:00Z,T9,EURUSD,1.0\n";
    signed_write(out.path(), stamp, newer, &secret, &["--replace"]);
    let (ok, text) = minisign_verifies(&path, &public);
    assert!(ok, "the new pair matches: {text}");
    let backups = out.path().join(".csvseal-backup");
    let names = listing(&backups);
    let bak = names
        .iter()
        .find(|n| n.ends_with(".bak"))
        .expect("a backup");
    assert!(names.contains(&format!("{bak}.minisig")), "{names:?}");
    assert_eq!(
        std::fs::read(backups.join(format!("{bak}.minisig"))).unwrap(),
        old_sig
    );

    let restored = csvseal(&["restore", "--force", &path], None);
    assert_eq!(restored.status.code(), Some(0), "{}", stderr(&restored));
    assert_eq!(std::fs::read(&path).unwrap(), old_csv);
    assert_eq!(std::fs::read(format!("{path}.minisig")).unwrap(), old_sig);
    let (ok, text) = minisign_verifies(&path, &public);
    assert!(ok, "the restored pair matches: {text}");

    // An unsigned --replace takes the old version's signature away (its
    // backup keeps it): the new file never stands beside a stale one.
    let d = out.path().to_string_lossy().into_owned();
    let r = csvseal(
        &[
            "write",
            "--dir",
            &d,
            "--name",
            "t",
            "--timestamp",
            stamp,
            "--replace",
        ],
        Some(newer.as_bytes()),
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(
        !Path::new(&format!("{path}.minisig")).exists(),
        "a stale signature was left"
    );
    let kept = listing(&backups)
        .iter()
        .filter(|n| n.ends_with(".bak.minisig"))
        .count();
    // The first version, backed up by each of the two --replace runs (restore makes no backup).
    assert_eq!(
        kept, 2,
        "every signed version backed up keeps its signature"
    );
}

#[test]
fn recover_removes_an_orphan_signature_but_never_a_live_or_joined_one() {
    let keys = TempDir::new().unwrap();
    let (secret, _) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    let path = signed_write(out.path(), "2024-09-10T14:30:00Z", TRADES, &secret, &[]);
    let sig = format!("{path}.minisig");
    // An orphan: a writer died between the two renames.
    let orphan = out.path().join("t_20240911_000000.csv.minisig");
    std::fs::copy(&sig, &orphan).unwrap();
    // A signature temp a dead writer left, and a user's look-alike.
    put(out.path(), "t_20240912_000000.csv.minisig.tmp", b"x");
    put(out.path(), "notes.minisig", b"mine");
    let dir = out.path().to_string_lossy().into_owned();
    let r = csvseal(&["recover", "--json", "--dir", &dir], None);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        doc["orphan_signatures"].as_array().unwrap().len(),
        1,
        "{doc}"
    );
    let names = listing(out.path());
    assert!(
        !names.contains(&"t_20240911_000000.csv.minisig".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"t_20240912_000000.csv.minisig.tmp".to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&"notes.minisig".to_owned()), "{names:?}");
    assert!(Path::new(&sig).exists(), "a joined signature stays");

    // A live writer holds the CSV's temp: its signature is not an orphan yet.
    std::fs::copy(&sig, &orphan).unwrap();
    let temp = out.path().join("t_20240911_000000.csv.tmp");
    let held = std::fs::File::create(&temp).unwrap();
    rustix_flock(&held);
    let r = csvseal(&["recover", "--json", "--dir", &dir], None);
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(
        doc["orphan_signatures"].as_array().unwrap().is_empty(),
        "{doc}"
    );
    assert!(orphan.exists(), "a signature whose writer lives is kept");
    drop(held);
}

/// Takes the exclusive flock a live writer holds on its temp.
fn rustix_flock(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0);
}

#[test]
fn a_secret_key_others_can_read_is_refused_and_no_key_is_ever_printed() {
    let keys = TempDir::new().unwrap();
    let (secret, _) = keypair(keys.path(), "k");
    let key_line = std::fs::read_to_string(&secret)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = TempDir::new().unwrap();
    let d = out.path().to_string_lossy().into_owned();
    let r = csvseal(
        &["write", "--dir", &d, "--name", "t", "--sign-key", &secret],
        Some(TRADES.as_bytes()),
    );
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("chmod 600"), "{}", stderr(&r));
    assert!(listing(out.path()).is_empty(), "nothing written");
    for text in [stdout(&r), stderr(&r)] {
        assert!(
            !text.contains(&key_line[..40]),
            "key material printed: {text}"
        );
    }
}

/// The secret key's material in the forms a leak could take: its file's
/// base64 line, and the seed and the whole secret key in hex and base64.
fn secret_forms(secret: &str) -> Vec<String> {
    let line = std::fs::read_to_string(secret)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    let raw = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf %s '{line}' | base64 -d | od -An -v -tx1 | tr -d ' \\n'"
        ))
        .output()
        .unwrap();
    let hex = stdout(&raw);
    // Layout: alg(2) kdf(2) chk(2) salt(32) limits(16) key id(8) seed(32) public(32) checksum(32).
    let seed = &hex[(2 * 62)..(2 * 94)];
    let keypair = &hex[(2 * 62)..(2 * 126)];
    let b64 = |h: &str| {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {h} | xxd -r -p | base64 -w0"))
            .output()
            .unwrap();
        stdout(&o)
    };
    let mut forms = vec![
        line.clone(),
        line[20..60].to_owned(),
        seed.to_owned(),
        keypair.to_owned(),
    ];
    forms.push(seed.to_uppercase());
    let seed_b64 = b64(seed);
    if !seed_b64.is_empty() {
        forms.push(seed_b64[..40].to_owned());
    }
    forms
}

#[test]
fn no_command_ever_shows_the_secret_key() {
    let work = TempDir::new().unwrap();
    let w = work.path();
    let (secret, public) = keypair(w, "k");
    let forms = secret_forms(&secret);
    let out = w.join("out");
    std::fs::create_dir(&out).unwrap();
    let o = out.to_string_lossy().into_owned();
    let metrics = w.join("metrics.prom").to_string_lossy().into_owned();
    let input = put(w, "in.csv", TRADES.as_bytes());
    let mut runs: Vec<Vec<String>> = vec![];
    let common = ["-vvv", "--metrics-file", &metrics];
    let write = |name: &str, input: &str, stamp: &str, extra: &[&str]| -> Vec<String> {
        let mut a = vec!["write", "--dir", &o, "--name", name, "--input", input];
        a.extend(["--sign-key", &secret, "--timestamp", stamp]);
        a.extend(extra);
        a.iter().map(|s| s.to_string()).collect()
    };
    for log in ["text", "json"] {
        let fmt = ["--log-format", log];
        runs.push(write(
            log,
            &input,
            "2024-09-10T14:30:00Z",
            &[&["--json"][..], &fmt].concat(),
        ));
        runs.push(write(
            log,
            &input,
            "2024-09-11T14:30:00Z",
            &[&["--continue"][..], &fmt].concat(),
        ));
        // Failures: the target exists; the input is rejected.
        runs.push(write(
            log,
            &input,
            "2024-09-10T14:30:00Z",
            &[&["--json"][..], &fmt].concat(),
        ));
        runs.push(write("bad", &secret, "2024-09-12T14:30:00Z", &fmt));
    }
    runs.push(write(
        "text",
        &input,
        "2024-09-10T14:30:00Z",
        &["--replace"],
    ));
    let mut args = |a: &[&str]| runs.push(a.iter().map(|s| s.to_string()).collect());
    let first = format!("{o}/text_20240910_143000.csv");
    args(&["sign", "--sign-key", &secret, "--force", "--json", &first]);
    args(&["sign", "--sign-key", &secret, &first]);
    args(&["sign", "--sign-key", &secret, &input]);
    args(&["verify", "--key", &public, "--json", &first]);
    args(&["verify", "--key", &secret, &first]);
    args(&["verify", "--key", &public, "--series", &o, "text"]);
    args(&[
        "keygen",
        "--secret-key",
        &secret,
        "--public-key",
        &public,
        "--json",
    ]);
    args(&["recover", "--dir", &o, "--json"]);
    args(&["audit", "--dir", &o, "--json"]);
    args(&["audit", "--dir", &o, "--key", &public, "--json", "--full"]);
    args(&["audit", "--dir", &o, "--key", &public]);
    args(&["audit", "--dir", &o, "--key", &secret]);
    args(&["inspect", &first]);
    args(&["restore", "--force", &first]);
    let mut seen = String::new();
    for a in &runs {
        let mut full: Vec<&str> = common.to_vec();
        full.extend(a.iter().map(String::as_str));
        let r = csvseal(&full, None);
        seen += &format!("$ {full:?}\n{}{}", stdout(&r), stderr(&r));
    }
    // CSVSEAL_SIGN_KEY too.
    let r = Command::new(csvseal_bin())
        .args([
            "-vvv", "write", "--dir", &o, "--name", "env", "--input", &input,
        ])
        .env("CSVSEAL_SIGN_KEY", &secret)
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    seen += &format!("{}{}", stdout(&r), stderr(&r));
    // Every file csvseal wrote: signatures, state, metrics, backups.
    for dir in [out.clone(), out.join(".csvseal-backup"), w.to_owned()] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && p.to_string_lossy() != secret {
                seen += &String::from_utf8_lossy(&std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(seen.contains("signature"), "the commands ran: {seen}");
    for form in &forms {
        assert!(
            !seen.contains(form.as_str()),
            "secret key material ({form}) shown:\n{seen}"
        );
    }
}
