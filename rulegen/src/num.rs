//! Stable number formatting: the same input always yields the same text, without float
//! noise such as `0.0010000000000000009`, so regenerated files are byte-identical.

/// Formats `x` with at most `decimals` decimals, trailing zeros removed.
pub(crate) fn format(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn trims_noise_and_zeros() {
        assert_eq!(format(1.0 - 0.999, 12), "0.001");
        assert_eq!(format(14.4, 4), "14.4");
        assert_eq!(format(6.0, 4), "6");
        assert_eq!(format(0.99950, 12), "0.9995");
        assert_eq!(format(-0.0, 3), "0");
        assert_eq!(format(100.0, 2), "100");
    }
}
