//! One pass over the key of a new series: finds where `name{labels}` ends and checks the label
//! set against the limits, without building anything.
//!
//! This is the first scrape's fast path. It accepts only what the full path ([`Lexer`] then
//! [`RawLabels::validate`]) accepts, and gives up (`None`) on anything unusual: an escape in a
//! value, more labels than it tracks, any error. The caller then takes the full path, which says
//! precisely what is wrong, so messages never depend on which path ran.
//!
//! [`Lexer`]: super::lexer::Lexer
//! [`RawLabels::validate`]: super::labels::RawLabels::validate

use super::labels::{is_label_char, is_label_start};
use super::lexer::name_len;

/// Label names remembered for the duplicate check; a series with more goes the full way.
const TRACKED: usize = 16;

/// The length of the metric name and the end of the key at the start of `text` (just past `}`,
/// or past the name when there are no labels), if the key is well formed, has no escapes, and
/// is within the limits.
#[inline]
pub(crate) fn scan_new_key(
    text: &[u8],
    max_labels: usize,
    max_len: usize,
) -> Option<(usize, usize)> {
    let n = name_len(text);
    if n == 0 {
        return None;
    }
    if text.get(n) != Some(&b'{') {
        return Some((n, n));
    }
    // Each name as its first 8 bytes (zero-padded) and its length: names of up to 8 bytes,
    // the usual kind, compare equal only if these do; longer ones are compared in full.
    let mut names = [(0u64, 0u32, 0u32); TRACKED];
    let mut count = 0;
    let mut i = n + 1;
    loop {
        i = skip_blanks(text, i);
        let c = *text.get(i)?;
        if c == b'}' {
            // `{}` and a trailing comma are not how the index spells a key: the full path
            // stores the canonical spelling.
            if i == n + 1 || text[i - 1] == b',' {
                return None;
            }
            return Some((n, i + 1));
        }
        if !is_label_start(c) {
            return None;
        }
        let name_start = i;
        // The first 8 bytes of the name, gathered on the way (copying them afterwards would
        // cost a memcpy and a stalled load per label).
        let mut head = u64::from(c);
        i += 1;
        while let Some(&c) = text.get(i) {
            if !is_label_char(c) {
                break;
            }
            let k = i - name_start;
            if k < 8 {
                head |= u64::from(c) << (8 * k);
            }
            i += 1;
        }
        let name = &text[name_start..i];
        i = skip_blanks(text, i);
        if text.get(i) != Some(&b'=') {
            return None;
        }
        i = skip_blanks(text, i + 1);
        if text.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        let close = i + memchr::memchr2(b'"', b'\\', &text[i..])?;
        if text[close] != b'"' || close - i > max_len || name.len() > max_len {
            return None;
        }
        if count == TRACKED || count == max_labels {
            return None;
        }
        let len = name.len() as u32;
        for &(h, l, s) in &names[..count] {
            if h == head && l == len && (len <= 8 || &text[s as usize..(s + l) as usize] == name) {
                return None;
            }
        }
        names[count] = (head, len, name_start as u32);
        count += 1;
        i = skip_blanks(text, close + 1);
        match text.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Some((n, i + 1)),
            _ => return None,
        }
    }
}

/// Blanks are left to the full path, which stores the key without them (see
/// `lexer::canonical_key`): so nothing is skipped here, and a blank ends the fast scan.
#[inline]
fn skip_blanks(_text: &[u8], i: usize) -> usize {
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expo::lexer::sample_tail;
    use crate::expo::{Format, Lexer, Line};

    /// The full path's verdict: the key's length if the line is a sample with valid labels.
    fn full(text: &[u8], max_labels: usize, max_len: usize) -> Option<usize> {
        match Lexer::new(text, Format::Prometheus).next()? {
            Ok(Line::Sample(s)) => s
                .labels
                .validate(max_labels, max_len)
                .ok()
                .map(|_| s.key.len()),
            _ => None,
        }
    }

    #[test]
    fn agrees_with_the_full_path_or_gives_up() {
        let lines: &[&str] = &[
            "a 1",
            "a{} 1",
            "a{ } 1",
            "a{,} 1",
            "a{x=\"1\"} 1",
            "a{x=\"1\",} 1",
            "a{ x = \"1\" , y=\"2\" } 1",
            "a{x=\"1\",,} 1",
            "a{x=\"1\" y=\"2\"} 1",
            "a{x=\"1\",x=\"2\"} 1",
            "a{x=\"a}b,c=d\"} 1",
            "a{x=\"a\\\"b\"} 1",
            "a{x=\"1\"",
            "a{x=1} 1",
            "a{1x=\"1\"} 1",
            "a{x\"1\"} 1",
            "a{x=\"\u{ff}\"} 1",
            "a{x=\"12345678\"} 1",
            "a{xxxxxxxxx=\"1\"} 1",
            "a{a=\"1\",b=\"1\",c=\"1\",d=\"1\"} 1",
            "a{a=\"1\",b=\"1\",c=\"1\"} 1",
            "a{a=\"1\"}} 1",
            "a{a=\"1\"}x 1",
        ];
        for line in lines {
            let fast = scan_new_key(line.as_bytes(), 3, 8)
                .map(|(_, end)| end)
                .filter(|&end| sample_tail(&line.as_bytes()[end..], Format::Prometheus).is_ok());
            let slow = full(line.as_bytes(), 3, 8);
            if let Some(end) = fast {
                assert_eq!(Some(end), slow, "{line}");
            }
        }
        assert_eq!(scan_new_key(b"a{x=\"1\",y=\"2\"} 1", 3, 8), Some((1, 14)));
        assert_eq!(scan_new_key(b"ab 1", 3, 8), Some((2, 2)));
    }

    #[test]
    fn many_labels_go_the_full_way() {
        let line: String = format!(
            "a{{{}}} 1",
            (0..=TRACKED)
                .map(|i| format!("l{i}=\"v\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(scan_new_key(line.as_bytes(), 64, 100), None);
        assert!(full(line.as_bytes(), 64, 100).is_some());
    }

    /// Random, grammar-shaped bodies ingested twice (a first scrape, then a changed one): the
    /// index with the fast paths ends in exactly the state, and reports exactly what, the full
    /// path alone does.
    mod same_as_full_path {
        use proptest::prelude::*;

        use crate::expo::{Format, IndexLimits, SeriesIndex};

        const PIECES: &[&str] = &[
            "m",
            "m_total",
            "m_bucket",
            "{",
            "}",
            "a=\"",
            "b=\"",
            "le=\"",
            "\"",
            ",",
            "=",
            "\\",
            "\\\"",
            " ",
            "\t",
            "\n",
            "\n",
            "\n",
            "# TYPE m histogram\n",
            "# TYPE m counter\n",
            "# HELP m x\n",
            "# EOF\n",
            "1",
            "NaN",
            "-1.5e3",
            " 17",
            " # {t=\"x\"} 1 2",
            "\u{ff}",
            "\r\n",
            "m{a=\"1\"} 1\n",
            "m{a=\"1\",b=\"2\"} 2\n",
            "m{b=\"2\",a=\"1\"} 3\n",
            "m 4\n",
            "m{a=\"}\"} 5\n",
            "m{a=\"1\"} 6 # {t=\"}\"} 1\n",
            "m{ a = \"1\" , } 7\n",
            "m{a=\"1\",a=\"2\"} 8\n",
            "m{a=\"123456789\"} 9\n",
            "m{a=\"1\",b=\"1\",c=\"1\",d=\"1\"} 10\n",
        ];

        fn body() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(prop::sample::select(PIECES), 0..48)
                .prop_map(|parts| parts.concat().into_bytes())
        }

        fn state(idx: &SeriesIndex) -> String {
            format!("{:?}", idx.iter().collect::<Vec<_>>())
        }

        proptest! {
            #[test]
            fn fast_paths_change_nothing(first in body(), second in body()) {
                let limits = IndexLimits { max_samples: 12, max_labels: 3, max_label_length: 8 };
                for format in [Format::Prometheus, Format::OpenMetrics] {
                    let mut fast = SeriesIndex::new(limits);
                    let mut full = SeriesIndex::new(limits).without_fast_paths();
                    for (i, b) in [&first, &second, &first].into_iter().enumerate() {
                        let now = i as i64 * 1000;
                        let (rf, rs) = (fast.ingest(b, format, now), full.ingest(b, format, now));
                        prop_assert_eq!(rf, rs);
                        prop_assert_eq!(state(&fast), state(&full));
                    }
                }
            }
        }
    }
}
