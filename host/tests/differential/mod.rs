//! The built component against the native build of the same logic: one
//! job (verify or seal, input, schema, limits, two chunkings) through
//! `Sandbox` and through `csvseal_guest` directly; the reports must be
//! equal. Only the wasm build runs the SIMD scanner (`scan.rs`), the SIMD
//! lanes of `sha256x4` (`lanes.rs`'s engine) and `checksum::hex`'s wasm branch, so this is
//! what tests them. Shared by `component_vs_native.rs` (seeded random
//! jobs) and the fuzz target in `host/fuzz`.
#![allow(dead_code)]

use csvseal::sandbox::{self, Sandbox};
use csvseal_guest::report as native;
use csvseal_guest::seal::Sealer;
use csvseal_guest::verify::Verifier;

/// SplitMix64: small, seedable, good enough to draw test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The limit profiles jobs run under; one sandbox each.
pub const PROFILES: [native::Limits; 2] = [
    native::Limits {
        max_errors: 100,
        max_record_bytes: 1 << 20,
        max_columns: 4096,
    },
    // Tight, so the limit and truncation paths run too.
    native::Limits {
        max_errors: 3,
        max_record_bytes: 96,
        max_columns: 5,
    },
];

/// A sandbox for each profile, with the built-in component or, when
/// CSVSEAL_DIFF_COMPONENT names a `.wasm` file, that one (to test another
/// build, e.g. one broken on purpose, without rebuilding the host).
pub fn sandboxes() -> Vec<Sandbox> {
    let file = std::env::var_os("CSVSEAL_DIFF_COMPONENT");
    PROFILES
        .iter()
        .map(|l| {
            let limits = sandbox::Limits {
                max_errors: l.max_errors,
                max_record_bytes: l.max_record_bytes,
                max_columns: l.max_columns,
                ..sandbox::Limits::default()
            };
            match &file {
                Some(path) => Sandbox::from_component_file(path.as_ref(), limits).unwrap(),
                None => Sandbox::builtin(limits).unwrap(),
            }
        })
        .collect()
}

/// What to run, and how to cut the input into chunks on each side.
#[derive(Debug, Clone)]
pub struct Job {
    pub verify: bool,
    /// For seals: JSON Lines instead of CSV.
    pub jsonl: bool,
    pub header: Option<Vec<String>>,
    /// For CSV seals: the input's delimiter and quote, and whether the
    /// one-column-header guard is on.
    pub delimiter: u8,
    pub quote: u8,
    pub guard: bool,
    pub first_seq: u64,
    pub input: Vec<u8>,
    pub schema: Option<String>,
    /// Index into [`PROFILES`].
    pub profile: usize,
    /// Chunk sizes for the native run and for the component run (cycled).
    pub native_chunks: Vec<usize>,
    pub component_chunks: Vec<usize>,
}

fn chunked<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Pieces values are made of: CSV's special bytes, `|` (the checksum's
/// joiner), multi-byte UTF-8, and long plain runs (past the SIMD scanner's
/// 16-byte blocks and SHA-256's 55-byte single-block limit).
const PIECES: [&str; 16] = [
    "a", "Z9", ",", "\"", "\r\n", "\n", "|", " ", "é", "中文", "😀", "0", "-1.5", "x\"y", ",\"", "",
];

fn value(rng: &mut Rng) -> String {
    let mut v = String::new();
    for _ in 0..rng.below(6) {
        if rng.one_in(4) {
            let c = *rng.pick(&['x', 'é', '7', ' ']);
            v.extend(std::iter::repeat_n(c, 8 + rng.below(90)));
        } else {
            v.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    v
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

fn csv(rng: &mut Rng, header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let crlf = rng.one_in(2);
    let mut out = String::new();
    for record in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let fields: Vec<String> = record.iter().map(|v| csv_field(v)).collect();
        out.push_str(&fields.join(","));
        out.push_str(if crlf { "\r\n" } else { "\n" });
    }
    out.into_bytes()
}

/// Column names: unique, sometimes odd, rarely a reserved one.
fn columns(rng: &mut Rng) -> Vec<String> {
    let n = 1 + rng.below(6);
    let mut names: Vec<String> = (0..n)
        .map(|i| match rng.below(8) {
            0 => format!("col é{i}"),
            1 => format!("c,{i}"),
            2 => format!("{}{i}", "long_name_".repeat(3)),
            _ => format!("c{i}"),
        })
        .collect();
    if rng.one_in(40) {
        names.push("file_seq".into());
    }
    names
}

/// Row counts that hit the 4-lane batches, their remainders and single rows.
fn row_count(rng: &mut Rng) -> usize {
    match rng.below(4) {
        0 => rng.below(4),
        1 => 4 + rng.below(9),
        _ => rng.below(200),
    }
}

fn rows(rng: &mut Rng, width: usize) -> Vec<Vec<String>> {
    (0..row_count(rng))
        .map(|_| {
            let w = if rng.one_in(50) { width + 1 } else { width };
            (0..w).map(|_| value(rng)).collect()
        })
        .collect()
}

/// A schema over the sealed layout (`file_seq`, the columns,
/// `checksum_sha256`), or none.
fn schema(rng: &mut Rng, cols: &[String]) -> Option<String> {
    if !rng.one_in(4) {
        return None;
    }
    let c = serde_json::to_string(&cols[0]).unwrap();
    Some(match rng.below(6) {
        0 => r#"{"fields":[{"name":"file_seq","type":"integer","constraints":{"minimum":2,"maximum":150}}]}"#
            .into(),
        1 => format!(
            r#"{{"fields":[{{"name":{c},"constraints":{{"maxLength":20,"unique":true}}}}]}}"#
        ),
        2 => format!(r#"{{"fields":[{{"name":{c},"constraints":{{"pattern":"[a-zé]*"}}}}]}}"#),
        3 => format!(r#"{{"fields":[{{"name":{c},"type":"number"}}],"missingValues":["","a"]}}"#),
        4 => format!(r#"{{"fields":[{{"name":"file_seq"}},{{"name":{c}}}],"primaryKey":[{c}]}}"#),
        _ => r#"{"fields":[{"name":"checksum_sha256","constraints":{"pattern":"[0-9a-f]{64}"}}]}"#
            .into(),
    })
}

/// Damage of the kinds storage and writers cause.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(data.len());
        match rng.below(7) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => {
                data.remove(at);
            }
            2 => data.insert(at, *rng.pick(b",\"\r\n|0a\xc3\xff")),
            3 => data.truncate(at),
            4 => {
                // Duplicate a stretch (e.g. a row written twice).
                let end = (at + 1 + rng.below(200)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(end..end, copy);
            }
            5 => data[at] = b'\r',
            _ => {
                let end = (at + rng.below(300)).min(data.len());
                data[at..end].reverse();
            }
        }
        if data.is_empty() {
            return;
        }
    }
}

fn chunk_sizes(rng: &mut Rng, len: usize) -> Vec<usize> {
    match rng.below(5) {
        0 => vec![len.max(1)],
        1 => vec![1],
        2 => vec![1 + rng.below(17)],
        _ => (0..1 + rng.below(8)).map(|_| 1 + rng.below(300)).collect(),
    }
}

/// A sealed file made natively from generated rows.
fn sealed(rng: &mut Rng, cols: &[String]) -> Vec<u8> {
    let rows = rows(rng, cols.len());
    let input = csv(rng, cols, &rows);
    let mut sealer = Sealer::new(native::SealOptions {
        first_seq: 1 + rng.below(3) as u64 * rng.below(1 << 20) as u64,
        ..native::SealOptions::default()
    })
    .unwrap();
    let mut out = sealer.feed(&input);
    match sealer.finish() {
        Ok((tail, _)) => {
            out.extend(tail);
            out
        }
        // Input the sealer refuses (a ragged row, a reserved name) is still
        // a fine file to verify.
        Err(_) => input,
    }
}

fn jsonl(rng: &mut Rng, cols: &[String]) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..row_count(rng) {
        let mut obj = serde_json::Map::new();
        for c in cols {
            if rng.one_in(20) {
                continue;
            }
            let v = match rng.below(6) {
                0 => serde_json::json!(rng.next() as i64),
                1 => serde_json::json!(rng.below(1000) as f64 / 7.0),
                2 => serde_json::json!(rng.one_in(2)),
                3 if rng.one_in(5) => serde_json::json!(null),
                _ => serde_json::json!(value(rng)),
            };
            obj.insert(c.clone(), v);
        }
        out.push_str(&serde_json::to_string(&obj).unwrap());
        out.push('\n');
    }
    out.into_bytes()
}

/// A random job: valid and damaged sealed files, random bytes, CSV and
/// JSON Lines to seal, with and without schemas, under both profiles.
pub fn random_job(rng: &mut Rng) -> Job {
    let cols = columns(rng);
    let verify = rng.one_in(2);
    let mut jsonl_input = false;
    let mut header = None;
    let mut input = if verify {
        match rng.below(8) {
            0 => (0..rng.below(3000)).map(|_| rng.next() as u8).collect(),
            1..=3 => sealed(rng, &cols),
            _ => {
                let mut file = sealed(rng, &cols);
                mutate(rng, &mut file);
                file
            }
        }
    } else if rng.one_in(4) {
        jsonl_input = true;
        jsonl(rng, &cols)
    } else {
        let rows = rows(rng, cols.len());
        if rng.one_in(5) {
            header = Some(cols.clone());
            let mut body = csv(rng, &cols, &rows);
            let first_line = body
                .iter()
                .position(|&b| b == b'\n')
                .map_or(body.len(), |i| i + 1);
            body.drain(..first_line);
            body
        } else {
            csv(rng, &cols, &rows)
        }
    };
    // Another dialect for a CSV seal: the same table with its delimiter and
    // quote swapped for the chosen ones (and any of theirs for `,` / `"`).
    let (mut delimiter, mut quote) = (b',', b'"');
    if !verify && !jsonl_input && rng.one_in(3) {
        delimiter = [b';', b'\t', b'|', b','][rng.below(4)];
        quote = [b'"', b'\''][rng.below(2)];
        for b in &mut input {
            *b = match *b {
                b',' => delimiter,
                b'"' => quote,
                x if x == delimiter => b',',
                x if x == quote => b'"',
                x => x,
            };
        }
    }
    let guard = !rng.one_in(4);
    if !verify && rng.one_in(8) {
        mutate(rng, &mut input);
    }
    let len = input.len();
    Job {
        verify,
        jsonl: jsonl_input,
        header,
        delimiter,
        quote,
        guard,
        first_seq: match rng.below(10) {
            0 => u64::MAX - rng.below(5) as u64,
            1 => 0,
            _ => 1 + rng.below(1000) as u64,
        },
        schema: schema(rng, &cols),
        profile: usize::from(rng.one_in(5)),
        native_chunks: chunk_sizes(rng, len),
        component_chunks: chunk_sizes(rng, len),
        input,
    }
}

/// A job from fuzzer bytes: the first byte picks verify/seal, format,
/// profile and schema; the next two the chunk sizes; the rest is the input.
pub fn job_from_bytes(data: &[u8]) -> Option<Job> {
    let [mode, a, b, input @ ..] = data else {
        return None;
    };
    let cols = ["c0".to_string()];
    let mut rng = Rng::new(u64::from(*mode));
    Some(Job {
        verify: mode & 1 == 0,
        jsonl: mode & 2 != 0,
        header: None,
        delimiter: b',',
        quote: b'"',
        guard: true,
        first_seq: 1,
        input: input.to_vec(),
        schema: if mode & 4 != 0 {
            schema(&mut Rng::new(0), &cols).or_else(|| schema(&mut rng, &cols))
        } else {
            None
        },
        profile: usize::from(mode & 8 != 0),
        native_chunks: vec![usize::from(*a) + 1],
        component_chunks: vec![usize::from(*b) * 4 + 1],
    })
}

/// The fuzz target's reading of its input: a structured random job seeded
/// by the input when the first byte is `0x3_`, `0x7_`, `0xb_` or `0xf_`,
/// else [`job_from_bytes`].
pub fn job_from_fuzz_input(data: &[u8]) -> Option<Job> {
    match data.first() {
        Some(mode) if mode & 0x30 == 0x30 => {
            let mut seed = [0u8; 8];
            for (i, b) in data.iter().enumerate() {
                seed[i % 8] ^= b.rotate_left(i as u32 / 8);
            }
            Some(random_job(&mut Rng::new(u64::from_le_bytes(seed))))
        }
        _ => job_from_bytes(data),
    }
}

/// What a job ended with, in a form both sides convert to.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The options (the schema) were refused.
    Refused(String),
    Verified {
        valid: bool,
        rows: u64,
        first_seq: Option<u64>,
        last_seq: Option<u64>,
        columns: Vec<String>,
        /// (line, after, next)
        gaps: Vec<(u64, u64, u64)>,
        gap_count: u64,
        errors: Vec<String>,
        error_count: u64,
        truncated: bool,
        warnings: Vec<String>,
    },
    Sealed {
        summary: (Vec<String>, u64, Option<u64>, Option<u64>, u64),
        output: String,
    },
    Failed {
        errors: Vec<String>,
        count: u64,
        truncated: bool,
    },
}

/// A row error as one comparable line.
fn error_line(
    kind: &str,
    line: u64,
    seq: Option<u64>,
    column: &Option<String>,
    message: &str,
) -> String {
    format!("{kind}|{line}|{seq:?}|{column:?}|{message}")
}

fn native_error(e: &native::RowError) -> String {
    error_line(e.kind.as_str(), e.line, e.seq, &e.column, &e.message)
}

fn component_error(e: &csvseal::RowError) -> String {
    error_line(e.kind.as_str(), e.line, e.seq, &e.column, &e.message)
}

/// `Outcome::Verified` from either side's report (the guest's native type
/// or the host's mirror of the WIT record: the same fields), its errors
/// flattened by `$error`.
macro_rules! verified {
    ($report:expr, $error:expr) => {{
        let r = $report;
        Outcome::Verified {
            valid: r.valid,
            rows: r.rows,
            first_seq: r.first_seq,
            last_seq: r.last_seq,
            columns: r.columns,
            gaps: r.gaps.iter().map(|g| (g.line, g.after, g.next)).collect(),
            gap_count: r.gap_count,
            errors: r.errors.iter().map($error).collect(),
            error_count: r.error_count,
            truncated: r.errors_truncated,
            warnings: r.warnings,
        }
    }};
}

fn native_outcome(job: &Job) -> Outcome {
    let limits = PROFILES[job.profile];
    if job.verify {
        // Options added later (e.g. a continuation mode) keep their defaults.
        #[allow(clippy::needless_update)]
        let options = native::VerifyOptions {
            schema_json: job.schema.clone(),
            limits,
            ..native::VerifyOptions::default()
        };
        let mut v = match Verifier::new(options) {
            Ok(v) => v,
            Err(e) => return Outcome::Refused(e),
        };
        for chunk in chunked(&job.input, &job.native_chunks) {
            v.feed(chunk);
        }
        return verified!(v.finish(), native_error);
    }
    let options = native::SealOptions {
        format: if job.jsonl {
            native::InputFormat::Jsonl
        } else {
            native::InputFormat::Csv
        },
        dialect: native::Dialect {
            delimiter: job.delimiter,
            quote: job.quote,
            has_header: job.header.is_none(),
            guard_delimiter: job.guard,
        },
        header: job.header.clone(),
        schema_json: job.schema.clone(),
        first_seq: job.first_seq,
        limits,
    };
    let mut s = match Sealer::new(options) {
        Ok(s) => s,
        Err(e) => return Outcome::Refused(e),
    };
    let mut out = Vec::new();
    for chunk in chunked(&job.input, &job.native_chunks) {
        out.extend(s.feed(chunk));
    }
    match s.finish() {
        Ok((tail, sum)) => {
            out.extend(tail);
            Outcome::Sealed {
                summary: (
                    sum.columns,
                    sum.rows,
                    sum.first_seq,
                    sum.last_seq,
                    sum.bytes,
                ),
                output: String::from_utf8_lossy(&out).into_owned(),
            }
        }
        Err(f) => Outcome::Failed {
            errors: f.errors.iter().map(native_error).collect(),
            count: f.error_count,
            truncated: f.errors_truncated,
        },
    }
}

fn component_outcome(sandbox: &Sandbox, job: &Job) -> Outcome {
    if job.verify {
        let mut v = match sandbox.verifier(job.schema.as_deref()) {
            Ok(v) => v,
            Err(csvseal::Error::Usage(e)) => return Outcome::Refused(e),
            Err(e) => panic!("component: {e}"),
        };
        for chunk in chunked(&job.input, &job.component_chunks) {
            v.feed(chunk).unwrap();
        }
        return verified!(v.finish().unwrap(), component_error);
    }
    let options = sandbox::SealOptions {
        format: if job.jsonl {
            sandbox::InputFormat::Jsonl
        } else {
            sandbox::InputFormat::Csv
        },
        dialect: sandbox::Dialect {
            delimiter: job.delimiter,
            quote: job.quote,
            has_header: job.header.is_none(),
            guard_delimiter: job.guard,
        },
        header: job.header.clone(),
        schema_json: job.schema.clone(),
        first_seq: job.first_seq,
    };
    let mut s = match sandbox.sealer(&options) {
        Ok(s) => s,
        Err(csvseal::Error::Usage(e)) => return Outcome::Refused(e),
        Err(e) => panic!("component: {e}"),
    };
    let mut out = Vec::new();
    for chunk in chunked(&job.input, &job.component_chunks) {
        out.extend(s.feed(chunk).unwrap());
    }
    match s.finish().unwrap() {
        Ok((tail, sum)) => {
            out.extend(tail);
            Outcome::Sealed {
                summary: (
                    sum.columns,
                    sum.rows,
                    sum.first_seq,
                    sum.last_seq,
                    sum.bytes,
                ),
                output: String::from_utf8_lossy(&out).into_owned(),
            }
        }
        Err(f) => Outcome::Failed {
            errors: f.errors.iter().map(component_error).collect(),
            count: f.count,
            truncated: f.truncated,
        },
    }
}

/// Runs the job both ways; `Err` describes the first difference.
pub fn check(sandboxes: &[Sandbox], job: &Job) -> Result<(), String> {
    let native = native_outcome(job);
    let component = component_outcome(&sandboxes[job.profile], job);
    if native == component {
        return Ok(());
    }
    let (native, component) = (format!("{native:#?}"), format!("{component:#?}"));
    let (n, c): (Vec<&str>, Vec<&str>) = (native.lines().collect(), component.lines().collect());
    let at = n
        .iter()
        .zip(&c)
        .position(|(a, b)| a != b)
        .unwrap_or(n.len().min(c.len()));
    Err(format!(
        "native and component differ (first at report line {at}):\n  native:    {}\n  component: {}\njob: {job:?}",
        n.get(at).unwrap_or(&"<end>"),
        c.get(at).unwrap_or(&"<end>")
    ))
}
