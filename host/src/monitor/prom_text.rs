//! The Prometheus text exposition format (version 0.0.4): parse, merge,
//! render. Enough of it for csvseal's metrics file and for reading any file
//! node_exporter's textfile collector accepts (no timestamps are written;
//! parsed ones are dropped).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::monitor::metrics::MetricType;

/// A sample's labels, sorted by name.
pub type Labels = Vec<(String, String)>;

/// One metric family: its type, help and samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Family {
    /// `None` for an untyped family.
    pub kind: Option<MetricType>,
    pub help: Option<String>,
    /// Keyed by sample name (e.g. `x_bucket` for a histogram `x`) and labels.
    pub samples: BTreeMap<(String, Labels), f64>,
}

/// A parsed exposition: families by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub families: BTreeMap<String, Family>,
}

/// Why a metrics text could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl Exposition {
    /// Parses exposition text. Unknown `# TYPE`s (summary, untyped) are
    /// kept as untyped families; anything malformed is an error naming the
    /// line.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut exp = Exposition::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let err = |message: String| ParseError {
                line: i + 1,
                message,
            };
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                let mut parts = rest.trim_start().splitn(3, ' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("TYPE"), Some(name), Some(ty)) => {
                        check_name(name).map_err(err)?;
                        let kind = match ty.trim() {
                            "counter" => Some(MetricType::Counter),
                            "gauge" => Some(MetricType::Gauge),
                            "histogram" => Some(MetricType::Histogram),
                            "summary" | "untyped" => None,
                            other => return Err(err(format!("unknown metric type {other:?}"))),
                        };
                        let fam = exp.families.entry(name.to_owned()).or_default();
                        if !fam.samples.is_empty() {
                            return Err(err(format!("TYPE for {name} after its samples")));
                        }
                        fam.kind = kind;
                    }
                    (Some("HELP"), Some(name), help) => {
                        check_name(name).map_err(err)?;
                        exp.families.entry(name.to_owned()).or_default().help =
                            Some(unescape_help(help.unwrap_or("")));
                    }
                    _ => {} // any other comment
                }
                continue;
            }
            let (name, labels, value) = parse_sample(line).map_err(err)?;
            let family = exp.family_of(&name);
            let fam = exp.families.entry(family).or_default();
            if fam.samples.insert((name.clone(), labels), value).is_some() {
                return Err(err(format!("duplicate sample {name}")));
            }
        }
        Ok(exp)
    }

    /// The family a sample name belongs to: `x` for `x_bucket`, `x_sum` and
    /// `x_count` when `x` is a declared histogram, else the name itself.
    fn family_of(&self, sample: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = sample.strip_suffix(suffix)
                && self
                    .families
                    .get(base)
                    .is_some_and(|f| f.kind == Some(MetricType::Histogram))
            {
                return base.to_owned();
            }
        }
        sample.to_owned()
    }

    /// The value of one sample, if present.
    pub fn value(&self, sample: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let fam = self.families.get(&self.family_of(sample))?;
        let key = (sample.to_owned(), sorted(labels));
        fam.samples.get(&key).copied()
    }

    /// Adds this run's samples to what an earlier file held: counters and
    /// histograms add up; gauges and untyped samples take the new value. A
    /// family whose type changed is replaced by the new one. Families only in
    /// `self` are kept.
    pub fn merge(&mut self, run: &Exposition) {
        for (name, new) in &run.families {
            match self.families.get_mut(name) {
                Some(old) if old.kind == new.kind => {
                    if new.help.is_some() {
                        old.help.clone_from(&new.help);
                    }
                    let add = matches!(new.kind, Some(MetricType::Counter | MetricType::Histogram));
                    for (key, v) in &new.samples {
                        let slot = old.samples.entry(key.clone()).or_insert(0.0);
                        *slot = if add { *slot + v } else { *v };
                    }
                }
                _ => {
                    self.families.insert(name.clone(), new.clone());
                }
            }
        }
    }

    /// Renders the exposition text: families by name, each with HELP and
    /// TYPE; histogram series with buckets in `le` order, then sum and count.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, fam) in &self.families {
            if fam.samples.is_empty() {
                continue;
            }
            if let Some(help) = &fam.help {
                let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
            }
            let ty = fam.kind.map_or("untyped", MetricType::as_str);
            let _ = writeln!(out, "# TYPE {name} {ty}");
            let mut samples: Vec<_> = fam.samples.iter().collect();
            if fam.kind == Some(MetricType::Histogram) {
                samples.sort_by(|(a, _), (b, _)| {
                    histogram_order(name, a).total_cmp_key(&histogram_order(name, b))
                });
            }
            for ((sample, labels), value) in samples {
                out += sample;
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", format_value(*value));
            }
        }
        out
    }
}

/// Sort key for histogram samples: series (labels without `le`), then
/// buckets by bound, then `_sum`, then `_count`.
struct HistKey {
    series: Labels,
    rank: u8,
    le: f64,
}

impl HistKey {
    fn total_cmp_key(&self, other: &Self) -> std::cmp::Ordering {
        self.series
            .cmp(&other.series)
            .then(self.rank.cmp(&other.rank))
            .then(self.le.total_cmp(&other.le))
    }
}

fn histogram_order(family: &str, (sample, labels): &(String, Labels)) -> HistKey {
    let series: Labels = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
    let le = labels
        .iter()
        .find(|(k, _)| k == "le")
        .and_then(|(_, v)| parse_value(v).ok())
        .unwrap_or(f64::INFINITY);
    let rank = match sample.strip_prefix(family) {
        Some("_bucket") => 0,
        Some("_sum") => 1,
        Some("_count") => 2,
        _ => 3,
    };
    HistKey { series, rank, le }
}

fn sorted(labels: &[(&str, &str)]) -> Labels {
    let mut l: Labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    l.sort();
    l
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid metric name {name:?}"))
    }
}

/// `name{k="v",...} value [timestamp]`.
fn parse_sample(line: &str) -> Result<(String, Labels, f64), String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or_else(|| format!("sample without a value: {line:?}"))?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if let Some(mut body) = rest.strip_prefix('{') {
        loop {
            body = body.trim_start();
            if let Some(after) = body.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = body
                .find('=')
                .ok_or_else(|| format!("label without '=' in {line:?}"))?;
            let key = body[..eq].trim();
            check_name(key).map_err(|_| format!("invalid label name {key:?}"))?;
            let after_eq = body[eq + 1..].trim_start();
            let quoted = after_eq
                .strip_prefix('"')
                .ok_or_else(|| format!("label {key} value not quoted in {line:?}"))?;
            let (value, after) = read_quoted(quoted)
                .ok_or_else(|| format!("unterminated label value in {line:?}"))?;
            if labels.iter().any(|(k, _)| k == key) {
                return Err(format!("label {key} repeated"));
            }
            labels.push((key.to_owned(), value));
            body = after.trim_start();
            if let Some(after) = body.strip_prefix(',') {
                body = after;
            } else if !body.starts_with('}') {
                return Err(format!("expected ',' or '}}' in {line:?}"));
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("sample without a value: {line:?}"))?;
    let value = parse_value(value)?;
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err(format!("trailing text in {line:?}"));
    }
    labels.sort();
    Ok((name.to_owned(), labels, value))
}

/// Reads an escaped label value up to its closing quote; returns it and the
/// text after the quote.
fn read_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    None
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

/// A value as Prometheus writes it: integers without a fraction.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's shortest round-trip form; "1" not "1.0" for whole numbers.
        let s = format!("{v}");
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape_help(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# HELP c_total A counter.
# TYPE c_total counter
c_total{reason="io"} 2
c_total{reason="a \"q\" \\ \n"} 1
# TYPE h histogram
h_bucket{le="0.5"} 1
h_bucket{le="+Inf"} 3
h_bucket{le="10"} 2
h_sum 12.5
h_count 3
# TYPE g gauge
g 7 1700000000000
other_metric{x="y"} 4
"#;

    #[test]
    fn parses_renders_and_reparses() {
        let exp = Exposition::parse(SAMPLE).unwrap();
        assert_eq!(exp.value("c_total", &[("reason", "io")]), Some(2.0));
        assert_eq!(
            exp.value("c_total", &[("reason", "a \"q\" \\ \n")]),
            Some(1.0)
        );
        assert_eq!(exp.value("h_bucket", &[("le", "+Inf")]), Some(3.0));
        assert_eq!(exp.families["h"].samples.len(), 5);
        assert_eq!(exp.value("g", &[]), Some(7.0));
        let text = exp.render();
        // Buckets in numeric order, then sum and count.
        let b05 = text.find("h_bucket{le=\"0.5\"}").unwrap();
        let b10 = text.find("h_bucket{le=\"10\"}").unwrap();
        let binf = text.find("h_bucket{le=\"+Inf\"}").unwrap();
        let sum = text.find("h_sum").unwrap();
        assert!(b05 < b10 && b10 < binf && binf < sum, "{text}");
        assert_eq!(Exposition::parse(&text).unwrap(), exp);
    }

    #[test]
    fn merge_adds_counters_and_histograms_and_replaces_gauges() {
        let mut old = Exposition::parse(SAMPLE).unwrap();
        let run = Exposition::parse(
            "# TYPE c_total counter\nc_total{reason=\"io\"} 3\nc_total{reason=\"new\"} 1\n\
             # TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"10\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.25\nh_count 1\n\
             # TYPE g gauge\ng 1\n",
        )
        .unwrap();
        old.merge(&run);
        assert_eq!(old.value("c_total", &[("reason", "io")]), Some(5.0));
        assert_eq!(old.value("c_total", &[("reason", "new")]), Some(1.0));
        assert_eq!(old.value("h_bucket", &[("le", "0.5")]), Some(2.0));
        assert_eq!(old.value("h_count", &[]), Some(4.0));
        assert_eq!(old.value("h_sum", &[]), Some(12.75));
        assert_eq!(old.value("g", &[]), Some(1.0));
        assert_eq!(old.value("other_metric", &[("x", "y")]), Some(4.0));
    }

    #[test]
    fn garbage_is_an_error_with_a_line() {
        for (text, line) in [
            ("ok 1\nnot a metric line at all\n", 2),
            ("x{a=\"1\" 2\n", 1),
            ("# TYPE x wibble\n", 1),
            ("x 1\nx 2\n", 2),
            ("x{a=1} 2\n", 1),
            ("9x 1\n", 1),
            ("x one\n", 1),
        ] {
            let e = Exposition::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn values_format_like_prometheus() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }
}
