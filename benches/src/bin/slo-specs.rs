//! Writes the rulegen bench's synthetic spec files ([`lakewatch_benches::slo_specs`]) to a
//! directory, so the CLI can be timed end to end on the same input the criterion bench
//! uses (`hyperfine 'lakewatch-rulegen generate DIR/*.yml -o OUT --dashboards --alertmanager'`).
//!
//! Usage: slo-specs SLOS DIR

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(slos), Some(dir)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: slo-specs SLOS DIR");
    };
    let slos: usize = slos.parse().context("SLOS must be a number")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {dir}"))?;
    for (name, text) in lakewatch_benches::slo_specs(slos) {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
