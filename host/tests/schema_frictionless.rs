//! Table Schema checks against a corpus of cases (`schema_corpus/cases.json`:
//! a schema, a CSV and the expected verdict per case), run through the
//! built component as `csvseal write` runs them, and against the reference
//! implementation, frictionless-py, in one Python process. Where the two
//! deliberately differ the corpus says so and why (docs/schemas.md).
//!
//! A verdict is `"refused"` (the schema is rejected) or the sorted list of
//! `line:field` cells with an error (`line:primaryKey` for a duplicate key).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use csvseal::sandbox::{InputFormat, Limits, Sandbox, SealOptions};
use csvseal::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Corpus {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    /// The schema as written in the corpus (kept raw: numbers such as
    /// 12345678901234567890.5 must reach csvseal unrounded).
    schema: Option<Box<RawValue>>,
    /// A schema JSON cannot hold as a value (a property written twice).
    schema_text: Option<String>,
    csv: String,
    expect: Value,
    frictionless: Option<Difference>,
}

/// Where frictionless deliberately differs from csvseal: its verdict and why.
#[derive(Deserialize)]
struct Difference {
    expect: Value,
    why: String,
}

fn corpus_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema_corpus/cases.json")
}

fn corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_path()).unwrap();
    serde_json::from_str::<Corpus>(&text).unwrap().cases
}

impl Case {
    fn schema_json(&self) -> &str {
        match (&self.schema, &self.schema_text) {
            (_, Some(text)) => text,
            (Some(raw), None) => raw.get(),
            (None, None) => panic!("{}: no schema", self.id),
        }
    }
}

fn line_order(cells: &BTreeSet<String>) -> Value {
    let mut cells: Vec<&String> = cells.iter().collect();
    cells.sort_by_key(|c| {
        let (line, rest) = c.split_once(':').unwrap();
        (line.parse::<u64>().unwrap(), rest.to_owned())
    });
    Value::from(cells.into_iter().cloned().collect::<Vec<_>>())
}

/// The verdict of `sandbox`'s component: the case sealed as `csvseal write`
/// seals it, with the schema checked on every row.
fn csvseal_verdict(sandbox: &Sandbox, case: &Case) -> Value {
    let options = SealOptions {
        format: InputFormat::Csv,
        dialect: csvseal::Dialect::default(),
        header: None,
        schema_json: Some(case.schema_json().to_owned()),
        first_seq: 1,
    };
    let mut session = match sandbox.sealer(&options) {
        Ok(s) => s,
        Err(Error::Usage(_)) => return Value::from("refused"),
        Err(e) => panic!("{}: {e}", case.id),
    };
    session.feed(case.csv.as_bytes()).unwrap();
    let mut cells = BTreeSet::new();
    if let Err(rejected) = session.finish().unwrap() {
        assert!(!rejected.truncated, "{}", case.id);
        for e in rejected.errors {
            let what = match e.kind {
                ErrorKind::Schema if e.message.starts_with("duplicate primary key") => {
                    "primaryKey".to_owned()
                }
                ErrorKind::Schema => e.column.clone().unwrap_or_default(),
                other => format!("{other}: {}", e.message),
            };
            cells.insert(format!("{}:{what}", e.line));
        }
    }
    line_order(&cells)
}

/// frictionless-py's verdict on every case, by id (one Python process).
fn frictionless_verdicts() -> serde_json::Map<String, Value> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema_corpus/frictionless_verdicts.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(corpus_path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "frictionless-py failed (scripts/install-deps.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn csvseal_gives_the_expected_verdict_on_every_case() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let cases = corpus();
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = csvseal_verdict(&sandbox, case);
            (got != case.expect)
                .then(|| format!("{}: expected {}, got {got}", case.id, case.expect))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// Every keyword of Table Schema v1 (types, formats, constraints, field and
/// schema properties), and the v2 and unknown ones csvseal refuses, appears
/// in some case's schema.
#[test]
fn the_corpus_covers_every_keyword() {
    let cases = corpus();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let schemas: Vec<&str> = cases.iter().map(Case::schema_json).collect();
    let keywords = [
        // Types.
        "\"string\"",
        "\"integer\"",
        "\"number\"",
        "\"boolean\"",
        "\"date\"",
        "\"datetime\"",
        "\"any\"",
        "\"time\"",
        "\"year\"",
        "\"yearmonth\"",
        "\"duration\"",
        "\"object\"",
        "\"array\"",
        "\"geopoint\"",
        "\"geojson\"",
        // Formats.
        "\"default\"",
        "\"email\"",
        "\"uri\"",
        "\"uuid\"",
        "\"binary\"",
        "\"format\": \"any\"",
        "\"%d/%m/%Y\"",
        // Constraints.
        "\"required\"",
        "\"unique\"",
        "\"minLength\"",
        "\"maxLength\"",
        "\"minimum\"",
        "\"maximum\"",
        "\"pattern\"",
        "\"enum\"",
        "\"exclusiveMinimum\"",
        "\"exclusiveMaximum\"",
        // Field properties.
        "\"name\"",
        "\"title\"",
        "\"description\"",
        "\"example\"",
        "\"rdfType\"",
        "\"trueValues\"",
        "\"falseValues\"",
        "\"decimalChar\"",
        "\"groupChar\"",
        "\"bareNumber\"",
        "\"missingValues\"",
        "\"constraints\"",
        // Schema properties.
        "\"fields\"",
        "\"primaryKey\"",
        "\"foreignKeys\"",
        "\"$schema\"",
    ];
    let missing: Vec<&str> = keywords
        .iter()
        .copied()
        .filter(|k| !schemas.iter().any(|s| s.contains(k)))
        .collect();
    assert!(missing.is_empty(), "no case uses {missing:?}");
}

#[test]
fn frictionless_agrees_except_where_the_corpus_documents_why() {
    let cases = corpus();
    let verdicts = frictionless_verdicts();
    let mut disagreements = Vec::new();
    let mut documented = 0;
    for case in &cases {
        let got = &verdicts[&case.id];
        match &case.frictionless {
            None if got != &case.expect => disagreements.push(format!(
                "{}: csvseal {}, frictionless {got} (undocumented)",
                case.id, case.expect
            )),
            None => {}
            Some(d) => {
                documented += 1;
                assert!(
                    !d.why.is_empty(),
                    "{}: a difference needs a reason",
                    case.id
                );
                assert_ne!(
                    d.expect, case.expect,
                    "{}: documented as a difference but the verdicts agree",
                    case.id
                );
                if got != &d.expect {
                    disagreements.push(format!(
                        "{}: frictionless {got}, the corpus says {}",
                        case.id, d.expect
                    ));
                }
            }
        }
    }
    println!(
        "{} cases: frictionless agrees on {}, differs deliberately on {documented}",
        cases.len(),
        cases.len() - documented
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// A measurement, not a check: how often another build of the component
/// (CSVSEAL_SCHEMA_COMPONENT=path.wasm, e.g. an older release) gives the
/// corpus's verdict and frictionless's. Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn agreement_of_another_component() {
    let path = std::env::var("CSVSEAL_SCHEMA_COMPONENT").expect("CSVSEAL_SCHEMA_COMPONENT");
    let sandbox = Sandbox::from_component_file(Path::new(&path), Limits::default()).unwrap();
    let verdicts = frictionless_verdicts();
    let cases = corpus();
    let (mut expected, mut with_frictionless) = (0, 0);
    for case in &cases {
        let got = csvseal_verdict(&sandbox, case);
        expected += usize::from(got == case.expect);
        with_frictionless += usize::from(got == verdicts[&case.id]);
        if got != case.expect {
            println!("{}: expected {}, got {got}", case.id, case.expect);
        }
    }
    println!(
        "{path}: {} cases, {expected} as expected, {with_frictionless} as frictionless",
        cases.len()
    );
}
