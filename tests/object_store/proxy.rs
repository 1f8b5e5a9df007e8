//! A small HTTP/1.1 proxy in front of a real SeaweedFS that makes it
//! misbehave the way other stores or networks do: ignore conditional
//! writes (everywhere or in one bucket), keep no checksums, corrupt a
//! part in transit, echo checksums without checking them. (It rewrites
//! requests, so it fronts a server without authentication.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How the proxy misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Drops `If-None-Match` and `If-Match`: a store that ignores them.
    IgnoreConditions,
    /// Drops `x-amz-checksum-mode`: a store that reports no checksums.
    NoChecksums,
    /// Flips one byte in the body of the first part uploaded for a file.
    CorruptFirstPart,
    /// Forwards each file's first commit (PutObject, or
    /// CompleteMultipartUpload) but cuts the connection instead of
    /// returning the answer: a commit that happened, whose reply was lost.
    LoseFirstCommitReply,
    /// [`Mode::IgnoreConditions`] only for requests whose path contains
    /// this (e.g. `/bucket/`): one location of a store that ignores them.
    IgnoreConditionsIn(&'static str),
    /// A store that does not check the checksums it is sent and reports
    /// them back: drops `x-amz-checksum-sha256` from uploads, flips a byte
    /// in the first sealed file's PutObject, and answers a HeadObject of a
    /// key with the checksum its upload claimed.
    EchoUncheckedChecksums,
}

pub struct Proxy {
    pub endpoint: String,
    stop: Arc<AtomicBool>,
    /// Requests that had a header dropped or a body changed.
    pub tampered: Arc<AtomicUsize>,
    addr: String,
}

impl Proxy {
    pub fn start(upstream: &str, mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let stop = Arc::new(AtomicBool::new(false));
        let tampered = Arc::new(AtomicUsize::new(0));
        let corrupted = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let claimed = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let (s, t) = (stop.clone(), tampered.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let (up, t, c, l) = (upstream.clone(), t.clone(), corrupted.clone(), lost.clone());
                let k = claimed.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &up, mode, &t, &c, &l, &k);
                });
            }
        });
        Proxy {
            endpoint: format!("http://{addr}"),
            stop,
            tampered,
            addr,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    mode: Mode,
    tampered: &AtomicUsize,
    corrupted: &AtomicBool,
    lost: &std::sync::Mutex<std::collections::HashSet<String>>,
    claimed: &std::sync::Mutex<std::collections::HashMap<String, String>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    // Responses flow back unchanged.
    let (mut from_server, mut to_client) = (server.try_clone()?, client.try_clone()?);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let mut reader = BufReader::new(client);
    let mut to_server = server;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let target = path.split('?').next().unwrap_or("").to_owned();
        let mut headers = vec![];
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            let drop = match mode {
                Mode::IgnoreConditions => {
                    lower.starts_with("if-none-match:") || lower.starts_with("if-match:")
                }
                Mode::NoChecksums => lower.starts_with("x-amz-checksum-mode:"),
                Mode::IgnoreConditionsIn(part) => {
                    path.contains(part)
                        && (lower.starts_with("if-none-match:") || lower.starts_with("if-match:"))
                }
                Mode::EchoUncheckedChecksums => {
                    match lower.strip_prefix("x-amz-checksum-sha256:") {
                        Some(_) => {
                            let value = line.split_once(':').unwrap().1.trim().to_owned();
                            claimed.lock().unwrap().insert(target.clone(), value);
                            true
                        }
                        None => false,
                    }
                }
                Mode::CorruptFirstPart | Mode::LoseFirstCommitReply => false,
            };
            if drop {
                tampered.fetch_add(1, Ordering::SeqCst);
            } else {
                headers.push(line);
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        // A part of a sealed file's upload (not of the probe's).
        let is_part = request_line.starts_with("PUT ")
            && request_line.contains("partNumber=")
            && !request_line.contains(".csvseal-probe");
        if mode == Mode::CorruptFirstPart
            && is_part
            && !body.is_empty()
            && !corrupted.swap(true, Ordering::SeqCst)
        {
            let i = body.len() / 2;
            body[i] ^= 0x01;
            tampered.fetch_add(1, Ordering::SeqCst);
        }
        // A sealed file's whole-object PutObject (not the probe's, nor an
        // upload's marker).
        let is_put = request_line.starts_with("PUT ")
            && !path.contains('?')
            && !path.contains(".csvseal-probe")
            && !path.contains(".csvseal-uploads");
        if mode == Mode::EchoUncheckedChecksums
            && is_put
            && !body.is_empty()
            && !corrupted.swap(true, Ordering::SeqCst)
        {
            let i = body.len() / 2;
            body[i] ^= 0x01;
            tampered.fetch_add(1, Ordering::SeqCst);
        }
        let remembered = claimed.lock().unwrap().get(&target).cloned();
        if let (Mode::EchoUncheckedChecksums, true, Some(sum)) =
            (mode, request_line.starts_with("HEAD "), remembered)
        {
            // Ask the store, then answer with the claimed checksum in
            // place of any it has (a HEAD reply has no body).
            let mut side = TcpStream::connect(upstream)?;
            side.write_all(request_line.as_bytes())?;
            for h in &headers {
                side.write_all(h.as_bytes())?;
            }
            side.write_all(b"\r\n")?;
            let mut head = vec![];
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                side.read_exact(&mut byte)?;
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head[..head.len() - 2]).into_owned();
            let mut reply: String = head
                .split_inclusive("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("x-amz-checksum-sha256:"))
                .collect();
            reply += &format!("x-amz-checksum-sha256: {sum}\r\n\r\n");
            tampered.fetch_add(1, Ordering::SeqCst);
            reader.get_mut().write_all(reply.as_bytes())?;
            continue;
        }
        let is_commit = !path.contains(".csvseal-probe")
            && !path.contains(".csvseal-uploads")
            && ((request_line.starts_with("POST ") && path.contains("uploadId="))
                || (request_line.starts_with("PUT ") && !path.contains('?')));
        if mode == Mode::LoseFirstCommitReply && is_commit && lost.lock().unwrap().insert(target) {
            // Send it on a connection of its own, let the store answer,
            // and hang up on the client without the answer.
            let mut side = TcpStream::connect(upstream)?;
            side.write_all(request_line.as_bytes())?;
            for h in &headers {
                side.write_all(h.as_bytes())?;
            }
            side.write_all(b"\r\n")?;
            side.write_all(&body)?;
            let mut first = [0u8; 1];
            side.read_exact(&mut first)?;
            std::thread::sleep(std::time::Duration::from_millis(200));
            tampered.fetch_add(1, Ordering::SeqCst);
            let client = reader.into_inner();
            let _ = client.shutdown(Shutdown::Both);
            let _ = to_server.shutdown(Shutdown::Both);
            return Ok(());
        }
        to_server.write_all(request_line.as_bytes())?;
        for h in &headers {
            to_server.write_all(h.as_bytes())?;
        }
        to_server.write_all(b"\r\n")?;
        to_server.write_all(&body)?;
    }
}
