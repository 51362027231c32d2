//! lakewatch-exporter: one Prometheus exporter for a data platform's disks, containers,
//! Postgres, object storage and Trino.
//!
//! Collectors run in the background, each on its own interval and timeout; their results
//! are encoded once into a snapshot that `/metrics` serves as-is, so a scrape costs a
//! pointer clone and never waits on a slow target. This crate is not a client library
//! for instrumenting applications, and it never collects on a scrape.

#![warn(missing_docs)]

pub mod build_info;
pub mod collector;
pub mod config;
pub mod discovery;
pub mod error_kind;
#[doc(hidden)]
pub mod fuzz;
pub mod http_client;
pub mod passthrough;
pub mod reload;
pub mod scheduler;
pub mod server;
pub mod snapshot;
pub mod timestamp;
pub mod tls;
pub mod web;

use collector::Job;
use config::Config;

/// Builds the list of jobs the configuration enables, in a fixed order: the explicit list
/// of collectors, each building its jobs from its own settings.
pub fn jobs(config: &Config) -> Vec<Job> {
    let mut jobs = Vec::new();
    if let Some(settings) = &config.disk {
        jobs.extend(collector::disk::jobs(settings));
    }
    if let Some(settings) = &config.container {
        jobs.extend(collector::container::jobs(settings));
    }
    if let Some(settings) = &config.postgres {
        jobs.extend(collector::postgres::jobs(settings));
    }
    if let Some(settings) = &config.trino {
        jobs.extend(collector::trino::jobs(settings));
    }
    if let Some(settings) = &config.s3 {
        jobs.extend(collector::s3::jobs(settings));
    }
    jobs
}
