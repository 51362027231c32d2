//! Timestamps as Prometheus takes them, Unix seconds in an `f64`: one reader for the ISO
//! 8601 strings Docker (RFC 3339) and Postgres (`DateStyle = ISO`) send, and one
//! conversion of the system clock. Hand-written to keep a date crate out for three
//! fields; the calendar arithmetic is Howard Hinnant's `days_from_civil`.

use std::time::{SystemTime, UNIX_EPOCH};

/// A date or date-time read from text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed {
    /// Whole Unix seconds (the fraction is in `frac`).
    pub secs: i64,
    /// The fraction of a second after `secs`, in [0, 1).
    pub frac: f64,
    /// Whether a time of day followed the date.
    pub has_time: bool,
    /// Whether a zone (`Z` or an offset) was given; without one the time is UTC.
    pub has_zone: bool,
}

/// Reads `YYYY-MM-DD`, optionally followed by `T`, `t` or a space and `HH:MM:SS`, an
/// optional fraction, and an optional zone: `Z`, `±hh`, `±hh:mm` or `±hh:mm:ss`.
///
/// ```
/// use lakewatch_exporter::timestamp::parse;
/// let p = parse("2024-02-29T14:00:00.5+02:00").unwrap();
/// assert_eq!((p.secs, p.frac, p.has_zone), (1_709_208_000, 0.5, true));
/// assert_eq!(parse("1970-01-02").unwrap().secs, 86_400);
/// assert!(parse("2024-13-01").is_none());
/// ```
pub fn parse(s: &str) -> Option<Parsed> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse::<i64>().ok())?
    };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut parsed = Parsed {
        secs,
        frac: 0.0,
        has_time: false,
        has_zone: false,
    };
    if b.len() == 10 {
        return Some(parsed);
    }
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if h > 24 || mi > 59 || sec > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + sec;
    parsed.has_time = true;
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        parsed.frac = format!("0.{}", &r[..digits]).parse().ok()?;
        rest = &r[digits..];
    }
    match rest {
        "" => {}
        "Z" | "z" => parsed.has_zone = true,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let mut offset = 0;
            for (i, part) in rest[1..].split(':').enumerate() {
                if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                offset += part.parse::<i64>().ok()? * [3600, 60, 1].get(i)?;
            }
            secs -= sign * offset;
            parsed.has_zone = true;
        }
    }
    parsed.secs = secs;
    Some(parsed)
}

/// Docker's RFC 3339 timestamps (`2024-05-01T12:34:56.123456789Z`, or with an offset):
/// a full date-time with a zone, to the nanosecond it carries.
pub fn rfc3339(s: &str) -> Option<f64> {
    let p = parse(s)?;
    (p.has_time && p.has_zone).then_some(p.secs as f64 + p.frac)
}

/// Postgres' ISO output of `date`, `timestamp` and `timestamptz` (`2024-05-01`,
/// `2024-05-01 12:34:56.789`, `2024-05-01 12:34:56+02`) in whole seconds, rounded down
/// like Go's `Time.Unix` (what postgres_exporter reports).
pub fn postgres_iso(s: &str) -> Option<f64> {
    parse(s).map(|p| p.secs as f64)
}

/// A point of the system clock in Unix seconds (0 for one before 1970).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rfc3339() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(rfc3339("2024-02-29T12:00:00.5Z"), Some(1_709_208_000.5));
        assert_eq!(rfc3339("2024-02-29T14:00:00+02:00"), Some(1_709_208_000.0));
        let nanos = rfc3339("2023-11-05T08:09:10.123456789Z").unwrap();
        assert!((nanos - 1_699_171_750.123_456).abs() < 1e-5);
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+2:00",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn postgres_iso_rounds_down_and_reads_utc_without_a_zone() {
        assert_eq!(postgres_iso("1970-01-02"), Some(86_400.0));
        for same in [
            "2024-05-01 12:34:56.789+00",
            "2024-05-01 14:34:56+02",
            "2024-05-01 07:04:56.5-05:30",
            "2024-05-01 12:34:56",
        ] {
            assert_eq!(postgres_iso(same), Some(1_714_566_896.0), "{same}");
        }
        assert_eq!(postgres_iso("1969-12-31 23:59:59"), Some(-1.0));
        for bad in ["", "idle", "2024-13-01", "12:00:00", "2024-05-01 12:34"] {
            assert_eq!(postgres_iso(bad), None, "{bad}");
        }
    }
}
