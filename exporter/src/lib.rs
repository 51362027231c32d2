//! lakewatch-exporter: one Prometheus exporter for a data platform's disks, containers,
//! Postgres, object storage and Trino.
//!
//! Collectors run in the background, each on its own interval and timeout; their results
//! are encoded once into a snapshot that `/metrics` serves as-is, so a scrape costs a
//! pointer clone and never waits on a slow target. This crate is not a client library
//! for instrumenting applications, and it never collects on a scrape.

pub mod collector;
pub mod config;
pub mod passthrough;
pub mod scheduler;
pub mod server;
pub mod snapshot;

use config::Config;
use scheduler::Job;

/// Builds the list of jobs the configuration enables, in a fixed order.
pub fn jobs(config: &Config) -> Vec<Job> {
    let mut jobs = Vec::new();
    if let Some(disk) = &config.disk {
        jobs.push(Job {
            schedule: disk.schedule,
            collector: Box::new(collector::disk::DiskCollector::new(disk.clone())),
        });
    }
    if let Some(s3) = &config.s3 {
        for target in &s3.targets {
            jobs.push(Job {
                schedule: s3.schedule,
                collector: Box::new(collector::s3::S3Collector::new(
                    target.clone(),
                    s3.schedule.interval,
                    s3.schedule.timeout,
                )),
            });
        }
    }
    jobs
}
