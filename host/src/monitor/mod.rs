//! What operators watch: metrics recorded through the `metrics` facade,
//! Prometheus text exposition and the text file it is kept in, and the
//! `audit` pass over a directory.

pub mod audit;
pub mod metrics;
pub mod prom_text;
pub mod textfile;
