//! postgres_exporter 0.20's collectors against a real PostgreSQL server: per-table
//! series bounded by filters and a top-N, databases discovered, replication slots, WAL
//! archiving (failing and succeeding), streaming and logical replication clients, a
//! running VACUUM, and every name of 0.20's default and opt-in collectors (the list
//! derived from its source in `tests/fixtures/postgres_exporter_0.20.txt`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use lakewatch_catalog as cat;

use crate::postgres::{FAST, config, find, value, wait_for};
use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::{Exporter, Proc, Sample, TempDir, parse_exposition};

const WAIT: Duration = Duration::from_secs(60);

/// Every series we emit is a catalog metric with exactly its declared labels.
fn catalog_labels(samples: &[Sample]) {
    for s in samples {
        let m = cat::lookup(&s.name).unwrap_or_else(|| panic!("{} not in the catalog", s.name));
        let labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        assert_eq!(labels, m.labels.iter().copied().collect(), "{}", s.name);
    }
}

fn tables_of(samples: &[Sample], datname: &str) -> BTreeSet<String> {
    samples
        .iter()
        .filter(|s| s.name == "pg_stat_user_tables_n_live_tup" && s.labels["datname"] == datname)
        .map(|s| format!("{}.{}", s.labels["schemaname"], s.labels["relname"]))
        .collect()
}

#[test]
fn tables_slots_and_failing_archiver_on_a_primary() {
    // `false` as archive_command: every attempt fails, and pg_stat_archiver counts it.
    let Some(pg) = PgServer::start_with_settings(&["archive_mode=on", "archive_command=false"])
    else {
        return;
    };
    pg.psql(
        "postgres",
        "SELECT pg_create_physical_replication_slot('lw_slot', true)",
    );
    pg.psql(
        "postgres",
        "CREATE TABLE big AS SELECT g, md5(g::text) AS s FROM generate_series(1, 50000) g; \
         CREATE TABLE mid WITH (autovacuum_enabled = false) AS \
         SELECT g FROM generate_series(1, 5000) g; \
         CREATE TABLE small (i int); INSERT INTO small VALUES (1); \
         CREATE SCHEMA audit; \
         CREATE TABLE audit.log AS SELECT g FROM generate_series(1, 100000) g; \
         DELETE FROM mid WHERE g <= 1000",
    );
    // relpages, the size the top-N ranks by, is set by ANALYZE and VACUUM. Autovacuum
    // stays off `mid`, whose dead rows are checked below.
    pg.psql("postgres", "ANALYZE");
    pg.psql("postgres", "CREATE DATABASE lake");
    pg.psql("lake", "CREATE TABLE lake_t AS SELECT 1 AS i");
    pg.psql("postgres", "CREATE DATABASE skip CONNECTION LIMIT 5");
    pg.psql("skip", "CREATE TABLE skip_t AS SELECT 1 AS i");
    pg.psql("postgres", "SELECT pg_switch_wal()");
    let _sleeper = pg.psql_background("lake", "SELECT pg_sleep(600)");

    let dir = TempDir::new("pg-depth");
    let extra = format!(
        "{FAST}    tables_limit: 2\n    schemas_exclude: '^audit$'\n    auto_discover_databases: true\n    databases_exclude: '^skip$'\n"
    );
    let exp = Exporter::start(&["--config", &config(&dir, &pg, &extra, PASSWORD)]);
    wait_for(
        &exp,
        "the archiver's first failure, mid's dead rows and lake's sleeper",
        WAIT,
        |s| {
            value(s, "pg_stat_archiver_failed_count", &[]).is_some_and(|v| v >= 1.0)
                && value(s, "pg_stat_user_tables_n_dead_tup", &[("relname", "mid")]) == Some(1000.0)
                && !tables_of(s, "lake").is_empty()
                && value(
                    s,
                    "pg_stat_activity_count",
                    &[
                        ("datname", "lake"),
                        ("state", "active"),
                        ("wait_event", "PgSleep"),
                    ],
                ) == Some(1.0)
        },
    );
    let samples = parse_exposition(&exp.metrics()).0;
    catalog_labels(&samples);
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);

    // Top 2 by size of the 3 tables outside `audit`; `skip` is not read.
    assert_eq!(
        tables_of(&samples, "postgres"),
        BTreeSet::from(["public.big".to_string(), "public.mid".to_string()])
    );
    assert_eq!(
        tables_of(&samples, "lake"),
        BTreeSet::from(["public.lake_t".to_string()])
    );
    assert!(tables_of(&samples, "skip").is_empty());
    let pg_db = [("datname", "postgres")];
    assert_eq!(v("lakewatch_pg_tables", &pg_db), Some(3.0));
    assert_eq!(v("lakewatch_pg_tables_dropped", &pg_db), Some(1.0));
    assert_eq!(
        v("lakewatch_pg_tables_dropped", &[("datname", "lake")]),
        Some(0.0)
    );
    let big = [("datname", "postgres"), ("relname", "big")];
    assert_eq!(v("pg_stat_user_tables_n_live_tup", &big), Some(50000.0));
    assert!(v("pg_stat_user_tables_table_size_bytes", &big).is_some_and(|b| b > 1e6));
    assert_eq!(v("pg_stat_user_tables_index_size_bytes", &big), Some(0.0));
    assert_eq!(
        v("pg_stat_user_tables_last_vacuum", &big),
        Some(0.0),
        "never"
    );
    assert!(
        v("pg_stat_user_tables_last_analyze", &big).is_some_and(|t| t > 1.7e9),
        "ANALYZE ran: unix seconds"
    );
    assert_eq!(v("pg_stat_user_tables_analyze_count", &big), Some(1.0));
    assert!(find(&samples, "pg_statio_user_tables_heap_blocks_hit", &big).is_some());

    // A slot created with immediately_reserve: retained WAL, nobody streaming.
    let slot = [("slot_name", "lw_slot")];
    assert_eq!(v("pg_replication_slots_active", &slot), Some(0.0));
    assert_eq!(
        v(
            "pg_replication_slots_slot_is_active",
            &[("slot_name", "lw_slot"), ("slot_type", "physical")]
        ),
        Some(0.0)
    );
    assert!(v("pg_replication_slots_pg_wal_lsn_diff", &slot).is_some_and(|b| b > 0.0));
    assert_eq!(
        v(
            "pg_replication_slots_wal_status",
            &[("slot_name", "lw_slot"), ("wal_status", "reserved")]
        ),
        Some(1.0)
    );
    // No max_slot_wal_keep_size: nothing is "safe", so no series.
    assert_eq!(v("pg_replication_slots_safe_wal_size_bytes", &slot), None);

    // A primary without replicas.
    assert_eq!(v("pg_replication_is_replica", &[]), Some(0.0));
    assert_eq!(v("pg_replication_lag_seconds", &[]), Some(0.0));
    assert_eq!(v("pg_replication_last_replay_seconds", &[]), Some(0.0));
    assert!(
        !samples
            .iter()
            .any(|s| s.name.starts_with("pg_stat_replication_"))
    );
    assert_eq!(v("pg_stat_archiver_archived_count", &[]), Some(0.0));
    assert_eq!(
        v("pg_stat_archiver_last_archive_age", &[]),
        None,
        "never archived"
    );
    assert!(v("pg_wal_segments", &[]).is_some_and(|n| n >= 1.0));
    assert!(v("pg_wal_size_bytes", &[]).is_some_and(|b| b >= 16.0 * 1024.0 * 1024.0));
    assert_eq!(
        v("pg_roles_connection_limit", &[("rolname", "postgres")]),
        Some(-1.0)
    );
    assert_eq!(
        v("pg_database_connection_limit", &[("datname", "skip")]),
        Some(5.0)
    );
    assert_eq!(
        v("pg_database_connection_limit", &[("datname", "lake")]),
        Some(-1.0)
    );
    // The opt-in collectors are off.
    for name in [
        "pg_postmaster_start_time_seconds",
        "pg_long_running_transactions",
    ] {
        assert!(find(&samples, name, &[]).is_none(), "{name} is opt-in");
    }

    // Databases are read one at a time: the target's session and at most one more.
    for _ in 0..30 {
        let n: u32 = pg
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lakewatch'",
            )
            .parse()
            .expect("a count");
        assert!((1..=2).contains(&n), "{n} lakewatch sessions");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Each new segment to archive is another failure.
    let failed = v("pg_stat_archiver_failed_count", &[]).expect("seen above");
    pg.psql(
        "postgres",
        "INSERT INTO small VALUES (2); SELECT pg_switch_wal()",
    );
    wait_for(&exp, "pg_stat_archiver_failed_count rising", WAIT, |s| {
        value(s, "pg_stat_archiver_failed_count", &[]).is_some_and(|v| v > failed)
    });
}

/// The names of postgres_exporter 0.20 (default collectors and the opt-in ones), from
/// the list derived from its source: each is emitted here with its type and its label
/// names plus `server`. What a primary alone does not have is provided: a streaming
/// client (`pg_receivewal`) on a physical slot, a logical replication subscription on a
/// logical slot, successful archiving, a throttled VACUUM and
/// `pg_stat_statements`.
#[test]
fn emits_every_postgres_exporter_0_20_name() {
    let Some(pg) = PgServer::start_with_settings(&[
        "wal_level=logical",
        "max_slot_wal_keep_size=1GB",
        "archive_mode=on",
        "archive_command=true",
        "track_io_timing=on",
    ]) else {
        return;
    };
    let v = pg.version_num();
    pg.psql("postgres", "CREATE EXTENSION pg_stat_statements");
    pg.psql(
        "postgres",
        "SELECT pg_create_physical_replication_slot('lw_physical', true); \
         SELECT pg_create_logical_replication_slot('lw_sub', 'pgoutput'); \
         CREATE TABLE rep (i int PRIMARY KEY); CREATE PUBLICATION lw_pub FOR TABLE rep",
    );
    // A subscription in another database of the same server: a walsender whose client
    // reports what it applied (replay_lsn), which pg_receivewal never does. The slot is
    // made beforehand: CREATE SUBSCRIPTION cannot create one on its own server.
    pg.psql("postgres", "CREATE DATABASE sub");
    pg.psql(
        "sub",
        &format!(
            "CREATE TABLE rep (i int PRIMARY KEY); \
             CREATE SUBSCRIPTION lw_sub CONNECTION 'host={} port={} dbname=postgres user=postgres' \
             PUBLICATION lw_pub WITH (create_slot = false, slot_name = 'lw_sub', copy_data = false)",
            pg.socket_dir().display(),
            pg.port
        ),
    );
    let wal_dir = TempDir::new("pg-receivewal");
    let _receivewal = Proc(
        pg.client("pg_receivewal")
            .args(["--slot", "lw_physical", "-s", "1", "-D"])
            .arg(&wal_dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pg_receivewal"),
    );
    pg.psql(
        "postgres",
        "CREATE TABLE vac AS SELECT g FROM generate_series(1, 200000) g; DELETE FROM vac; \
         INSERT INTO rep VALUES (1); SELECT pg_switch_wal()",
    );
    // A VACUUM that sleeps 100 ms every page stays in pg_stat_progress_vacuum for minutes
    // (VACUUM must be a statement of its own: the settings come in PGOPTIONS).
    let _vacuum = Proc(
        pg.client("psql")
            .args(["-d", "postgres", "-X", "-c", "VACUUM vac"])
            .env(
                "PGOPTIONS",
                "-c vacuum_cost_delay=100 -c vacuum_cost_limit=1",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting VACUUM"),
    );
    let _long = pg.psql_background("postgres", "SELECT pg_sleep(600)");

    let list = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/postgres_exporter_0.20.txt"
    ))
    .expect("the 0.20 list");
    let expected: BTreeMap<&str, (&str, BTreeSet<&str>)> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split(' ');
            let name = f.next().expect("name");
            let kind = f.next().expect("type");
            let mut labels: BTreeSet<&str> = f
                .next()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
                .collect();
            labels.insert("server");
            (name, (kind, labels))
        })
        .collect();
    // What the server's version does not have (0.20 skips the same).
    let absent = |name: &str| {
        (v < 140000 && name == "pg_stat_database_active_time_seconds_total")
            || (v >= 170000
                && (name == "pg_stat_progress_vacuum_max_dead_tuples"
                    || [
                        "pg_stat_bgwriter_checkpoint",
                        "pg_stat_bgwriter_buffers_checkpoint",
                        "pg_stat_bgwriter_buffers_backend",
                    ]
                    .iter()
                    .any(|p| name.starts_with(p))))
            || (v < 170000 && name.starts_with("pg_stat_checkpointer_"))
    };

    let dir = TempDir::new("pg-depth-020");
    let extra = format!(
        "{FAST}    stat_statements: true\n    postmaster: true\n    database_wraparound: true\n    long_running_transactions: true\n"
    );
    let exp = Exporter::start(&["--config", &config(&dir, &pg, &extra, PASSWORD)]);
    let missing = |s: &[Sample]| -> Vec<&str> {
        expected
            .keys()
            .copied()
            .filter(|n| !absent(n) && !s.iter().any(|x| x.name == *n))
            .collect()
    };
    let start = std::time::Instant::now();
    let text = loop {
        let text = exp.metrics();
        let left = missing(&parse_exposition(&text).0);
        if left.is_empty() {
            break text;
        }
        assert!(
            start.elapsed() < WAIT,
            "not emitted within {WAIT:?}: {left:?}\n--- log ---\n{}",
            exp.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let (samples, types) = parse_exposition(&text);
    catalog_labels(&samples);
    for (name, (kind, labels)) in &expected {
        if absent(name) {
            assert!(!samples.iter().any(|s| s.name == *name), "{name} on {v}");
            continue;
        }
        let ours = types.get(*name).map(String::as_str).unwrap_or("none");
        // 0.20's counters without `_total` are `unknown` here (see the README).
        let same =
            ours == *kind || (*kind == "counter" && ours == "untyped" && !name.ends_with("_total"));
        assert!(same, "{name}: ours {ours}, 0.20 {kind}");
        for s in samples.iter().filter(|s| s.name == *name) {
            let got: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
            assert_eq!(&got, labels, "label names of {name}");
        }
    }
    let f = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    // Values that say the clients and the VACUUM were seen for what they are.
    let streaming = [("slot_name", "lw_physical")];
    assert_eq!(f("pg_replication_slots_active", &streaming), Some(1.0));
    assert!(f("pg_stat_replication_pg_current_wal_lsn_bytes", &streaming).is_some_and(|b| b > 0.0));
    assert!(f("pg_replication_slots_safe_wal_size_bytes", &streaming).is_some_and(|b| b > 0.0));
    let subscriber = [("slot_name", "lw_sub")];
    assert!(f("pg_stat_replication_pg_wal_lsn_diff", &subscriber).is_some_and(|b| b >= 0.0));
    assert!(
        f(
            "pg_replication_slots_slot_confirmed_flush_lsn",
            &[("slot_name", "lw_sub"), ("slot_type", "logical")]
        )
        .is_some_and(|b| b > 0.0)
    );
    assert!(f("pg_stat_archiver_archived_count", &[]).is_some_and(|n| n >= 1.0));
    let phases: f64 = samples
        .iter()
        .filter(|s| s.name == "pg_stat_progress_vacuum_phase" && s.labels["relname"] == "vac")
        .map(|s| s.value)
        .sum();
    assert_eq!(phases, 1.0, "exactly one phase is current");
    assert!(f("pg_long_running_transactions", &[]).is_some_and(|n| n >= 1.0));
    assert!(f("pg_postmaster_start_time_seconds", &[]).is_some_and(|t| t > 1.7e9));
    assert!(
        f(
            "pg_database_wraparound_age_datfrozenxid_seconds",
            &[("datname", "postgres")]
        )
        .is_some_and(|a| a > 0.0)
    );
}
