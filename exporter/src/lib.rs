//! lakewatch-exporter: one Prometheus exporter for a data platform's disks, containers,
//! Postgres, object storage and Trino.
//!
//! Collectors run in the background, each on its own interval and timeout; their results
//! are encoded once into a snapshot that `/metrics` serves as-is, so a scrape costs a
//! pointer clone and never waits on a slow target. This crate is not a client library
//! for instrumenting applications, and it never collects on a scrape.

pub mod build_info;
pub mod collector;
pub mod config;
#[doc(hidden)]
pub mod fuzz;
pub mod http_client;
pub mod passthrough;
pub mod scheduler;
pub mod server;
pub mod snapshot;
pub mod tls;
pub mod web;

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
    if let Some(container) = &config.container {
        let collector = collector::container::ContainerCollector::new(container.clone());
        let probe = match container.enabled {
            config::Enabled::Auto => collector.probe(std::time::Duration::from_secs(2)),
            _ => Ok(()),
        };
        match probe {
            Ok(()) => jobs.push(Job {
                schedule: container.schedule,
                collector: Box::new(collector),
            }),
            Err(why) => tracing::info!(
                reason = %why,
                "container collector not started: no Docker daemon answered (enabled: auto)"
            ),
        }
    }
    if let Some(pg) = &config.postgres {
        // One job (and so one connection) per target: a slow or locked server delays
        // only its own series.
        for target in &pg.targets {
            jobs.push(Job {
                schedule: pg.schedule,
                collector: Box::new(collector::postgres::PostgresCollector::new(
                    pg,
                    target.clone(),
                )),
            });
        }
    }
    if let Some(trino) = &config.trino {
        for target in &trino.targets {
            jobs.push(Job {
                schedule: trino.schedule,
                collector: Box::new(collector::trino::TrinoCollector::new(
                    target.clone(),
                    trino.schedule,
                )),
            });
        }
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
