//! The sandbox's promises: the component reaches nothing outside itself,
//! limits hold, and failures come back as clear errors.

use csvseal::{Error, Limits, Sandbox};

#[test]
fn builtin_component_imports_nothing() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    assert_eq!(sandbox.component_imports(), Vec::<String>::new());
}

#[test]
fn a_component_that_wants_the_filesystem_cannot_be_linked() {
    // The host links no WASI at all: asking for preopens fails at link time,
    // before any of the component's code runs.
    let wasm = wat::parse_str(
        r#"(component
            (import "wasi:filesystem/preopens@0.2.0" (instance
                (export "get-directories" (func (result (list u32))))
            ))
        )"#,
    )
    .unwrap();
    let err = Sandbox::from_component_bytes(&wasm, Limits::default())
        .err()
        .expect("must not link");
    assert!(matches!(err, Error::Sandbox(_)), "{err}");
    assert!(
        err.to_string().contains("wasi:filesystem/preopens"),
        "{err}"
    );
}

#[test]
fn a_component_of_the_wrong_shape_is_refused() {
    let wasm = wat::parse_str("(component)").unwrap();
    let err = Sandbox::from_component_bytes(&wasm, Limits::default())
        .err()
        .expect("must be refused");
    assert!(
        err.to_string().contains("not a csvseal engine component"),
        "{err}"
    );
}

#[test]
fn the_memory_cap_holds_and_is_named() {
    let limits = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    let sandbox = Sandbox::builtin(limits).unwrap();
    let mut session = sandbox.verifier(None).unwrap();
    // One 8 MiB record: more than the cap allows the component to hold.
    let mut big = b"file_seq,checksum_sha256,x\r\n1,".to_vec();
    big.resize(8 << 20, b'a');
    let err = session.feed(&big).unwrap_err();
    assert!(err.to_string().contains("memory limit"), "{err}");
    // The host is fine and the sandbox still serves new sessions.
    let report = {
        let mut s = sandbox.verifier(None).unwrap();
        s.feed(b"file_seq,checksum_sha256\r\n").unwrap();
        s.finish().unwrap()
    };
    assert!(report.valid, "{report:?}");
}

#[test]
fn row_checksum_matches_the_policy_example() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let header: Vec<String> = ["file_seq", "timestamp", "trade_id", "symbol", "profit_loss"]
        .map(String::from)
        .to_vec();
    let fields: Vec<String> = [
        "1",
        "2024-09-10T14:30:00Z",
        "TRADE_20240910_001",
        "EURUSD",
        "25.0",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        sandbox.row_checksum(&header, &fields).unwrap(),
        "184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8"
    );
    assert!(sandbox.row_checksum(&header, &fields[..2]).is_err());
}
