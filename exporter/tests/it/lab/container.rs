//! Container faults: throttled, crash-looping, OOM-killed, unhealthy and near-limit containers.

use super::*;

/// Throttled, crash-looping, OOM-killed, unhealthy and near-limit containers.
pub(super) fn container_faults(lab: &Lab, barrier: &Rendezvous, fired: &Mutex<BTreeSet<String>>) {
    let _guard = barrier.guard();
    let sc = &lab.scene;
    let (sick, hungry) = (sc.name("sick"), sc.name("hungry"));
    lab.quiet("ContainerUnhealthy", &[("name", &sick)]);
    lab.quiet("ContainerMemoryNearLimit", &[("name", &hungry)]);
    let since = lab.posts();
    sc.run("throttled", &["--cpus", "0.05"], "while :; do :; done");
    sc.run("crashloop", &["--restart", "always"], "sleep 1; exit 1");
    // dd's 32 MiB buffer cannot fit under 8 MiB: the kernel kills dd, the shell goes on.
    sc.run(
        "oom",
        &["--memory", "8m", "--memory-swap", "8m"],
        "while :; do dd if=/dev/zero of=/dev/null bs=32M count=1; sleep 1; done",
    );
    docker::docker(&["exec", &sick, "touch", "/tmp/sick"]);
    // 29 of 32 MiB in shared memory, plus the processes.
    docker::docker(&[
        "exec",
        &hungry,
        "dd",
        "if=/dev/zero",
        "of=/dev/shm/fill",
        "bs=1M",
        "count=29",
    ]);
    let mut prints = BTreeMap::new();
    for (alert, suffix) in [
        ("ContainerCpuThrottled", "throttled"),
        ("ContainerRestarting", "crashloop"),
        ("ContainerOomKilled", "oom"),
        ("ContainerUnhealthy", "sick"),
        ("ContainerMemoryNearLimit", "hungry"),
    ] {
        let name = sc.name(suffix);
        prints.insert(alert, lab.fires(since, alert, &[("name", &name)], &name));
        Lab::record(fired, alert);
    }
    barrier.wait();
    barrier.wait();
    docker::docker(&["exec", &sick, "rm", "/tmp/sick"]);
    docker::docker(&["exec", &hungry, "rm", "/dev/shm/fill"]);
    // Its busy loop would take a whole core for the rest of the lab.
    docker::docker(&["rm", "-f", &sc.name("throttled")]);
    for alert in ["ContainerUnhealthy", "ContainerMemoryNearLimit"] {
        lab.resolves(alert, &prints[alert]);
    }
}
