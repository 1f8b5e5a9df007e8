#!/usr/bin/env python3
"""Writes the conformance cases' inputs: tests/conformance/cases/<name>/
input.csv, and schema.json / options.json where a case has them.

The expected reports (expected.json) are not written here: they come from
the CLI, `CSVSEAL_CONFORMANCE_REGENERATE=1 cargo test --release --test
conformance`, and are then reviewed by eye (they are the spec).

Sealed inputs are written the policy's way (Python's csv.writer, checksums
by the policy's compute_row_checksum), then damaged byte-wise where a case
needs it. Deterministic: rerun and `git diff` shows nothing. A case
directory that is no longer listed here is removed.
"""
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
SEQ, SUM = "file_seq", "checksum_sha256"


def checksum(columns, values):
    """The policy's compute_row_checksum over one row's text values."""
    pairs = sorted(zip(columns, values))
    return hashlib.sha256("|".join(v for k, v in pairs if k != SUM).encode("utf-8")).hexdigest()


def sealed(columns, rows, terminator="\r\n", quoting=csv.QUOTE_MINIMAL):
    """A sealed file as bytes. `rows` are lists in `columns` order whose
    checksum slot is None (computed) or a string (kept, for tampering)."""
    at = columns.index(SUM)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=terminator, quoting=quoting)
    w.writerow(columns)
    for r in rows:
        r = [str(v) for v in r[:at]] + [r[at]] + [str(v) for v in r[at + 1:]]
        if r[at] is None:
            r[at] = checksum(columns, r)
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def simple(rows, columns=("symbol", "price"), **kw):
    """`file_seq, <columns>, checksum_sha256` with rows given as
    (seq, values...) tuples."""
    cols = [SEQ, *columns, SUM]
    return sealed(cols, [[seq, *vals, None] for seq, *vals in rows], **kw)


def sealed_raw(columns, rows, terminator=b"\r\n"):
    """A sealed file from byte-level rows (for values csv.writer cannot
    produce: bad UTF-8, raw quoting). Each row is a list of raw fields with
    the checksum slot None; the checksum is over the fields' text as given
    (decoded with replacement, which only matters for the encoding cases)."""
    at = columns.index(SUM)
    out = [b",".join(c.encode() for c in columns)]
    for r in rows:
        text = [f.decode("utf-8", "replace") if f is not None else "" for f in r]
        r = list(r)
        r[at] = checksum(columns, text).encode()
        out.append(b",".join(r))
    return terminator.join(out) + terminator


def replace_line(data, index, new, terminator=b"\r\n"):
    """`data` with physical line `index` (0 = header) replaced by `new`."""
    lines = data.split(terminator)
    lines[index] = new
    return terminator.join(lines)


FX = [(1, "EURUSD", "1.0841"), (2, "GBPUSD", "1.2712"), (3, "USDJPY", "147.23")]
GOOD = simple(FX)
G = GOOD.split(b"\r\n")  # [header, row1, row2, row3, b""]

POLICY_COLUMNS = [SEQ, "timestamp", "trade_id", "symbol", "profit_loss", SUM]
POLICY_ROWS = [
    [1, "2024-09-10T14:30:00Z", "TRADE_20240910_001", "EURUSD", 25.0, None],
    [2, "2024-09-10T14:30:05Z", "TRADE_20240910_002", "GBPUSD", -12.5, None],
    [3, "2024-09-10T14:31:00Z", "TRADE_20240910_003", "USDJPY", 0.0, None],
]

TRADE_SCHEMA = {
    "fields": [
        {"name": "file_seq", "type": "integer", "constraints": {"required": True, "minimum": 1}},
        {"name": "timestamp", "type": "datetime", "constraints": {"required": True}},
        {"name": "trade_id", "type": "string",
         "constraints": {"required": True, "unique": True, "pattern": "TRADE_[0-9]{8}_[0-9]{3}"}},
        {"name": "symbol", "type": "string",
         "constraints": {"enum": ["EURUSD", "GBPUSD", "USDJPY"]}},
        {"name": "profit_loss", "type": "number", "constraints": {"minimum": -1000, "maximum": 1000}},
    ],
    "primaryKey": "trade_id",
}


def trades(rows):
    return sealed(POLICY_COLUMNS, [list(r) + [None] for r in rows])


def bad_rows(n, start=1):
    """n rows each with a wrong checksum (a value changed after sealing)."""
    good = simple([(start + i, f"SYM{i}", f"{i}.5") for i in range(n)])
    return good.replace(b".5,", b".6,")


CASES = {}


SIGNED = {}
KEYS_DIR = os.path.join(HERE, "keys")
MINISIGN_DIR = os.path.join(HERE, "..", "..", "guest", "tests", "data", "minisign")


def case(name, data, schema=None, options=None):
    assert name not in CASES, name
    CASES[name] = (data, schema, options)


def signed_case(name, data, keys, signed_bytes=None, by=None, signed_name="input.csv", plain=False):
    """A case verified with public keys (keys.pub: the named key files,
    concatenated): the input's signature (input.csv.minisig) is made by
    `csvseal sign` with test key `by` over `signed_bytes` (default: the
    input) as the file `signed_name`, or is the plain minisign signature of
    guest/tests/data/minisign/ (`plain`), or is absent (`by` None)."""
    case(name, data)
    SIGNED[name] = (keys, signed_bytes if signed_bytes is not None else data, by, signed_name, plain)


def csvseal_bin():
    return os.environ.get("CSVSEAL_BIN", os.path.join(HERE, "..", "..", "target", "release", "csvseal"))


def sign_with_csvseal(data, key, name):
    """The .minisig `csvseal sign` makes for `data` as the file `name`
    (deterministic: Ed25519 signatures are)."""
    with tempfile.TemporaryDirectory() as tmp:
        key_copy = os.path.join(tmp, "k.key")
        shutil.copyfile(os.path.join(KEYS_DIR, key + ".key"), key_copy)
        os.chmod(key_copy, 0o600)  # git keeps no modes; csvseal refuses a readable key
        target = os.path.join(tmp, name)
        with open(target, "wb") as f:
            f.write(data)
        subprocess.run([csvseal_bin(), "sign", "--sign-key", key_copy, target], check=True,
                       stdout=subprocess.DEVNULL)
        with open(target + ".minisig", "rb") as f:
            return f.read()


# --- valid files ---------------------------------------------------------
case("valid-basic", GOOD)
# The policy's own example row, with two more like it (float 25.0 as "25.0").
case("valid-policy-example", trades(r[:-1] for r in POLICY_ROWS))
case("valid-lf-line-ends", simple(FX, terminator="\n"))
case("valid-mixed-line-ends", GOOD.replace(b"\r\n", b"\n", 2))
case("valid-quoted-comma", simple([(1, "a,b", ",")], (("note", "more"))))
case("valid-quoted-quotes", simple([(1, 'say "hi"', '"'), (2, '""', 'x"')], ("a", "b")))
case("valid-crlf-inside-quotes", simple([(1, "line one\r\nline two", "x"), (2, "\r\n", "")], ("text", "y")))
case("valid-unicode", simple([
    (1, "café", "Zürich"), (2, "東京", "日本語"), (3, "😀🚀", "🇫🇷"),
    (4, "שלום", "مرحبا"), (5, "e\u0301", "\u2028\u00a0"),
], ("name", "city")))
case("valid-unicode-header", simple([(1, "1", "2", "3")], ("prix€", "Ünïcode", "日付")))
case("valid-empty-fields", simple([(1, "", ""), (2, "x", ""), (3, "", "y")], ("a", "b")))
case("valid-whitespace-values", simple([(1, " lead", "trail "), (2, " ", "\t")], ("a", "b")))
case("valid-pipe-in-values", simple([(1, "a|b", "|"), (2, "||", "x|")], ("a", "b")))
# The policy joins values with "|", so moving a "|" across a field boundary
# keeps the checksum: the row, split differently, still verifies.
case("valid-pipe-shift-keeps-checksum", replace_line(
    simple([(1, "a|b", "c")], ("a", "b")), 1,
    b"1,a,b|c," + checksum([SEQ, "a", "b", SUM], ["1", "a|b", "c", ""]).encode()))
case("valid-quote-all", simple(FX, quoting=csv.QUOTE_ALL))
case("valid-quoted-header", sealed([SEQ, "a,b", 'say "x"', SUM], [[1, "1", "2", None]]))
case("valid-metadata-columns-anywhere", sealed(
    ["zeta", SUM, "alpha", SEQ], [["z", None, "a", 1], ["zz", None, "aa", 2]]))
# Checksum order is by code point: "Z" < "_" < "a" < "é".
case("valid-column-order-by-code-point", sealed(
    [SEQ, "é", "a", "_", "Z", SUM], [[1, "e-acute", "lower", "under", "upper", None]]))
case("valid-many-columns", sealed(
    [SEQ] + [f"c{i:02d}" for i in range(60)] + [SUM],
    [[s] + [f"{s}-{i}" for i in range(60)] + [None] for s in (1, 2)]))
case("valid-large-seq", simple([(1, "a", "1"), (9007199254740993, "b", "2"),
                                (18446744073709551615, "c", "3")]))
case("valid-gaps", simple([(1, "a", "1"), (2, "b", "2"), (5, "c", "3"), (6, "d", "4"), (100, "e", "5")]))
case("header-only", GOOD.split(b"\r\n")[0] + b"\r\n")

# --- whole-file problems -------------------------------------------------
case("empty", b"")
case("header-only-unterminated", G[0])
case("only-blank-lines", b"\r\n\r\n")
case("missing-column-file-seq", sealed(["symbol", SUM], [["EURUSD", None]]))
case("missing-column-checksum", b"file_seq,symbol\r\n1,EURUSD\r\n2,GBPUSD\r\n")
case("bad-header-duplicate", b"file_seq,a,a,checksum_sha256\r\n1,x,y,0\r\n")
case("bad-header-empty-name", b"file_seq,,checksum_sha256\r\n")
case("bom", b"\xef\xbb\xbf" + GOOD)

# --- malformed records ---------------------------------------------------
case("malformed-ragged-short", replace_line(GOOD, 2, b"2,GBPUSD"))
case("malformed-ragged-long", replace_line(GOOD, 2, G[2] + b",extra"))
case("malformed-bare-cr", sealed_raw([SEQ, "a", SUM], [[b"1", b"x\ry", None], [b"2", b"ok", None]]))
case("malformed-stray-quote", sealed_raw([SEQ, "a", SUM], [[b"1", b'ab"c', None], [b"2", b"ok", None]]))
case("malformed-text-after-quote", sealed_raw([SEQ, "a", SUM], [[b"1", b'"ab"c', None], [b"2", b"ok", None]]))
case("malformed-blank-line", GOOD.replace(b"\r\n2,", b"\r\n\r\n2,"))
case("malformed-trailing-blank-line", GOOD + b"\r\n")
# One bad file_seq form per row: not digits, sign, leading zero, zero,
# space, fraction, exponent, above 2^64-1, empty.
case("malformed-file-seq-forms", simple([
    ("two", "a", "1"), ("+2", "b", "2"), ("-3", "c", "3"), ("04", "d", "4"), ("0", "e", "5"),
    (" 6", "f", "6"), ("7.0", "g", "7"), ("8e0", "h", "8"), ("18446744073709551616", "i", "9"),
    ("", "j", "10"), (11, "k", "11"),
]))

# --- encoding ------------------------------------------------------------
case("encoding-invalid-utf8", sealed_raw([SEQ, "a", SUM], [[b"1", b"ok", None], [b"2", b"GBP\xffUSD", None]]))
case("encoding-overlong-and-surrogate", sealed_raw(
    [SEQ, "a", SUM], [[b"1", b"\xc0\xaf", None], [b"2", b"\xed\xa0\x80", None], [b"3", b"fine", None]]))
case("encoding-latin1-header", b"file_seq,caf\xe9,checksum_sha256\r\n")

# --- checksums -----------------------------------------------------------
case("checksum-tampered-value", replace_line(GOOD, 2, G[2].replace(b"GBPUSD", b"GBPUSX")))
case("checksum-uppercase", replace_line(GOOD, 1, G[1][:-64] + G[1][-64:].upper()))
case("checksum-short", replace_line(GOOD, 1, G[1][:-1]))
case("checksum-empty", replace_line(GOOD, 1, G[1][:-64]))
case("checksum-crlf-read-as-lf", simple([(1, "one\r\ntwo", "x")], ("text", "y")).replace(b"one\r\ntwo", b"one\ntwo"))

# --- sequence ------------------------------------------------------------
case("sequence-repeated", replace_line(GOOD, 3, simple([(2, "USDJPY", "147.23")]).split(b"\r\n")[1]))
case("sequence-decreasing", simple([(5, "a", "1"), (3, "b", "2"), (4, "c", "3"), (6, "d", "4")]))
# After a bad file_seq the next row is compared with the last good one.
case("sequence-after-malformed-seq", simple([(1, "a", "1"), ("x", "b", "2"), (2, "c", "3"), (2, "d", "4")]))

# --- torn files ----------------------------------------------------------
case("torn-last-row", GOOD[:-2])
case("torn-unterminated-quote", GOOD + b'4,"EURUSD,abc\r\n')
# Cut after two of the three bytes of "€": a torn write, not an encoding error.
EURO = simple([(1, "a", "1"), (2, "b", "€uro")])
case("torn-inside-utf8-char", EURO[:EURO.index("€".encode()) + 2])

# --- several kinds in one file, in input order ---------------------------
case("mixed-errors", replace_line(replace_line(replace_line(
    simple([(i, f"S{i}", str(i)) for i in range(1, 9)]),
    2, b"2,S2"),                                                        # malformed
    4, simple([(4, "S4", "4")]).split(b"\r\n")[1].replace(b"S4", b"S5")),  # checksum
    6, simple([(3, "S6", "6")]).split(b"\r\n")[1]))                      # sequence

# --- max_errors truncation -----------------------------------------------
case("truncated-max-errors-3", bad_rows(10), options={"max_errors": 3})
case("truncated-max-errors-1-gaps", simple([(1, "a", "1"), (3, "b", "2"), (5, "c", "3"), (7, "d", "4")]),
     options={"max_errors": 1})
case("truncated-max-errors-0", bad_rows(2), options={"max_errors": 0})
case("truncated-default-1000", bad_rows(1003))
case("not-truncated-at-exactly-max", bad_rows(3), options={"max_errors": 3})

# --- limits --------------------------------------------------------------
# A record over --max-record-mib 1 is a `limit` error; the next row is checked.
case("limit-record-too-large", simple([(1, "x" * (1 << 20), "1"), (2, "ok", "2")]),
     options={"max_record_mib": 1})

# --- schemas -------------------------------------------------------------
case("schema-valid", trades(r[:-1] for r in POLICY_ROWS), schema=TRADE_SCHEMA)
case("schema-type-errors", sealed(
    [SEQ, "i", "n", "b", "d", "dt", SUM],
    [[1, "12", "1.5", "true", "2024-09-10", "2024-09-10T14:30:00Z", None],
     [2, "1.5", "abc", "yes", "2024-02-30", "2024-09-10 14:30", None],
     [3, "-7", "1e3", "false", "2024-13-01", "2024-09-10T25:00:00Z", None]]),
    schema={"fields": [{"name": "i", "type": "integer"}, {"name": "n", "type": "number"},
                       {"name": "b", "type": "boolean"}, {"name": "d", "type": "date"},
                       {"name": "dt", "type": "datetime"}]})
case("schema-constraints", sealed(
    [SEQ, "qty", "code", "side", "note", SUM],
    [[1, "5", "AB12", "buy", "ok", None],
     [2, "0", "ab12", "hold", "", None],
     [3, "101", "ABCDE", "sell", "x" * 12, None]]),
    schema={"fields": [
        {"name": "qty", "type": "integer", "constraints": {"minimum": 1, "maximum": 100}},
        {"name": "code", "type": "string", "constraints": {"pattern": "[A-Z]{2}[0-9]{2}", "maxLength": 4}},
        {"name": "side", "type": "string", "constraints": {"enum": ["buy", "sell"]}},
        {"name": "note", "type": "string", "constraints": {"required": True, "minLength": 2, "maxLength": 10}},
    ]})
case("schema-unique-and-primary-key", trades([
    POLICY_ROWS[0][:-1], [2, "2024-09-10T14:30:05Z", "TRADE_20240910_001", "GBPUSD", 1.0],
    [3, "2024-09-10T14:31:00Z", "TRADE_20240910_003", "EURUSD", 2.0]]), schema=TRADE_SCHEMA)
case("schema-missing-values", simple([(1, "NA", "1"), (2, "-", "2"), (3, "", "3")], ("a", "b")),
     schema={"missingValues": ["NA", "-"],
             "fields": [{"name": "a", "type": "integer", "constraints": {"required": True}}]})
case("schema-with-checksum-errors", trades([
    POLICY_ROWS[0][:-1], [2, "not a time", "TRADE_20240910_002", "GBPUSD", 1.0]]).replace(b"GBPUSD", b"USDJPY"),
    schema=TRADE_SCHEMA)
case("schema-unicode-messages", simple([(1, "日本語テキスト", "1")], ("name", "n")),
     schema={"fields": [{"name": "name", "type": "string", "constraints": {"maxLength": 3}}]})


# --- signed files (verified with keys.pub) -----------------------------------
TAMPERED = simple([FX[0], (2, "GBPUSD", "1.2799"), FX[2]])  # a value changed, its checksum recomputed
signed_case("signed-valid", GOOD, keys=["a"], by="a")
signed_case("signed-tampered-checksum-recomputed", TAMPERED, keys=["a"], signed_bytes=GOOD, by="a")
signed_case("signed-wrong-key", GOOD, keys=["b"], by="a")
signed_case("signed-missing", GOOD, keys=["a"])
signed_case("signed-keyring-second-key", GOOD, keys=["a", "b"], by="b")
signed_case("signed-for-another-file", GOOD, keys=["a"], by="a", signed_name="other.csv")
signed_case("signed-plain-minisign", GOOD, keys=["minisign"], plain=True)


def write_signed(d, name):
    keys, signed_bytes, by, signed_name, plain = SIGNED[name]
    texts = []
    for k in keys:
        src = os.path.join(MINISIGN_DIR, "minisign.pub") if k == "minisign" else os.path.join(KEYS_DIR, k + ".pub")
        with open(src, "rb") as f:
            texts.append(f.read())
    with open(os.path.join(d, "keys.pub"), "wb") as f:
        f.write(b"".join(texts))
    sig_path = os.path.join(d, "input.csv.minisig")
    if plain:
        with open(os.path.join(MINISIGN_DIR, "trades.csv"), "rb") as f:
            assert f.read() == signed_bytes, "the plain signature is over valid-basic's input"
        shutil.copyfile(os.path.join(MINISIGN_DIR, "trades.csv.plain-minisig"), sig_path)
    elif by is not None:
        with open(sig_path, "wb") as f:
            f.write(sign_with_csvseal(signed_bytes, by, signed_name))
    elif os.path.exists(sig_path):
        os.remove(sig_path)


def main():
    os.makedirs(CASES_DIR, exist_ok=True)
    for stale in sorted(set(os.listdir(CASES_DIR)) - set(CASES)):
        shutil.rmtree(os.path.join(CASES_DIR, stale))
    for name, (data, schema, options) in CASES.items():
        d = os.path.join(CASES_DIR, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "input.csv"), "wb") as f:
            f.write(data)
        for fname, content in (("schema.json", schema), ("options.json", options)):
            path = os.path.join(d, fname)
            if content is None:
                if os.path.exists(path):
                    os.remove(path)
                continue
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        if name in SIGNED:
            write_signed(d, name)
    print(f"{len(CASES)} cases in {os.path.relpath(CASES_DIR)}")


if __name__ == "__main__":
    main()
