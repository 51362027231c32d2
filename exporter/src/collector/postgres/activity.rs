//! postgres_exporter 0.20's opt-in collectors over `pg_stat_activity`: `process_idle`
//! (a histogram of how long idle sessions have been idle) and
//! `stat_activity_autovacuum` (when each running autovacuum started).

use std::sync::Arc;

use lakewatch_catalog as cat;
use tokio_postgres::SimpleQueryRow;

use crate::collector::postgres::builtin::{num, text};
use crate::collector::{Fragment, Histogram};

/// postgres_exporter's bucket bounds for `pg_process_idle_seconds`.
const IDLE_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 300.0];

/// Idle sessions (`idle`, `idle in transaction`, `idle in transaction (aborted)`)
/// grouped by state and application, with the cumulative bucket counts computed in one
/// pass. 0.20 reads only the first group (its `QueryRow`) and truncates each session's
/// idle time to whole seconds before summing; here every group is a series and the sum
/// is exact. A NULL application name reads `unknown`, as there.
pub(super) const PROCESS_IDLE_SQL: &str = "SELECT state, COALESCE(application_name, 'unknown'), \
     count(*), sum(idle), \
     count(*) FILTER (WHERE idle <= 1), count(*) FILTER (WHERE idle <= 2), \
     count(*) FILTER (WHERE idle <= 5), count(*) FILTER (WHERE idle <= 15), \
     count(*) FILTER (WHERE idle <= 30), count(*) FILTER (WHERE idle <= 60), \
     count(*) FILTER (WHERE idle <= 90), count(*) FILTER (WHERE idle <= 120), \
     count(*) FILTER (WHERE idle <= 300) \
     FROM (SELECT state, application_name, \
     GREATEST(0, EXTRACT(EPOCH FROM now() - state_change))::float8 AS idle \
     FROM pg_stat_activity WHERE state ~ '^idle' AND pid <> pg_backend_pid()) a \
     GROUP BY 1, 2";

pub(super) fn emit_process_idle(server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    for r in rows {
        let (Some(count), Some(sum)) = (num(r, 2), num(r, 3)) else {
            continue;
        };
        let cumulative: Option<Vec<f64>> = (0..IDLE_BUCKETS.len()).map(|i| num(r, i + 4)).collect();
        let Some(cumulative) = cumulative else {
            continue;
        };
        f.push_histogram(
            &cat::PG_PROCESS_IDLE_SECONDS,
            [server, text(r, 0), text(r, 1)],
            Arc::new(histogram(&cumulative, count, sum)),
        );
    }
}

/// Per-bucket counts (what [`Histogram`] holds) from cumulative ones, ending with +Inf.
fn histogram(cumulative: &[f64], count: f64, sum: f64) -> Histogram {
    let mut buckets = Vec::with_capacity(IDLE_BUCKETS.len() + 1);
    let mut below = 0.0;
    for (le, c) in IDLE_BUCKETS.iter().zip(cumulative) {
        buckets.push((*le, (c - below).max(0.0) as u64));
        below = *c;
    }
    buckets.push((f64::INFINITY, (count - below).max(0.0) as u64));
    Histogram {
        buckets,
        sum,
        count: count as u64,
    }
}

/// Running autovacuum workers: the table from the worker's `query` text
/// (`autovacuum: VACUUM ANALYZE public.t` gives `t`, as 0.20's `split_part(query, '.',
/// 2)`) and the start of its transaction. 0.20 matches the text alone; here only
/// autovacuum workers count (an idle client's last query could read the same). Two
/// workers on same-named tables of different databases would be the same series: the
/// GROUP BY keeps the earlier start.
pub(super) const AUTOVACUUM_SQL: &str = "SELECT split_part(query, '.', 2), \
     EXTRACT(EPOCH FROM min(xact_start)) FROM pg_stat_activity \
     WHERE backend_type = 'autovacuum worker' AND query LIKE 'autovacuum:%' GROUP BY 1";

pub(super) fn emit_autovacuum(server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    for r in rows {
        if let Some(v) = num(r, 1) {
            f.push(
                &cat::PG_STAT_ACTIVITY_AUTOVACUUM_TIMESTAMP,
                [server, text(r, 0)],
                v,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_buckets_become_per_bucket_counts() {
        // Three sessions idle 0.5 s, 3 s and 400 s.
        let h = histogram(&[1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0], 3.0, 403.5);
        assert_eq!(
            h.buckets,
            [
                (1.0, 1),
                (2.0, 0),
                (5.0, 1),
                (15.0, 0),
                (30.0, 0),
                (60.0, 0),
                (90.0, 0),
                (120.0, 0),
                (300.0, 0),
                (f64::INFINITY, 1)
            ]
        );
        assert_eq!((h.count, h.sum), (3, 403.5));
    }
}
