//! Label pairs, walked lazily from the bytes between `{` and `}`.
//!
//! Values are decoded only when they contain a backslash, so the common case borrows from the
//! body. Escapes follow the Prometheus text format: `\\`, `\"` and `\n`; any other escaped
//! character is kept as written (backslash included), as Prometheus's own parser does.

use std::borrow::Cow;
use std::fmt;

/// Why a label set could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelError {
    BadName,
    MissingEquals,
    MissingQuote,
    Unterminated,
    MissingComma,
    NotUtf8,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadName => "label name must match [a-zA-Z_][a-zA-Z0-9_]*",
            Self::MissingEquals => "expected '=' after label name",
            Self::MissingQuote => "label value must be in double quotes",
            Self::Unterminated => "label value has no closing quote",
            Self::MissingComma => "expected ',' or '}' after label value",
            Self::NotUtf8 => "label value is not valid UTF-8",
        })
    }
}

/// The raw bytes of a label set, without the braces. Iterate to get `(name, value)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawLabels<'a> {
    bytes: &'a [u8],
}

impl<'a> RawLabels<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn iter(&self) -> LabelIter<'a> {
        LabelIter {
            rest: self.bytes,
            failed: false,
        }
    }

    /// The value of label `name`, if present and well formed.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter()
            .filter_map(Result::ok)
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Checks every pair and the limits; returns the number of labels.
    pub fn validate(&self, max_labels: usize, max_len: usize) -> Result<usize, String> {
        let mut names: Vec<&str> = Vec::new();
        for pair in self {
            let (name, value) = pair.map_err(|e| e.to_string())?;
            if names.contains(&name) {
                return Err(format!("duplicate label name {name:?}"));
            }
            if value.len() > max_len || name.len() > max_len {
                return Err(format!(
                    "label {name:?} is {} bytes long, over the limit of {max_len}",
                    value.len().max(name.len())
                ));
            }
            names.push(name);
            if names.len() > max_labels {
                return Err(format!("series has more than {max_labels} labels"));
            }
        }
        Ok(names.len())
    }
}

impl<'a> IntoIterator for &RawLabels<'a> {
    type Item = Result<(&'a str, Cow<'a, str>), LabelError>;
    type IntoIter = LabelIter<'a>;
    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

/// Iterator over label pairs. After the first error it yields nothing more.
pub struct LabelIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

fn skip_blanks(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| **c == b' ' || **c == b'\t').count();
    &b[n..]
}

pub(crate) fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

pub(crate) fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits `"..."rest` into the raw value bytes (escapes still in) and what follows the quote.
fn split_quoted(b: &[u8]) -> Result<(&[u8], &[u8], bool), LabelError> {
    let mut i = 0;
    let mut escaped = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &b[i..]) {
            None => return Err(LabelError::Unterminated),
            Some(j) if b[i + j] == b'\\' => {
                escaped = true;
                i += j + 2;
                if i > b.len() {
                    return Err(LabelError::Unterminated);
                }
            }
            Some(j) => return Ok((&b[..i + j], &b[i + j + 1..], escaped)),
        }
    }
}

/// Decodes `\\`, `\"` and `\n`; other escapes are kept as written.
pub(crate) fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'\\' && i + 1 < raw.len() {
            match raw[i + 1] {
                b'\\' => out.push(b'\\'),
                b'"' => out.push(b'"'),
                b'n' => out.push(b'\n'),
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

impl<'a> LabelIter<'a> {
    fn next_pair(&mut self) -> Option<Result<(&'a str, Cow<'a, str>), LabelError>> {
        let b = skip_blanks(self.rest);
        if b.is_empty() {
            return None;
        }
        let name_len = if is_label_start(b[0]) {
            1 + b[1..].iter().take_while(|c| is_label_char(**c)).count()
        } else {
            return Some(Err(LabelError::BadName));
        };
        // ASCII by construction.
        let name = std::str::from_utf8(&b[..name_len]).ok()?;
        let b = skip_blanks(&b[name_len..]);
        let Some(b) = b.strip_prefix(b"=") else {
            return Some(Err(LabelError::MissingEquals));
        };
        let b = skip_blanks(b);
        let Some(b) = b.strip_prefix(b"\"") else {
            return Some(Err(LabelError::MissingQuote));
        };
        let (raw, after, escaped) = match split_quoted(b) {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        let value = if escaped {
            match String::from_utf8(unescape(raw)) {
                Ok(s) => Cow::Owned(s),
                Err(_) => return Some(Err(LabelError::NotUtf8)),
            }
        } else {
            match std::str::from_utf8(raw) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => return Some(Err(LabelError::NotUtf8)),
            }
        };
        let after = skip_blanks(after);
        self.rest = match after.first() {
            None => after,
            Some(b',') => &after[1..],
            // Prometheus's parser takes the next pair without a comma too.
            Some(&c) if is_label_start(c) => after,
            Some(_) => return Some(Err(LabelError::MissingComma)),
        };
        Some(Ok((name, value)))
    }
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = Result<(&'a str, Cow<'a, str>), LabelError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_pair();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Result<Vec<(String, String)>, LabelError> {
        RawLabels::new(s.as_bytes())
            .iter()
            .map(|r| r.map(|(n, v)| (n.to_owned(), v.into_owned())))
            .collect()
    }

    #[test]
    fn plain_values_borrow() {
        let raw = RawLabels::new(br#"a="1",route="/users/{id}""#);
        let got: Vec<_> = raw.iter().collect::<Result<_, _>>().expect("valid");
        assert!(matches!(got[1].1, Cow::Borrowed("/users/{id}")));
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            pairs(r#"a="x\"y",b="back\\slash",c="new\nline",d="keep\t""#).expect("valid"),
            vec![
                ("a".into(), "x\"y".into()),
                ("b".into(), "back\\slash".into()),
                ("c".into(), "new\nline".into()),
                ("d".into(), "keep\\t".into()),
            ]
        );
    }

    #[test]
    fn separators_inside_values_are_data() {
        assert_eq!(
            pairs(r#"q="a,b=c}",x="1""#).expect("valid"),
            vec![("q".into(), "a,b=c}".into()), ("x".into(), "1".into())]
        );
    }

    #[test]
    fn trailing_comma_and_blanks_are_accepted() {
        assert_eq!(pairs(r#" a = "1" , "#).expect("valid").len(), 1);
    }

    #[test]
    fn errors_are_named() {
        assert_eq!(pairs("1a=\"x\""), Err(LabelError::BadName));
        assert_eq!(pairs("a\"x\""), Err(LabelError::MissingEquals));
        assert_eq!(pairs("a=x"), Err(LabelError::MissingQuote));
        assert_eq!(pairs("a=\"x"), Err(LabelError::Unterminated));
        assert_eq!(pairs("a=\"x\\"), Err(LabelError::Unterminated));
        // Prometheus takes the next pair without a comma; anything else is refused.
        assert_eq!(
            pairs("a=\"x\" b=\"y\"").expect("no comma"),
            vec![("a".into(), "x".into()), ("b".into(), "y".into())]
        );
        assert_eq!(pairs("a=\"x\" =\"y\""), Err(LabelError::MissingComma));
        assert_eq!(
            RawLabels::new(b"a=\"\xff\"").iter().next().map(Result::err),
            Some(Some(LabelError::NotUtf8))
        );
    }

    #[test]
    fn validate_enforces_limits_and_uniqueness() {
        let raw = RawLabels::new(br#"a="1",b="2",a="3""#);
        assert!(raw.validate(10, 100).unwrap_err().contains("duplicate"));
        let raw = RawLabels::new(br#"a="1",b="2",c="3""#);
        assert!(raw
            .validate(2, 100)
            .unwrap_err()
            .contains("more than 2 labels"));
        let raw = RawLabels::new(br#"a="0123456789""#);
        assert!(raw
            .validate(2, 5)
            .unwrap_err()
            .contains("over the limit of 5"));
        assert_eq!(RawLabels::new(br#"a="1",b="2""#).validate(2, 5), Ok(2));
    }
}
