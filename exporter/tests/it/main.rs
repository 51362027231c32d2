//! Integration tests: the real `lakewatch-exporter` binary against real peers
//! (Debian's prometheus-node-exporter, promtool, the Docker engine). One binary keeps link time down.

mod config;
mod container;
mod docker;
mod http;
mod node_exporter;
mod promtool;
mod support;
