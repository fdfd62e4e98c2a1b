//! Fuzzy matching for the `:` command palette.
//!
//! A query matches a candidate when its characters appear in order, ignoring case and
//! whitespace in the query ("frz" matches "freeze"). Among the ways to place them, the best
//! one is found by a small dynamic program that rewards what people aim for when they type a
//! few letters: the start of the candidate, the start of each word, and runs of consecutive
//! characters. Gaps cost a little, and a shorter candidate wins a tie, so "up" ranks `up`
//! above `page-up`. Names count for more than descriptions.

use crate::keymap::command::Command;

/// Every query character that matches.
const MATCH: i64 = 16;
/// The match is the first character of a word ("h" in "focus-health").
const WORD_START: i64 = 24;
/// The match is the candidate's first character.
const PREFIX: i64 = 16;
/// The match directly follows the previous one.
const CONSECUTIVE: i64 = 24;
/// Skipping characters between two matches: a price to open the gap, and per extra character.
const GAP_OPEN: i64 = 3;
const GAP_EXTEND: i64 = 1;
/// Characters skipped before the first match, per character, up to a cap.
const LEADING: i64 = 1;
const LEADING_CAP: i64 = 12;
/// Taken off a description's score, so a name match outranks a description match.
const DESC_PENALTY: i64 = 32;

/// One command the palette offers for a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaletteMatch {
    pub command: Command,
    /// Higher is better; only comparable between matches of the same query.
    pub score: i64,
    /// Char indices into `command.name()` to highlight (empty when the name did not match).
    pub name_positions: Vec<usize>,
    /// Char indices into `command.description()` to highlight (empty when it did not match).
    pub desc_positions: Vec<usize>,
}

/// Every command matching `query` by name or description, best first; ties keep the order
/// of [`Command::ALL`]. An empty query lists every command in that order.
pub fn rank(query: &str) -> Vec<PaletteMatch> {
    let mut out: Vec<PaletteMatch> = Command::ALL
        .into_iter()
        .filter_map(|command| {
            let name = score(query, command.name());
            let desc = score(query, command.description());
            let best = match (&name, &desc) {
                (None, None) => return None,
                (Some((n, _)), None) => *n,
                (None, Some((d, _))) => d - DESC_PENALTY,
                (Some((n, _)), Some((d, _))) => (*n).max(d - DESC_PENALTY),
            };
            Some(PaletteMatch {
                command,
                score: best,
                name_positions: name.map(|(_, p)| p).unwrap_or_default(),
                desc_positions: desc.map(|(_, p)| p).unwrap_or_default(),
            })
        })
        .collect();
    // Stable: equal scores stay in `Command::ALL` order.
    out.sort_by_key(|m| std::cmp::Reverse(m.score));
    out
}

/// Scores `candidate` against `query`: `None` if the query's characters (whitespace
/// ignored) do not all appear in order, case-insensitively; otherwise the score of the best
/// placement and the char indices it uses. An empty query matches everything with score 0.
pub fn score(query: &str, candidate: &str) -> Option<(i64, Vec<usize>)> {
    let query: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if query.is_empty() {
        return Some((0, Vec::new()));
    }
    let original: Vec<char> = candidate.chars().collect();
    // Lowercase char by char so indices stay those of the candidate.
    let lower: Vec<char> = original.iter().map(|&c| fold(c)).collect();
    let (m, n) = (query.len(), lower.len());
    if m > n {
        return None;
    }

    let bonus: Vec<i64> = (0..n)
        .map(|j| {
            let start = j == 0 || !original[j - 1].is_alphanumeric();
            let camel = j > 0 && original[j - 1].is_lowercase() && original[j].is_uppercase();
            MATCH + if start || camel { WORD_START } else { 0 } + if j == 0 { PREFIX } else { 0 }
        })
        .collect();

    // best[i][j]: score of the best placement of query[..=i] with query[i] on candidate[j];
    // from[i][j]: where query[i - 1] sits in that placement.
    let mut best = vec![vec![None::<i64>; n]; m];
    let mut from = vec![vec![0usize; n]; m];
    for j in 0..n {
        if lower[j] == query[0] {
            best[0][j] = Some(bonus[j] - (j as i64 * LEADING).min(LEADING_CAP));
        }
    }
    for i in 1..m {
        // The best earlier placement that leaves a gap before j, with its gap cost so far.
        let mut gap: Option<(i64, usize)> = None;
        for j in i..n {
            if j >= 2 {
                let extended = gap.map(|(s, k)| (s - GAP_EXTEND, k));
                let opened = best[i - 1][j - 2].map(|s| (s - GAP_OPEN, j - 2));
                gap = match (extended, opened) {
                    (Some(e), Some(o)) => Some(if o.0 >= e.0 { o } else { e }),
                    (e, o) => e.or(o),
                };
            }
            if lower[j] != query[i] {
                continue;
            }
            let adjacent = best[i - 1][j - 1].map(|s| (s + CONSECUTIVE, j - 1));
            let choice = match (adjacent, gap) {
                (Some(a), Some(g)) => Some(if a.0 >= g.0 { a } else { g }),
                (a, g) => a.or(g),
            };
            if let Some((s, k)) = choice {
                best[i][j] = Some(s + bonus[j]);
                from[i][j] = k;
            }
        }
    }

    let (mut j, total) = (0..n)
        .filter_map(|j| best[m - 1][j].map(|s| (j, s)))
        // The earliest end wins a tie, so highlights sit where the eye starts reading.
        .fold(None, |acc: Option<(usize, i64)>, (j, s)| match acc {
            Some((_, bs)) if bs >= s => acc,
            _ => Some((j, s)),
        })?;
    let mut positions = vec![0; m];
    for i in (0..m).rev() {
        positions[i] = j;
        j = from[i][j];
    }
    Some((total - n as i64, positions))
}

/// A char's lowercase form when that is a single char (true of every command name and
/// description), else the char itself.
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(query: &str) -> Vec<&'static str> {
        rank(query).iter().map(|m| m.command.name()).collect()
    }

    #[test]
    fn subsequence_case_insensitive() {
        assert_eq!(score("frz", "freeze").map(|s| s.1), Some(vec![0, 1, 4]));
        assert_eq!(score("FRZ", "freeze").map(|s| s.1), Some(vec![0, 1, 4]));
        assert_eq!(score("zf", "freeze"), None);
        assert_eq!(score("freezer", "freeze"), None);
        assert_eq!(score("", "freeze"), Some((0, vec![])));
        assert_eq!(score("  ", "freeze"), Some((0, vec![])));
        assert_eq!(score("x", ""), None);
        // Whitespace in the query is ignored.
        assert_eq!(
            score("focus h", "focus-health").map(|s| s.1),
            Some(vec![0, 1, 2, 3, 4, 6])
        );
    }

    #[test]
    fn prefers_word_starts_and_runs() {
        // "h" at the start of "health", not the later one at its end.
        assert_eq!(score("fh", "focus-health").map(|s| s.1), Some(vec![0, 6]));
        // "sse" as one run inside "focus-sse".
        assert_eq!(score("sse", "focus-sse").map(|s| s.1), Some(vec![6, 7, 8]));
        // Positions are char indices, not bytes.
        assert_eq!(score("ab", "ä-ab").map(|s| s.1), Some(vec![2, 3]));
        let start = score("d", "drill").expect("match").0;
        let inner = score("d", "bold").expect("match").0;
        assert!(start > inner);
        let run = score("pag", "page-up").expect("match").0;
        let spread = score("pag", "pxaxg").expect("match").0;
        assert!(run > spread);
        let short = score("up", "up").expect("match").0;
        let long = score("up", "page-up").expect("match").0;
        assert!(short > long);
    }

    #[test]
    fn ranks_exact_orderings() {
        assert_eq!(names("frz"), ["freeze"]);
        assert_eq!(names("fh")[0], "focus-health");
        assert_eq!(names("up")[..2], ["up", "page-up"]);
        assert_eq!(names("q"), ["quit"]);
        assert_eq!(
            names("fo")[..8],
            [
                "focus-sse",
                "focus-next",
                "focus-prev",
                "focus-disk",
                "focus-health",
                "focus-backlog",
                "focus-latency",
                "focus-signals",
            ]
        );
        assert_eq!(names("mouse"), ["toggle-mouse"]);
        // A description-only match still shows, below name matches.
        let sse = rank("clients");
        assert_eq!(sse[0].command, Command::FocusSse);
        assert!(sse[0].name_positions.is_empty());
        assert_eq!(sse[0].desc_positions, [14, 15, 16, 17, 18, 19, 20]);
    }

    #[test]
    fn empty_query_lists_all_in_order() {
        let all = rank("");
        assert_eq!(all.len(), Command::ALL.len());
        for (m, c) in all.iter().zip(Command::ALL) {
            assert_eq!(m.command, c);
            assert!(m.name_positions.is_empty());
        }
        assert!(rank("qqqqzzz").is_empty());
    }
}
