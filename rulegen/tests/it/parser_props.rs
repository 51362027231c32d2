//! The spec reader must never panic, whatever it is fed.

use proptest::prelude::*;

const SEED: &str = r#"version: lakewatch/v1
service: checkout
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total: sum(rate(http_requests_total[{{.window}}]))
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_does_not_panic(s in "\\PC{0,200}") {
        let _ = lakewatch_rulegen::spec::load("p.yml", &s);
    }

    #[test]
    fn mutated_specs_do_not_panic(at in 0usize..SEED.len(), len in 0usize..20, insert in "[ -~\\n]{0,12}") {
        let mut s = SEED.as_bytes().to_vec();
        let end = (at + len).min(s.len());
        s.splice(at..end, insert.bytes());
        let s = String::from_utf8_lossy(&s).into_owned();
        if let Err(e) = lakewatch_rulegen::spec::load("p.yml", &s) {
            // Every error renders with a position prefix.
            prop_assert!(e.to_string().starts_with("p.yml:"));
        }
    }

    #[test]
    fn sloth_and_openslo_headers_do_not_panic(body in "[ -~\\n]{0,200}") {
        for head in ["version: prometheus/v1\n", "apiVersion: openslo/v1\n"] {
            let _ = lakewatch_rulegen::spec::load("p.yml", &format!("{head}{body}"));
        }
    }
}
