//! What operators watch: metrics recorded through the `metrics` facade,
//! Prometheus text exposition, and the `audit` pass over a directory.

pub mod audit;
pub mod metrics;
pub mod prom_text;
