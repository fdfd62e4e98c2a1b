//! Config errors that point at the line to fix.
//!
//! Every problem carries a 1-based line and column computed from the byte span that `toml`
//! reports, so an operator can jump straight to it. Validation collects all problems before
//! failing: fixing a config on call should take one edit, not one restart per mistake.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// A config file that could not be read, parsed or validated.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: cannot read the config file: {source} — {}", path.display(), read_hint(source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config; one or more problems, sorted by line.
    #[error("{}", Rendered { file, problems })]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The individual problems (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

/// One thing wrong with the config, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong and what to do about it. Never contains a header value.
    pub message: String,
}

fn read_hint(err: &std::io::Error) -> &'static str {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            "check the path, or write a commented sample with `watchdeck config template`"
        }
        std::io::ErrorKind::PermissionDenied => "make the file readable by this user",
        _ => "check that the path is a readable text file",
    }
}

/// `file:line:column: message`, one problem per line.
struct Rendered<'a> {
    file: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, p.line, p.column, p.message)?;
        }
        Ok(())
    }
}

/// Collects problems against one source text, turning byte spans into lines and columns.
pub(super) struct Problems<'a> {
    text: &'a str,
    list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Problems {
            text,
            list: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.list.push(Problem {
            line,
            column,
            message: shorten(message.into()),
        });
    }

    /// The line of a span, for messages that mention another place ("first defined on line 3").
    pub(super) fn line_of(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(super) fn into_error(mut self, file: String) -> ConfigError {
        // Stable sort keeps the order of problems found at the same place.
        self.list.sort_by_key(|p| (p.line, p.column));
        ConfigError::Invalid {
            file,
            problems: self.list,
        }
    }
}

/// Longest run without a space that a message echoes whole (a quoted value, a URL).
const MAX_WORD: usize = 200;
/// Longest message; the middle of a longer one is cut, keeping the advice at its end.
const MAX_MESSAGE: usize = 2000;

/// Cuts what a message echoes: a 10 MB value must not come back whole on the terminal.
fn shorten(message: String) -> String {
    let cut_word = |w: &str| -> String {
        let n = w.chars().count();
        if n <= MAX_WORD {
            return w.to_owned();
        }
        let head: String = w.chars().take(MAX_WORD / 2).collect();
        let tail: String = w.chars().skip(n - 20).collect();
        format!("{head}…({} characters cut)…{tail}", n - MAX_WORD / 2 - 20)
    };
    let mut out = if message.split(' ').any(|w| w.chars().count() > MAX_WORD) {
        message
            .split(' ')
            .map(cut_word)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        message
    };
    let n = out.chars().count();
    if n > MAX_MESSAGE {
        let head: String = out.chars().take(MAX_MESSAGE / 2).collect();
        let tail: String = out.chars().skip(n - MAX_MESSAGE / 4).collect();
        out = format!(
            "{head} …({} characters cut)… {tail}",
            n - MAX_MESSAGE / 2 - MAX_MESSAGE / 4
        );
    }
    out
}

/// 1-based (line, column) of a byte offset; the column counts characters, not bytes.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    // A span from toml always falls on a char boundary, but stay safe for any caller.
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_chars() {
        let text = "a = 1\nbé = 2\n\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(line_col(text, 6 + 6), (2, 6));
        assert_eq!(line_col(text, text.len()), (4, 2));
        assert_eq!(line_col(text, 999), (4, 2));
    }

    #[test]
    fn problems_render_sorted_one_per_line() {
        let text = "a\nb\nc\n";
        let mut p = Problems::new(text);
        p.push(&(4..5), "third");
        p.push(&(0..1), "first");
        let err = p.into_error("c.toml".into());
        assert_eq!(err.to_string(), "c.toml:1:1: first\nc.toml:3:1: third");
        assert_eq!(err.problems().len(), 2);
    }
}
