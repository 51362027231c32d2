//! Malformed specs: each file under `tests/fixtures/bad/` starts with a comment
//! `# expect: LINE:COLUMN: MESSAGE` and must fail `validate` with exit code 1 and exactly
//! that error on the first line of stderr.

use crate::support::{files_under, fixture, rulegen};

#[test]
fn each_bad_spec_gives_one_located_error() {
    let files = files_under(&fixture("bad"));
    assert!(files.len() >= 10, "only {} bad specs", files.len());
    let mut failures = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", f.display()));
        let rel = f.strip_prefix(crate::support::crate_dir()).unwrap();
        let o = rulegen(&["validate", rel.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let first = stderr.lines().next().unwrap_or("");
        let want = format!("error: {}:{expect}", rel.display());
        if o.status.code() != Some(1) || first != want {
            failures.push(format!(
                "{}: exit {:?}\n  want: {want}\n  got:  {first}",
                rel.display(),
                o.status.code()
            ));
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
        // The offending line is quoted under the message.
        assert!(
            stderr.lines().count() >= 3,
            "{}: no snippet in\n{stderr}",
            rel.display()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every problem of every spec in one run (issue 20): each document and each SLO in it
/// is checked, each error located, and nothing is written.
#[test]
fn every_problem_of_every_spec_is_reported_at_once() {
    let scratch = crate::support::Scratch::new("many-bad");
    let out = scratch.path().join("out");
    let o = rulegen(&[
        "generate",
        "tests/fixtures/many-bad",
        "tests/fixtures/sloth-examples/getting-started.yml",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "tests/fixtures/many-bad/syntax.yml:5:16",
            "tests/fixtures/many-bad/two-documents.yml:13:11",
            "tests/fixtures/many-bad/two-documents.yml:22:16",
            "tests/fixtures/many-bad/two-documents.yml:37:28",
        ],
        "{stderr}"
    );
    assert!(stderr.contains("unclosed bracket"), "{stderr}");
    assert!(
        stderr.contains("objective must be in (0, 100), got 100"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("4 problems; nothing was written\n"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written when a spec is invalid");
}

/// Legal but suspicious input is reported as a warning, located, and does not fail the run.
#[test]
fn suspicious_input_warns_and_passes() {
    let o = rulegen(&["validate", "tests/fixtures/warn/suspicious.yml"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: tests/fixtures/warn/suspicious.yml:6:16: objective 0.999 is in percent: 0.999% of events must be good; for 99.9% write 99.9",
            "warning: tests/fixtures/warn/suspicious.yml:12:11: alert `DiskFull` has severity `critcal`, which is neither one of critical, warning, info, none nor an SLO alert's: Alertmanager routing sends it as a ticket",
            "warning: tests/fixtures/warn/suspicious.yml:23:16: objective 0.5 is in percent: 0.5% of events must be good; for 50% write 50",
        ],
        "{stderr}"
    );
    // The offending line is quoted under each warning.
    assert!(stderr.contains("12 |   - name: DiskFull\n"), "{stderr}");
}
