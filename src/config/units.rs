//! Durations and byte sizes as operators write them: `"5s"`, `"1m30s"`, `"16MiB"`, `4096`.
//!
//! The functions return a short reason on failure; the caller adds the key, the quoted value and
//! the line, because only it knows where the value came from.

use std::time::Duration;

/// A humantime duration such as `"5s"`, `"500ms"` or `"1m 30s"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("it is empty".into());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        // humantime says "time unit needed", which is right but does not show the fix.
        return Err(format!(
            "it has no unit; write \"{trimmed}s\" or \"{trimmed}ms\""
        ));
    }
    humantime::parse_duration(trimmed).map_err(|e| e.to_string())
}

/// Formats a duration the way the config writes it (`5s`, `1m 30s`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A byte size: a bare number of bytes, or a number with a unit. Binary units (`KiB`, `MiB`,
/// `GiB`, `TiB`) are powers of 1024, decimal ones (`kB`, `MB`, `GB`, `TB`) powers of 1000;
/// units are case-insensitive and a decimal number (`"1.5GiB"`) is allowed. Zero is rejected:
/// every size in the config is a limit, and a zero limit would refuse everything.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number = number.replace('_', "");
    if number.is_empty() {
        return Err("it does not start with a number".into());
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit \"{other}\"; use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB"
            ))
        }
    };
    let bytes = if number.contains('.') {
        let value: f64 = number
            .parse()
            .map_err(|_| format!("\"{number}\" is not a number"))?;
        let bytes = (value * multiplier as f64).round();
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err("it is too large".into());
        }
        bytes as u64
    } else {
        let value: u64 = number.parse().map_err(|_| "it is too large".to_string())?;
        value
            .checked_mul(multiplier)
            .ok_or_else(|| "it is too large".to_string())?
    };
    if bytes == 0 {
        return Err("it must be greater than 0".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 1m 30s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("")
            .expect_err("should fail")
            .contains("empty"));
        let no_unit = parse_duration("5").expect_err("should fail");
        assert!(
            no_unit.contains("no unit") && no_unit.contains("\"5s\""),
            "{no_unit}"
        );
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-5s").is_err());
    }

    #[test]
    fn format_round_trips() {
        for text in ["5s", "250ms", "1m 30s", "2h"] {
            let d = parse_duration(text).expect("should succeed");
            assert_eq!(format_duration(d), text);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1B"), Ok(1));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("16MiB"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("16 mib"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("3kB"), Ok(3_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("1_000_000"), Ok(1_000_000));
    }

    #[test]
    fn bad_sizes_say_why() {
        for (text, says) in [
            ("0", "greater than 0"),
            ("0MiB", "greater than 0"),
            ("16 megs", "unknown unit \"megs\""),
            ("MiB", "number"),
            ("", "number"),
            ("1.2.3MiB", "not a number"),
            ("99999999999999999999", "too large"),
            ("20000000TiB", "too large"),
        ] {
            let err = parse_size(text).expect_err(text);
            assert!(err.contains(says), "{text:?}: {err}");
        }
        assert!(parse_size("1e30GiB").is_err());
    }
}
