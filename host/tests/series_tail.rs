//! `series::last_seq` reads only the tail when that is provably enough, and
//! agrees with a whole-file read in every case.

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use csvseal::store::series::{TailRead, last_seq};
use csvseal::{Limits, Sandbox, WriteRequest, write_sealed};
use tempfile::TempDir;

fn seal(dir: &std::path::Path, input: &str, start: u64) -> String {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let req = WriteRequest {
        timestamp: csvseal::store::naming::parse_timestamp("2024-09-10T14:30:00Z").unwrap(),
        start_seq: start,
        ..WriteRequest::new(dir, "s")
    };
    let c = write_sealed(&sb, &req, &mut input.as_bytes(), "input").unwrap();
    c.path.file_name().unwrap().to_str().unwrap().to_owned()
}

fn read_last(input: &str, start: u64) -> (Option<u64>, TailRead) {
    let tmp = TempDir::new().unwrap();
    let name = seal(tmp.path(), input, start);
    let dir = Dir::open_ambient_dir(tmp.path(), ambient_authority()).unwrap();
    let mut f = dir.open(&name).unwrap();
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    last_seq(&sb, &mut f, &tmp.path().join(&name)).unwrap()
}

#[test]
fn a_big_quote_free_file_is_read_from_its_tail() {
    let mut s = String::from("id,v\n");
    for i in 0..50_000 {
        s += &format!("{i},x{i}\n");
    }
    assert_eq!(read_last(&s, 7), (Some(50_006), TailRead::Tail(64 << 10)));
}

#[test]
fn quotes_near_the_end_widen_the_tail_or_read_the_whole_file() {
    // A quoted field spanning lines, whose inner lines look like rows: a
    // cut inside it would be wrong, so the quoted tail is never trusted.
    let mut s = String::from("id,v\n");
    for i in 0..50_000 {
        s += &format!("{i},x{i}\n");
    }
    s += "trick,\"1,a\n2,b\n\"\n";
    assert_eq!(read_last(&s, 1), (Some(50_001), TailRead::Whole));
    // Quotes only early on: a tail past them suffices.
    let mut s = String::from("id,v\nq,\"a\nb\"\n");
    for i in 0..100_000 {
        s += &format!("{i},x{i}\n");
    }
    assert_eq!(read_last(&s, 1), (Some(100_001), TailRead::Tail(64 << 10)));
}

#[test]
fn small_and_empty_files_are_read_whole() {
    assert_eq!(read_last("id\n1\n2\n", 5), (Some(6), TailRead::Whole));
    assert_eq!(read_last("id\n", 5), (None, TailRead::Whole));
}
