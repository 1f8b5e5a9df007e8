//! Signature checks through csvseal's own component: a file sealed and
//! signed here (fixed keys, the layout minisign writes) checks as valid,
//! and a tampered file or an unlisted key does not.

use std::time::Instant;

use blake2::{Blake2b512, Digest};
use csvseal::{
    ChainLink, Error, FileFacts, Limits, Sandbox, SealOptions, SignatureStatus, SignedClaims,
};
use ed25519_dalek::{Signer, SigningKey};

/// Standard padded base64 (the test's own, independent of the component's).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            s.push(if i <= c.len() {
                char::from(A[(n >> (18 - 6 * i) & 63) as usize])
            } else {
                '='
            });
        }
    }
    s
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Key {
    sk: SigningKey,
    keynum: [u8; 8],
}

impl Key {
    fn new(seed: u8) -> Key {
        Key {
            sk: SigningKey::from_bytes(&[seed; 32]),
            keynum: [seed, 0xa5, 0, 0, 0, 0, 0, 0x10],
        }
    }

    fn id(&self) -> String {
        format!("{:016X}", u64::from_le_bytes(self.keynum))
    }

    fn public(&self) -> String {
        let mut body = b"Ed".to_vec();
        body.extend_from_slice(&self.keynum);
        body.extend_from_slice(self.sk.verifying_key().as_bytes());
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            self.id(),
            b64(&body)
        )
    }

    /// A minisign signature of `file` (prehashed Ed25519) with `comment`.
    fn sign(&self, file: &[u8], comment: &str) -> String {
        let sig = self.sk.sign(&Blake2b512::digest(file)).to_bytes();
        let mut line = b"ED".to_vec();
        line.extend_from_slice(&self.keynum);
        line.extend_from_slice(&sig);
        let mut global = sig.to_vec();
        global.extend_from_slice(comment.as_bytes());
        format!(
            "untrusted comment: signature from csvseal secret key\n{}\ntrusted comment: {comment}\n{}\n",
            b64(&line),
            b64(&self.sk.sign(&global).to_bytes())
        )
    }
}

/// A small file sealed by the component, and its facts.
fn sealed(sandbox: &Sandbox) -> (Vec<u8>, FileFacts) {
    let mut s = sandbox
        .sealer(&SealOptions {
            format: Default::default(),
            dialect: Default::default(),
            header: None,
            schema_json: None,
            first_seq: 7,
        })
        .unwrap();
    let mut out = s
        .feed(b"symbol,profit_loss\nEURUSD,10.5\nGBPUSD,-3\n")
        .unwrap();
    let (tail, summary) = s.finish().unwrap().unwrap();
    out.extend(tail);
    let facts = FileFacts {
        file_name: "trades-0001.csv".into(),
        rows: summary.rows,
        first_seq: summary.first_seq,
        last_seq: summary.last_seq,
    };
    (out, facts)
}

fn comment(file: &[u8], facts: &FileFacts) -> String {
    format!(
        "csvseal-signature:1\tfile:{}\trows:{}\tfirst_seq:{}\tlast_seq:{}\tblake2b:{}\tprev:none",
        facts.file_name,
        facts.rows,
        facts.first_seq.unwrap(),
        facts.last_seq.unwrap(),
        hex(&Blake2b512::digest(file))
    )
}

fn check(
    sandbox: &Sandbox,
    sig: &str,
    keys: &[String],
    file: &[u8],
    facts: &FileFacts,
) -> csvseal::SignatureReport {
    let mut c = sandbox.signature_check(sig, keys).unwrap();
    for chunk in file.chunks(16) {
        c.feed(chunk).unwrap();
    }
    c.finish(Some(facts)).unwrap()
}

#[test]
fn a_signed_file_checks_valid_with_its_claims() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let (file, facts) = sealed(&sandbox);
    let key = Key::new(9);
    let sig = key.sign(&file, &comment(&file, &facts));
    let r = check(&sandbox, &sig, &[key.public()], &file, &facts);
    assert_eq!(r.status, SignatureStatus::Valid, "{}", r.message);
    assert_eq!(r.key_id, Some(key.id()));
    assert_eq!(r.blake2b, Some(hex(&Blake2b512::digest(&file))));
    let claims = r.claims.unwrap();
    assert_eq!(
        (claims.rows, claims.first_seq, claims.last_seq),
        (2, Some(7), Some(8))
    );
    assert_eq!(claims.previous, None);
    assert_eq!(
        sandbox.public_key_ids(&key.public()).unwrap(),
        vec![key.id()]
    );
    // JSON names the status as the CLI prints it.
    let json = serde_json::to_value(SignatureStatus::UnknownKey).unwrap();
    assert_eq!(json, "unknown-key");
}

#[test]
fn a_tampered_file_is_invalid_and_another_key_unknown() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let (file, facts) = sealed(&sandbox);
    let key = Key::new(9);
    let sig = key.sign(&file, &comment(&file, &facts));
    let mut tampered = file.clone();
    let at = tampered.windows(4).position(|w| w == b"10.5").unwrap();
    tampered[at] = b'9';
    let r = check(&sandbox, &sig, &[key.public()], &tampered, &facts);
    assert_eq!(r.status, SignatureStatus::Invalid);
    assert!(
        r.message.contains("does not match the file's bytes"),
        "{}",
        r.message
    );

    let r = check(&sandbox, &sig, &[Key::new(10).public()], &file, &facts);
    assert_eq!(r.status, SignatureStatus::UnknownKey);
    assert_eq!(r.key_id, Some(key.id()));

    let renamed = FileFacts {
        file_name: "trades-0002.csv".into(),
        ..facts.clone()
    };
    let r = check(&sandbox, &sig, &[key.public()], &file, &renamed);
    assert_eq!(r.status, SignatureStatus::Invalid);
    assert!(r.message.contains("not 'trades-0002.csv'"), "{}", r.message);
}

#[test]
fn bad_keys_are_usage_errors_and_bad_signatures_are_reported() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let err = sandbox.signature_check("x", &[]).err().unwrap();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    let err = sandbox
        .public_key_ids("untrusted comment: k\nnope")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Usage(m) if m.starts_with("line 2:")),
        "{err}"
    );
    let c = sandbox
        .signature_check("garbage", &[Key::new(1).public()])
        .unwrap();
    let r = c.finish(None).unwrap();
    assert_eq!(r.status, SignatureStatus::Malformed);
    assert_eq!(r.blake2b, Some(hex(&Blake2b512::digest(b""))));
}

#[test]
fn a_chain_link_is_checked_in_the_component() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let prev = ChainLink {
        file_name: "t-0001.csv".into(),
        blake2b: "ab".repeat(64),
    };
    let claims = SignedClaims {
        file_name: "t-0002.csv".into(),
        rows: 1,
        first_seq: Some(3),
        last_seq: Some(3),
        blake2b: "cd".repeat(64),
        previous: Some(prev.clone()),
    };
    assert_eq!(sandbox.check_link(&claims, Some(&prev)).unwrap(), Ok(()));
    let other = ChainLink {
        file_name: "t-0000.csv".into(),
        ..prev
    };
    let e = sandbox
        .check_link(&claims, Some(&other))
        .unwrap()
        .unwrap_err();
    assert!(
        e.contains("'t-0002.csv'") && e.contains("'t-0000.csv'"),
        "{e}"
    );
    let e = sandbox.check_link(&claims, None).unwrap().unwrap_err();
    assert!(e.contains("no file comes before it"), "{e}");
}

/// 64 MiB in 1 MiB chunks hash as natively; prints the throughput.
#[test]
fn large_inputs_hash_like_native_blake2b() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let key = Key::new(4);
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let mut native = Blake2b512::new();
    let mut c = sandbox.signature_check("x", &[key.public()]).unwrap();
    let start = Instant::now();
    for _ in 0..64 {
        c.feed(&chunk).unwrap();
    }
    let r = c.finish(None).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..64 {
        native.update(&chunk);
    }
    let digest = native.finalize();
    let native_secs = start.elapsed().as_secs_f64();
    assert_eq!(r.blake2b, Some(hex(&digest)));
    let mb = 64.0 * 1.048576;
    eprintln!(
        "BLAKE2b-512: {:.0} MB/s in the component, {:.0} MB/s native",
        mb / secs,
        mb / native_secs
    );
}
