#!/usr/bin/env bash
# Starts the lab (exporter/tests/it/lab/) and leaves it running: Prometheus scraping
# lakewatch-exporter with every collector on, Alertmanager with the generated routing, a
# webhook receiver, Postgres, moto, the Trino replay coordinator, Docker containers and
# two small tmpfs mounts. Prints the URLs, then waits; Ctrl-C stops everything and cleans
# up (containers, mounts, temp dirs).
#
# Needs what the lab test needs (scripts/test.sh installs it): prometheus,
# prometheus-alertmanager, postgresql, busybox-static, moto_server, a Docker engine, and
# root for mounting the tmpfs. With LAKEWATCH_LAB_RUN=1 it runs the whole lab test
# instead (faults, alerts, the check of every shipped query) and prints its report.
set -euo pipefail
cd "$(dirname "$0")/.."

# Built as the test suite builds it, then run directly (not under nextest) so that Ctrl-C
# reaches the test process, which then drops, and so removes, everything it started.
bin=$(cargo test -p lakewatch-exporter --test it --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*\/it-[^"]*\)".*/\1/p' | tail -1)
if [ -z "$bin" ]; then
  echo "building the integration tests failed; run: cargo test -p lakewatch-exporter --test it --no-run" >&2
  exit 1
fi
if [ "${LAKEWATCH_LAB_RUN:-}" = 1 ]; then
  exec "$bin" --exact lab::lab_every_shipped_query_and_alert_proven_live --nocapture
fi
LAKEWATCH_LAB_HOLD=1 exec "$bin" --exact lab::lab_every_shipped_query_and_alert_proven_live \
  --nocapture
