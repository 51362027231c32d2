//! Integration tests: the real `lakewatch-exporter` binary against real peers
//! (Debian's prometheus-node-exporter, postgresql, prometheus-postgres-exporter,
//! prometheus, prometheus-alertmanager, promtool, openssl, curl, the Docker engine).
//! One binary keeps link time down.

mod config;
mod container;
mod deploy;
mod discovery;
mod e2e;
mod fuzz_corpus;
mod hardening;
mod http;
mod lab;
mod node_exporter;
mod panics;
mod pg_depth;
mod postgres;
mod promtool;
mod reload;
mod s3;
mod snapshot;
mod support;
mod trino;
mod web;
