//! Postgres faults, driven through psql against the lab's scratch server.

use super::*;

/// Deadlocks, cold reads; a bloated table never vacuumed, an inactive replication slot,
/// failing WAL archiving, transaction IDs burnt, rollbacks, lock waits, a slow VACUUM
/// running; connections near the limit, a long transaction; then the server goes down
/// (and restarts) and the inhibition of its SLO alert is checked.
pub(super) fn postgres_faults(lab: &Lab, barrier: &Rendezvous, fired: &Mutex<BTreeSet<String>>) {
    let _guard = barrier.guard();
    let server = lab.pg_server.clone();
    let on = [("server", server.as_str())];
    let db = [("server", server.as_str()), ("datname", "postgres")];
    for a in [
        "PostgresConnectionsHigh",
        "PostgresConnectionsCritical",
        "PostgresLongRunningTransaction",
    ] {
        lab.quiet(a, &on);
    }
    lab.quiet("PostgresDeadlocks", &db);
    let since = lab.posts();
    let mut pg = lab.pg.lock().unwrap();
    // Two sessions lock the same two rows in opposite order: one is chosen as victim.
    let deadlock: Vec<Proc> = [(1, 2), (2, 1)]
        .iter()
        .map(|(a, b)| {
            pg.psql_background(
                "postgres",
                &format!(
                    "BEGIN; UPDATE lab_locks SET id = id WHERE id = {a}; SELECT pg_sleep(1); UPDATE lab_locks SET id = id WHERE id = {b}; COMMIT"
                ),
            )
        })
        .collect();
    let stop_reads = std::sync::atomic::AtomicBool::new(false);
    let mut prints = std::thread::scope(|s| {
        // Cold reads until the hit-ratio alert has fired.
        let reader = s.spawn(|| {
            while !stop_reads.load(std::sync::atomic::Ordering::Relaxed) {
                pg.psql("postgres", "SELECT count(*) FROM lab_big");
            }
        });
        let _stop = StopOnDrop(&stop_reads);
        let mut prints = BTreeMap::new();
        for alert in ["PostgresDeadlocks", "PostgresCacheHitRatioLow"] {
            prints.insert(alert, lab.fires(since, alert, &db, &server));
        }
        drop(_stop);
        reader.join().expect("the reader thread");
        prints
    });
    let (maintenance, slow_vacuum) = maintenance_faults(lab, &pg);
    prints.extend(maintenance);
    // 34 idle sessions, a transaction left open, the slow VACUUM and the exporter: over
    // 90% of 40 connections (after the faults above, which need connections of their own).
    let mut sessions: Vec<Proc> = (0..34)
        .map(|_| pg.psql_background("postgres", "SELECT pg_sleep(600)"))
        .collect();
    sessions.push(pg.psql_background(
        "postgres",
        "BEGIN; SELECT txid_current(); SELECT pg_sleep(600)",
    ));
    for alert in [
        "PostgresConnectionsHigh",
        "PostgresConnectionsCritical",
        "PostgresLongRunningTransaction",
    ] {
        prints.insert(alert, lab.fires(since, alert, &on, &server));
    }
    drop(deadlock);
    for a in prints.keys() {
        Lab::record(fired, a);
    }
    barrier.wait();
    barrier.wait();
    pg.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()",
    );
    sessions.clear();
    // The slow VACUUM is a transaction of a client backend too: it ends with the
    // sessions, or PostgresLongRunningTransaction would not resolve.
    pg.psql(
        "postgres",
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'VACUUM (DISABLE_PAGE_SKIPPING)%' AND pid <> pg_backend_pid()",
    );
    drop(slow_vacuum);
    for alert in [
        "PostgresConnectionsHigh",
        "PostgresConnectionsCritical",
        "PostgresLongRunningTransaction",
    ] {
        lab.resolves(alert, &prints[alert]);
    }
    end_maintenance_faults(lab, &pg, &prints);

    // Down: PostgresDown pages, and the server's SLO alert is inhibited; back up, the
    // postmaster's new start time makes PostgresRestarted fire.
    lab.quiet("PostgresDown", &on);
    lab.quiet("PostgresRestarted", &on);
    let since = lab.posts();
    pg.stop();
    let down = lab.fires(since, "PostgresDown", &on, &server);
    let collector = [("collector", "postgres"), ("target", "main")];
    let collector_down = lab.fires(since, "LakewatchCollectorDown", &collector, "main");
    Lab::record(fired, "PostgresDown");
    Lab::record(fired, "LakewatchCollectorDown");
    let inhibited = eventually_with(
        LONG,
        "the Postgres SLO alert inhibited in Alertmanager",
        || lab.context(),
        || {
            let (_, body) = lab.am.get("/api/v2/alerts")?;
            let alerts: Vec<Value> = serde_json::from_str(&body).ok()?;
            alerts.into_iter().find(|a| {
                a["labels"]["slo"] == "postgres-availability"
                    && a["labels"]["server"] == server.as_str()
                    && a["status"]["inhibitedBy"]
                        .as_array()
                        .is_some_and(|i| !i.is_empty())
            })
        },
    );
    println!(
        "lab: {} inhibited by {}",
        inhibited["labels"]["alertname"], inhibited["status"]["inhibitedBy"]
    );
    prove_firing_panel(lab, "postgres-availability");
    let leaked: Vec<Post> = lab
        .webhook
        .posts()
        .into_iter()
        .filter(|p| p.body.contains("postgres-availability"))
        .collect();
    assert!(
        leaked.is_empty(),
        "the inhibited SLO alert reached the webhook: {leaked:#?}"
    );
    pg.start_again();
    lab.fires(since, "PostgresRestarted", &on, &server);
    Lab::record(fired, "PostgresRestarted");
    lab.resolves("PostgresDown", &down);
    lab.resolves("LakewatchCollectorDown", &collector_down);
}

/// The table, slot, archiving, transaction and lock alerts: each fault injected, each
/// alert awaited at the webhook. The lock waiters are released again at once (their
/// connections are needed for the connections fault); the rest stays until
/// [`end_maintenance_faults`]. Returns the fired alerts and the slow VACUUM (it keeps
/// `pg_stat_progress_vacuum` filled while every shipped query is checked).
fn maintenance_faults(lab: &Lab, pg: &PgServer) -> (BTreeMap<&'static str, Fired>, Proc) {
    let server = lab.pg_server.as_str();
    let on = [("server", server)];
    let db = [("server", server), ("datname", "postgres")];
    let table = [
        ("server", server),
        ("datname", "postgres"),
        ("relname", "lab_bloat"),
    ];
    let slot = [("server", server), ("slot_name", "lab_slot")];
    for a in ["PostgresDeadTuplesHigh", "PostgresTableNotVacuumed"] {
        lab.quiet(a, &table);
    }
    lab.quiet("PostgresReplicationSlotInactive", &slot);
    for a in ["PostgresWalArchivingFailing", "PostgresWaitingLocksHigh"] {
        lab.quiet(a, &on);
    }
    for a in ["PostgresTxidWraparound", "PostgresRollbackRatioHigh"] {
        lab.quiet(a, &db);
    }
    let since = lab.posts();
    // A table autovacuum must leave alone, every row updated once: half its tuples dead
    // (20,000, over the 10,000 floor), and never vacuumed. Separate transactions, so the
    // statistics count the updated rows as dead.
    pg.psql(
        "postgres",
        "CREATE TABLE lab_bloat (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = false)",
    );
    pg.psql(
        "postgres",
        "INSERT INTO lab_bloat SELECT g, 'x' FROM generate_series(1, 20000) g",
    );
    // A physical slot nobody consumes, reserving WAL from now on; the update writes some.
    pg.psql(
        "postgres",
        "SELECT pg_create_physical_replication_slot('lab_slot', true)",
    );
    pg.psql("postgres", "UPDATE lab_bloat SET note = 'y'");
    // archive_command fails from now on; a finished segment makes the archiver try.
    std::fs::write(&lab.archive_fail, "").expect("creating the archive-fail file");
    pg.psql("postgres", "SELECT pg_switch_wal()");
    // 50,000 rollbacks in postgres, and 150,000 transaction IDs burnt in template1 (so
    // their commits do not dilute postgres' rollback ratio).
    pg.psql(
        "postgres",
        "DO $$ BEGIN FOR i IN 1..50000 LOOP PERFORM 1; ROLLBACK; END LOOP; END $$",
    );
    pg.psql(
        "template1",
        "DO $$ BEGIN FOR i IN 1..150000 LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$",
    );
    // A VACUUM crawling through lab_big (a 100 ms cost delay after every page: half an
    // hour), so that a vacuum is in progress while the shipped queries are checked.
    let slow_vacuum = pg.psql_background(
        "dbname=postgres options='-c vacuum_cost_delay=100 -c vacuum_cost_limit=1'",
        "VACUUM (DISABLE_PAGE_SKIPPING) lab_big",
    );
    // One session holds a row lock, twelve wait for it.
    pg.psql(
        "postgres",
        "CREATE TABLE lab_wait (id int PRIMARY KEY); INSERT INTO lab_wait VALUES (1)",
    );
    let holder = pg.psql_background(
        "postgres",
        "BEGIN; SELECT id FROM lab_wait WHERE id = 1 FOR UPDATE; SELECT pg_sleep(601)",
    );
    eventually_with(
        LONG,
        "the lock holder to hold its row lock",
        || lab.context(),
        || {
            pg.psql(
                "postgres",
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(601)%' AND wait_event = 'PgSleep'",
            )
            .eq("1")
            .then_some(())
        },
    );
    let waiters: Vec<Proc> = (0..12)
        .map(|_| pg.psql_background("postgres", "UPDATE lab_wait SET id = id WHERE id = 1"))
        .collect();
    let mut prints = BTreeMap::new();
    for alert in ["PostgresDeadTuplesHigh", "PostgresTableNotVacuumed"] {
        prints.insert(alert, lab.fires(since, alert, &table, server));
    }
    prints.insert(
        "PostgresReplicationSlotInactive",
        lab.fires(since, "PostgresReplicationSlotInactive", &slot, server),
    );
    for alert in ["PostgresWalArchivingFailing", "PostgresWaitingLocksHigh"] {
        prints.insert(alert, lab.fires(since, alert, &on, server));
    }
    for alert in ["PostgresTxidWraparound", "PostgresRollbackRatioHigh"] {
        prints.insert(alert, lab.fires(since, alert, &db, server));
    }
    pg.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(601)%' AND pid <> pg_backend_pid()",
    );
    drop(holder);
    drop(waiters);
    (prints, slow_vacuum)
}

/// Ends what [`maintenance_faults`] left on (the slow VACUUM ends with the sessions) and
/// waits for those alerts to resolve: the slot dropped, archiving fixed, the bloated
/// table vacuumed, every database frozen.
fn end_maintenance_faults(lab: &Lab, pg: &PgServer, prints: &BTreeMap<&'static str, Fired>) {
    pg.psql("postgres", "SELECT pg_drop_replication_slot('lab_slot')");
    std::fs::remove_file(&lab.archive_fail).expect("removing the archive-fail file");
    pg.psql("postgres", "VACUUM lab_bloat");
    for database in ["postgres", "template1"] {
        pg.psql(database, "VACUUM (FREEZE)");
    }
    for alert in [
        "PostgresDeadTuplesHigh",
        "PostgresTableNotVacuumed",
        "PostgresReplicationSlotInactive",
        "PostgresTxidWraparound",
        "PostgresWaitingLocksHigh",
    ] {
        lab.resolves(alert, &prints[alert]);
    }
}
