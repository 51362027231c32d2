//! S3 faults: a slow canary PUT, a missing probe bucket, a dead endpoint.

use super::*;

/// A stalled store (slow probes), a missing probe bucket, then a dead endpoint.
pub(super) fn s3_faults(lab: &Lab, barrier: &Rendezvous, fired: &Mutex<BTreeSet<String>>) {
    let _guard = barrier.guard();
    let lake = [("target", "lake")];
    lab.quiet("S3ProbeLatencyHigh", &lake);
    let since = lab.posts();
    // The store answers the canary's PUT after 3 s (the threshold is 2 s).
    lab.s3_proxy.slow_puts(true);
    lab.fires(
        since,
        "S3ProbeLatencyHigh",
        &[("target", "lake"), ("op", "put")],
        "lake",
    );
    Lab::record(fired, "S3ProbeLatencyHigh");
    prove_firing_panel(lab, "s3-probe-latency");
    barrier.wait();
    barrier.wait();
    lab.s3_proxy.slow_puts(false);

    lab.quiet("S3ProbeFailing", &lake);
    let since = lab.posts();
    let admin = Admin::new(&lab.moto.lock().unwrap().endpoint());
    admin.delete_bucket("canary");
    let failing = lab.fires(
        since,
        "S3ProbeFailing",
        &[("target", "lake"), ("op", "put")],
        "lake",
    );
    // s3_up is 0 whenever an operation of the probe fails (README, S3 collector), so
    // S3Down pages too although the endpoint answers.
    let down = lab.fires(since, "S3Down", &lake, "lake");
    Lab::record(fired, "S3ProbeFailing");
    prove_firing_panel(lab, "s3-probe-success");
    admin.bucket("canary", &[]);
    lab.resolves("S3ProbeFailing", &failing);
    lab.resolves("S3Down", &down);

    let since = lab.posts();
    lab.moto.lock().unwrap().kill();
    let down = lab.fires(since, "S3Down", &lake, "lake");
    Lab::record(fired, "S3Down");
    let mut moto = lab.moto.lock().unwrap();
    moto.restart();
    let admin = Admin::new(&moto.endpoint());
    admin.bucket("lake", &[1000, 20_000, 300]);
    admin.bucket("canary", &[]);
    drop(moto);
    lab.resolves("S3Down", &down);
}
