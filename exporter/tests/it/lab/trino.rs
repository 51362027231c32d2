//! Trino faults, served by the replay coordinator.

use super::*;

/// The coordinator answers 500, then is overloaded: queued, slow and failing queries.
pub(super) fn trino_faults(lab: &Lab, barrier: &Rendezvous, fired: &Mutex<BTreeSet<String>>) {
    let _guard = barrier.guard();
    let t = [("target", "trino")];
    lab.quiet("TrinoDown", &t);
    let since = lab.posts();
    lab.replay.route(
        "/v1/info",
        vec![Reply::Body(500, "Internal Server Error".into())],
    );
    let down = lab.fires(since, "TrinoDown", &t, "trino");
    let collector = [("collector", "trino"), ("target", "trino")];
    let collector_down = lab.fires(since, "LakewatchCollectorDown", &collector, "trino");
    Lab::record(fired, "TrinoDown");
    lab.replay.route("/v1/info", vec![ok(fixture("info.json"))]);
    lab.resolves("TrinoDown", &down);
    lab.resolves("LakewatchCollectorDown", &collector_down);

    for a in [
        "TrinoQueuedQueriesHigh",
        "TrinoSlowQueries",
        "TrinoQueryFailureRate",
    ] {
        lab.quiet(a, &t);
    }
    let since = lab.posts();
    lab.replay.route("/v1/query", vec![trino_overloaded()]);
    let mut prints = BTreeMap::new();
    for alert in [
        "TrinoQueuedQueriesHigh",
        "TrinoSlowQueries",
        "TrinoQueryFailureRate",
    ] {
        prints.insert(alert, lab.fires(since, alert, &t, "trino"));
        Lab::record(fired, alert);
    }
    prove_firing_panel(lab, "trino-queries");
    barrier.wait();
    barrier.wait();
    lab.replay.route("/v1/query", vec![trino_calm()]);
    lab.resolves("TrinoQueuedQueriesHigh", &prints["TrinoQueuedQueriesHigh"]);
}
