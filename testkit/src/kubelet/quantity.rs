//! Just enough of Kubernetes' resource.Quantity to serve `resourceFieldRef` env vars.

/// Parses `500m`, `2`, `1Gi`, `128M`, `1e3` into base units (cores, bytes).
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * factor)
}

/// The kubelet's rendering of a resource divided by its divisor: rounded up, at least 1
/// for a non-zero value (as in `ExtractContainerResourceValue`).
pub fn divided(value: f64, divisor: f64) -> String {
    if divisor <= 0.0 {
        return "0".into();
    }
    // The epsilon absorbs binary floating point noise (0.25 / 0.001 = 250.00000000000003).
    let v = (value / divisor - 1e-9).ceil();
    format!("{}", v.max(if value > 0.0 { 1.0 } else { 0.0 }) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("500m"), Some(0.5));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("1Gi"), Some(1073741824.0));
        assert_eq!(parse("128M"), Some(128e6));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("12Q"), None);
    }

    #[test]
    fn divides_like_the_kubelet() {
        assert_eq!(divided(0.5, 1.0), "1");
        assert_eq!(divided(1073741824.0, 1048576.0), "1024");
        assert_eq!(divided(1073741824.0, 1.0), "1073741824");
        assert_eq!(divided(0.25, 0.001), "250");
    }
}
