//! The shipped Prometheus alerting rules parse, have the structure
//! Prometheus requires, and name only metrics csvseal records (promtool is
//! not available, so the structure is checked here).

use std::collections::BTreeSet;

use csvseal::jobs::audit::AlertClass;
use csvseal::monitor::metrics::{ALL, MetricType};
use serde_norway::Value;

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/prometheus/csvseal-alerts.yml"
);

/// Every series name an expression may use: families, and histogram parts.
fn known_series() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (name, ty, _) in ALL {
        names.insert((*name).to_owned());
        if *ty == MetricType::Histogram {
            for s in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{s}"));
            }
        }
    }
    names
}

/// `csvseal_*` identifiers in a PromQL expression.
fn metric_refs(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(pos) = expr[i..].find("csvseal_") {
        let start = i + pos;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if boundary {
            out.push(expr[start..end].to_owned());
        }
        i = end;
    }
    out
}

fn is_duration(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["s", "m", "h", "d", "w", "y"].contains(&unit)
}

#[test]
fn alerting_rules_are_well_formed_and_use_real_metrics() {
    let text = std::fs::read_to_string(RULES).unwrap();
    let doc: Value = serde_norway::from_str(&text).expect("rules file is YAML");
    let top = doc.as_mapping().expect("top level is a mapping");
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        [&Value::from("groups")],
        "only `groups` at the top"
    );
    let groups = doc["groups"].as_sequence().expect("groups is a list");
    assert!(!groups.is_empty());
    let known = known_series();
    let mut alert_names = BTreeSet::new();
    let mut exprs = Vec::new();
    for g in groups {
        assert!(
            g["name"].as_str().is_some_and(|n| !n.is_empty()),
            "group without a name"
        );
        let rules = g["rules"].as_sequence().expect("rules is a list");
        assert!(!rules.is_empty());
        for r in rules {
            let m = r.as_mapping().expect("rule is a mapping");
            for k in m.keys() {
                let k = k.as_str().unwrap();
                assert!(
                    [
                        "alert",
                        "expr",
                        "for",
                        "labels",
                        "annotations",
                        "keep_firing_for"
                    ]
                    .contains(&k),
                    "unknown rule key {k}"
                );
            }
            let name = r["alert"].as_str().expect("every rule is an alerting rule");
            assert!(
                name.chars().next().unwrap().is_ascii_uppercase()
                    && name.chars().all(|c| c.is_ascii_alphanumeric()),
                "{name}"
            );
            assert!(
                alert_names.insert(name.to_owned()),
                "duplicate alert {name}"
            );
            let expr = r["expr"]
                .as_str()
                .expect("expr is a string")
                .trim()
                .to_owned();
            assert!(!expr.is_empty(), "{name}: empty expr");
            let mut depth = 0i32;
            for c in expr.chars() {
                match c {
                    '(' | '{' | '[' => depth += 1,
                    ')' | '}' | ']' => depth -= 1,
                    _ => {}
                }
                assert!(depth >= 0, "{name}: unbalanced brackets in {expr}");
            }
            assert_eq!(depth, 0, "{name}: unbalanced brackets in {expr}");
            let refs = metric_refs(&expr);
            assert!(!refs.is_empty(), "{name}: uses no csvseal metric");
            for m in &refs {
                assert!(known.contains(m), "{name}: {m} is not a csvseal metric");
            }
            if let Some(f) = r.get("for") {
                assert!(is_duration(f.as_str().unwrap()), "{name}: bad `for`");
            }
            let severity = r["labels"]["severity"].as_str().expect("severity label");
            assert!(
                ["critical", "warning", "info"].contains(&severity),
                "{name}: {severity}"
            );
            assert!(
                r["annotations"]["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            exprs.push(expr);
        }
    }
    // Every alert class of `audit` has a rule on its gauge.
    for class in AlertClass::ALL {
        let sel = format!("csvseal_audit_alerts{{class=\"{}\"}}", class.as_str());
        assert!(exprs.iter().any(|e| e.contains(&sel)), "no rule for {sel}");
    }
    // The timeout rule uses the reason the library records.
    let timeout = csvseal::Error::Timeout {
        path: "x".into(),
        step: "s",
        after: Default::default(),
    };
    let sel = format!(
        "csvseal_writes_failed_total{{reason=\"{}\"}}",
        timeout.kind()
    );
    assert!(exprs.iter().any(|e| e.contains(&sel)), "no rule for {sel}");
}

#[test]
fn metric_refs_finds_names() {
    assert_eq!(
        metric_refs("rate(csvseal_a_total[5m]) / xcsvseal_b + csvseal_c{l=\"v\"}"),
        ["csvseal_a_total", "csvseal_c"]
    );
    assert!(is_duration("15m") && !is_duration("15") && !is_duration("m"));
}
