//! The names of the series rulegen records, defined once: the rules write them, the
//! burn-rate alerts and the SLO dashboards read them. They follow Sloth's where the
//! meaning is the same, so existing Sloth dashboards keep working. Every one is labelled
//! `slo` and `service` (plus the SLO's own labels).

use crate::duration;

/// Bad events per second over the last 5m.
pub const SLI_ERRORS_RATE5M: &str = "slo:sli_errors:rate5m";
/// All events per second over the last 5m.
pub const SLI_TOTAL_RATE5M: &str = "slo:sli_total:rate5m";
/// The objective as a ratio (0.999).
pub const OBJECTIVE: &str = "slo:objective:ratio";
/// 1 − objective.
pub const ERROR_BUDGET: &str = "slo:error_budget:ratio";
/// The SLO period in days.
pub const TIME_PERIOD_DAYS: &str = "slo:time_period:days";
/// The 5m error ratio ÷ the error budget.
pub const CURRENT_BURN_RATE: &str = "slo:current_burn_rate:ratio";
/// The period's error ratio ÷ the error budget.
pub const PERIOD_BURN_RATE: &str = "slo:period_burn_rate:ratio";
/// 1 − the period burn rate (negative once the budget is spent).
pub const PERIOD_ERROR_BUDGET_REMAINING: &str = "slo:period_error_budget_remaining:ratio";
/// 1, with `objective`, `period` and `sli` labels.
pub const INFO: &str = "slo:info";

/// The error ratio over a window, named by it: `slo:sli_error:ratio_rate1h`.
pub fn error_ratio(window_secs: u64) -> String {
    format!("slo:sli_error:ratio_rate{}", duration::format(window_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are an interface (dashboards and alerts of users read them): a rename
    /// here must be deliberate.
    #[test]
    fn names_are_sloths() {
        assert_eq!(error_ratio(3600), "slo:sli_error:ratio_rate1h");
        assert_eq!(error_ratio(30 * 86400), "slo:sli_error:ratio_rate30d");
        assert_eq!(SLI_ERRORS_RATE5M, "slo:sli_errors:rate5m");
        assert_eq!(
            PERIOD_ERROR_BUDGET_REMAINING,
            "slo:period_error_budget_remaining:ratio"
        );
    }
}
