//! Every unknown key at once, for when the strict schema rejects a file.
//!
//! serde stops at the first unknown field, so a file with three typos would take three
//! restarts to fix. When the strict parse fails, this pass reads the file into a tree of
//! spanned keys and compares each table with the keys the schema allows. The strict schema in
//! `file` stays the authority; the lists here only make its refusal complete (a test below
//! keeps the two in step).

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::actions::{ACTIONS_KEYS, BACKUP_KEYS, COMMAND_KEYS, ROLLBACK_KEYS, TOPICS_KEYS};
use super::error::Problems;
use crate::keymap::{EntryFile, KeysFile};

const ROOT: &[&str] = &[
    "environment",
    "defaults",
    "limits",
    "target",
    "disk",
    "theme",
    "keys",
    "actions",
    "alertmanager",
    "fleet",
    "history",
];
const KEYS: &[&str] = KeysFile::KEYS;
const KEY_ENTRY: &[&str] = EntryFile::KEYS;
const DEFAULTS: &[&str] = &["interval", "timeout"];
const LIMITS: &[&str] = &["max_body", "max_samples", "max_labels", "max_label_length"];
const TARGET: &[&str] = &[
    "name",
    "preset",
    "metrics",
    "health",
    "interval",
    "timeout",
    "ca_file",
    "headers",
    "limits",
    "postgres",
    "read_only",
    "backup",
    "topics",
    "rollback",
    "command",
    "alert",
    "history_url",
    "history_selector",
];
const POSTGRES: &[&str] = &[
    "dsn",
    "password_env",
    "passfile",
    "connect_timeout",
    "statement_timeout",
    "sslmode",
    "ca_file",
    "backlog_query",
    "schema",
    "events_table",
    "seq_column",
    "offsets_table",
    "consumer_column",
    "offset_column",
];
const DISK: &[&str] = &["path", "name"];
const ALERT_KEYS: &[&str] = &[
    "name",
    "severity",
    "value",
    "panel",
    "above",
    "below",
    "for",
    "hysteresis",
    "symptom",
    "cause",
    "action",
    "remedy",
];

/// Reports every unknown key in `text`. Returns false (and reports nothing) if the text does
/// not even parse as TOML, or if all keys are known; the caller then reports serde's error.
#[allow(clippy::too_many_lines)] // one table of the schema after another
pub(super) fn report_unknown(text: &str, p: &mut Problems<'_>) -> bool {
    let Ok(Node::Table(root)) = toml::from_str::<Node>(text) else {
        return false;
    };
    let mut found = false;
    for (key, value) in check(&root, ROOT, "the top level", p, &mut found) {
        match (key, value.get_ref()) {
            ("defaults", Node::Table(t)) => {
                check(t, DEFAULTS, "[defaults]", p, &mut found);
            }
            ("limits", Node::Table(t)) => {
                check(t, LIMITS, "[limits]", p, &mut found);
            }
            ("target", Node::Array(items)) => {
                for item in items {
                    if let Node::Table(t) = item.get_ref() {
                        for (k, v) in check(t, TARGET, "[[target]]", p, &mut found) {
                            match (k, v.get_ref()) {
                                ("limits", Node::Table(l)) => {
                                    check(l, LIMITS, "[target.limits]", p, &mut found);
                                }
                                ("postgres", Node::Table(t)) => {
                                    check(t, POSTGRES, "[target.postgres]", p, &mut found);
                                }
                                ("backup", Node::Table(t)) => {
                                    check(t, BACKUP_KEYS, "[target.backup]", p, &mut found);
                                }
                                ("topics", Node::Table(t)) => {
                                    check(t, TOPICS_KEYS, "[target.topics]", p, &mut found);
                                }
                                ("rollback", Node::Table(t)) => {
                                    check(t, ROLLBACK_KEYS, "[target.rollback]", p, &mut found);
                                }
                                ("alert", Node::Array(rules)) => {
                                    for r in rules {
                                        if let Node::Table(t) = r.get_ref() {
                                            check(t, ALERT_KEYS, "[[target.alert]]", p, &mut found);
                                        }
                                    }
                                }
                                ("command", Node::Array(cs)) => {
                                    for c in cs {
                                        if let Node::Table(t) = c.get_ref() {
                                            check(
                                                t,
                                                COMMAND_KEYS,
                                                "[[target.command]]",
                                                p,
                                                &mut found,
                                            );
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
            ("actions", Node::Table(t)) => {
                check(t, ACTIONS_KEYS, "[actions]", p, &mut found);
            }
            ("history", Node::Table(t)) => {
                check(t, super::history::HISTORY_KEYS, "[history]", p, &mut found);
            }
            ("alertmanager", Node::Table(t)) => {
                check(
                    t,
                    super::alertmanager::ALERTMANAGER_KEYS,
                    "[alertmanager]",
                    p,
                    &mut found,
                );
            }
            (name @ ("fleet" | "disk"), Node::Array(items)) => {
                let (keys, place) = if name == "fleet" {
                    (super::fleet::FLEET_KEYS, "[[fleet]]")
                } else {
                    (DISK, "[[disk]]")
                };
                for item in items {
                    if let Node::Table(t) = item.get_ref() {
                        check(t, keys, place, p, &mut found);
                    }
                }
            }
            ("keys", Node::Table(t)) => {
                for (mode, entries) in check(t, KEYS, "[keys]", p, &mut found) {
                    let Node::Array(items) = entries.get_ref() else {
                        continue;
                    };
                    let place = format!("a [keys] {mode} entry");
                    for item in items {
                        if let Node::Table(e) = item.get_ref() {
                            check(e, KEY_ENTRY, &place, p, &mut found);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    found
}

type Entries = Vec<(Spanned<String>, Spanned<Node>)>;

/// Reports the unknown keys of one table and returns the known ones to descend into.
fn check<'t>(
    table: &'t Entries,
    allowed: &[&str],
    place: &str,
    p: &mut Problems<'_>,
    found: &mut bool,
) -> Vec<(&'t str, &'t Spanned<Node>)> {
    let mut known = Vec::new();
    for (key, value) in table {
        let name = key.get_ref().as_str();
        if allowed.contains(&name) {
            known.push((name, value));
            continue;
        }
        *found = true;
        let hint = closest(name, allowed)
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        p.push(
            &key.span(),
            format!(
                "unknown key `{name}` in {place} — {hint}allowed keys: {}",
                allowed.join(", ")
            ),
        );
    }
    known
}

/// The allowed key within edit distance 2, if exactly one is nearest.
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in allowed {
        let d = distance(&lower, candidate);
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance over chars; keys are short, so the quadratic table is fine.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Any TOML value, keeping the spans of keys and values but not the values themselves
/// (so nothing read here, such as a header value, can end up in a message).
enum Node {
    Table(Entries),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

crate::text::deserialize_any_with!(Node, NodeVisitor);

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Spanned<String>, Spanned<Node>>()? {
            entries.push(entry);
        }
        Ok(Node::Table(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::super::file::FileConfig;
    use super::*;

    /// A file using every key the lists allow must pass the strict schema, so the lists cannot
    /// name a key the schema rejects. The schema's own unknown-field message lists its keys;
    /// comparing it with ours catches the other direction.
    #[test]
    fn lists_match_the_strict_schema() {
        let all = r#"
            environment = "x"
            [defaults]
            interval = "5s"
            timeout = "1s"
            [limits]
            max_body = 1
            max_samples = 1
            max_labels = 1
            max_label_length = 1
            [[target]]
            name = "a"
            preset = "mail"
            metrics = "http://h/"
            health = []
            interval = "5s"
            timeout = "1s"
            ca_file = "x"
            headers = {}
            limits = { max_body = 1, max_samples = 1, max_labels = 1, max_label_length = 1 }
            [target.postgres]
            dsn = "postgres://u@h/d"
            password_env = "X"
            passfile = "/p"
            connect_timeout = "1s"
            statement_timeout = "1s"
            sslmode = "disable"
            ca_file = "/c"
            backlog_query = "SELECT 1"
            schema = "s"
            events_table = "e"
            seq_column = "q"
            offsets_table = "o"
            consumer_column = "c"
            offset_column = "l"
            [[disk]]
            path = "/"
            name = "r"
            [keys]
            normal = [{ on = "x", run = "freeze", desc = "d" }]
            browse = []
            help = []
            palette = []
            confirm = []
        "#;
        let all = format!("theme = \"light\"\n{all}");
        let all = all.as_str();
        assert!(toml::from_str::<FileConfig>(all).is_ok());

        for (doc, list) in [
            ("zzz = 1", ROOT),
            ("[defaults]\nzzz = 1", DEFAULTS),
            ("[limits]\nzzz = 1", LIMITS),
            ("[[target]]\nzzz = 1", TARGET),
            ("[[target]]\nname = \"a\"\n[target.limits]\nzzz = 1", LIMITS),
            (
                "[[target]]\nname = \"a\"\n[target.postgres]\nzzz = 1",
                POSTGRES,
            ),
            ("[[disk]]\nzzz = 1", DISK),
            ("[keys]\nzzz = 1", KEYS),
            ("[keys]\nhelp = [{ zzz = 1 }]", KEY_ENTRY),
        ] {
            let err = toml::from_str::<FileConfig>(doc).expect_err("should fail");
            let quoted: Vec<String> = list.iter().map(|k| format!("`{k}`")).collect();
            // serde writes "`a` or `b`" for two keys and "one of `a`, `b`, `c`" for more.
            let expected = match quoted.as_slice() {
                [a, b] => format!("expected {a} or {b}"),
                _ => format!("expected one of {}", quoted.join(", ")),
            };
            assert!(
                err.message().trim_end().ends_with(&expected),
                "{doc:?}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn finds_every_unknown_key() {
        let text = "envirnment = \"x\"\n[[target]]\nname = \"a\"\nintervall = \"5s\"\n[target.limits]\nmax_bodyy = 1\n[[disk]]\npath = \"/\"\nlabel = \"x\"\n";
        let mut p = Problems::new(text);
        assert!(report_unknown(text, &mut p));
        let err = p.into_error("c.toml".into()).to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(lines[0].starts_with(
            "c.toml:1:1: unknown key `envirnment` in the top level — did you mean `environment`?"
        ));
        assert!(lines[1].starts_with(
            "c.toml:4:1: unknown key `intervall` in [[target]] — did you mean `interval`?"
        ));
        assert!(lines[2].starts_with("c.toml:6:1: unknown key `max_bodyy` in [target.limits]"));
        assert!(lines[3]
            .starts_with("c.toml:9:1: unknown key `label` in [[disk]] — allowed keys: path, name"));
    }

    #[test]
    fn finds_unknown_keys_in_key_overrides() {
        let text = "[keys]\nnormall = []\nhelp = [\n  { on = \"q\", runn = \"close\" },\n]\n";
        let mut p = Problems::new(text);
        assert!(report_unknown(text, &mut p));
        let err = p.into_error("c.toml".into()).to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(lines[0]
            .starts_with("c.toml:2:1: unknown key `normall` in [keys] — did you mean `normal`?"));
        assert!(
            lines[1].starts_with(
                "c.toml:4:15: unknown key `runn` in a [keys] help entry — did you mean `run`? \
             allowed keys: on, run, desc"
            ),
            "{err}"
        );
    }

    #[test]
    fn headers_and_datetimes_are_not_checked() {
        let text = "[[target]]\nname = \"a\"\n[target.headers]\nX-Anything = \"v\"\n";
        let mut p = Problems::new(text);
        assert!(!report_unknown(text, &mut p));
        assert!(!report_unknown(
            "environment = 1979-05-27T07:32:00Z\n",
            &mut p
        ));
        assert!(!report_unknown("not toml [", &mut p));
        assert!(p.is_empty());
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("interval", "interval"), 0);
        assert_eq!(distance("intervall", "interval"), 1);
        assert_eq!(distance("timout", "timeout"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(closest("metrcs", TARGET), Some("metrics"));
        assert_eq!(closest("zzzzzz", TARGET), None);
    }
}
