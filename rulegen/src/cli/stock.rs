//! `stock`: regenerate the stock pack's checked-in outputs from its spec.

use std::path::Path;

use anyhow::Context;
use lakewatch_rulegen::stock;

use super::{Failed, report, write};

/// Regenerates the stock pack under `root`.
pub(crate) fn run(root: &Path) -> Result<(), Failed> {
    report(write_stock(root))
}

fn write_stock(root: &Path) -> anyhow::Result<()> {
    let spec = root.join(stock::SPEC_PATH);
    let text =
        std::fs::read_to_string(&spec).with_context(|| format!("reading {}", spec.display()))?;
    for f in stock::generate(&text)? {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write(&path, &f.text)?;
    }
    Ok(())
}
