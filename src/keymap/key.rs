//! One key as the keymap writes it: `"q"`, `"G"`, `"<Tab>"`, `"<S-Tab>"`, `"<C-d>"`, `"<A-x>"`.
//!
//! A [`Key`] is kept in one canonical form so that a binding written in the file and an event
//! from the terminal compare equal: a character key never carries SHIFT (the shift is in the
//! character, `"G"`), and Shift+Tab is always `BackTab` without SHIFT. Terminals disagree on
//! these details, so [`Key::from_event`] folds them all into that form.

use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, in canonical form (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// Named keys, as written between angle brackets. The first spelling is the canonical one;
/// matching is case-insensitive.
const NAMED: &[(&str, KeyCode)] = &[
    ("Tab", KeyCode::Tab),
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("Backspace", KeyCode::Backspace),
    ("Space", KeyCode::Char(' ')),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("lt", KeyCode::Char('<')),
    ("gt", KeyCode::Char('>')),
    // Other spellings people type from habit.
    ("CR", KeyCode::Enter),
    ("Return", KeyCode::Enter),
    ("Escape", KeyCode::Esc),
    ("PgUp", KeyCode::PageUp),
    ("PgDn", KeyCode::PageDown),
    ("BS", KeyCode::Backspace),
    ("Del", KeyCode::Delete),
];

/// A key string that does not follow the keymap syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read key {text:?}: {reason} — write a single character such as \"q\" or \"G\", \
         a named key such as \"<Tab>\", \"<S-Tab>\", \"<Enter>\", \"<Esc>\", \"<Up>\", \
         \"<PageDown>\", \"<Space>\", \"<F5>\", or a modified one such as \"<C-d>\" or \"<A-x>\""
)]
pub struct KeyParseError {
    pub text: String,
    pub reason: String,
}

/// Parses the keymap syntax (see the module docs) into a canonical [`Key`].
pub fn parse_key(text: &str) -> Result<Key, KeyParseError> {
    let fail = |reason: &str| KeyParseError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return Err(fail("it is empty")),
        (Some(c), None) => {
            return if c.is_control() {
                Err(fail("it is a control character"))
            } else {
                Ok(Key::plain(KeyCode::Char(c)))
            }
        }
        _ => {}
    }
    let Some(inner) = text.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
        return Err(fail("longer keys go between angle brackets"));
    };

    let mut modifiers = KeyModifiers::NONE;
    let mut rest = inner;
    // "C-" etc. Stop when only one char is left, so "<C-->" is Ctrl+'-'.
    while rest.chars().count() > 2 && rest.as_bytes().get(1) == Some(&b'-') {
        let flag = match rest.as_bytes()[0].to_ascii_uppercase() {
            b'C' => KeyModifiers::CONTROL,
            b'A' | b'M' => KeyModifiers::ALT,
            b'S' => KeyModifiers::SHIFT,
            _ => return Err(fail("modifiers are C- (Ctrl), A- (Alt) and S- (Shift)")),
        };
        if modifiers.contains(flag) {
            return Err(fail("a modifier is repeated"));
        }
        modifiers |= flag;
        rest = &rest[2..];
    }

    let code = named_code(rest).ok_or_else(|| match rest.find('-') {
        // "Ctrl-x", "Shift-Tab": a modifier spelled out.
        Some(i) if i > 1 => fail("modifiers are C- (Ctrl), A- (Alt) and S- (Shift)"),
        _ => fail("unknown key name"),
    })?;
    let shift = modifiers.contains(KeyModifiers::SHIFT);
    match code {
        KeyCode::Char(c) if shift && c != ' ' => {
            if c.is_lowercase() || c.is_uppercase() {
                Ok(Key::from_parts(KeyCode::Char(c), modifiers))
            } else {
                // Shift+1 arrives as '!', so "<S-1>" could never match anything.
                Err(fail(
                    "S- only goes with letters; write the shifted character itself",
                ))
            }
        }
        code => Ok(Key::from_parts(code, modifiers)),
    }
}

/// The key code for the part after the modifiers: one character, a name, or F1-F24.
fn named_code(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return (!c.is_control()).then_some(KeyCode::Char(c));
    }
    if let Some((_, code)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Some(*code);
    }
    let number = name.strip_prefix(['F', 'f'])?;
    match number.parse::<u8>() {
        Ok(n @ 1..=24) if !number.starts_with('0') => Some(KeyCode::F(n)),
        _ => None,
    }
}

impl Key {
    /// A key without modifiers.
    pub fn plain(code: KeyCode) -> Key {
        Key::from_parts(code, KeyModifiers::NONE)
    }

    /// Canonical form of a terminal key event (the event's kind is not looked at).
    pub fn from_event(event: &KeyEvent) -> Key {
        Key::from_parts(event.code, event.modifiers)
    }

    /// Builds the canonical form: shifted letters become uppercase without SHIFT, any other
    /// character drops SHIFT (it is already in the character), Shift+Tab becomes `BackTab`.
    pub fn from_parts(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let shift = modifiers.contains(KeyModifiers::SHIFT);
        let unshifted = modifiers.difference(KeyModifiers::SHIFT);
        match code {
            KeyCode::Char(c) if shift && c != ' ' => {
                let mut upper = c.to_uppercase();
                let c = match (upper.next(), upper.next()) {
                    (Some(u), None) => u,
                    _ => c,
                };
                Key {
                    code: KeyCode::Char(c),
                    modifiers: unshifted,
                }
            }
            KeyCode::Tab if shift => Key {
                code: KeyCode::BackTab,
                modifiers: unshifted,
            },
            KeyCode::BackTab => Key {
                code: KeyCode::BackTab,
                modifiers: unshifted,
            },
            code => Key { code, modifiers },
        }
    }

    /// A short human label for footers and the help overlay ("↑", "PgDn", "C-d", "G").
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::BackTab => "Tab".to_string(),
            KeyCode::Backspace => "Bksp".to_string(),
            KeyCode::Delete => "Del".to_string(),
            KeyCode::Insert => "Ins".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            _ => code_name(self.code),
        };
        let mut prefix = modifier_prefix(self.modifiers);
        if self.code == KeyCode::BackTab {
            prefix.push_str("S-");
        }
        prefix + &base
    }
}

/// "C-A-S-" for the modifiers set, in that order; SUPER/HYPER/META are not written.
fn modifier_prefix(modifiers: KeyModifiers) -> String {
    let mut out = String::new();
    for (flag, text) in [
        (KeyModifiers::CONTROL, "C-"),
        (KeyModifiers::ALT, "A-"),
        (KeyModifiers::SHIFT, "S-"),
    ] {
        if modifiers.contains(flag) {
            out.push_str(text);
        }
    }
    out
}

/// The name written between brackets for a non-character key.
fn code_name(code: KeyCode) -> String {
    match code {
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::BackTab => "Tab".to_string(),
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char('<') => "lt".to_string(),
        KeyCode::Char('>') => "gt".to_string(),
        KeyCode::Char(c) => c.to_string(),
        other => NAMED
            .iter()
            .find(|(_, c)| *c == other)
            .map_or_else(|| format!("{other:?}"), |(n, _)| (*n).to_string()),
    }
}

/// Writes the syntax [`parse_key`] reads, so every parsed key round-trips.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut prefix = modifier_prefix(self.modifiers);
        match self.code {
            KeyCode::Char(c) if prefix.is_empty() && c != ' ' => write!(f, "{c}"),
            code => {
                if code == KeyCode::BackTab {
                    prefix.push_str("S-");
                }
                write!(f, "<{prefix}{}>", code_name(code))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Key {
        Key { code, modifiers }
    }

    #[test]
    fn parses_the_documented_syntax() {
        let cases = [
            ("q", key(KeyCode::Char('q'), KeyModifiers::NONE)),
            ("G", key(KeyCode::Char('G'), KeyModifiers::NONE)),
            ("?", key(KeyCode::Char('?'), KeyModifiers::NONE)),
            ("<", key(KeyCode::Char('<'), KeyModifiers::NONE)),
            ("<Tab>", key(KeyCode::Tab, KeyModifiers::NONE)),
            ("<S-Tab>", key(KeyCode::BackTab, KeyModifiers::NONE)),
            ("<s-tab>", key(KeyCode::BackTab, KeyModifiers::NONE)),
            ("<Enter>", key(KeyCode::Enter, KeyModifiers::NONE)),
            ("<CR>", key(KeyCode::Enter, KeyModifiers::NONE)),
            ("<PageDown>", key(KeyCode::PageDown, KeyModifiers::NONE)),
            ("<Space>", key(KeyCode::Char(' '), KeyModifiers::NONE)),
            ("<C-d>", key(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            ("<A-x>", key(KeyCode::Char('x'), KeyModifiers::ALT)),
            ("<S-g>", key(KeyCode::Char('G'), KeyModifiers::NONE)),
            ("<C-->", key(KeyCode::Char('-'), KeyModifiers::CONTROL)),
            ("<S-Up>", key(KeyCode::Up, KeyModifiers::SHIFT)),
            (
                "<C-A-Del>",
                key(KeyCode::Delete, KeyModifiers::CONTROL | KeyModifiers::ALT),
            ),
            ("<F5>", key(KeyCode::F(5), KeyModifiers::NONE)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_key(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_bad_keys_quoting_them() {
        for (text, reason) in [
            ("", "it is empty"),
            ("qq", "angle brackets"),
            ("<Ctrl-x>", "modifiers are C-"),
            ("<Tabb>", "unknown key name"),
            ("<C-C-x>", "repeated"),
            ("<S-1>", "S- only goes with letters"),
            ("<F0>", "unknown key name"),
            ("<F25>", "unknown key name"),
            ("\t", "control character"),
        ] {
            let err = parse_key(text).expect_err(text);
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("cannot read key {text:?}: ")),
                "{message}"
            );
            assert!(message.contains(reason), "{text}: {message}");
        }
    }

    #[test]
    fn display_round_trips_in_canonical_form() {
        for text in [
            "q",
            "G",
            "?",
            "/",
            ":",
            "1",
            "<",
            ">",
            "<Tab>",
            "<S-Tab>",
            "<Enter>",
            "<Esc>",
            "<Up>",
            "<Down>",
            "<Left>",
            "<Right>",
            "<PageUp>",
            "<PageDown>",
            "<Home>",
            "<End>",
            "<Backspace>",
            "<Space>",
            "<C-x>",
            "<A-x>",
            "<C-A-x>",
            "<C-X>",
            "<S-Up>",
            "<C-Space>",
            "<C-lt>",
            "<F12>",
            "<C-S-Tab>",
            "<Delete>",
        ] {
            let key = parse_key(text).expect(text);
            assert_eq!(key.to_string(), text);
            assert_eq!(parse_key(&key.to_string()), Ok(key));
        }
        // Aliases print in the canonical spelling.
        assert_eq!(
            parse_key("<S-g>").map(|k| k.to_string()).as_deref(),
            Ok("G")
        );
        assert_eq!(
            parse_key("<return>").map(|k| k.to_string()).as_deref(),
            Ok("<Enter>")
        );
    }

    #[test]
    fn events_are_normalised() {
        let ev = |code, modifiers| Key::from_event(&KeyEvent::new(code, modifiers));
        let upper_g = key(KeyCode::Char('G'), KeyModifiers::NONE);
        assert_eq!(ev(KeyCode::Char('G'), KeyModifiers::SHIFT), upper_g);
        assert_eq!(ev(KeyCode::Char('G'), KeyModifiers::NONE), upper_g);
        assert_eq!(ev(KeyCode::Char('g'), KeyModifiers::SHIFT), upper_g);
        assert_eq!(
            ev(KeyCode::Char('?'), KeyModifiers::SHIFT),
            key(KeyCode::Char('?'), KeyModifiers::NONE)
        );
        let backtab = key(KeyCode::BackTab, KeyModifiers::NONE);
        assert_eq!(ev(KeyCode::BackTab, KeyModifiers::SHIFT), backtab);
        assert_eq!(ev(KeyCode::Tab, KeyModifiers::SHIFT), backtab);
        assert_eq!(
            ev(
                KeyCode::Char('X'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT
            ),
            key(KeyCode::Char('X'), KeyModifiers::CONTROL)
        );
        assert_eq!(
            ev(KeyCode::Up, KeyModifiers::SHIFT),
            key(KeyCode::Up, KeyModifiers::SHIFT)
        );
    }

    #[test]
    fn labels_are_short() {
        let label = |t: &str| parse_key(t).expect(t).label();
        assert_eq!(label("<Up>"), "↑");
        assert_eq!(label("<S-Tab>"), "S-Tab");
        assert_eq!(label("<C-d>"), "C-d");
        assert_eq!(label("<PageDown>"), "PgDn");
        assert_eq!(label("G"), "G");
        assert_eq!(label("<Enter>"), "Enter");
    }
}
