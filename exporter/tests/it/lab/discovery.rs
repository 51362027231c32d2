//! Discovery faults: the exporter's Postgres targets file broken, then fixed.

use super::*;

/// The targets file the lab exporter's `collectors.postgres.targets_files:` matches,
/// relative to the lab's directory; it lists no target while all is well.
pub(super) const TARGETS_FILE: &str = "targets/lab.yml";

/// Replaces `file` whole, as an inventory tool should (a hidden temporary file the
/// `*.yml` glob does not match, renamed), so discovery never reads it half-written.
fn publish(file: &Path, text: &str) {
    let name = file
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    let tmp = file.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).expect("writing the temporary targets file");
    std::fs::rename(&tmp, file).expect("renaming the targets file into place");
}

/// The targets file gets an entry with a typo'd key: discovery refuses the file (the
/// landing page names its line), LakewatchDiscoveryFailing fires, and resolves once
/// the file is valid again.
pub(super) fn discovery_faults(lab: &Lab, fired: &Mutex<BTreeSet<String>>) {
    let instance = lab.exporter.addr.to_string();
    let on = [
        ("instance", instance.as_str()),
        ("collector", "postgres"),
        ("source", "file"),
    ];
    lab.quiet("LakewatchDiscoveryFailing", &on);
    let file = lab.dir.0.join(TARGETS_FILE);
    let good = std::fs::read_to_string(&file).expect("reading the targets file");
    let since = lab.posts();
    publish(
        &file,
        "- name: discovered\n  dsn: postgresql://lakewatch@127.0.0.1:1/postgres\n  passwrd: typo\n",
    );
    let failing = lab.fires(since, "LakewatchDiscoveryFailing", &on, "postgres");
    Lab::record(fired, "LakewatchDiscoveryFailing");
    // Where the runbook sends the on-call engineer: the landing page names file and line.
    let page = lab.exporter.get("/").text();
    assert!(
        page.contains(&format!("{}:3:3: unknown field", file.display())),
        "the landing page names the broken line: {page}"
    );
    publish(&file, &good);
    lab.resolves("LakewatchDiscoveryFailing", &failing);
}
