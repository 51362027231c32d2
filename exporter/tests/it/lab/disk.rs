//! Disk faults: a filesystem filled and out of inodes, one remounted read-only, a loop device kept busy.

use super::*;

/// Full and nearly out of inodes; the other mount goes read-only; a loop device saturated.
pub(super) fn disk_faults(lab: &Lab, barrier: &Rendezvous, fired: &Mutex<BTreeSet<String>>) {
    let _guard = barrier.guard();
    let fill = lab.fill.name();
    let ro = lab.ro.name();
    let at = |m: &str| vec![("mountpoint", m.to_string())];
    for a in [
        "LakewatchFilesystemSpaceLow",
        "LakewatchFilesystemSpaceCritical",
        "LakewatchFilesystemInodesLow",
    ] {
        lab.quiet(a, &[("mountpoint", &fill)]);
    }
    lab.quiet("LakewatchFilesystemReadOnly", &[("mountpoint", &ro)]);
    let since = lab.posts();
    // 7.5 of 8 MiB, and 60 of 64 inodes.
    std::fs::write(lab.fill.path.join("ballast"), vec![1u8; 15 * 512 * 1024])
        .expect("filling the small filesystem");
    for i in 0..60 {
        std::fs::write(lab.fill.path.join(format!("f{i}")), "").expect("using up inodes");
    }
    lab.ro.remount("ro");
    let busy = BusyLoop::start(&lab.dir.0);
    let disk = busy.name();
    let mut prints = Vec::new();
    for alert in [
        "LakewatchFilesystemSpaceLow",
        "LakewatchFilesystemSpaceCritical",
        "LakewatchFilesystemInodesLow",
        "LakewatchFilesystemFillingUp",
    ] {
        let l = at(&fill);
        let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
        prints.push((alert, lab.fires(since, alert, &l, &fill)));
        Lab::record(fired, alert);
    }
    let ro_print = lab.fires(
        since,
        "LakewatchFilesystemReadOnly",
        &[("mountpoint", &ro)],
        &ro,
    );
    Lab::record(fired, "LakewatchFilesystemReadOnly");
    let busy_print = lab.fires(
        since,
        "LakewatchDiskIoSaturated",
        &[("device", &disk)],
        &disk,
    );
    Lab::record(fired, "LakewatchDiskIoSaturated");
    barrier.wait(); // every fault is on: the check runs
    barrier.wait();
    drop(busy);
    lab.resolves("LakewatchDiskIoSaturated", &busy_print);
    for entry in std::fs::read_dir(&lab.fill.path).expect("listing the small filesystem") {
        std::fs::remove_file(entry.expect("an entry").path()).expect("freeing space");
    }
    lab.ro.remount("rw");
    for (alert, print) in prints {
        if alert != "LakewatchFilesystemFillingUp" {
            lab.resolves(alert, &print);
        }
    }
    lab.resolves("LakewatchFilesystemReadOnly", &ro_print);
}
