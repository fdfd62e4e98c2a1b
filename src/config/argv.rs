//! The grammar of a command action's argv template: literal text and `{placeholder}`s from a
//! fixed set, `{{` and `}}` for braces. Checked when the config loads; expanded per run by
//! `actions::command`.

use crate::text::shell_quote;

/// The placeholders a template may use; anything else is rejected when the config is loaded.
pub const PLACEHOLDERS: [&str; 5] = ["target", "topic", "release", "ts", "date"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the command is empty; configure at least the program to run")]
    Empty,
    #[error("argument {index} {arg}: {why}")]
    Syntax {
        index: usize,
        arg: String,
        why: String,
    },
    #[error("argument {index} {arg}: unknown placeholder {{{name}}}; the known ones are {{target}}, {{topic}}, {{release}}, {{ts}} and {{date}} (write {{{{ and }}}} for literal braces)")]
    Unknown {
        index: usize,
        arg: String,
        name: String,
    },
    #[error("the program {arg} cannot contain placeholders: which binary runs must be fixed in the config")]
    ProgramPlaceholder { arg: String },
    #[error("{{{name}}} is used by the command but has no value for this run")]
    Missing { name: String },
    #[error("the value of {{{name}}} {value} was rejected: {why}")]
    Invalid {
        name: String,
        value: String,
        why: &'static str,
    },
}

pub enum Piece<'a> {
    Lit(String),
    Var(&'a str),
}

/// Splits one element into literal text and placeholders.
fn parse(index: usize, arg: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let syntax = |why: &str| TemplateError::Syntax {
        index,
        arg: shell_quote(arg),
        why: why.to_owned(),
    };
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = arg;
    while let Some(c) = rest.chars().next() {
        match c {
            '{' if rest.starts_with("{{") => {
                lit.push('{');
                rest = &rest[2..];
            }
            '}' if rest.starts_with("}}") => {
                lit.push('}');
                rest = &rest[2..];
            }
            '{' => {
                let end = rest
                    .find('}')
                    .ok_or_else(|| syntax("unclosed '{' (write {{ for a literal brace)"))?;
                let name = &rest[1..end];
                if !PLACEHOLDERS.contains(&name) {
                    return Err(TemplateError::Unknown {
                        index,
                        arg: shell_quote(arg),
                        name: name.to_owned(),
                    });
                }
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Var(name));
                rest = &rest[end + 1..];
            }
            '}' => return Err(syntax("unmatched '}' (write }} for a literal brace)")),
            c => {
                lit.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

pub fn parse_all(argv: &[String]) -> Result<Vec<Vec<Piece<'_>>>, TemplateError> {
    if argv.is_empty() {
        return Err(TemplateError::Empty);
    }
    let parsed = argv
        .iter()
        .enumerate()
        .map(|(i, a)| parse(i, a))
        .collect::<Result<Vec<_>, _>>()?;
    if parsed[0].iter().any(|p| matches!(p, Piece::Var(_))) {
        return Err(TemplateError::ProgramPlaceholder {
            arg: shell_quote(&argv[0]),
        });
    }
    if argv[0].is_empty() {
        return Err(TemplateError::Empty);
    }
    Ok(parsed)
}

/// Checks a configured template: syntax, known placeholders, a fixed program.
pub fn validate_template(argv: &[String]) -> Result<(), String> {
    parse_all(argv).map(|_| ()).map_err(|e| e.to_string())
}
