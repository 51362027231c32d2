//! Integration tests: the real `lakewatch-exporter` binary against real peers
//! (Debian's prometheus-node-exporter, postgresql, prometheus-postgres-exporter,
//! prometheus, promtool). One binary keeps link time down.

mod config;
mod http;
mod node_exporter;
mod pg_harness;
mod postgres;
mod promtool;
mod support;
mod trino;
mod web;
