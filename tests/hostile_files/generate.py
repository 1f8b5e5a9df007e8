#!/usr/bin/env python3
"""Writes csvseal's corpus of malformed inputs (tests/hostile_files/*.csv)
and expected.tsv, the error kind `csvseal verify` must report for each.

Deterministic: rerun and `git diff` shows nothing. The two huge cases (a
100 MB field, a 1,000,000-column row) are generated at test time by
tests/hostile_files.rs instead of being committed.
"""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def checksum(header, row):
    # The policy's compute_row_checksum, over the unquoted values.
    pairs = sorted(zip(header, row))
    vals = [v for k, v in pairs if k != "checksum_sha256"]
    return hashlib.sha256("|".join(vals).encode("utf-8")).hexdigest()


def sealed(header, rows):
    """Header and rows with correct checksums, CRLF, as bytes."""
    out = [",".join(header)]
    for r in rows:
        full = list(r) + [""]
        full[-1] = checksum(header, full)
        out.append(",".join(full))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


H = ["file_seq", "symbol", "checksum_sha256"]
GOOD = sealed(H, [["1", "EURUSD"], ["2", "GBPUSD"], ["3", "USDJPY"]])
lines = GOOD.split(b"\r\n")  # [header, r1, r2, r3, b""]


def replace_row(i, text):
    l = list(lines)
    l[i] = text
    return b"\r\n".join(l)


def row(seq, sym):
    return b"%s,%s,%s" % (seq, sym, checksum(H, [seq.decode(errors="replace"), sym.decode(errors="replace"), ""]).encode())


CASES = [
    # name, bytes, expected kind
    ("empty", b"", "missing-column"),
    ("header-only-no-metadata", b"a,b\r\n", "missing-column"),
    ("header-only-unterminated", b"file_seq,symbol,checksum_sha256", "torn-row"),
    ("missing-file-seq", b"symbol,checksum_sha256\r\nEURUSD,"
     + checksum(["symbol", "checksum_sha256"], ["EURUSD", ""]).encode() + b"\r\n", "missing-column"),
    ("missing-checksum", b"file_seq,symbol\r\n1,EURUSD\r\n", "missing-column"),
    ("ragged-short-row", replace_row(2, b"2,GBPUSD"), "malformed"),
    ("ragged-long-row", replace_row(2, lines[2] + b",extra"), "malformed"),
    ("bad-utf8", replace_row(2, row(b"2", b"GBP\xffUSD")), "encoding"),
    ("overlong-utf8", replace_row(2, row(b"2", b"GBP\xc0\xafUSD")), "encoding"),
    ("utf8-surrogate", replace_row(2, row(b"2", b"\xed\xa0\x80")), "encoding"),
    # Cut inside a character: a torn write, reported as such.
    ("torn-inside-utf8-char", GOOD[:-2] + b"\xe2\x82", "torn-row"),
    ("bom", b"\xef\xbb\xbf" + GOOD, "malformed"),
    ("bare-cr-in-field", replace_row(2, row(b"2", b"GBP\rUSD")), "malformed"),
    # No LF anywhere: the first record never ends, so it is torn (the
    # reader skips a broken record to its LF, and there is none).
    ("cr-only-line-ends", GOOD.replace(b"\r\n", b"\r"), "torn-row"),
    ("nul-byte-bad-checksum", replace_row(2, lines[2].replace(b"GBPUSD", b"GBP\x00SD")), "checksum-mismatch"),
    ("unterminated-quote", GOOD + b'4,"EURUSD,abc\r\n', "torn-row"),
    ("stray-quote", replace_row(2, row(b"2", b'GB"PUSD')), "malformed"),
    ("text-after-closing-quote", replace_row(2, row(b"2", b'"GBP"USD')), "malformed"),
    ("duplicate-header", b"file_seq,a,a,checksum_sha256\r\n", "bad-header"),
    ("empty-header-name", b"file_seq,,checksum_sha256\r\n", "bad-header"),
    ("duplicate-file-seq-column", b"file_seq,file_seq,checksum_sha256\r\n", "bad-header"),
    ("non-numeric-seq", replace_row(2, row(b"two", b"GBPUSD")), "malformed"),
    ("negative-seq", replace_row(1, row(b"-1", b"EURUSD")), "malformed"),
    ("overflowing-seq", replace_row(3, row(b"18446744073709551616", b"USDJPY")), "malformed"),
    ("leading-zero-seq", replace_row(2, row(b"02", b"GBPUSD")), "malformed"),
    ("zero-seq", replace_row(1, row(b"0", b"EURUSD")), "malformed"),
    ("space-in-seq", replace_row(2, row(b" 2", b"GBPUSD")), "malformed"),
    ("float-seq", replace_row(2, row(b"2.0", b"GBPUSD")), "malformed"),
    ("decreasing-seq", replace_row(3, row(b"1", b"USDJPY")), "sequence-violation"),
    ("repeated-seq", replace_row(3, row(b"2", b"USDJPY")), "sequence-violation"),
    ("uppercase-checksum", replace_row(2, lines[2][:-64] + lines[2][-64:].upper()), "checksum-mismatch"),
    ("short-checksum", replace_row(2, lines[2][:-1]), "checksum-mismatch"),
    ("non-hex-checksum", replace_row(2, lines[2][:-1] + b"g"), "checksum-mismatch"),
    ("empty-checksum", replace_row(2, lines[2][:-64]), "checksum-mismatch"),
    ("tampered-value", replace_row(2, lines[2].replace(b"GBPUSD", b"GBPUSX")), "checksum-mismatch"),
    ("torn-last-row", GOOD[:-2], "torn-row"),
    ("torn-mid-row", GOOD[:-30], "torn-row"),
    ("blank-line", GOOD.replace(b"\r\n2,", b"\r\n\r\n2,"), "malformed"),
    ("trailing-blank-line", GOOD + b"\r\n", "malformed"),
    # Starts with a CR not followed by LF.
    ("binary-garbage", bytes((i * 167 + 13) % 256 for i in range(4096)), "malformed"),
    ("binary-garbage-lf", b"\n".join(bytes((i * 31 + j) % 256 for j in range(40)) for i in range(64)), "encoding"),
]


# Where the first error of the expected kind must be: its physical line
# (1-based; 0 = the whole file) and its column ("-": none; absent: the
# column's name is binary garbage and not checked).
LOCATIONS = {
    "empty": (0, "-"),
    "header-only-no-metadata": (1, "file_seq"),
    "header-only-unterminated": (1, "-"),
    "missing-file-seq": (1, "file_seq"),
    "missing-checksum": (1, "checksum_sha256"),
    "ragged-short-row": (3, "-"),
    "ragged-long-row": (3, "-"),
    "bad-utf8": (3, "symbol"),
    "overlong-utf8": (3, "symbol"),
    "utf8-surrogate": (3, "symbol"),
    "torn-inside-utf8-char": (4, "-"),
    "bom": (1, "-"),
    "bare-cr-in-field": (3, "symbol"),
    "cr-only-line-ends": (1, "-"),
    "nul-byte-bad-checksum": (3, "checksum_sha256"),
    "unterminated-quote": (5, "-"),
    "stray-quote": (3, "symbol"),
    "text-after-closing-quote": (3, "symbol"),
    "duplicate-header": (1, "a"),
    "empty-header-name": (1, "-"),
    "duplicate-file-seq-column": (1, "file_seq"),
    "non-numeric-seq": (3, "file_seq"),
    "negative-seq": (2, "file_seq"),
    "overflowing-seq": (4, "file_seq"),
    "leading-zero-seq": (3, "file_seq"),
    "zero-seq": (2, "file_seq"),
    "space-in-seq": (3, "file_seq"),
    "float-seq": (3, "file_seq"),
    "decreasing-seq": (4, "file_seq"),
    "repeated-seq": (4, "file_seq"),
    "uppercase-checksum": (3, "checksum_sha256"),
    "short-checksum": (3, "checksum_sha256"),
    "non-hex-checksum": (3, "checksum_sha256"),
    "empty-checksum": (3, "checksum_sha256"),
    "tampered-value": (3, "checksum_sha256"),
    "torn-last-row": (4, "-"),
    "torn-mid-row": (4, "-"),
    "blank-line": (3, "-"),
    "trailing-blank-line": (5, "-"),
    "binary-garbage": (1, "-"),
    # Lines 1-4 are ASCII; the first byte >= 0x80 is on line 5.
    "binary-garbage-lf": (5, None),
}


def main():
    for f in os.listdir(HERE):
        if f.endswith(".csv"):
            os.remove(os.path.join(HERE, f))
    with open(os.path.join(HERE, "expected.tsv"), "w") as m:
        m.write("# file\texpected error kind (csvseal verify exits 1)\tline\tcolumn\n")
        for name, data, kind in CASES:
            with open(os.path.join(HERE, name + ".csv"), "wb") as f:
                f.write(data)
            line, column = LOCATIONS[name]
            loc = f"\t{line}" + ("" if column is None else f"\t{column}")
            m.write(f"{name}.csv\t{kind}{loc}\n")
    print(f"{len(CASES)} cases")


if __name__ == "__main__":
    main()
