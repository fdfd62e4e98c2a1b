//! Templated command actions: a configured argv whose elements may hold placeholders from a
//! fixed set, expanded per run into a new argv for [`super::child::run`].
//!
//! The argv never passes through a shell, and a placeholder expands inside its own element
//! only (`--topic={topic}` stays one argument whatever the value), so a value cannot add,
//! split or join arguments. Values are still checked, because the program itself may treat
//! them specially: a value starting with `-` would be read as an option, `..` would walk out
//! of a directory, a newline would forge lines in logs and plans. `{{` and `}}` are literal
//! braces. The program (first element) takes no placeholders: which binary runs is fixed by
//! the config, never by a value.

use std::time::SystemTime;

use super::shell_quote;
use crate::config::argv::{parse_all, Piece};
pub use crate::config::argv::{validate_template, TemplateError, PLACEHOLDERS};

/// Longest value accepted for a placeholder, in characters.
pub const MAX_VALUE_CHARS: usize = 128;

/// Values for one expansion. `ts` and `date` come from `now` (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    pub target: Option<String>,
    pub topic: Option<String>,
    pub release: Option<String>,
    pub now: SystemTime,
}

impl Vars {
    /// No values yet; `now` is the current time.
    pub fn now() -> Self {
        Vars::at(SystemTime::now())
    }

    pub fn at(now: SystemTime) -> Self {
        Vars {
            target: None,
            topic: None,
            release: None,
            now,
        }
    }

    #[must_use]
    pub fn target(mut self, v: impl Into<String>) -> Self {
        self.target = Some(v.into());
        self
    }

    #[must_use]
    pub fn topic(mut self, v: impl Into<String>) -> Self {
        self.topic = Some(v.into());
        self
    }

    #[must_use]
    pub fn release(mut self, v: impl Into<String>) -> Self {
        self.release = Some(v.into());
        self
    }

    /// The value of a known placeholder; `ts` is `YYYYMMDDTHHMMSSZ` (no colons, so it is
    /// safe in file names), `date` is `YYYY-MM-DD`, both UTC.
    fn get(&self, name: &str) -> Option<String> {
        let rfc = || humantime::format_rfc3339_seconds(self.now).to_string();
        match name {
            "target" => self.target.clone(),
            "topic" => self.topic.clone(),
            "release" => self.release.clone(),
            "ts" => Some(rfc().replace(['-', ':'], "")),
            "date" => Some(rfc()[..10].to_owned()),
            _ => None,
        }
    }
}

/// Why a value may not be substituted, if it may not.
pub fn check_value(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err("it is longer than 128 characters");
    }
    if value.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err("it contains a newline or another control character");
    }
    if value.starts_with('-') {
        return Err("it starts with '-', so the program could read it as an option");
    }
    if value.split(['/', '\\']).any(|seg| seg == "..") {
        return Err("it contains a '..' path segment");
    }
    Ok(())
}

/// Expands `argv` with `vars`. Each placeholder's value is checked with [`check_value`]; the
/// result has exactly as many elements as `argv`.
pub fn expand(argv: &[String], vars: &Vars) -> Result<Vec<String>, TemplateError> {
    let parsed = parse_all(argv)?;
    let mut out = Vec::with_capacity(argv.len());
    for pieces in parsed {
        let mut arg = String::new();
        for piece in pieces {
            match piece {
                Piece::Lit(s) => arg.push_str(&s),
                Piece::Var(name) => {
                    let value = vars.get(name).ok_or_else(|| TemplateError::Missing {
                        name: name.to_owned(),
                    })?;
                    check_value(&value).map_err(|why| TemplateError::Invalid {
                        name: name.to_owned(),
                        value: shown(&value),
                        why,
                    })?;
                    arg.push_str(&value);
                }
            }
        }
        out.push(arg);
    }
    Ok(out)
}

/// A rejected value as shown in the error: quoted (control characters escaped) and cut.
fn shown(value: &str) -> String {
    const SHOWN: usize = 60;
    match value.char_indices().nth(SHOWN) {
        None => shell_quote(value),
        Some((cut, _)) => format!("{}…", shell_quote(&value[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn expands_inside_one_element() {
        // 2024-05-01T12:34:56Z
        let vars = Vars::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_566_896))
            .target("overlay")
            .topic("a b;c");
        let out = expand(
            &argv(&[
                "tool",
                "--topic={topic}",
                "{target}-{date}",
                "{ts}",
                "{{lit}}",
            ]),
            &vars,
        )
        .expect("expands");
        assert_eq!(
            out,
            [
                "tool",
                "--topic=a b;c",
                "overlay-2024-05-01",
                "20240501T123456Z",
                "{lit}"
            ]
        );
    }

    #[test]
    fn template_errors_are_found_at_validation() {
        assert!(validate_template(&argv(&["tool", "{topic}"])).is_ok());
        let e = validate_template(&argv(&["tool", "{user}"])).expect_err("unknown");
        assert!(e.contains("unknown placeholder {user}"), "{e}");
        for bad in ["{topic", "x}", "{}", "{ topic }"] {
            assert!(validate_template(&argv(&["tool", bad])).is_err(), "{bad}");
        }
        let e = validate_template(&argv(&["{target}", "x"])).expect_err("program");
        assert!(e.contains("program"), "{e}");
        assert!(validate_template(&[]).is_err());
    }

    #[test]
    fn values_are_checked_and_named() {
        let t = argv(&["tool", "{topic}"]);
        for bad in [
            "",
            "--help",
            "-f/etc/passwd",
            "../",
            "a/../b",
            "..",
            "a\nb",
            "a\rb",
            "a\0b",
            "\u{202e}txt",
        ] {
            let e = expand(&t, &Vars::now().topic(bad)).expect_err(bad);
            assert!(
                matches!(&e, TemplateError::Invalid { name, .. } if name == "topic"),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("{topic}"), "{e}");
        }
        let long = "a".repeat(129);
        assert!(expand(&t, &Vars::now().topic(long)).is_err());
        assert!(expand(&t, &Vars::now().topic("a".repeat(128))).is_ok());
        assert!(expand(&t, &Vars::now().topic("v1..2")).is_ok());
        let e = expand(&t, &Vars::now()).expect_err("missing");
        assert_eq!(
            e,
            TemplateError::Missing {
                name: "topic".into()
            }
        );
    }
}
