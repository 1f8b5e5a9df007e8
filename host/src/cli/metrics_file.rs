//! `--metrics-file PATH`: this run's metrics, added to the file's.
//!
//! A small in-process [`metrics::Recorder`] collects what the library
//! records; at exit [`csvseal::monitor::textfile::update`] merges them into
//! the file (locked, replaced atomically through the file-operation seam).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use csvseal::monitor::metrics::{self as m, MetricType};
use csvseal::monitor::prom_text::{Exposition, Family, Labels, format_value};
use csvseal::monitor::textfile;
use csvseal::store::file_ops::RealFs;
use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};

/// A histogram with fixed bucket bounds (see [`m::buckets`]).
struct FixedHistogram {
    bounds: &'static [f64],
    /// Per bucket, not cumulative; the last is `+Inf`.
    counts: Vec<AtomicU64>,
    sum: Mutex<f64>,
}

impl HistogramFn for FixedHistogram {
    fn record(&self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        *self.sum.lock().unwrap_or_else(|p| p.into_inner()) += value;
    }
}

#[derive(Default)]
struct Registry {
    counters: Mutex<BTreeMap<Key, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<Key, Arc<AtomicU64>>>,
    histograms: Mutex<BTreeMap<Key, Arc<FixedHistogram>>>,
}

/// The recorder the CLI installs; a clone reads what was recorded.
#[derive(Clone, Default)]
pub struct FileRecorder(Arc<Registry>);

impl metrics::Recorder for FileRecorder {
    // Help texts come from `csvseal::monitor::metrics::ALL`.
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut map = self.0.counters.lock().unwrap_or_else(|p| p.into_inner());
        Counter::from_arc(map.entry(key.clone()).or_default().clone())
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut map = self.0.gauges.lock().unwrap_or_else(|p| p.into_inner());
        Gauge::from_arc(map.entry(key.clone()).or_default().clone())
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut map = self.0.histograms.lock().unwrap_or_else(|p| p.into_inner());
        let h = map.entry(key.clone()).or_insert_with(|| {
            let bounds = m::buckets(key.name());
            Arc::new(FixedHistogram {
                bounds,
                counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                sum: Mutex::new(0.0),
            })
        });
        Histogram::from_arc(h.clone())
    }
}

impl FileRecorder {
    /// Installs a new recorder as the global one and returns a handle to it.
    pub fn install() -> Self {
        let r = FileRecorder::default();
        // Fails only if a recorder is already set, which the CLI never does.
        let _ = metrics::set_global_recorder(r.clone());
        r
    }

    /// What this run recorded, as an exposition.
    pub fn snapshot(&self) -> Exposition {
        let mut exp = Exposition::default();
        let reg = &self.0;
        for (key, v) in reg
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let fam = family(&mut exp, key.name(), MetricType::Counter);
            fam.samples.insert(
                (key.name().to_owned(), labels(key, None)),
                v.load(Ordering::Relaxed) as f64,
            );
        }
        for (key, v) in reg.gauges.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let fam = family(&mut exp, key.name(), MetricType::Gauge);
            fam.samples.insert(
                (key.name().to_owned(), labels(key, None)),
                f64::from_bits(v.load(Ordering::Relaxed)),
            );
        }
        for (key, h) in reg
            .histograms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let name = key.name();
            let fam = family(&mut exp, name, MetricType::Histogram);
            let mut cumulative = 0u64;
            for (i, c) in h.counts.iter().enumerate() {
                cumulative += c.load(Ordering::Relaxed);
                let le = h
                    .bounds
                    .get(i)
                    .map_or("+Inf".to_owned(), |b| format_value(*b));
                fam.samples.insert(
                    (format!("{name}_bucket"), labels(key, Some(le))),
                    cumulative as f64,
                );
            }
            let sum = *h.sum.lock().unwrap_or_else(|p| p.into_inner());
            fam.samples
                .insert((format!("{name}_sum"), labels(key, None)), sum);
            fam.samples.insert(
                (format!("{name}_count"), labels(key, None)),
                cumulative as f64,
            );
        }
        exp
    }
}

fn family<'a>(exp: &'a mut Exposition, name: &str, default: MetricType) -> &'a mut Family {
    exp.families
        .entry(name.to_owned())
        .or_insert_with(|| Family {
            kind: Some(m::metric_type(name).unwrap_or(default)),
            help: m::ALL
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, _, h)| (*h).to_owned()),
            samples: BTreeMap::new(),
        })
}

fn labels(key: &Key, le: Option<String>) -> Labels {
    let mut l: Labels = key
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    if let Some(le) = le {
        l.push(("le".into(), le));
    }
    l.sort();
    l
}

/// Adds this run's metrics to the file at `path` (see
/// [`csvseal::monitor::textfile`]). Returns warnings worth logging.
pub fn save(path: &Path, recorder: &FileRecorder) -> anyhow::Result<Vec<String>> {
    textfile::update(&RealFs, path, &recorder.snapshot())
        .with_context(|| format!("this run's metrics were not added to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Recorder;

    #[test]
    fn snapshot_has_cumulative_buckets() {
        let r = FileRecorder::default();
        let meta = Metadata::new("t", metrics::Level::INFO, None);
        let key = Key::from_parts(
            m::WRITE_DURATION_SECONDS,
            vec![metrics::Label::new("outcome", "ok")],
        );
        let h = r.register_histogram(&key, &meta);
        h.record(0.003);
        h.record(0.2);
        h.record(1000.0);
        r.register_counter(&Key::from_name(m::WRITES_OK_TOTAL), &meta)
            .increment(3);
        let exp = r.snapshot();
        let b = |le: &str| {
            exp.value(
                "csvseal_write_duration_seconds_bucket",
                &[("outcome", "ok"), ("le", le)],
            )
        };
        assert_eq!(b("0.005"), Some(1.0));
        assert_eq!(b("0.1"), Some(1.0));
        assert_eq!(b("0.25"), Some(2.0));
        assert_eq!(b("600"), Some(2.0));
        assert_eq!(b("+Inf"), Some(3.0));
        assert_eq!(
            exp.value("csvseal_write_duration_seconds_count", &[("outcome", "ok")]),
            Some(3.0)
        );
        assert_eq!(exp.value(m::WRITES_OK_TOTAL, &[]), Some(3.0));
        // Renders and parses back the same.
        assert_eq!(Exposition::parse(&exp.render()).unwrap(), exp);
    }
}
