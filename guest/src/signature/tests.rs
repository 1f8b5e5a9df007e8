//! End-to-end checks of signatures made here with fixed keys (the same
//! layout minisign writes), and of ones made by Debian's minisign.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use alloc::{format, string};

use blake2::{Blake2b512, Digest};
use ed25519_dalek::{Signer, SigningKey};

use super::claims;
use super::*;

const FILE: &[u8] = b"file_seq,a,checksum_sha256\r\n1,x,00\r\n2,y,11\r\n";

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                s.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A test key: its seed byte also makes its key number.
struct Key {
    sk: SigningKey,
    keynum: [u8; 8],
}

impl Key {
    fn new(seed: u8) -> Key {
        Key {
            sk: SigningKey::from_bytes(&[seed; 32]),
            keynum: [seed, 1, 2, 3, 4, 5, 6, 7],
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

    /// The four lines of a minisign signature of `file` with `comment`,
    /// as raw parts so tests can alter each.
    fn parts(&self, file: &[u8], comment: &str) -> ([u8; 74], String, [u8; 64]) {
        let sig = self.sk.sign(&Blake2b512::digest(file)).to_bytes();
        let mut line = [0u8; 74];
        line[..2].copy_from_slice(b"ED");
        line[2..10].copy_from_slice(&self.keynum);
        line[10..].copy_from_slice(&sig);
        let mut global = sig.to_vec();
        global.extend_from_slice(comment.as_bytes());
        (line, comment.to_string(), self.sk.sign(&global).to_bytes())
    }

    fn sign(&self, file: &[u8], comment: &str) -> String {
        let (line, comment, global) = self.parts(file, comment);
        text(&line, &comment, &global)
    }
}

fn text(line: &[u8], comment: &str, global: &[u8]) -> String {
    format!(
        "untrusted comment: signature from csvseal\n{}\ntrusted comment: {comment}\n{}\n",
        b64(line),
        b64(global)
    )
}

fn b2(file: &[u8]) -> String {
    Blake2b512::digest(file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn claims_of(file: &[u8]) -> SignedClaims {
    SignedClaims {
        file_name: "t.csv".into(),
        rows: 2,
        first_seq: Some(1),
        last_seq: Some(2),
        blake2b: b2(file),
        previous: None,
    }
}

fn facts() -> FileFacts {
    FileFacts {
        file_name: "t.csv".into(),
        rows: 2,
        first_seq: Some(1),
        last_seq: Some(2),
    }
}

/// Checks `sig` over `file` under `keys`, fed in chunks of 7 bytes.
fn check(sig: &str, keys: &[String], file: &[u8], facts: Option<&FileFacts>) -> SignatureReport {
    let mut c = SignatureCheck::new(sig, keys).unwrap();
    for chunk in file.chunks(7) {
        c.feed(chunk);
    }
    c.finish(facts)
}

fn good() -> (Key, String) {
    let k = Key::new(1);
    let sig = k.sign(FILE, &claims::format(&claims_of(FILE)));
    (k, sig)
}

#[test]
fn a_good_signature_is_valid_with_its_claims() {
    let (k, sig) = good();
    let r = check(&sig, &[k.public()], FILE, Some(&facts()));
    assert_eq!(r.status, SignatureStatus::Valid, "{}", r.message);
    assert_eq!(r.message, "");
    assert_eq!(r.key_id.as_deref(), Some(k.id().as_str()));
    assert_eq!(r.claims, Some(claims_of(FILE)));
    assert_eq!(r.blake2b, b2(FILE));
    assert_eq!(r.trusted_comment, Some(claims::format(&claims_of(FILE))));
    // Without facts only the bytes and the comment are checked.
    assert_eq!(
        check(&sig, &[k.public()], FILE, None).status,
        SignatureStatus::Valid
    );
    // The chunking does not matter.
    let mut c = SignatureCheck::new(&sig, &[k.public()]).unwrap();
    c.feed(FILE);
    assert_eq!(c.finish(Some(&facts())), r);
}

#[test]
fn one_flipped_byte_anywhere_is_invalid() {
    let (k, _) = good();
    let comment = claims::format(&claims_of(FILE));
    let (line, _, global) = k.parts(FILE, &comment);
    let keys = [k.public()];
    // In the file.
    for i in [0, FILE.len() / 2, FILE.len() - 1] {
        let mut file = FILE.to_vec();
        file[i] ^= 1;
        let r = check(&k.sign(FILE, &comment), &keys, &file, None);
        assert_eq!(r.status, SignatureStatus::Invalid, "byte {i}");
        assert!(
            r.message.contains("does not match the file's bytes"),
            "{}",
            r.message
        );
        assert_eq!(r.claims, None);
        assert_eq!(r.trusted_comment, None);
    }
    // In the signature proper.
    let mut bad = line;
    bad[40] ^= 1;
    let r = check(&text(&bad, &comment, &global), &keys, FILE, None);
    assert_eq!(r.status, SignatureStatus::Invalid);
    // In the trusted comment (one more row claimed).
    let altered = comment.replace("rows:2", "rows:3");
    let r = check(&text(&line, &altered, &global), &keys, FILE, None);
    assert_eq!(r.status, SignatureStatus::Invalid);
    assert!(r.message.contains("comment was altered"), "{}", r.message);
    assert_eq!(r.trusted_comment, None);
    // In the global signature.
    let mut g = global;
    g[63] ^= 0x10;
    let r = check(&text(&line, &comment, &g), &keys, FILE, None);
    assert_eq!(r.status, SignatureStatus::Invalid);
    assert!(r.message.contains("comment was altered"), "{}", r.message);
}

#[test]
fn another_key_is_unknown_and_a_keyring_finds_its_key() {
    let (k, sig) = good();
    let other = Key::new(2);
    let r = check(&sig, &[other.public()], FILE, None);
    assert_eq!(r.status, SignatureStatus::UnknownKey);
    assert_eq!(r.key_id.as_deref(), Some(k.id().as_str()));
    assert!(r.message.contains(&k.id()), "{}", r.message);
    assert_eq!(r.claims, None);
    // A keyring (concatenated key files) and a list of key texts both work.
    let ring = format!("{}\n{}", other.public(), k.public());
    assert_eq!(public_key_ids(&ring), Ok(vec![other.id(), k.id()]));
    assert_eq!(
        check(&sig, &[ring], FILE, None).status,
        SignatureStatus::Valid
    );
    let texts = [other.public(), k.public()];
    assert_eq!(
        check(&sig, &texts, FILE, None).status,
        SignatureStatus::Valid
    );
    // A key with the signer's key number but another key is invalid.
    let impostor = Key {
        keynum: k.keynum,
        ..Key::new(3)
    };
    let r = check(&sig, &[impostor.public()], FILE, None);
    assert_eq!(r.status, SignatureStatus::Invalid);
}

#[test]
fn malformed_texts_are_reported_not_refused() {
    let (k, sig) = good();
    let keys = [k.public()];
    let lines: Vec<&str> = sig.lines().collect();
    let legacy = {
        let comment = claims::format(&claims_of(FILE));
        let (mut line, _, global) = k.parts(FILE, &comment);
        line[1] = b'd';
        text(&line, &comment, &global)
    };
    let truncated = sig.replacen(lines[1], &lines[1][..lines[1].len() - 2], 1);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "the text is empty"),
        ("\n \r\n".into(), "the text is empty"),
        ("garbage".into(), "line 1 does not start"),
        ("\u{0}\u{1}\n\n".into(), "line 1 does not start"),
        (lines[..2].join("\n"), "ends before its trusted comment"),
        (
            legacy,
            "legacy (non-prehashed) minisign signatures are not supported; re-sign with minisign 0.9+ or csvseal sign",
        ),
        (truncated, "line 2 is base64 text of a length"),
        (
            sig.replacen(&lines[1][4..8], "!!!!", 1),
            "line 2 is a character",
        ),
        (
            sig.replacen("\ntrusted comment: ", "\ntrusted-comment: ", 1),
            "line 3 does not start",
        ),
        (
            format!(
                "{}\n{}\n{}\n{}",
                lines[0],
                lines[1],
                lines[2],
                &lines[3][..84]
            ),
            "line 4 holds 63 bytes",
        ),
        (format!("{sig}more\n"), "text follows"),
        (
            format!("{}\n{}\n", lines[0], b64(b"ED12345678")),
            "holds 10 bytes, not 74",
        ),
        (
            format!("{}\n{}\n", lines[0], b64(b"XY")),
            "algorithm \"ED\"",
        ),
    ];
    for (text, want) in cases {
        let r = check(&text, &keys, FILE, None);
        assert_eq!(r.status, SignatureStatus::Malformed, "{text:?}");
        assert!(r.message.contains(want), "{text:?}: {}", r.message);
        assert_eq!(r.blake2b, b2(FILE));
        assert_eq!(r.key_id, None);
    }
}

#[test]
fn crlf_line_ends_are_accepted() {
    let (k, sig) = good();
    let crlf = sig.replace('\n', "\r\n");
    let r = check(
        &crlf,
        &[k.public().replace('\n', "\r\n")],
        FILE,
        Some(&facts()),
    );
    assert_eq!(r.status, SignatureStatus::Valid, "{}", r.message);
    // Only one CR is a line end: a second stays in the comment and breaks it.
    let r = check(&sig.replace('\n', "\r\r\n"), &[k.public()], FILE, None);
    assert_ne!(r.status, SignatureStatus::Valid);
}

#[test]
fn each_fact_that_differs_is_named() {
    let (k, sig) = good();
    let keys = [k.public()];
    let cases = [
        (
            FileFacts {
                file_name: "u.csv".into(),
                ..facts()
            },
            "is for 't.csv', not 'u.csv'",
        ),
        (
            FileFacts { rows: 3, ..facts() },
            "signed with rows 2, but has rows 3",
        ),
        (
            FileFacts {
                first_seq: Some(0),
                ..facts()
            },
            "first file_seq 1, but has first file_seq 0",
        ),
        (
            FileFacts {
                last_seq: None,
                ..facts()
            },
            "last file_seq 2, but has last file_seq none",
        ),
    ];
    for (f, want) in cases {
        let r = check(&sig, &keys, FILE, Some(&f));
        assert_eq!(r.status, SignatureStatus::Invalid, "{f:?}");
        assert!(r.message.contains(want), "{}", r.message);
        // The claims are authentic, so they are reported.
        assert_eq!(r.claims, Some(claims_of(FILE)));
    }
}

#[test]
fn claims_that_lie_about_the_hash_are_invalid() {
    let k = Key::new(1);
    let mut c = claims_of(FILE);
    c.blake2b = "0".repeat(128);
    let r = check(
        &k.sign(FILE, &claims::format(&c)),
        &[k.public()],
        FILE,
        None,
    );
    assert_eq!(r.status, SignatureStatus::Invalid);
    assert!(r.message.contains("but its bytes hash to"), "{}", r.message);
}

#[test]
fn a_bad_version_is_invalid_and_a_plain_comment_has_no_claims() {
    let k = Key::new(1);
    let keys = [k.public()];
    let v2 = claims::format(&claims_of(FILE)).replace("signature:1", "signature:2");
    let r = check(&k.sign(FILE, &v2), &keys, FILE, Some(&facts()));
    assert_eq!(r.status, SignatureStatus::Invalid);
    assert!(
        r.message.contains("version \"2\" is not supported"),
        "{}",
        r.message
    );
    assert_eq!(r.trusted_comment.as_deref(), Some(v2.as_str()));

    let r = check(
        &k.sign(FILE, "timestamp:1 file:t.csv"),
        &keys,
        FILE,
        Some(&facts()),
    );
    assert_eq!(r.status, SignatureStatus::Valid, "{}", r.message);
    assert_eq!(r.claims, None);
    assert_eq!(r.trusted_comment.as_deref(), Some("timestamp:1 file:t.csv"));
}

#[test]
fn unreadable_keys_fail_the_start_naming_the_line() {
    let k = Key::new(1);
    let sig = k.sign(FILE, "x");
    let err = |keys: &[String]| SignatureCheck::new(&sig, keys).err().unwrap();
    assert!(err(&[]).contains("no public key"));
    assert!(err(&["untrusted comment: nothing\n\n".into()]).contains("no public key"));
    let e = err(&["untrusted comment: x\nnot base64\n".into()]);
    assert!(
        e.starts_with("public key: line 2: not a minisign public key"),
        "{e}"
    );
    let e = err(&[k.public(), format!("\n\n{}", b64(&[b'E'; 42]))]);
    assert!(e.starts_with("public key text 2: line 3:"), "{e}");
    assert!(e.contains("algorithm is not Ed25519"), "{e}");
    let short = b64(&[b'E', b'd', 1, 2, 3]);
    assert!(err(&[short]).contains("5 bytes, not 42"));
    assert_eq!(
        public_key_ids("x").unwrap_err(),
        "line 1: not a minisign public key: base64 text of a length that is not a multiple of 4 (truncated?)"
    );
    // Messages name no key material.
    let body = k.public().lines().nth(1).unwrap().to_string();
    let bad = format!("{}\n{}", k.public(), &body[..body.len() - 4]);
    assert!(!err(&[bad]).contains(&body[..20]));
}

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/minisign/");

fn real(name: &str) -> Vec<u8> {
    std::fs::read(format!("{REAL}{name}")).unwrap()
}

fn real_text(name: &str) -> String {
    string::String::from_utf8(real(name)).unwrap()
}

#[test]
fn signatures_made_by_minisign_verify() {
    let file = real("trades.csv");
    let key = [real_text("minisign.pub")];
    assert_eq!(
        public_key_ids(&key[0]),
        Ok(vec!["D18462FBA40EE349".to_string()])
    );
    let facts = FileFacts {
        file_name: "trades.csv".into(),
        rows: 3,
        first_seq: Some(1),
        last_seq: Some(3),
    };
    let r = check(&real_text("trades.csv.minisig"), &key, &file, Some(&facts));
    assert_eq!(r.status, SignatureStatus::Valid, "{}", r.message);
    assert_eq!(r.key_id.as_deref(), Some("D18462FBA40EE349"));
    let c = r.claims.unwrap();
    assert_eq!(
        (c.rows, c.first_seq, c.last_seq, c.previous),
        (3, Some(1), Some(3), None)
    );
    assert_eq!(c.blake2b, r.blake2b);

    let r = check(
        &real_text("trades.csv.plain-minisig"),
        &key,
        &file,
        Some(&facts),
    );
    assert_eq!(r.status, SignatureStatus::Valid, "{}", r.message);
    assert_eq!(
        (r.claims, r.trusted_comment.as_deref()),
        (None, Some("signed by plain minisign"))
    );

    let r = check(&real_text("trades.csv.legacy-minisig"), &key, &file, None);
    assert_eq!(r.status, SignatureStatus::Malformed);
    assert!(
        r.message.starts_with("legacy (non-prehashed)"),
        "{}",
        r.message
    );

    let mut tampered = file.clone();
    let at = tampered.len() - 70;
    tampered[at] ^= 1;
    let r = check(
        &real_text("trades.csv.minisig"),
        &key,
        &tampered,
        Some(&facts),
    );
    assert_eq!(r.status, SignatureStatus::Invalid);
}

#[test]
fn every_single_character_change_after_the_untrusted_comment_is_caught() {
    let (k, sig) = good();
    let keys = [k.public()];
    let start = sig.find('\n').unwrap() + 1;
    let mut checked = 0;
    for at in 0..sig.len() {
        for c in ['A', 'z', '/', '+', '=', '\n', '\r', '\t', ' ', 'é'] {
            let mut text = sig.clone();
            let Some(old) = text.get(at..).and_then(|t| t.chars().next()) else {
                continue;
            };
            if old == c {
                continue;
            }
            text.replace_range(at..at + old.len_utf8(), c.encode_utf8(&mut [0; 4]));
            let r = check(&text, &keys, FILE, Some(&facts()));
            if at >= start {
                // A final newline may become a CR: still the same 4 lines.
                let same = at == sig.len() - 1 && c == '\r';
                assert!(same || r.status != SignatureStatus::Valid, "{text:?}");
            }
            checked += 1;
        }
    }
    assert!(checked > 3000, "{checked}");
}
