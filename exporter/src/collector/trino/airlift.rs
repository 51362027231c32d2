//! Parsers for airlift's `Duration` and `DataSize` strings, the units Trino's REST API
//! writes: `"999.90ms"`, `"3.20m"`, `"0.00ns"`; `"8650480B"`, `"12.30MB"`, `"1.50kB"`.
//!
//! airlift writes a decimal number (Java's `%.2f`, or an integer) directly followed by a
//! case-sensitive unit; its own parser also allows blanks around and between them, so we
//! do too. Arithmetic is done on the decimal digits as integers, so the only rounding is
//! the final conversion to `f64` (durations) or airlift's own truncation to whole bytes
//! (sizes). These functions never panic; every malformed input is an [`UnitError`].

/// Why a duration or size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("{0:?} is not a number followed by a unit")]
    /// Not a number followed by a unit.
    Malformed(String),
    #[error("{0:?} has an unknown unit")]
    /// A unit airlift does not have.
    UnknownUnit(String),
    #[error("{0:?} is out of range")]
    /// Too large for the result type.
    Overflow(String),
}

/// Duration units and their size in nanoseconds (airlift's `TimeUnit` abbreviations).
const DURATION_UNITS: [(&str, u128); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Size units and their factor in bytes. airlift's units are binary despite the SI
/// names: `1kB` is 1024 bytes.
const SIZE_UNITS: [(&str, u128); 6] = [
    ("B", 1),
    ("kB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
    ("PB", 1 << 50),
];

/// A decimal number as integer digits and the count of digits after the point.
struct Decimal {
    digits: u128,
    scale: u32,
}

/// Splits `"12.30MB"` into (1230, scale 2) and `"MB"`.
fn split(s: &str) -> Result<(Decimal, &str), UnitError> {
    let malformed = || UnitError::Malformed(s.to_string());
    let t = s.trim();
    let int_len = t.bytes().take_while(u8::is_ascii_digit).count();
    if int_len == 0 {
        return Err(malformed());
    }
    let (int_part, rest) = t.split_at(int_len);
    let (frac_part, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let n = after.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(malformed()); // "1.s": airlift requires digits after the point
            }
            after.split_at(n)
        }
        None => ("", rest),
    };
    let unit = rest.trim_start();
    if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(malformed());
    }
    let overflow = || UnitError::Overflow(s.to_string());
    let mut digits: u128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        digits = digits
            .checked_mul(10)
            .and_then(|d| d.checked_add(u128::from(b - b'0')))
            .ok_or_else(overflow)?;
    }
    let scale = u32::try_from(frac_part.len()).map_err(|_| overflow())?;
    Ok((Decimal { digits, scale }, unit))
}

fn factor(units: &[(&str, u128)], unit: &str, s: &str) -> Result<u128, UnitError> {
    units
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| UnitError::UnknownUnit(s.to_string()))
}

/// Parses an airlift `Duration` into seconds.
pub fn parse_duration(s: &str) -> Result<f64, UnitError> {
    let (d, unit) = split(s)?;
    let nanos_per_unit = factor(&DURATION_UNITS, unit, s)?;
    let overflow = || UnitError::Overflow(s.to_string());
    let scaled_nanos = d.digits.checked_mul(nanos_per_unit).ok_or_else(overflow)?;
    let denominator = 10u128
        .checked_pow(d.scale)
        .and_then(|p| p.checked_mul(1_000_000_000))
        .ok_or_else(overflow)?;
    // One division of two integers converted to f64: exact whenever both fit in 53 bits
    // (every value Trino writes), otherwise correctly rounded to within one ulp.
    Ok(scaled_nanos as f64 / denominator as f64)
}

/// Parses an airlift `DataSize` into bytes, truncating fractions of a byte the way
/// airlift's `toBytes()` does.
pub fn parse_data_size(s: &str) -> Result<u64, UnitError> {
    let (d, unit) = split(s)?;
    let per_unit = factor(&SIZE_UNITS, unit, s)?;
    let overflow = || UnitError::Overflow(s.to_string());
    let scaled = d.digits.checked_mul(per_unit).ok_or_else(overflow)?;
    let denominator = 10u128.checked_pow(d.scale).ok_or_else(overflow)?;
    u64::try_from(scaled / denominator).map_err(|_| overflow())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_unit() {
        assert_eq!(parse_duration("0.00ns"), Ok(0.0));
        assert_eq!(parse_duration("0.00ms"), Ok(0.0));
        assert_eq!(parse_duration("0.00s"), Ok(0.0));
        assert_eq!(parse_duration("1.50ns"), Ok(1.5e-9));
        assert_eq!(parse_duration("250.00us"), Ok(0.00025));
        assert_eq!(parse_duration("999.90ms"), Ok(0.9999));
        assert_eq!(parse_duration("1.00s"), Ok(1.0));
        assert_eq!(parse_duration("1.50s"), Ok(1.5));
        assert_eq!(parse_duration("3.20m"), Ok(192.0));
        assert_eq!(parse_duration("2.25h"), Ok(8100.0));
        assert_eq!(parse_duration("34.72d"), Ok(2_999_808.0));
        assert_eq!(parse_duration("17m"), Ok(1020.0));
        assert_eq!(parse_duration(" 5 s "), Ok(5.0), "airlift allows blanks");
        assert_eq!(parse_duration("1.123456s"), Ok(1.123456));
    }

    #[test]
    fn every_size_unit() {
        assert_eq!(parse_data_size("0B"), Ok(0));
        assert_eq!(parse_data_size("8650480B"), Ok(8_650_480));
        assert_eq!(parse_data_size("1.50kB"), Ok(1536));
        assert_eq!(parse_data_size("12.30MB"), Ok(12_897_484)); // 12897484.8 truncated
        assert_eq!(parse_data_size("5GB"), Ok(5 * (1 << 30)));
        assert_eq!(parse_data_size("2.00TB"), Ok(2 * (1 << 40)));
        assert_eq!(parse_data_size("1PB"), Ok(1 << 50));
        assert_eq!(parse_data_size("0.50B"), Ok(0));
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        for bad in [
            "", " ", "s", "1", "1.5", ".5s", "1.s", "-1.00s", "1,5s", "1.0E10s", "NaN", "1.00",
            "1.00 s x", "1.00s.", "١s", "1..2s",
        ] {
            assert!(
                matches!(parse_duration(bad), Err(UnitError::Malformed(_))),
                "{bad:?}: {:?}",
                parse_duration(bad)
            );
            assert!(parse_data_size(bad).is_err(), "{bad:?}");
        }
        for unknown in [
            "1.00sec", "1.00S", "1.00M", "1.00ks", "1.00mb", "3.00KB", "1.00µs",
        ] {
            assert!(parse_duration(unknown).is_err(), "{unknown:?}");
        }
        assert_eq!(
            parse_duration("1.00sec"),
            Err(UnitError::UnknownUnit("1.00sec".into()))
        );
        assert_eq!(
            parse_data_size("3.00KB"),
            Err(UnitError::UnknownUnit("3.00KB".into()))
        );
        assert_eq!(
            parse_data_size("1.00s"),
            Err(UnitError::UnknownUnit("1.00s".into()))
        );
        assert_eq!(
            parse_duration("8650480B"),
            Err(UnitError::UnknownUnit("8650480B".into()))
        );
    }

    #[test]
    fn overflow_is_an_error() {
        let huge = format!("{}d", "9".repeat(60));
        assert!(matches!(parse_duration(&huge), Err(UnitError::Overflow(_))));
        assert!(matches!(
            parse_data_size("99999999PB"),
            Err(UnitError::Overflow(_))
        ));
        let deep = format!("1.{}s", "0".repeat(50));
        assert!(matches!(parse_duration(&deep), Err(UnitError::Overflow(_))));
    }
}
