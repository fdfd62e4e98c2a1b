//! Text from outside made safe to show: one printable line, cut on a character boundary, with
//! secrets and credentials masked. Every sanitiser lives here, so a fix reaches every panel,
//! error and audit line at once.

/// Bytes from the network turned into one printable line: lossy UTF-8,
/// control and bidi-override characters dropped (they could repaint the
/// terminal or fake text), whitespace runs collapsed, trimmed, and cut to
/// `max_chars` characters with an ellipsis.
pub fn plain_text(raw: &[u8], max_chars: usize) -> String {
    let lossy = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(lossy.len().min(max_chars * 4));
    let mut pending_space = false;
    for c in lossy.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_bidi_control(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        // Stop early on huge inputs; one extra char tells truncation apart.
        if out.len() > max_chars * 4 + 4 {
            break;
        }
    }
    truncate_chars(&out, max_chars)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

/// A URL as it may be shown: without user info (which can hold a password).
pub fn display_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Replaces each non-empty secret in `text` with `***`.
pub fn mask_secrets(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Lossy, control-free and bounded: safe to print on a terminal.
pub fn printable_excerpt(text: &[u8], max_chars: usize) -> String {
    let s = String::from_utf8_lossy(text);
    let mut out: String = s
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '�' } else { c })
        .collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}

/// `text` on one line (runs of whitespace and control characters become one space), at most
/// `max` characters with `…` marking a cut. If it mentions "password", every '…' literal
/// becomes '***'.
pub fn one_line(text: &str, max: usize) -> String {
    let masked;
    let text = if text.to_ascii_lowercase().contains("password") {
        masked = mask_literals(text);
        masked.as_str()
    } else {
        text
    };
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        let needed = usize::from(space) + 1;
        if count + needed > max {
            // Leave room for the ellipsis.
            while count >= max {
                out.pop();
                count -= 1;
            }
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Replaces the content of every single-quoted literal with `***` (`''` inside a literal is
/// an escaped quote). An unterminated literal is masked to the end.
fn mask_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '\'' {
            continue;
        }
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                Some('\'') | None => break,
                Some(_) => {}
            }
        }
        out.push_str("***'");
    }
    out
}

/// A URL as shown in plans and errors: password and query values masked.
pub fn masked_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let masked: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, _)| (k.into_owned(), "***".to_owned()))
            .collect();
        u.query_pairs_mut().clear().extend_pairs(masked);
    }
    u.to_string()
}

/// Quotes an argument for display so that what is shown can be pasted into a shell and means
/// the same argv. Display only: nothing here is ever passed to a shell.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        let escaped: String = arg
            .chars()
            .flat_map(|c| match c {
                '\'' => "'\\''".chars().collect::<Vec<_>>(),
                '\n' => "\\n".chars().collect(),
                c if c.is_control() => format!("\\x{:02x}", c as u32).chars().collect(),
                c => vec![c],
            })
            .collect();
        format!("'{escaped}'")
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a C identifier, which is also the grammar of Prometheus label
/// names and of environment variable names.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An enum of states whose values are words in JSON, on screen and in reports: `as_str`,
/// `Display`, `FromStr`, `Serialize` as the word, and comparison with the word
/// (`status == "up"`), so the JSON and the text stay as they were when these were strings.
macro_rules! word_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The word for this value, as JSON and the screen show it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// The value a word names (the words of `as_str`), or which words there are.
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(format!(
                        "{s:?} is not one of: {}",
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}
pub(crate) use word_enum;

/// A unit visitor `$visitor`, and `Deserialize` for `$ty` through it by `deserialize_any`: for
/// the values read by hand, whatever their JSON or TOML kind, where a derive would refuse them
/// or lose something. The visitor's `impl` stays beside the type it reads.
macro_rules! deserialize_any_with {
    ($ty:ty, $visitor:ident) => {
        struct $visitor;

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($visitor)
            }
        }
    };
}
pub(crate) use deserialize_any_with;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_whitespace_and_cuts() {
        assert_eq!(
            one_line("  SELECT\n\t1\r\n  FROM   t  ", 100),
            "SELECT 1 FROM t"
        );
        assert_eq!(one_line("abcdef", 6), "abcdef");
        assert_eq!(one_line("abcdefg", 6), "abcde…");
        assert_eq!(one_line("abc  defg", 5), "abc …");
        assert_eq!(one_line("", 5), "");
        assert_eq!(one_line("é\u{0}ü", 10), "é ü");
    }

    #[test]
    fn masks_literals_next_to_a_password() {
        assert_eq!(
            one_line("ALTER ROLE cn PASSWORD 'hunter2'", 100),
            "ALTER ROLE cn PASSWORD '***'"
        );
        assert_eq!(
            one_line("select 'it''s', password from t where x = 'a", 100),
            "select '***', password from t where x = '***'"
        );
        assert_eq!(one_line("SELECT 'kept'", 100), "SELECT 'kept'");
    }
}
