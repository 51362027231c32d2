//! Integration tests: the real `lakewatch-exporter` binary against real peers
//! (Debian's prometheus-node-exporter, promtool). One binary keeps link time down.

mod config;
mod http;
mod node_exporter;
mod promtool;
mod s3;
mod support;
