//! Durations written the Prometheus way (`500ms`, `15s`, `1h30m`, `30d`): the one parser
//! and formatter behind the exporter's config file and rulegen's specs.

use std::time::Duration;

/// Why a duration does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Nothing was written.
    Empty,
    /// A unit was not preceded by a number (`m`, `-5m`, `1.5h`).
    ExpectedDigit,
    /// A number had no unit, or one Prometheus does not know (`15`, `5x`).
    UnknownUnit,
    /// Units out of order or repeated (`1m1h`, `1h1h`).
    UnitOrder,
    /// More than `u64` milliseconds.
    TooLarge,
}

impl DurationError {
    /// A short reason, for messages that quote the input themselves.
    pub fn reason(self) -> &'static str {
        match self {
            DurationError::Empty => "empty",
            DurationError::ExpectedDigit => "expected a digit",
            DurationError::UnknownUnit => "missing or unknown unit",
            DurationError::UnitOrder => "units must go from largest to smallest, each at most once",
            DurationError::TooLarge => "too large",
        }
    }
}

/// Parses a Prometheus duration: numbers with units `y w d h m s ms`, combined from the
/// largest unit to the smallest, each at most once (Prometheus' own rule).
///
/// ```
/// use std::time::Duration;
/// use lakewatch_catalog::duration::{DurationError, parse};
/// assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse("1m1h"), Err(DurationError::UnitOrder));
/// ```
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    // Ordered largest first; a unit's position is its rank.
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = s;
    let mut total_ms: u64 = 0;
    let mut next_rank = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::ExpectedDigit);
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::TooLarge)?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let rank = UNITS
            .iter()
            .position(|(u, _)| *u == &rest[..letters])
            .ok_or(DurationError::UnknownUnit)?;
        if rank < next_rank {
            return Err(DurationError::UnitOrder);
        }
        next_rank = rank + 1;
        total_ms = n
            .checked_mul(UNITS[rank].1)
            .and_then(|v| v.checked_add(total_ms))
            .ok_or(DurationError::TooLarge)?;
        rest = &rest[letters..];
    }
    Ok(Duration::from_millis(total_ms))
}

/// Writes a duration with the largest units first: days, hours, minutes, seconds,
/// milliseconds. Weeks and years are never used, so a 30-day period reads `30d`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(lakewatch_catalog::duration::format(Duration::from_secs(5040)), "1h24m");
/// assert_eq!(lakewatch_catalog::duration::format(Duration::ZERO), "0s");
/// ```
pub fn format(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&std::format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse("2w"), Ok(Duration::from_secs(14 * 86400)));
        assert_eq!(parse("1y"), Ok(Duration::from_secs(365 * 86400)));
        assert_eq!(parse("1m1s1ms"), Ok(Duration::from_millis(61_001)));
        for (bad, why) in [
            ("", DurationError::Empty),
            ("15", DurationError::UnknownUnit),
            ("s", DurationError::ExpectedDigit),
            ("1.5s", DurationError::UnknownUnit),
            ("15x", DurationError::UnknownUnit),
            ("1s1m", DurationError::UnitOrder),
            ("1m1m", DurationError::UnitOrder),
            ("-1s", DurationError::ExpectedDigit),
            ("5m ", DurationError::ExpectedDigit),
            ("99999999999999999999s", DurationError::TooLarge),
            ("99999999999999999d", DurationError::TooLarge),
        ] {
            assert_eq!(parse(bad), Err(why), "{bad:?}");
        }
        for d in ["15s", "1h30m", "500ms", "1d2h", "30d"] {
            assert_eq!(format(parse(d).unwrap()), d);
        }
    }
}
