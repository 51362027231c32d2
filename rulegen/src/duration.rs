//! Prometheus-style durations (`30d`, `1h30m`) in whole seconds: what SLO periods, alert
//! windows and `for:` clauses are written in.

/// Parses a Prometheus duration such as `5m`, `1h30m`, `30d` or `2w` into seconds.
///
/// Units must appear from largest to smallest, each at most once, as Prometheus requires;
/// milliseconds are rejected because no SLO window or `for:` is that short.
pub fn parse(s: &str) -> Result<u64, String> {
    use lakewatch_catalog::duration::DurationError;
    if s.contains("ms") {
        return Err(format!("`{s}`: milliseconds are too fine for SLO windows"));
    }
    match lakewatch_catalog::duration::parse(s) {
        Ok(d) => Ok(d.as_secs()),
        Err(DurationError::TooLarge) => Err(format!("`{s}` is too long")),
        Err(_) => Err(format!(
            "`{s}` is not a duration like 30s, 5m, 1h30m, 7d or 2w"
        )),
    }
}

/// Formats seconds the way rule names and PromQL ranges use them: days, hours, minutes,
/// seconds, largest first (`3d`, `1h24m`). Weeks and years are never used so that a 30d
/// period reads `30d`, not `4w2d`.
pub fn format(secs: u64) -> String {
    lakewatch_catalog::duration::format(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse("5m"), Ok(300));
        assert_eq!(parse("1h30m"), Ok(5400));
        assert_eq!(parse("30d"), Ok(30 * 86400));
        assert_eq!(parse("2w"), Ok(14 * 86400));
        assert_eq!(parse("1y"), Ok(365 * 86400));
        assert_eq!(parse("90s"), Ok(90));
    }

    #[test]
    fn rejects_malformed_durations() {
        for bad in [
            "", "5", "m", "5x", "1m1h", "1h1h", "-5m", "5m ", " 5m", "1.5h", "100ms",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse("99999999999999999999d").is_err());
    }

    #[test]
    fn formats_largest_unit_first_without_weeks() {
        assert_eq!(format(300), "5m");
        assert_eq!(format(30 * 86400), "30d");
        assert_eq!(format(5040), "1h24m");
        assert_eq!(format(7 * 86400), "7d");
        assert_eq!(format(0), "0s");
        for s in [60, 3600, 5400, 86400 * 3, 4032 * 60] {
            assert_eq!(parse(&format(s)), Ok(s));
        }
    }
}
