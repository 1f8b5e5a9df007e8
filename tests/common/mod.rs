//! Shared helpers for the end-to-end tests: run the real `csvseal` binary
//! and the independent Python policy implementation on real files.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `csvseal` binary built from the current sources (or `$CSVSEAL_BIN`,
/// to test an installed one).
///
/// The root package cannot depend on the host's binary, so a plain
/// `cargo test --test X` would not rebuild it and could test a stale one.
/// Instead the first call runs `cargo build -p csvseal --bin csvseal` with
/// this test's profile (a no-op when it is fresh; cargo does not hold the
/// build lock while tests run) and takes the path cargo reports.
/// Every subcommand of the CLI.
pub const COMMANDS: &[&str] = &[
    "write",
    "verify",
    "inspect",
    "recover",
    "backup",
    "restore",
    "salvage",
    "audit",
    "keygen",
    "sign",
    "completions",
    "man",
];

pub fn csvseal_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CSVSEAL_BIN") {
            return PathBuf::from(p);
        }
        build_current_binary()
    })
    .clone()
}

fn build_current_binary() -> PathBuf {
    // target/<profile>/deps/<test-exe>: the profile this test was built with.
    let exe = std::env::current_exe().expect("current exe");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|p| p.to_str())
        .expect("target/<profile>/deps")
        .to_owned();
    let profile = if profile == "debug" {
        "dev".to_owned()
    } else {
        profile
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--locked", "--profile", &profile, "-p", "csvseal"])
        .args(["--bin", "csvseal", "--message-format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build for the csvseal binary");
    assert!(out.status.success(), "cargo build -p csvseal failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the csvseal executable")
}

/// Runs `csvseal ARGS` with `stdin`, using a private component cache.
pub fn csvseal(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(csvseal_bin());
    cmd.args(args)
        .env("CSVSEAL_CACHE_DIR", cache_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn csvseal");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // A child that refuses its arguments exits without reading stdin.
        if let Err(e) = pipe.write_all(input) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    child.wait_with_output().expect("wait for csvseal")
}

/// The component cache the tests share: under cargo's per-target temp dir,
/// owned by the user, never a predictable name in the world-writable /tmp
/// (a cache there could be planted by anyone; csvseal refuses such dirs).
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("csvseal-test-cache")
}

/// The path of a committed plugin component, `tests/plugins/NAME.wasm`.
pub fn plugin(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plugins")
        .join(format!("{name}.wasm"))
        .to_string_lossy()
        .into_owned()
}

/// Runs the Python policy implementation (`tests/python/policy_csv.py`).
pub fn python(args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/policy_csv.py");
    Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(script)
        .args(args)
        .output()
        .expect("python3 must be installed for the compatibility tests")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Files in `dir`, sorted, as names.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `content` to `dir/name` and returns the path as a String.
pub fn put(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

pub const TRADES: &str = "timestamp,trade_id,symbol,profit_loss\n\
2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0\n\
2024-09-10T14:31:00Z,TRADE_20240910_002,GBPUSD,-12.5\n\
2024-09-10T14:32:00Z,TRADE_20240910_003,USDJPY,0.0\n";

/// Seals `input` into `dir` with a fixed timestamp; returns the final path.
pub fn write_ok(dir: &Path, name: &str, input: &str, extra: &[&str]) -> String {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "write",
        "--dir",
        &d,
        "--name",
        name,
        "--timestamp",
        "2024-09-10T14:30:00Z",
    ];
    args.extend_from_slice(extra);
    let out = csvseal(&args, Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(0), "write failed: {}", stderr(&out));
    stdout(&out).trim_end().to_owned()
}

/// Runs `csvseal ARGS` under Python's getrusage: the output (csvseal's own
/// stdout and stderr) and the child's peak RSS in KiB.
pub fn csvseal_measured(args: &[&std::ffi::OsStr]) -> (Output, u64) {
    csvseal_measured_env(args, &[])
}

/// [`csvseal_measured`] with `env` set for csvseal (after the test cache,
/// which it may override).
pub fn csvseal_measured_env(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (Output, u64) {
    let script = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n\
        sys.stdout.buffer.write(r.stdout)\n\
        sys.stderr.buffer.write(r.stderr)\n\
        sys.stderr.write('\\n' + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.exit(r.returncode)\n";
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg("-c")
        .arg(script)
        .arg(csvseal_bin())
        .args(args)
        .env("CSVSEAL_CACHE_DIR", cache_dir())
        .envs(env.iter().copied())
        .output()
        .expect("python3 must be installed for the memory checks");
    // csvseal's own log lines come first; the wrapper's figure is last.
    let err = stderr(&out);
    let peak = err
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("peak RSS ({e}): {err}"));
    let mut out = out;
    // Hand back csvseal's stderr without the wrapper's figure.
    let keep = err.trim_end().rfind('\n').map_or(0, |i| i);
    out.stderr.truncate(keep);
    (out, peak)
}

/// Runs `csvseal ARGS` (stdin closed), killing it after `secs`: the output,
/// or `None` when it did not finish in time (a hang is a failure to report,
/// not a test that never ends).
pub fn csvseal_within(args: &[&str], secs: u64) -> Option<Output> {
    let mut child = Command::new(csvseal_bin())
        .args(args)
        .env("CSVSEAL_CACHE_DIR", cache_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn csvseal");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().expect("wait for csvseal").is_none() {
        if std::time::Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("csvseal's output"))
}

/// A key pair made by `csvseal keygen` in `dir`: (secret key path, public key path).
pub fn keypair(dir: &Path, name: &str) -> (String, String) {
    let s = dir
        .join(format!("{name}.key"))
        .to_string_lossy()
        .into_owned();
    let p = dir
        .join(format!("{name}.pub"))
        .to_string_lossy()
        .into_owned();
    let out = csvseal(&["keygen", "--secret-key", &s, "--public-key", &p], None);
    assert_eq!(out.status.code(), Some(0), "keygen: {}", stderr(&out));
    (s, p)
}

/// xorshift64*: reproducible from the printed seed, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A random test's seed: the environment variable `var` replays one,
/// otherwise the clock picks it (odd, as xorshift needs a non-zero state).
pub fn seed_from(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// Where a kill landed in a run that commits a file (the kill and power-loss
/// tests classify each kill by what they saw before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No temp file yet, the target untouched (start-up, engine load).
    BeforeTemp = 0,
    /// A temp file existed; the new file not yet renamed into place.
    During = 1,
    /// The new file renamed (or linked) into place; the process not exited.
    AfterRename = 2,
    /// The run exited 0 before the kill.
    Finished = 3,
}
