//! The keymap file's shape and its checker, shared by the shipped file and `[keys]`.
//!
//! Entries stay raw and spanned until checked here, so every problem (a key that does not
//! parse, an unknown command, a key bound twice in a mode) is reported at its place in the
//! file, all of them at once, instead of serde stopping at the first.

use std::collections::HashMap;
use std::ops::Range;

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use serde::Deserialize;
use toml::Spanned;

use super::{parse_key, Key, KeyOverride, KeyOverrides, Mode};
use crate::keymap::command::Command;

/// Longest `desc`, so a binding's line in the help overlay stays on one row.
const MAX_DESC: usize = 60;

/// The keymap file's shape, shared by the shipped file and the config's `[keys]` table:
/// `normal = [ { on = "q", run = "quit", desc = "Quit" }, … ]` per mode.
#[derive(Debug, Default, Deserialize)]
// A mode the file leaves out has no entries.
#[serde(default, deny_unknown_fields)]
pub struct KeysFile {
    pub normal: Vec<Spanned<EntryFile>>,
    pub browse: Vec<Spanned<EntryFile>>,
    pub help: Vec<Spanned<EntryFile>>,
    pub palette: Vec<Spanned<EntryFile>>,
    pub confirm: Vec<Spanned<EntryFile>>,
    pub actions: Vec<Spanned<EntryFile>>,
    pub input: Vec<Spanned<EntryFile>>,
    pub checklist: Vec<Spanned<EntryFile>>,
}

impl KeysFile {
    /// The file's key names, for the config's unknown-key pass.
    pub const KEYS: &'static [&'static str] = &[
        "normal",
        "browse",
        "help",
        "palette",
        "confirm",
        "actions",
        "input",
        "checklist",
    ];

    fn entries(&self, mode: Mode) -> &[Spanned<EntryFile>] {
        match mode {
            Mode::Normal => &self.normal,
            Mode::Browse => &self.browse,
            Mode::Help => &self.help,
            Mode::Palette => &self.palette,
            Mode::Confirm => &self.confirm,
            Mode::Actions => &self.actions,
            Mode::Input => &self.input,
            Mode::Checklist => &self.checklist,
        }
    }
}

/// One `{ on, run, desc }` entry, raw and spanned so problems point at the value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryFile {
    pub on: Spanned<String>,
    pub run: Spanned<String>,
    pub desc: Option<Spanned<String>>,
}

impl EntryFile {
    /// The entry's key names, for the config's unknown-key pass.
    pub const KEYS: &'static [&'static str] = &["on", "run", "desc"];
}

/// A problem at a byte span of the text the file came from.
pub type SpannedProblem = (Range<usize>, String);

/// Checks the config's `[keys]` table. Problems carry byte spans so the config reports them
/// with its other problems, each with file, line and column.
pub fn overrides_from_file(file: &KeysFile) -> (KeyOverrides, Vec<SpannedProblem>) {
    let mut problems = Vec::new();
    let entries = check_entries(file, Origin::User, &mut problems);
    (KeyOverrides { entries }, problems)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Shipped,
    User,
}

/// Words that unbind a key in `[keys]`.
const UNBIND: [&str; 2] = ["noop", "none"];

pub(super) fn check_entries(
    file: &KeysFile,
    origin: Origin,
    problems: &mut Vec<SpannedProblem>,
) -> Vec<KeyOverride> {
    let mut out = Vec::new();
    let mut seen: HashMap<(Mode, Key), Option<Command>> = HashMap::new();
    let prefix = if origin == Origin::User {
        "[keys] "
    } else {
        ""
    };
    for mode in Mode::ALL {
        for spanned in file.entries(mode) {
            let entry = spanned.get_ref();
            let place = format!("{prefix}{mode} mode: ");
            let on = match parse_key(entry.on.get_ref()) {
                Ok(key) => Some(key),
                Err(e) => {
                    problems.push((entry.on.span(), format!("{place}{e}")));
                    None
                }
            };
            let run = match command(entry, origin, &place, problems) {
                Run::Bind(c) => Some(Some(c)),
                Run::Unbind => Some(None),
                Run::Bad => None,
            };
            let desc = desc(entry, spanned.span(), origin, &place, problems);
            let (Some(on), Some(run)) = (on, run) else {
                continue;
            };
            if origin == Origin::Shipped && is_multiplexer_prefix(on) {
                problems.push((
                    entry.on.span(),
                    format!(
                        "{place}the shipped keymap must not bind \"{on}\": it is the tmux/screen \
                         prefix — pick another key"
                    ),
                ));
            }
            if let Some(first) = seen.insert((mode, on), run) {
                problems.push((
                    entry.on.span(),
                    format!(
                        "{prefix}{} — keep one of them",
                        twice_message(mode, on, first, run)
                    ),
                ));
                continue;
            }
            out.push(KeyOverride {
                mode,
                on,
                run,
                desc,
            });
        }
    }
    out
}

/// What an entry's `run` asks for.
enum Run {
    Bind(Command),
    Unbind,
    /// Unusable; the problem is already reported.
    Bad,
}

fn command(
    entry: &EntryFile,
    origin: Origin,
    place: &str,
    problems: &mut Vec<SpannedProblem>,
) -> Run {
    let name = entry.run.get_ref().as_str();
    if UNBIND.contains(&name) {
        if origin == Origin::User {
            return Run::Unbind;
        }
        problems.push((
            entry.run.span(),
            format!("{place}run = \"{name}\" only belongs in a user's [keys] overrides"),
        ));
        return Run::Bad;
    }
    match name.parse::<Command>() {
        Ok(c) => Run::Bind(c),
        Err(e) => {
            let extra = if origin == Origin::User {
                " (or \"noop\" to unbind the key)"
            } else {
                ""
            };
            problems.push((entry.run.span(), format!("{place}{e}{extra}")));
            Run::Bad
        }
    }
}

fn desc(
    entry: &EntryFile,
    span: Range<usize>,
    origin: Origin,
    place: &str,
    problems: &mut Vec<SpannedProblem>,
) -> Option<String> {
    let Some(desc) = &entry.desc else {
        if origin == Origin::Shipped {
            problems.push((
                span,
                format!("{place}every shipped binding needs a desc — the help overlay shows it"),
            ));
        }
        return None;
    };
    let text = desc.get_ref().trim();
    let reason = if text.is_empty() {
        Some("is empty".to_string())
    } else if text.chars().any(char::is_control) {
        Some("contains a control character".to_string())
    } else {
        let n = text.chars().count();
        (n > MAX_DESC).then(|| format!("is {n} characters long"))
    };
    match reason {
        Some(reason) => {
            problems.push((
                desc.span(),
                format!(
                    "{place}desc {reason} — write 1-{MAX_DESC} printable characters saying \
                     what the key does{}",
                    if origin == Origin::User {
                        ", or leave desc out"
                    } else {
                        ""
                    }
                ),
            ));
            None
        }
        None => Some(text.to_string()),
    }
}

/// `key "f" in normal mode is bound twice: "freeze" and "help"`.
pub(super) fn twice_message(
    mode: Mode,
    on: Key,
    first: Option<Command>,
    second: Option<Command>,
) -> String {
    let name = |c: Option<Command>| c.map_or(UNBIND[0], Command::name);
    format!(
        "key \"{on}\" in {mode} mode is bound twice: \"{}\" and \"{}\"",
        name(first),
        name(second)
    )
}

/// Ctrl-b (tmux) and Ctrl-a (screen), with or without other modifiers.
pub fn is_multiplexer_prefix(key: Key) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('a' | 'A' | 'b' | 'B'))
}
