//! Postgres faults, driven through psql against the lab's scratch server.

use super::*;

/// Deadlocks, cold reads, connections near the limit, a long transaction; then the
/// server goes down and the inhibition of its SLO alert is checked.
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
    // 35 idle sessions, a transaction left open and the exporter: over 90% of 40
    // connections (after the reads above, which need connections of their own).
    let mut sessions: Vec<Proc> = (0..35)
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
    for alert in [
        "PostgresConnectionsHigh",
        "PostgresConnectionsCritical",
        "PostgresLongRunningTransaction",
    ] {
        lab.resolves(alert, &prints[alert]);
    }

    // Down: PostgresDown pages, and the server's SLO alert is inhibited.
    lab.quiet("PostgresDown", &on);
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
    lab.resolves("PostgresDown", &down);
    lab.resolves("LakewatchCollectorDown", &collector_down);
}
