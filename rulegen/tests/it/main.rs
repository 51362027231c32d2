//! The one integration test binary of lakewatch-rulegen (one binary keeps link time down).

mod bad_spec;
mod check;
mod cli;
mod golden;
mod grouped;
mod overview;
mod parser_props;
mod promtool;
mod sloth;
mod stock;
mod support;
mod timeslices;
