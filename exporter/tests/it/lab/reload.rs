//! Reload faults: a broken configuration file reloaded.

use super::*;

/// The limited exporter's config file broken and reloaded: the reload is refused (400,
/// naming the line) and the old config keeps serving, until the file is fixed.
pub(super) fn reload_faults(lab: &Lab, fired: &Mutex<BTreeSet<String>>) {
    let instance = lab.limited.addr.to_string();
    let on = [("instance", instance.as_str())];
    lab.quiet("LakewatchConfigReloadFailed", &on);
    let file = lab.dir.0.join("limited.yml");
    let good = std::fs::read_to_string(&file).expect("reading limited.yml");
    let since = lab.posts();
    std::fs::write(&file, "collectors:\n  disk:\n    interval: often\n").unwrap();
    let refused = lab.limited.request("POST", "/-/reload", &[]);
    assert_eq!(
        refused.status,
        400,
        "a broken file is refused: {}",
        refused.text()
    );
    assert!(
        refused.text().contains("limited.yml:3:"),
        "the answer names the line: {}",
        refused.text()
    );
    let failed = lab.fires(since, "LakewatchConfigReloadFailed", &on, &instance);
    Lab::record(fired, "LakewatchConfigReloadFailed");
    std::fs::write(&file, good).unwrap();
    let applied = lab.limited.request("POST", "/-/reload", &[]);
    assert_eq!(
        applied.status,
        200,
        "the fixed file loads: {}",
        applied.text()
    );
    lab.resolves("LakewatchConfigReloadFailed", &failed);
}
