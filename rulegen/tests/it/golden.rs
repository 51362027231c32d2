//! Golden files: every valid fixture spec, generated in every flavour (plus emitted
//! tests and its SLO dashboard), must match `tests/fixtures/golden/<format>/<spec>/` byte for byte.
//! Regenerate with `LAKEWATCH_BLESS=1 cargo test -p lakewatch-rulegen --test it golden`.

use crate::stock::bless;
use crate::support::{Scratch, files_under, fixture, generate, good_specs};

#[test]
fn generated_files_match_goldens() {
    let specs = good_specs();
    assert!(
        specs.len() >= 3,
        "expected fixtures for every format, found {specs:?}"
    );
    let mut mismatches = Vec::new();
    for spec in &specs {
        let format = spec
            .parent()
            .and_then(|p| p.file_name())
            .unwrap()
            .to_string_lossy()
            .to_string();
        let stem = spec.file_stem().unwrap().to_string_lossy().to_string();
        let scratch = Scratch::new(&format!("golden-{format}-{stem}"));
        generate(spec, scratch.path(), &["--emit-tests", "--dashboards"]);
        generate(spec, scratch.path(), &["--format", "operator"]);
        generate(spec, scratch.path(), &["--format", "mimir"]);
        let golden = fixture(&format!("golden/{format}/{stem}"));
        if bless() {
            let _ = std::fs::remove_dir_all(&golden);
        }
        let got = files_under(scratch.path());
        for file in &got {
            let rel = file.strip_prefix(scratch.path()).unwrap();
            let want_path = golden.join(rel);
            let text = std::fs::read_to_string(file).unwrap();
            if bless() {
                std::fs::create_dir_all(want_path.parent().unwrap()).unwrap();
                std::fs::write(&want_path, &text).unwrap();
                continue;
            }
            match std::fs::read_to_string(&want_path) {
                Ok(want) if want == text => {}
                Ok(_) => mismatches.push(format!("{} differs", want_path.display())),
                Err(_) => mismatches.push(format!("{} is missing", want_path.display())),
            }
        }
        if !bless() {
            let want_count = files_under(&golden).len();
            if want_count != got.len() {
                mismatches.push(format!(
                    "{}: {} golden files, {} generated",
                    golden.display(),
                    want_count,
                    got.len()
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatches (rerun with LAKEWATCH_BLESS=1 if intended):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn regeneration_is_byte_identical() {
    for spec in good_specs() {
        let a = Scratch::new("determinism-a");
        let b = Scratch::new("determinism-b");
        generate(&spec, a.path(), &["--emit-tests", "--dashboards"]);
        generate(&spec, b.path(), &["--emit-tests", "--dashboards"]);
        let fa = files_under(a.path());
        assert_eq!(fa.len(), files_under(b.path()).len());
        for f in fa {
            let rel = f.strip_prefix(a.path()).unwrap();
            assert_eq!(
                std::fs::read(&f).unwrap(),
                std::fs::read(b.path().join(rel)).unwrap(),
                "{} differs between runs",
                rel.display()
            );
        }
    }
}
