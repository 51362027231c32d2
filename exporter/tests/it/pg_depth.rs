//! postgres_exporter 0.20's collectors against a real PostgreSQL server: per-table
//! series bounded by filters and a top-N, databases discovered, replication slots, WAL
//! archiving (failing and succeeding), streaming and logical replication clients, a
//! running VACUUM, and every name of 0.20's default and opt-in collectors (the list
//! derived from its source in `tests/fixtures/postgres_exporter_0.20.txt`). The opt-in
//! collectors' values are compared with what the server's own views say, the WAL
//! receiver's on a streaming standby made with `pg_basebackup`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use lakewatch_catalog as cat;

use crate::postgres::{FAST, config, find, value, wait_for};
use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::{Exporter, Proc, Sample, TempDir, parse_exposition};

const WAIT: Duration = Duration::from_secs(60);

/// Every opt-in collector beyond the ones 0.11 had an equivalent for.
const OPT_IN: &str = "    buffercache_summary: true\n    process_idle: true\n    stat_activity_autovacuum: true\n    stat_wal_receiver: true\n    statio_user_indexes: true\n    xlog_location: true\n";

/// Every series we emit is a catalog metric with exactly its declared labels (and `le`
/// on a histogram's buckets).
fn catalog_labels(samples: &[Sample]) {
    for s in samples {
        let m = cat::lookup(&s.name).unwrap_or_else(|| panic!("{} not in the catalog", s.name));
        let mut labels: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        if s.name.ends_with("_bucket") {
            assert!(labels.remove("le"), "{} without le", s.name);
        }
        assert_eq!(labels, m.labels.iter().copied().collect(), "{}", s.name);
    }
}

/// The 0.20 list: name → (type, label names plus `server`).
fn postgres_exporter_0_20() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let list = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/postgres_exporter_0.20.txt"
    ))
    .expect("the 0.20 list");
    list.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split(' ');
            let name = f.next().expect("name");
            let kind = f.next().expect("type");
            let mut labels: BTreeSet<String> = f
                .next()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            labels.insert("server".to_string());
            (name.to_string(), (kind.to_string(), labels))
        })
        .collect()
}

/// Whether a family is in the exposition (a histogram by its `_count` series).
fn emitted(samples: &[Sample], name: &str) -> bool {
    let count = format!("{name}_count");
    samples.iter().any(|s| s.name == name || s.name == count)
}

/// Our type and label names for `name` are 0.20's (plus `server`).
fn same_as_0_20(
    name: &str,
    (kind, labels): &(String, BTreeSet<String>),
    samples: &[Sample],
    types: &BTreeMap<String, String>,
) {
    let ours = types.get(name).map(String::as_str).unwrap_or("none");
    // 0.20's counters without `_total` are `unknown` here (see the README).
    let same =
        ours == kind || (kind == "counter" && ours == "untyped" && !name.ends_with("_total"));
    assert!(same, "{name}: ours {ours}, 0.20 {kind}");
    let count = format!("{name}_count");
    for s in samples.iter().filter(|s| s.name == name || s.name == count) {
        let got: BTreeSet<String> = s.labels.keys().cloned().collect();
        assert_eq!(&got, labels, "label names of {name}");
    }
}

/// A psql session that stays connected as application `app`: it runs `sql`, then waits
/// on its open stdin (so it is `idle`, or `idle in transaction` after a BEGIN).
fn idle_session(pg: &PgServer, app: &str, sql: &str) -> Proc {
    let mut child = pg
        .client("psql")
        .args(["-d", "postgres", "-X", "-q"])
        .env("PGAPPNAME", app)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting psql");
    child
        .stdin
        .as_mut()
        .expect("piped stdin")
        .write_all(format!("{sql}\n").as_bytes())
        .expect("writing to psql");
    Proc(child)
}

/// A table whose autovacuum runs for minutes once the launcher picks it (start the
/// server with a short `autovacuum_naptime`): 200,000 dead rows, no thresholds, and a
/// cost limit of 1 with 100 ms sleeps.
fn slow_autovacuum(pg: &PgServer, table: &str) {
    pg.psql(
        "postgres",
        &format!(
            "CREATE TABLE {table} WITH (autovacuum_vacuum_cost_delay = 100, \
             autovacuum_vacuum_cost_limit = 1, autovacuum_vacuum_threshold = 0, \
             autovacuum_vacuum_scale_factor = 0, autovacuum_analyze_threshold = 2000000000) \
             AS SELECT g FROM generate_series(1, 200000) g; DELETE FROM {table}"
        ),
    );
}

/// One number from the server (psql's unaligned output).
fn server_num(pg: &PgServer, db: &str, sql: &str) -> f64 {
    let out = pg.psql(db, sql);
    out.parse()
        .unwrap_or_else(|e| panic!("{sql:?} gave {out:?}: {e}"))
}

/// A value that only grows (a WAL position, used buffers) compared with the server's:
/// read the server (`before`), wait until our series has caught up with it, read the
/// server again (`after`): ours must lie between the two.
fn between_server_reads(
    exp: &Exporter,
    what: &str,
    ours: impl Fn(&[Sample]) -> Option<f64>,
    server: impl Fn() -> f64,
) -> f64 {
    let before = server();
    wait_for(exp, &format!("{what} to reach {before}"), WAIT, |s| {
        ours(s).is_some_and(|v| v >= before)
    });
    let v = ours(&parse_exposition(&exp.metrics()).0).expect("seen above");
    let after = server();
    assert!(
        (before..=after).contains(&v),
        "{what}: ours {v}, the server's went from {before} to {after}"
    );
    v
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
        "pg_xlog_location_bytes",
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
        "autovacuum_naptime=1",
    ]) else {
        return;
    };
    let v = pg.version_num();
    pg.psql("postgres", "CREATE EXTENSION pg_stat_statements");
    if v >= 160000 {
        pg.psql("postgres", "CREATE EXTENSION pg_buffercache");
    }
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
        "CREATE TABLE vac WITH (autovacuum_enabled = false) AS \
         SELECT g FROM generate_series(1, 200000) g; DELETE FROM vac; \
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
    let _idle = idle_session(&pg, "lw_idle", "");
    slow_autovacuum(&pg, "av");

    let expected = postgres_exporter_0_20();
    // What the server's version does not have (0.20 skips the same), and the WAL
    // receiver, which only a standby has (see the standby test).
    let absent = |name: &str| {
        name.starts_with("pg_stat_wal_receiver_")
            || (v < 160000 && name.starts_with("pg_buffercache_summary_"))
            || (v < 140000 && name == "pg_stat_database_active_time_seconds_total")
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
        "{FAST}    stat_statements: true\n    postmaster: true\n    database_wraparound: true\n    long_running_transactions: true\n{OPT_IN}"
    );
    let exp = Exporter::start(&["--config", &config(&dir, &pg, &extra, PASSWORD)]);
    let missing = |s: &[Sample]| -> Vec<&str> {
        expected
            .keys()
            .map(String::as_str)
            .filter(|n| !absent(n) && !emitted(s, n))
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
    for (name, expected) in &expected {
        if absent(name) {
            assert!(!emitted(&samples, name), "{name} on {v}");
            continue;
        }
        same_as_0_20(name, expected, &samples, &types);
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

/// The opt-in collectors' values on a primary, against the server's own views: idle
/// sessions by state and application, a running autovacuum's start, the chosen tables'
/// indexes (and not the filtered ones'), the WAL position and, on Postgres 16+, the
/// buffer cache summary.
#[test]
fn opt_in_collectors_match_the_servers_views() {
    let Some(pg) = PgServer::start_with_settings(&["autovacuum_naptime=1"]) else {
        return;
    };
    let v = pg.version_num();
    if v >= 160000 {
        pg.psql("postgres", "CREATE EXTENSION pg_buffercache");
    }
    pg.psql(
        "postgres",
        "CREATE TABLE t (i int PRIMARY KEY, j int) WITH (autovacuum_enabled = false); \
         CREATE INDEX t_j ON t (j); \
         INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 10000) g; \
         CREATE SCHEMA audit; CREATE TABLE audit.x (i int PRIMARY KEY); \
         INSERT INTO audit.x VALUES (1)",
    );
    pg.psql("postgres", "SELECT count(*) FROM t WHERE j = 3");
    slow_autovacuum(&pg, "av");
    let _idle = idle_session(&pg, "lw_idle", "");
    let _idle_tx = idle_session(&pg, "lw_idle_tx", "BEGIN; SELECT 1;");

    let dir = TempDir::new("pg-optin");
    let extra = format!("{FAST}{OPT_IN}    schemas_exclude: '^audit$'\n");
    let exp = Exporter::start(&["--config", &config(&dir, &pg, &extra, PASSWORD)]);
    let idle = [("state", "idle"), ("application_name", "lw_idle")];
    let idle_tx = [
        ("state", "idle in transaction"),
        ("application_name", "lw_idle_tx"),
    ];
    let t_j = [("relname", "t"), ("indexrelname", "t_j")];
    wait_for(
        &exp,
        "both idle sessions idle for over a second, av's autovacuum and t's indexes",
        WAIT,
        |s| {
            value(s, "pg_process_idle_seconds_count", &idle) == Some(1.0)
                && value(s, "pg_process_idle_seconds_count", &idle_tx) == Some(1.0)
                && value(
                    s,
                    "pg_process_idle_seconds_bucket",
                    &[idle[0], idle[1], ("le", "1.0")],
                ) == Some(0.0)
                && value(
                    s,
                    "pg_stat_activity_autovacuum_timestamp_seconds",
                    &[("relname", "av")],
                )
                .is_some()
                && value(s, "pg_statio_user_indexes_idx_blks_hit_total", &t_j).is_some()
        },
    );
    let samples = parse_exposition(&exp.metrics()).0;
    catalog_labels(&samples);
    let f = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);

    // process_idle: the sessions the server lists as idle, for as long as it says.
    for (app, state) in [("lw_idle", "idle"), ("lw_idle_tx", "idle in transaction")] {
        let l = [("state", state), ("application_name", app)];
        let server_count = server_num(
            &pg,
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = '{app}' AND state = '{state}'"
            ),
        );
        assert_eq!(f("pg_process_idle_seconds_count", &l), Some(server_count));
        let sum = f("pg_process_idle_seconds_sum", &l).expect("a sum");
        let idle_now = server_num(
            &pg,
            "postgres",
            &format!(
                "SELECT EXTRACT(EPOCH FROM now() - state_change) FROM pg_stat_activity \
                 WHERE application_name = '{app}'"
            ),
        );
        assert!(
            sum <= idle_now,
            "{app}: idle {sum} s, the server says {idle_now} s now"
        );
        // Cumulative buckets agree with the sum: the one session is in every bucket
        // from the first bound at or above its idle time.
        for le in [
            "1.0", "2.0", "5.0", "15.0", "30.0", "60.0", "90.0", "120.0", "300.0", "+Inf",
        ] {
            let bound: f64 = le.parse().unwrap_or(f64::INFINITY);
            let expected = if sum <= bound { 1.0 } else { 0.0 };
            assert_eq!(
                f("pg_process_idle_seconds_bucket", &[l[0], l[1], ("le", le)]),
                Some(expected),
                "{app} le={le} with sum {sum}"
            );
        }
    }
    assert!(
        !samples
            .iter()
            .any(|s| s.name.starts_with("pg_process_idle_seconds")
                && s.labels.get("application_name").map(String::as_str) == Some("lakewatch")),
        "the collector's own session is not idle while it asks"
    );

    // stat_activity_autovacuum: the worker's transaction start, as the server has it.
    let started = server_num(
        &pg,
        "postgres",
        "SELECT EXTRACT(EPOCH FROM xact_start) FROM pg_stat_activity \
         WHERE backend_type = 'autovacuum worker' AND query LIKE '%public.av%'",
    );
    let ours = f(
        "pg_stat_activity_autovacuum_timestamp_seconds",
        &[("relname", "av")],
    )
    .expect("seen above");
    assert!(
        (ours - started).abs() < 1e-3,
        "ours {ours}, the server's {started}"
    );

    // statio_user_indexes: t's two indexes, not audit.x's (its schema is excluded).
    let indexes: BTreeSet<String> = samples
        .iter()
        .filter(|s| s.name == "pg_statio_user_indexes_idx_blks_hit_total")
        .map(|s| {
            format!(
                "{}.{}.{}",
                s.labels["schemaname"], s.labels["relname"], s.labels["indexrelname"]
            )
        })
        .collect();
    assert_eq!(
        indexes,
        BTreeSet::from(["public.t.t_j".to_string(), "public.t.t_pkey".to_string()])
    );
    for index in ["t_j", "t_pkey"] {
        let sql = format!(
            "SELECT idx_blks_read || ' ' || idx_blks_hit FROM pg_statio_user_indexes \
             WHERE indexrelname = '{index}'"
        );
        let l = [("indexrelname", index)];
        wait_for(
            &exp,
            &format!("{index}'s I/O as the server counts it"),
            WAIT,
            |s| {
                let server = pg.psql("postgres", &sql);
                let ours = format!(
                    "{} {}",
                    value(s, "pg_statio_user_indexes_idx_blks_read_total", &l).unwrap_or(-1.0),
                    value(s, "pg_statio_user_indexes_idx_blks_hit_total", &l).unwrap_or(-1.0)
                );
                ours == server
            },
        );
    }
    assert!(
        server_num(
            &pg,
            "postgres",
            "SELECT idx_blks_hit FROM pg_statio_user_indexes WHERE indexrelname = 't_j'"
        ) > 0.0,
        "the index was used"
    );

    // xlog_location: the primary's WAL position (the autovacuum keeps writing WAL).
    between_server_reads(
        &exp,
        "pg_xlog_location_bytes",
        |s| value(s, "pg_xlog_location_bytes", &[]),
        || {
            server_num(
                &pg,
                "postgres",
                "SELECT (pg_current_wal_lsn() - '0/0') % (2^52)::bigint",
            )
        },
    );

    // buffercache_summary (Postgres 16+): the server's shared buffers, used and not.
    if v >= 160000 {
        let used = between_server_reads(
            &exp,
            "pg_buffercache_summary_buffers_used",
            |s| value(s, "pg_buffercache_summary_buffers_used", &[]),
            || {
                server_num(
                    &pg,
                    "postgres",
                    "SELECT buffers_used FROM pg_buffercache_summary()",
                )
            },
        );
        let s = parse_exposition(&exp.metrics()).0;
        let g = |name: &str| value(&s, name, &[]).unwrap_or_else(|| panic!("{name}"));
        let shared_buffers = server_num(
            &pg,
            "postgres",
            "SELECT setting FROM pg_settings WHERE name = 'shared_buffers'",
        );
        assert_eq!(
            g("pg_buffercache_summary_buffers_used") + g("pg_buffercache_summary_buffers_unused"),
            shared_buffers
        );
        assert!(used > 0.0);
        assert!(
            g("pg_buffercache_summary_buffers_dirty") <= g("pg_buffercache_summary_buffers_used")
        );
        assert!((0.0..=5.0).contains(&g("pg_buffercache_summary_usagecount_avg")));
    } else {
        assert!(
            !samples
                .iter()
                .any(|s| s.name.starts_with("pg_buffercache_summary_")),
            "no pg_buffercache_summary() before Postgres 16"
        );
    }
    assert_eq!(value(&samples, "pg_up", &[]), Some(1.0));
}

/// `stat_wal_receiver` and `xlog_location` on a real streaming standby (a
/// `pg_basebackup` of the primary streaming through a physical slot), compared with the
/// standby's `pg_stat_wal_receiver`; the primary has no receiver. Neither server has
/// pg_buffercache: `buffercache_summary` logs that once per target and exports nothing,
/// and the cycles still succeed.
#[test]
fn wal_receiver_and_xlog_location_on_a_streaming_standby() {
    let Some(primary) = PgServer::start() else {
        return;
    };
    let standby = PgServer::standby_of(&primary, "lw_standby");
    let v = primary.version_num();
    let dir = TempDir::new("pg-standby");
    let pw = dir.write("pgpass", &format!("{PASSWORD}\n"));
    let cfg = crate::support::config_file(
        &dir,
        &format!(
            "collectors:\n  disk:\n    enabled: false\n  postgres:\n{FAST}{OPT_IN}    targets:\n      - name: primary\n        dsn: {}\n        password_file: {}\n      - name: standby\n        dsn: {}\n        password_file: {}\n",
            primary.dsn(),
            pw.display(),
            standby.dsn(),
            pw.display()
        ),
    );
    let exp = Exporter::start(&["--config", &cfg]);
    let on_primary = format!("127.0.0.1:{}", primary.port);
    let on_standby = format!("127.0.0.1:{}", standby.port);
    let pr = [("server", on_primary.as_str())];
    let sb = [("server", on_standby.as_str())];
    // WAL to stream: latest_end_lsn and its time are NULL until the first message.
    primary.psql("postgres", "CREATE TABLE w (i int)");
    let receiver_names = [
        "pg_stat_wal_receiver_receive_start_lsn",
        "pg_stat_wal_receiver_receive_start_tli",
        "pg_stat_wal_receiver_flushed_lsn",
        "pg_stat_wal_receiver_received_tli",
        "pg_stat_wal_receiver_last_msg_send_time",
        "pg_stat_wal_receiver_last_msg_receipt_time",
        "pg_stat_wal_receiver_latest_end_lsn",
        "pg_stat_wal_receiver_latest_end_time",
    ];
    wait_for(&exp, "the standby's WAL receiver, streaming", WAIT, |s| {
        receiver_names
            .iter()
            .all(|n| find(s, n, &[sb[0], ("status", "streaming")]).is_some())
            && value(s, "pg_xlog_location_bytes", &pr).is_some()
            && value(s, "pg_xlog_location_bytes", &sb).is_some()
    });
    let (samples, types) = parse_exposition(&exp.metrics());
    catalog_labels(&samples);
    for (name, expected) in postgres_exporter_0_20().iter().filter(|(n, _)| {
        n.starts_with("pg_stat_wal_receiver_") || n.as_str() == "pg_xlog_location_bytes"
    }) {
        if name == "pg_stat_wal_receiver_upstream_node" {
            // Only for repmgr's slot names (repmgr_slot_<id>).
            assert!(!emitted(&samples, name));
            continue;
        }
        assert!(emitted(&samples, name), "{name}");
        same_as_0_20(name, expected, &samples, &types);
    }

    // The labels and the fixed values are the standby's view's.
    let view = |col: &str| {
        standby.psql(
            "postgres",
            &format!("SELECT {col} FROM pg_stat_wal_receiver"),
        )
    };
    let receiver = find(&samples, "pg_stat_wal_receiver_receive_start_lsn", &sb).expect("seen");
    assert_eq!(receiver.labels["slot_name"], "lw_standby");
    assert_eq!(receiver.labels["status"], "streaming");
    assert_eq!(
        receiver.labels["upstream_host"],
        view("trim(both '''' from substring(conninfo from 'host=([^ ]*)'))")
    );
    assert_eq!(
        receiver.labels["upstream_host"],
        primary.socket_dir().display().to_string(),
        "pg_basebackup -R points at the primary's socket"
    );
    let lsn = |col: &str| {
        view(&format!("({col} - '0/0') % (2^52)::bigint"))
            .parse::<f64>()
            .expect("a number")
    };
    assert_eq!(receiver.value, lsn("receive_start_lsn"));
    for (name, col) in [
        (
            "pg_stat_wal_receiver_receive_start_tli",
            "receive_start_tli",
        ),
        ("pg_stat_wal_receiver_received_tli", "received_tli"),
    ] {
        assert_eq!(
            value(&samples, name, &sb),
            Some(view(col).parse::<f64>().expect("a timeline")),
            "{name}"
        );
    }
    // Moving values: between two reads of the view.
    between_server_reads(
        &exp,
        "the standby's flushed_lsn",
        |s| value(s, "pg_stat_wal_receiver_flushed_lsn", &sb),
        || lsn("flushed_lsn"),
    );
    between_server_reads(
        &exp,
        "the standby's last_msg_receipt_time",
        |s| value(s, "pg_stat_wal_receiver_last_msg_receipt_time", &sb),
        || {
            view("EXTRACT(EPOCH FROM last_msg_receipt_time)")
                .parse()
                .expect("a time")
        },
    );
    assert!(
        !samples.iter().any(
            |s| s.name.starts_with("pg_stat_wal_receiver_") && s.labels["server"] == on_primary
        ),
        "a primary has no WAL receiver"
    );

    // WAL written on the primary is received by the standby, and replayed there.
    primary.psql(
        "postgres",
        "INSERT INTO w SELECT g FROM generate_series(1, 10000) g",
    );
    let written = server_num(
        &primary,
        "postgres",
        "SELECT (pg_current_wal_lsn() - '0/0') % (2^52)::bigint",
    );
    wait_for(
        &exp,
        "the standby to receive and replay the primary's WAL",
        WAIT,
        |s| {
            value(s, "pg_stat_wal_receiver_flushed_lsn", &sb).is_some_and(|l| l >= written)
                && value(s, "pg_xlog_location_bytes", &sb).is_some_and(|l| l >= written)
        },
    );
    between_server_reads(
        &exp,
        "the standby's pg_xlog_location_bytes",
        |s| value(s, "pg_xlog_location_bytes", &sb),
        || {
            server_num(
                &standby,
                "postgres",
                "SELECT (pg_last_wal_replay_lsn() - '0/0') % (2^52)::bigint",
            )
        },
    );
    between_server_reads(
        &exp,
        "the primary's pg_xlog_location_bytes",
        |s| value(s, "pg_xlog_location_bytes", &pr),
        || {
            server_num(
                &primary,
                "postgres",
                "SELECT (pg_current_wal_lsn() - '0/0') % (2^52)::bigint",
            )
        },
    );
    let samples = parse_exposition(&exp.metrics()).0;
    assert_eq!(value(&samples, "pg_replication_is_replica", &sb), Some(1.0));

    // No pg_buffercache: nothing exported, the cycles succeed, one log line per target
    // (16+; older servers are not asked).
    assert!(
        !samples
            .iter()
            .any(|s| s.name.starts_with("pg_buffercache_summary_"))
    );
    for target in ["primary", "standby"] {
        assert_eq!(
            value(
                &samples,
                "lakewatch_collector_up",
                &[("collector", "postgres"), ("target", target)]
            ),
            Some(1.0),
            "{target}"
        );
    }
    let log = exp.log_text();
    let skipped = log
        .lines()
        .filter(|l| l.contains(r#"query="pg_buffercache_summary""#))
        .count();
    assert_eq!(skipped, if v >= 160000 { 2 } else { 0 }, "{log}");
}
