//! What operators watch: metrics recorded through the `metrics` facade,
//! Prometheus text exposition and the text file it is kept in. The `audit`
//! job that raises alerts from them is in `jobs/`.

pub mod metrics;
pub mod prom_text;
pub mod textfile;
