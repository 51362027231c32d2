//! Multi-window, multi-burn-rate alert math (Google SRE workbook, "Alerting on SLOs").
//!
//! The workbook's table is derived for a 30-day period: page when 2% of the budget burns
//! in 1h or 5% in 6h, ticket when 10% burns in 1d or in 3d; each long window is paired with
//! a short one (1/12 of it) that makes the alert stop soon after the burn stops. For other
//! periods we scale the long windows by `period / 30d` (rounded to whole minutes) and
//! recompute each factor as `budget share × period / long window`, so a 7d SLO pages on
//! the same *budget share*, just over proportionally shorter windows. Short windows are
//! never under 5m because every window is built from a recorded 5m rate.

use crate::duration;

/// How urgent an alert is: pages wake someone up, tickets wait for working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Fast burn: someone is woken up.
    Page,
    /// Slow burn: a ticket for working hours.
    Ticket,
}

impl Urgency {
    /// The label value and word used in names (`page`, `ticket`).
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Page => "page",
            Urgency::Ticket => "ticket",
        }
    }
}

/// One long/short window pair and its burn-rate factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    /// Whether the pair pages or opens a ticket.
    pub urgency: Urgency,
    /// Share of the period's error budget this pair detects, in basis points (200 = 2%).
    pub budget_share_bp: u32,
    /// The long window, in seconds: the alert needs the burn rate over it.
    pub long_secs: u64,
    /// The short window, in seconds: it makes the alert stop soon after the burn does.
    pub short_secs: u64,
    /// Burn rate that spends `budget_share_bp` of the budget within `long_secs`.
    pub factor: f64,
}

impl BurnWindow {
    /// The factor as written into PromQL: at most four decimals, no float noise.
    pub fn factor_str(&self) -> String {
        crate::num::format(self.factor, 4)
    }
}

/// The smallest window we can compute: every window is derived from a recorded 5m rate.
pub const BASE_WINDOW_SECS: u64 = 300;
const THIRTY_DAYS: u64 = 30 * 86400;

/// The workbook's 30-day table: (urgency, budget share in basis points, long window).
const TABLE: [(Urgency, u32, u64); 4] = [
    (Urgency::Page, 200, 3600),
    (Urgency::Page, 500, 6 * 3600),
    (Urgency::Ticket, 1000, 86400),
    (Urgency::Ticket, 1000, 3 * 86400),
];

/// The four window pairs for an SLO period, page pairs first.
pub fn burn_windows(period_secs: u64) -> Vec<BurnWindow> {
    TABLE
        .iter()
        .map(|&(urgency, share, base_long)| {
            let long = round_to_minute(
                (u128::from(base_long) * u128::from(period_secs) / u128::from(THIRTY_DAYS)) as u64,
            )
            .max(BASE_WINDOW_SECS);
            let short = round_to_minute(long / 12).max(BASE_WINDOW_SECS);
            // Exact integer numerator and denominator: one correctly rounded division.
            let factor = (u128::from(share) * u128::from(period_secs)) as f64
                / (10_000u128 * u128::from(long)) as f64;
            BurnWindow {
                urgency,
                budget_share_bp: share,
                long_secs: long,
                short_secs: short,
                factor,
            }
        })
        .collect()
}

/// Every distinct window the alerts read, ascending (5m always included: the meta rules'
/// current burn rate uses it).
pub fn ratio_windows(pairs: &[BurnWindow]) -> Vec<u64> {
    let mut w: Vec<u64> = pairs
        .iter()
        .flat_map(|p| [p.long_secs, p.short_secs])
        .chain([BASE_WINDOW_SECS])
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

fn round_to_minute(secs: u64) -> u64 {
    (secs + 30) / 60 * 60
}

/// A human-readable table of the windows, factors and error-ratio thresholds.
pub fn explain_table(objective_percent: f64, period_secs: u64) -> String {
    let budget = 1.0 - objective_percent / 100.0;
    let mut out = String::from(
        "alert   budget spent  long window  short window  burn factor  error ratio threshold\n",
    );
    for p in burn_windows(period_secs) {
        out.push_str(&format!(
            "{:<7} {:>11}%  {:>11}  {:>12}  {:>10}x  {:>21}\n",
            p.urgency.as_str(),
            crate::num::format(f64::from(p.budget_share_bp) / 100.0, 2),
            duration::format(p.long_secs),
            duration::format(p.short_secs),
            p.factor_str(),
            crate::num::format(p.factor * budget, 8),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(period: &str) -> Vec<(String, String, String)> {
        burn_windows(duration::parse(period).unwrap())
            .iter()
            .map(|p| {
                (
                    duration::format(p.long_secs),
                    duration::format(p.short_secs),
                    p.factor_str(),
                )
            })
            .collect()
    }

    fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn thirty_days_is_the_workbook_table() {
        assert_eq!(
            table("30d"),
            vec![
                s("1h", "5m", "14.4"),
                s("6h", "30m", "6"),
                s("1d", "2h", "3"),
                s("3d", "6h", "1"),
            ]
        );
        let w = ratio_windows(&burn_windows(THIRTY_DAYS));
        let names: Vec<String> = w.into_iter().map(duration::format).collect();
        assert_eq!(names, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    }

    #[test]
    fn other_periods_scale_windows_and_keep_budget_shares() {
        assert_eq!(
            table("7d"),
            vec![
                s("14m", "5m", "14.4"),
                s("1h24m", "7m", "6"),
                s("5h36m", "28m", "3"),
                s("16h48m", "1h24m", "1"),
            ]
        );
        assert_eq!(
            table("90d"),
            vec![
                s("3h", "15m", "14.4"),
                s("18h", "1h30m", "6"),
                s("3d", "6h", "3"),
                s("9d", "18h", "1"),
            ]
        );
        // 28d: windows round to minutes, so the factors move slightly off the table.
        let t = table("28d");
        assert_eq!(t[0], s("56m", "5m", "14.4"));
        assert_eq!(t[3], s("2d19h12m", "5h36m", "1"));
    }

    #[test]
    fn short_periods_clamp_windows_to_the_base_rate() {
        let w = burn_windows(3600);
        assert!(w.iter().all(|p| p.short_secs >= BASE_WINDOW_SECS));
        assert!(w.iter().all(|p| p.long_secs >= p.short_secs));
        assert!(w.iter().all(|p| p.long_secs < 3600));
        // A clamped window detects more than its share would need: the factor drops.
        assert_eq!(w[0].long_secs, 300);
        assert_eq!(w[0].factor_str(), "0.24");
    }

    #[test]
    fn explain_table_lists_thresholds() {
        let t = explain_table(99.9, THIRTY_DAYS);
        assert!(t.contains("page              2%           1h            5m        14.4x                 0.0144"), "{t}");
        assert_eq!(t.lines().count(), 5);
    }
}
