//! Other sessions' statement texts made fit for one line of a panel.
//!
//! A statement can span many lines and hold anything, including a password in
//! `ALTER ROLE … PASSWORD '…'`. Texts are put on one line, cut, and when they mention a
//! password their string literals are masked.

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
