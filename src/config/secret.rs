//! Header values: `${NAME}` expansion from the environment and a type that will not print.
//!
//! Every header value is treated as a secret, resolved or not: a literal token pasted into the
//! file is as sensitive as one read from `$CN_TOKEN`. Nothing in this module returns text that
//! contains a value; errors name the variable or describe the problem.

use std::fmt;

/// A header value. `Debug` and `Display` print `<redacted>`; call [`Secret::expose`] at the one
/// place that puts it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Only for building the request; never log or render it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a value could not be expanded. Carries variable names only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ExpandError {
    /// `${NAME}` where NAME is not set.
    Unset(String),
    /// `${` without a closing brace or with a name outside `[A-Za-z_][A-Za-z0-9_]*`.
    Malformed,
}

/// Replaces each `${NAME}` with the variable's value; `$${` writes a literal `${`. A `$` that is
/// not followed by `{` is kept as is, so tokens containing `$` need no escaping. Returns the
/// expanded value and the names referenced (for messages), or every unset name at once.
pub(super) fn expand(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<String>), Vec<ExpandError>> {
    let mut out = String::with_capacity(raw.len());
    let mut names = Vec::new();
    let mut errors = Vec::new();
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(close) = tail.find('}') else {
                errors.push(ExpandError::Malformed);
                return Err(errors);
            };
            let name = &tail[..close];
            if is_env_name(name) {
                match env(name) {
                    Some(value) => out.push_str(&value),
                    None => errors.push(ExpandError::Unset(name.to_string())),
                }
                names.push(name.to_string());
            } else {
                errors.push(ExpandError::Malformed);
            }
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok((out, names))
    } else {
        Err(errors)
    }
}

/// An environment variable's name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(super) fn is_env_name(s: &str) -> bool {
    crate::text::is_identifier(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn expands_variables() {
        assert_eq!(
            expand("Bearer ${TOKEN}", &env),
            Ok(("Bearer s3cr3t".into(), vec!["TOKEN".into()]))
        );
        assert_eq!(
            expand("a${EMPTY}b", &env),
            Ok(("ab".into(), vec!["EMPTY".into()]))
        );
        assert_eq!(expand("plain", &env), Ok(("plain".into(), vec![])));
        assert_eq!(expand("co$t $5 $", &env), Ok(("co$t $5 $".into(), vec![])));
        assert_eq!(expand("$${TOKEN}", &env), Ok(("${TOKEN}".into(), vec![])));
    }

    #[test]
    fn reports_every_unset_variable() {
        assert_eq!(
            expand("${A}:${TOKEN}:${B}", &env),
            Err(vec![
                ExpandError::Unset("A".into()),
                ExpandError::Unset("B".into())
            ])
        );
        assert_eq!(expand("${TOKEN", &env), Err(vec![ExpandError::Malformed]));
        assert_eq!(expand("${1X}", &env), Err(vec![ExpandError::Malformed]));
        assert_eq!(expand("${}", &env), Err(vec![ExpandError::Malformed]));
    }
}
