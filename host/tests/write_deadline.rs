//! `write_sealed_until`: a write still running at its deadline is abandoned
//! with `Error::Timeout`, its temp file removed and the target untouched.

mod common;

use std::io::{self, Read};
use std::time::{Duration, Instant};

use csvseal::{Error, Limits, Sandbox, write_sealed_until};
use tempfile::TempDir;

use common::request;

/// Yields its bytes, then sleeps before reporting the end: the input is
/// complete, but the write is past its deadline by the time it can go on.
struct SlowEnd {
    data: io::Cursor<Vec<u8>>,
    pause: Duration,
}

impl Read for SlowEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        if n == 0 {
            std::thread::sleep(self.pause);
        }
        Ok(n)
    }
}

#[test]
fn a_write_past_its_deadline_is_abandoned_cleanly() {
    let dir = TempDir::new().unwrap();
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let mut input = SlowEnd {
        data: io::Cursor::new(b"symbol,qty\nEURUSD,1\n".to_vec()),
        pause: Duration::from_millis(300),
    };
    let deadline = Instant::now() + Duration::from_millis(100);
    let err = write_sealed_until(&sb, &request(dir.path()), &mut input, "in", Some(deadline))
        .unwrap_err();
    match &err {
        Error::Timeout { path, step, .. } => {
            assert_eq!(path, &dir.path().join("orders_20240910_143000.csv"));
            assert_eq!(*step, "read input");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!((err.kind(), err.exit_code()), ("timeout", 4));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temp, no target"
    );

    // The same write with time to spare commits.
    let mut input = SlowEnd {
        data: io::Cursor::new(b"symbol,qty\nEURUSD,1\n".to_vec()),
        pause: Duration::from_millis(1),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    write_sealed_until(&sb, &request(dir.path()), &mut input, "in", Some(deadline)).unwrap();
}
