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
