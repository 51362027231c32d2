//! Durations written the Prometheus way (`500ms`, `15s`, `1h30m`), as every interval,
//! timeout and budget in the file is.

use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Validator};

/// A duration written the Prometheus way: `500ms`, `15s`, `5m`, `1h30m`, `2d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromDuration(pub Duration);

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(PromDuration).map_err(|why| {
            de::Error::custom(format!(
                "invalid duration {s:?} ({why}): expected a number with a unit, such as 500ms, 15s, 5m or 1h30m"
            ))
        })
    }
}

/// Parses a Prometheus-style duration (units `y w d h m s ms`, combinable from the
/// largest to the smallest, each at most once).
pub fn parse_duration(s: &str) -> Result<Duration, &'static str> {
    lakewatch_catalog::duration::parse(s).map_err(|e| e.reason())
}

/// Renders a duration the way the config file writes it.
pub fn format_duration(d: Duration) -> String {
    lakewatch_catalog::duration::format(d)
}

impl Validator<'_> {
    /// An optional positive duration, `default` when not given.
    pub(crate) fn duration(
        &self,
        raw: Option<Spanned<PromDuration>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match raw {
            Some(s) if s.value.0.is_zero() => Err(self.error(&s, "must be greater than 0")),
            Some(s) => Ok(s.value.0),
            None => Ok(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("1m1s1ms"), Ok(Duration::from_millis(61_001)));
        for bad in [
            "",
            "15",
            "s",
            "1.5s",
            "15x",
            "1s1m",
            "1m1m",
            "-1s",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        for d in ["15s", "1h30m", "500ms", "1d2h"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
    }
}
