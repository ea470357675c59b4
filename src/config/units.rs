//! Human-friendly sizes (`256KiB`) and durations (`5s`) in config files.

use serde::Deserialize;
use std::time::Duration;

/// A size or duration as written: a bare number or a string with a unit.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Quantity {
    Number(i64),
    Text(String),
}

/// Parses `1048576`, `512B`, `256KiB`, `8MiB`, `1GiB` (also `KB`/`MB`, taken as powers of 1024).
/// Zero and negative sizes are errors: a limit is never silently "unlimited".
pub fn parse_size(q: &Quantity) -> Result<u64, String> {
    let (num, unit) = match q {
        Quantity::Number(n) => (*n as f64, String::new()),
        Quantity::Text(s) => split_unit(s)?,
    };
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` (use B, KiB, MiB or GiB)")),
    };
    let bytes = num * mult as f64;
    if bytes.is_nan() || bytes < 1.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err("a size must be at least 1 byte (0 and negative values are not \"unlimited\")".into());
    }
    Ok(bytes as u64)
}

/// Parses `250ms`, `5s`, `2m`, `1h`; a bare number means seconds. Zero and negatives are errors.
pub fn parse_duration(q: &Quantity) -> Result<Duration, String> {
    let (num, unit) = match q {
        Quantity::Number(n) => (*n as f64, "s".to_string()),
        Quantity::Text(s) => split_unit(s)?,
    };
    let secs = match unit.as_str() {
        "ms" => num / 1000.0,
        "" | "s" => num,
        "m" => num * 60.0,
        "h" => num * 3600.0,
        other => return Err(format!("unknown duration unit `{other}` (use ms, s, m or h)")),
    };
    if secs.is_nan() || secs <= 0.0 || secs > 86_400.0 * 365.0 {
        return Err("a duration must be positive (0 and negative values are not \"unlimited\")".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a plain positive count.
pub fn parse_count(n: i64) -> Result<usize, String> {
    if n < 1 {
        return Err("a limit must be at least 1 (0 and negative values are not \"unlimited\")".into());
    }
    usize::try_from(n).map_err(|_| "value too large".to_string())
}

fn split_unit(s: &str) -> Result<(f64, String), String> {
    let s = s.trim();
    let idx = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(s.len());
    let (n, u) = s.split_at(idx);
    let num: f64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a number with an optional unit"))?;
    Ok((num, u.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Quantity {
        Quantity::Text(s.into())
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size(&t("256KiB")), Ok(262_144));
        assert_eq!(parse_size(&t("8MiB")), Ok(8 * 1024 * 1024));
        assert_eq!(parse_size(&Quantity::Number(10)), Ok(10));
    }

    #[test]
    fn zero_and_negative_limits_are_rejected() {
        assert!(parse_size(&Quantity::Number(0)).is_err());
        assert!(parse_size(&t("-1KiB")).is_err());
        assert!(parse_duration(&t("0s")).is_err());
        assert!(parse_count(-1).is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration(&t("250ms")), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration(&Quantity::Number(5)), Ok(Duration::from_secs(5)));
        assert!(parse_duration(&t("5 parsecs")).is_err());
    }
}
