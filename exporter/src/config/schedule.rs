//! `interval` and `timeout`, the keys every collector section has.

use std::time::Duration;

use serde_saphyr::Spanned;

use crate::config::duration::{PromDuration, format_duration};
use crate::config::error::{ConfigError, Validator};

/// When and how long a collector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between the starts of two cycles.
    pub interval: Duration,
    /// How long one cycle may take before it is abandoned (at most the interval).
    pub timeout: Duration,
}

impl Validator<'_> {
    /// A section's schedule: the given interval and timeout, else the collector's
    /// defaults (the default timeout never longer than the interval).
    pub(crate) fn schedule(
        &self,
        interval: Option<Spanned<PromDuration>>,
        timeout: Option<Spanned<PromDuration>>,
        defaults: Schedule,
    ) -> Result<Schedule, ConfigError> {
        let i = interval.as_ref().map_or(defaults.interval, |s| s.value.0);
        if let Some(span) = &interval
            && i.is_zero()
        {
            return Err(self.error(span, "interval must be greater than 0"));
        }
        let t = timeout
            .as_ref()
            .map_or(defaults.timeout.min(i), |s| s.value.0);
        if let Some(span) = &timeout {
            if t.is_zero() {
                return Err(self.error(span, "timeout must be greater than 0"));
            }
            if t > i {
                return Err(self.error(
                    span,
                    format!(
                        "timeout {} is longer than the interval {}: a cycle must end before the next one starts",
                        format_duration(t),
                        format_duration(i)
                    ),
                ));
            }
        }
        Ok(Schedule {
            interval: i,
            timeout: t,
        })
    }
}
