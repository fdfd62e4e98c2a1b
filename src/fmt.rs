//! Number formatting shared by the screen and the text outputs: short, fixed-width friendly.

pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "—".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = v;
    let mut u = 0;
    while v.abs() >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

pub fn secs(v: f64) -> String {
    if v.is_nan() {
        "—".to_owned()
    } else if v.is_infinite() {
        "+Inf".to_owned()
    } else if v < 1.0 {
        format!("{:.0}ms", v * 1000.0)
    } else {
        format!("{v:.2}s")
    }
}

/// A value as Prometheus writes it: shortest exact decimal, `NaN`, `+Inf`, `-Inf`.
pub fn exact(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

/// Unicode block sparkline of `values` (oldest first) in at most `width` cells, scaled to
/// `[0, max]` where max is the largest value of the whole line or `floor_max`, whichever is
/// higher. A line longer than `width` is folded into `width` buckets (each cell the mean of
/// its bucket), so the cells span the whole line: a fall from hundreds to a handful minutes
/// ago still reads as a fall, never as a full bar of the handful. A bucket without a finite
/// value is a gap.
pub fn spark(values: &[f64], width: usize, floor_max: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if width == 0 || values.is_empty() {
        return String::new();
    }
    let max = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(floor_max, f64::max);
    let cells = values.len().min(width);
    (0..cells)
        .map(|c| {
            // Bucket c covers values[from..to]; the newest value always ends the last bucket.
            let from = c * values.len() / cells;
            let to = ((c + 1) * values.len() / cells).max(from + 1);
            let (sum, n) = values[from..to]
                .iter()
                .filter(|v| v.is_finite())
                .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
            if n == 0 || max <= 0.0 {
                ' '
            } else {
                let v = sum / f64::from(n);
                let i = ((v.max(0.0) / max) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
}

/// `text` wrapped at word boundaries into lines of at most `width` characters. Only a word
/// longer than a whole line (a long URL) is broken, and then at the line's end; nothing is
/// dropped.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            if len > 0 && len + 1 + word.len() <= width {
                line.push(' ');
                line.extend(&word);
                len += 1 + word.len();
                continue;
            }
            if len > 0 {
                out.push(std::mem::take(&mut line));
            }
            while word.len() > width {
                out.push(word.drain(..width).collect());
            }
            line.extend(&word);
            len = word.len();
        }
        out.push(line);
    }
    out
}

/// A text gauge `████░░░░` of `ratio` (0..=1) in `width` cells.
pub fn bar(ratio: f64, width: usize) -> String {
    let r = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = (r * width as f64).round() as usize;
    let mut s = "█".repeat(full.min(width));
    s.push_str(&"░".repeat(width - full.min(width)));
    s
}

/// `HH:MM:SS UTC` of a unix-ms time.
pub fn clock(now_ms: i64) -> String {
    let secs = now_ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_scales_to_the_largest_value_of_the_whole_line() {
        assert_eq!(spark(&[0.0, 2.0, 4.0], 3, 0.0), "▁▅█");
        assert_eq!(spark(&[1.0, f64::NAN], 2, 0.0), "█ ");
        assert_eq!(spark(&[1.0], 5, 2.0), "▅");
        assert_eq!(spark(&[0.0, 1.0, 2.0, 4.0], 2, 0.0), "▂▆");
    }

    #[test]
    fn a_fall_reads_as_a_fall_not_as_a_full_bar() {
        // 60 points at ~218 clients, then 60 at 4: the last cells are low, the first high.
        let mut line = vec![218.0; 60];
        line.extend(std::iter::repeat_n(4.0, 60));
        let s: Vec<char> = spark(&line, 8, 1.0).chars().collect();
        assert_eq!(s.len(), 8);
        assert_eq!(s[0], '█');
        assert_eq!(s[7], '▁', "{s:?}");
        // Even when only the handful is in the newest cells, it is not drawn as a full bar.
        assert_ne!(spark(&line[50..], 4, 1.0).chars().last(), Some('█'));
    }

    #[test]
    fn wrapping_keeps_every_word_whole() {
        let text = "follow the audit trail before you roll back the release";
        let lines = wrap_words(text, 16);
        assert!(lines.iter().all(|l| l.chars().count() <= 16), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(lines[0], "follow the audit");
        // Only a word longer than a line is broken, and nothing is lost.
        let url = wrap_words("see http://runbooks.example/overlay/ack", 10);
        assert_eq!(
            url.concat().replace(' ', ""),
            "seehttp://runbooks.example/overlay/ack"
        );
    }

    #[test]
    fn bar_fills_in_proportion() {
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(2.0, 3), "███");
        assert_eq!(bar(f64::NAN, 2), "░░");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(12_345.0), "12.3k");
        assert_eq!(num(f64::NAN), "—");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(secs(0.25), "250ms");
    }
}
