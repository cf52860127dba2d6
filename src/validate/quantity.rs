//! Kubernetes resource quantities (`512Mi`, `1G`, `1.5Gi`, `100m`) as numbers.
//!
//! Only what sizing needs: memory and storage quantities to bytes. Written here because
//! no small, well-kept crate covers it and it is twenty lines.

/// Parses a quantity to a whole number of base units (bytes for memory and storage).
/// Returns `None` for anything that is not a valid, non-negative quantity.
pub fn parse_quantity(text: &str) -> Option<u128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.matches('.').count() > 1 {
        return None;
    }
    let (multiplier, divisor): (u128, u128) = match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.len() > 9 {
        return None;
    }
    let scale = 10u128.pow(fraction.len() as u32);
    let digits: u128 = format!("{whole}{fraction}").parse().ok()?;
    digits.checked_mul(multiplier).map(|v| v / scale / divisor)
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;

    #[test]
    fn parses_binary_and_decimal_suffixes() {
        assert_eq!(parse_quantity("512Mi"), Some(512 * 1024 * 1024));
        assert_eq!(parse_quantity("1Gi"), Some(1 << 30));
        assert_eq!(parse_quantity("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_quantity("2G"), Some(2_000_000_000));
        assert_eq!(parse_quantity("100"), Some(100));
        assert_eq!(parse_quantity("1500m"), Some(1));
        assert_eq!(parse_quantity("0"), Some(0));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "Gi", "-1Gi", "1.2.3Gi", "1Xi", "ten", ".5Gi", "1 Gi"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }
}
