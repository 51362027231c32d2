//! Prometheus-style durations (`30d`, `1h30m`) in whole seconds: what SLO periods, alert
//! windows and `for:` clauses are written in.

/// Parses a Prometheus duration such as `5m`, `1h30m`, `30d` or `2w` into seconds.
///
/// Units must appear from largest to smallest, each at most once, as Prometheus requires;
/// milliseconds are rejected because no SLO window or `for:` is that short.
pub fn parse(s: &str) -> Result<u64, String> {
    const UNITS: [(&str, u64); 6] = [
        ("y", 365 * 86400),
        ("w", 7 * 86400),
        ("d", 86400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ];
    let bad = || format!("`{s}` is not a duration like 30s, 5m, 1h30m, 7d or 2w");
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        if rest.starts_with("ms") {
            return Err(format!("`{s}`: milliseconds are too fine for SLO windows"));
        }
        let Some(idx) = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| rest.starts_with(u))
        else {
            return Err(bad());
        };
        let (unit, secs) = UNITS[next_unit + idx];
        rest = &rest[unit.len()..];
        next_unit += idx + 1;
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}` is too long"))?;
    }
    Ok(total)
}

/// Formats seconds the way rule names and PromQL ranges use them: days, hours, minutes,
/// seconds, largest first (`3d`, `1h24m`). Weeks and years are never used so that a 30d
/// period reads `30d`, not `4w2d`.
pub fn format(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
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
