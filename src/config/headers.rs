//! `[target.headers]`: names checked, `${NAME}` resolved, values kept as [`Secret`]s.
//!
//! Messages name the header and the variables it uses, never the value: a literal token in the
//! file is as secret as one read from the environment.

use std::collections::HashMap;
use std::ops::Range;

use reqwest::header::{HeaderName, HeaderValue};

use super::error::Problems;
use super::file::HeadersFile;
use super::secret::{expand, ExpandError, Secret};

pub(super) fn headers(
    ctx: &str,
    h: &HeadersFile,
    env: &dyn Fn(&str) -> Option<String>,
    p: &mut Problems<'_>,
) -> Vec<(String, Secret)> {
    // File order reads better than the map's alphabetical order.
    let mut entries: Vec<_> = h.0.iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);

    let mut out = Vec::with_capacity(entries.len());
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    for (name, value) in entries {
        let header = name.get_ref();
        let span = name.span();
        if HeaderName::from_bytes(header.as_bytes()).is_err() {
            p.push(
                &span,
                format!(
                    "{ctx}header name {header:?} is not a valid HTTP header name — use letters, \
                     digits and '-' (no spaces or colons), e.g. \"Authorization\""
                ),
            );
            continue;
        }
        let folded = header.to_ascii_lowercase();
        if let Some(first) = seen.get(&folded) {
            p.push(
                &span,
                format!(
                    "{ctx}header {header:?} is given twice (lines {} and {}; header names ignore \
                     case) — keep one",
                    p.line_of(first),
                    p.line_of(&span),
                ),
            );
            continue;
        }
        seen.insert(folded, span.clone());

        let toml::Value::String(raw) = value.get_ref() else {
            p.push(
                &value.span(),
                format!(
                    "{ctx}header {header:?} must be a string (the value is not shown) — quote it"
                ),
            );
            continue;
        };
        match expand(raw, env) {
            Ok((resolved, vars)) => {
                if HeaderValue::from_str(&resolved).is_err() {
                    let from = if vars.is_empty() {
                        String::new()
                    } else {
                        let list: Vec<String> = vars.iter().map(|v| format!("${{{v}}}")).collect();
                        format!(" after substituting {}", list.join(", "))
                    };
                    p.push(
                        &value.span(),
                        format!(
                            "{ctx}header {header:?} has a value that HTTP does not allow{from} \
                             (control characters such as a newline, or non-ASCII text) — the \
                             value is not shown; fix it in the file or the environment"
                        ),
                    );
                    continue;
                }
                out.push((header.clone(), Secret::new(resolved)));
            }
            Err(errors) => {
                for e in errors {
                    let message = match e {
                        ExpandError::Unset(var) => format!(
                            "{ctx}header {header:?} uses ${{{var}}}, which is not set in the \
                             environment — export {var} before starting watchdeck, or remove \
                             the header"
                        ),
                        ExpandError::Malformed => format!(
                            "{ctx}header {header:?} has a malformed ${{...}} reference — write \
                             ${{NAME}} with NAME made of letters, digits and _ (and $${{ for a \
                             literal \"${{\")"
                        ),
                    };
                    p.push(&value.span(), message);
                }
            }
        }
    }
    out
}
