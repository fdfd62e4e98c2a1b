//! Key bindings as data: `{ on, run, desc }` entries per mode, read from TOML.
//!
//! The defaults live in `assets/keymap.toml` (embedded), and the user's `[keys]` config table
//! overrides them key by key. The help overlay, the footer hints and the app's key handling
//! all read the same [`Keymap`], so there are no `if key == …` chains to keep in step.
//!
//! Both the shipped file and the overrides go through one checker: unreadable keys, unknown
//! commands (with a did-you-mean) and a key bound twice in one mode (naming both commands)
//! are refused with the place to fix. The shipped map must also leave Ctrl-b and Ctrl-a alone,
//! because they are the tmux and screen prefixes operators drive watchdeck through.

pub mod command;
mod file;
mod key;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

pub use file::{is_multiplexer_prefix, overrides_from_file, EntryFile, KeysFile, SpannedProblem};
pub use key::{parse_key, Key, KeyParseError};

use file::{check_entries, twice_message, Origin};

pub use command::Command;

/// The shipped keymap, `assets/keymap.toml`.
pub const SHIPPED: &str = include_str!("../../assets/keymap.toml");
const SHIPPED_ORIGIN: &str = "assets/keymap.toml";

/// Which set of bindings applies: the screen (or popup) that has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// The cockpit's panels.
    Normal,
    /// The series browser of one target.
    Browse,
    /// The help overlay.
    Help,
    /// The `:` command palette; unbound printable keys are typed into its query.
    Palette,
    /// A yes/no question.
    Confirm,
    /// A target's Actions view, and the audit log.
    Actions,
    /// Typing: a high-risk confirmation, a topic id or a note. Printable keys are typed.
    Input,
    /// The daily checklist walkthrough.
    Checklist,
}

impl Mode {
    pub const ALL: [Mode; 8] = [
        Mode::Normal,
        Mode::Browse,
        Mode::Help,
        Mode::Palette,
        Mode::Confirm,
        Mode::Actions,
        Mode::Input,
        Mode::Checklist,
    ];

    /// The name used as the table key in keymap files and `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Browse => "browse",
            Mode::Help => "help",
            Mode::Palette => "palette",
            Mode::Confirm => "confirm",
            Mode::Actions => "actions",
            Mode::Input => "input",
            Mode::Checklist => "checklist",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown mode \"{s}\" — modes are: {}",
                    Mode::ALL.map(Mode::name).join(", ")
                )
            })
    }
}

/// One key bound to one command in one mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub on: Key,
    pub run: Command,
    /// What the key does here, for the help overlay.
    pub desc: String,
}

/// One line of the help overlay: every key of a command in a mode, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpRow {
    pub keys: Vec<Key>,
    pub run: Command,
    /// The first binding's description.
    pub desc: String,
}

/// The bindings of every mode. `Keymap::default()` is the shipped map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    modes: [Vec<Binding>; Mode::ALL.len()],
}

impl Default for Keymap {
    fn default() -> Self {
        // The embedded file is checked by the tests, so this only fails in a broken build.
        Keymap::from_toml(SHIPPED, SHIPPED_ORIGIN)
            .unwrap_or_else(|e| panic!("the shipped keymap is invalid:\n{e}"))
    }
}

impl Keymap {
    /// Reads a complete keymap in the shipped file's format. Every binding needs a `desc`,
    /// nothing may be unbound, and Ctrl-b / Ctrl-a stay free for tmux and screen.
    pub fn from_toml(text: &str, origin: &str) -> Result<Keymap, KeymapError> {
        let file: KeysFile = toml::from_str(text).map_err(|e| KeymapError {
            origin: origin.to_string(),
            problems: vec![KeymapProblem {
                line: e.span().map(|s| line_of(text, s.start)),
                message: e.message().trim_end().replace('\n', ": "),
            }],
        })?;
        let mut problems = Vec::new();
        let entries = check_entries(&file, Origin::Shipped, &mut problems);
        if !problems.is_empty() {
            return Err(KeymapError {
                origin: origin.to_string(),
                problems: problems
                    .into_iter()
                    .map(|(span, message)| KeymapProblem {
                        line: Some(line_of(text, span.start)),
                        message,
                    })
                    .collect(),
            });
        }
        let mut keymap = Keymap {
            modes: Default::default(),
        };
        for e in entries {
            if let Some(run) = e.run {
                keymap.modes[e.mode.index()].push(Binding {
                    on: e.on,
                    run,
                    desc: e.desc.unwrap_or_else(|| run.description().to_string()),
                });
            }
        }
        Ok(keymap)
    }

    /// Applies the user's overrides: an entry replaces the binding of its key in its mode
    /// (in place, so the help overlay keeps its order) or adds one; `run = "noop"` removes it.
    /// A key given twice for one mode is refused, naming both commands.
    pub fn apply_overrides(&mut self, overrides: &KeyOverrides) -> Result<(), KeymapError> {
        let mut seen: HashMap<(Mode, Key), Option<Command>> = HashMap::new();
        let mut problems = Vec::new();
        for o in &overrides.entries {
            if let Some(first) = seen.insert((o.mode, o.on), o.run) {
                problems.push(KeymapProblem {
                    line: None,
                    message: twice_message(o.mode, o.on, first, o.run),
                });
            }
        }
        if !problems.is_empty() {
            return Err(KeymapError {
                origin: "[keys]".to_string(),
                problems,
            });
        }
        for o in &overrides.entries {
            let list = &mut self.modes[o.mode.index()];
            let at = list.iter().position(|b| b.on == o.on);
            match (o.run, at) {
                (Some(run), at) => {
                    let binding = Binding {
                        on: o.on,
                        run,
                        desc: o
                            .desc
                            .clone()
                            .unwrap_or_else(|| run.description().to_string()),
                    };
                    match at {
                        Some(i) => list[i] = binding,
                        None => list.push(binding),
                    }
                }
                (None, Some(i)) => {
                    list.remove(i);
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// The command a key press runs in `mode`, if any. Release events never run anything
    /// (terminals with the kitty protocol, and Windows, report them).
    pub fn lookup(&self, mode: Mode, event: &KeyEvent) -> Option<Command> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        self.lookup_key(mode, Key::from_event(event))
    }

    /// The command a canonical key runs in `mode`, if any.
    pub fn lookup_key(&self, mode: Mode, key: Key) -> Option<Command> {
        self.modes[mode.index()]
            .iter()
            .find(|b| b.on == key)
            .map(|b| b.run)
    }

    /// The bindings of `mode` in file order (overrides that add keys come last).
    pub fn bindings(&self, mode: Mode) -> &[Binding] {
        &self.modes[mode.index()]
    }

    /// Every key that runs `cmd` in `mode`, in file order (for footer hints).
    pub fn keys_for(&self, mode: Mode, cmd: Command) -> Vec<Key> {
        self.modes[mode.index()]
            .iter()
            .filter(|b| b.run == cmd)
            .map(|b| b.on)
            .collect()
    }

    /// The help overlay of `mode`: one row per command, its keys together, in the order the
    /// commands first appear.
    pub fn help(&self, mode: Mode) -> Vec<HelpRow> {
        let mut rows: Vec<HelpRow> = Vec::new();
        for b in &self.modes[mode.index()] {
            match rows.iter_mut().find(|r| r.run == b.run) {
                Some(row) => row.keys.push(b.on),
                None => rows.push(HelpRow {
                    keys: vec![b.on],
                    run: b.run,
                    desc: b.desc.clone(),
                }),
            }
        }
        rows
    }
}

/// The user's `[keys]` entries, already checked (see [`overrides_from_file`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyOverrides {
    pub entries: Vec<KeyOverride>,
}

impl KeyOverrides {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One user entry: bind `on` to `run` in `mode`, or unbind it when `run` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOverride {
    pub mode: Mode,
    pub on: Key,
    pub run: Option<Command>,
    /// The help text; the command's own description when absent.
    pub desc: Option<String>,
}

/// A keymap that could not be read, with the place of each problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", Rendered(self))]
pub struct KeymapError {
    /// The file, or `[keys]` for overrides built in code.
    pub origin: String,
    pub problems: Vec<KeymapProblem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeymapProblem {
    /// 1-based line in the file, when there is one.
    pub line: Option<usize>,
    pub message: String,
}

struct Rendered<'a>(&'a KeymapError);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.line {
                Some(line) => write!(f, "{}:{line}: {}", self.0.origin, p.message)?,
                None => write!(f, "{}: {}", self.0.origin, p.message)?,
            }
        }
        Ok(())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .split(|&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEventState, KeyModifiers};

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn user(text: &str) -> (KeyOverrides, Vec<String>) {
        let file: KeysFile = toml::from_str(text).expect("shape");
        let (o, p) = overrides_from_file(&file);
        (
            o,
            p.into_iter()
                .map(|(span, m)| format!("{}: {m}", line_of(text, span.start)))
                .collect(),
        )
    }

    #[test]
    fn shipped_map_has_the_documented_defaults() {
        let km = Keymap::default();
        let n = Mode::Normal;
        let cases = [
            (KeyCode::Char('q'), KeyModifiers::NONE, Command::Quit),
            (KeyCode::Char('?'), KeyModifiers::SHIFT, Command::Help),
            (KeyCode::Char(':'), KeyModifiers::NONE, Command::Palette),
            (KeyCode::Char('/'), KeyModifiers::NONE, Command::Filter),
            (KeyCode::Char('f'), KeyModifiers::NONE, Command::Freeze),
            (KeyCode::Tab, KeyModifiers::NONE, Command::FocusNext),
            (KeyCode::BackTab, KeyModifiers::SHIFT, Command::FocusPrev),
            (
                KeyCode::Char('1'),
                KeyModifiers::NONE,
                Command::FocusOverview,
            ),
            (
                KeyCode::Char('7'),
                KeyModifiers::NONE,
                Command::FocusSignals,
            ),
            (KeyCode::Char('j'), KeyModifiers::NONE, Command::Down),
            (KeyCode::Up, KeyModifiers::NONE, Command::Up),
            (KeyCode::Char('h'), KeyModifiers::NONE, Command::Left),
            (KeyCode::Right, KeyModifiers::NONE, Command::Right),
            (KeyCode::Char('G'), KeyModifiers::SHIFT, Command::Bottom),
            (KeyCode::Char('g'), KeyModifiers::NONE, Command::Top),
            (KeyCode::End, KeyModifiers::NONE, Command::Bottom),
            (KeyCode::Char('d'), KeyModifiers::CONTROL, Command::PageDown),
            (KeyCode::PageUp, KeyModifiers::NONE, Command::PageUp),
            (KeyCode::Enter, KeyModifiers::NONE, Command::Drill),
            (KeyCode::Esc, KeyModifiers::NONE, Command::Back),
            (KeyCode::Char('b'), KeyModifiers::NONE, Command::Browse),
            (KeyCode::Char('m'), KeyModifiers::NONE, Command::ToggleMouse),
        ];
        for (code, mods, cmd) in cases {
            assert_eq!(km.lookup(n, &press(code, mods)), Some(cmd), "{code:?}");
        }
        assert_eq!(
            km.lookup(n, &press(KeyCode::Char('z'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.lookup(
                Mode::Palette,
                &press(KeyCode::Char('n'), KeyModifiers::CONTROL)
            ),
            Some(Command::Down)
        );
        assert_eq!(
            km.lookup(Mode::Palette, &press(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Command::Run)
        );
        // Printable keys are the palette's query text, not commands.
        assert_eq!(
            km.lookup(
                Mode::Palette,
                &press(KeyCode::Char('q'), KeyModifiers::NONE)
            ),
            None
        );
        assert_eq!(
            km.lookup(
                Mode::Confirm,
                &press(KeyCode::Char('y'), KeyModifiers::NONE)
            ),
            Some(Command::Confirm)
        );
        assert_eq!(
            km.lookup(Mode::Help, &press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Command::Close)
        );
    }

    #[test]
    fn release_events_run_nothing() {
        let km = Keymap::default();
        let release = KeyEvent {
            code: KeyCode::Char('q'),
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
        };
        assert_eq!(km.lookup(Mode::Normal, &release), None);
        let repeat = KeyEvent {
            kind: KeyEventKind::Repeat,
            ..release
        };
        assert_eq!(km.lookup(Mode::Normal, &repeat), Some(Command::Quit));
    }

    #[test]
    fn keys_for_and_help_group_by_command() {
        let km = Keymap::default();
        let keys: Vec<String> = km
            .keys_for(Mode::Normal, Command::PageDown)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, ["<PageDown>", "<C-d>"]);
        let help = km.help(Mode::Normal);
        let down = help
            .iter()
            .find(|r| r.run == Command::Down)
            .expect("down row");
        assert_eq!(
            down.keys
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["j", "<Down>"]
        );
        let mut runs: Vec<Command> = help.iter().map(|r| r.run).collect();
        let before = runs.len();
        runs.dedup();
        assert_eq!(runs.len(), before);
    }

    #[test]
    fn overrides_replace_add_and_unbind() {
        let mut km = Keymap::default();
        let (o, problems) = user(
            r#"normal = [
                { on = "f", run = "help", desc = "Help instead" },
                { on = "x", run = "freeze" },
                { on = "q", run = "noop" },
                { on = "<C-b>", run = "browse" },
            ]"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        km.apply_overrides(&o).expect("valid");
        let n = Mode::Normal;
        let key = |t: &str| parse_key(t).expect(t);
        assert_eq!(km.lookup_key(n, key("f")), Some(Command::Help));
        let at = |t: &str| km.bindings(n).iter().position(|b| b.on == key(t));
        assert_eq!(at("f").map(|i| i + 1), at("<Tab>"), "replaced in place");
        assert_eq!(km.lookup_key(n, key("x")), Some(Command::Freeze));
        let x = km.bindings(n).iter().find(|b| b.on == key("x")).expect("x");
        assert_eq!(x.desc, Command::Freeze.description());
        assert_eq!(km.lookup_key(n, key("q")), None);
        // The user's choice: Ctrl-b is allowed in overrides.
        assert_eq!(km.lookup_key(n, key("<C-b>")), Some(Command::Browse));
        // Other modes are untouched.
        assert_eq!(km.lookup_key(Mode::Help, key("q")), Some(Command::Close));
    }

    #[test]
    fn override_problems_name_key_commands_and_line() {
        let (_, problems) = user(
            "normal = [\n  { on = \"f\", run = \"freeze\" },\n  { on = \"f\", run = \"help\" },\n  \
             { on = \"<Ctrl-x>\", run = \"quit\" },\n  { on = \"z\", run = \"frezze\" },\n  \
             { on = \"y\", run = \"quit\", desc = \"\" },\n]\nhelp = [ { on = \"q\", run = \"noop\" }, { on = \"q\", run = \"close\" } ]\n",
        );
        assert_eq!(
            problems,
            [
                "3: [keys] key \"f\" in normal mode is bound twice: \"freeze\" and \"help\" — keep one of them",
                "4: [keys] normal mode: cannot read key \"<Ctrl-x>\": modifiers are C- (Ctrl), A- (Alt) and S- (Shift) — write a single character such as \"q\" or \"G\", a named key such as \"<Tab>\", \"<S-Tab>\", \"<Enter>\", \"<Esc>\", \"<Up>\", \"<PageDown>\", \"<Space>\", \"<F5>\", or a modified one such as \"<C-d>\" or \"<A-x>\"",
                "5: [keys] normal mode: unknown command \"frezze\" — did you mean \"freeze\"? (or \"noop\" to unbind the key)",
                "6: [keys] normal mode: desc is empty — write 1-60 printable characters saying what the key does, or leave desc out",
                "8: [keys] key \"q\" in help mode is bound twice: \"noop\" and \"close\" — keep one of them",
            ]
        );
    }

    #[test]
    fn apply_refuses_duplicates_built_in_code() {
        let on = parse_key("f").expect("f");
        let o = KeyOverrides {
            entries: vec![
                KeyOverride {
                    mode: Mode::Normal,
                    on,
                    run: Some(Command::Freeze),
                    desc: None,
                },
                KeyOverride {
                    mode: Mode::Normal,
                    on,
                    run: Some(Command::Help),
                    desc: None,
                },
            ],
        };
        let err = Keymap::default()
            .apply_overrides(&o)
            .expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "[keys]: key \"f\" in normal mode is bound twice: \"freeze\" and \"help\""
        );
    }

    #[test]
    fn shipped_rules_are_enforced() {
        let text = "normal = [\n { on = \"<C-b>\", run = \"quit\", desc = \"q\" },\n { on = \"x\", run = \"noop\", desc = \"n\" },\n { on = \"y\", run = \"quit\" },\n]\n";
        let err = Keymap::from_toml(text, "k.toml").expect_err("invalid");
        let lines: Vec<String> = err.to_string().lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert!(lines[0]
            .starts_with("k.toml:2: normal mode: the shipped keymap must not bind \"<C-b>\""));
        assert!(lines[1].starts_with("k.toml:3: normal mode: run = \"noop\" only belongs"));
        assert!(lines[2].starts_with("k.toml:4: normal mode: every shipped binding needs a desc"));
        let shape = Keymap::from_toml("normal = []\nvisual = []\n", "k.toml").expect_err("unknown");
        assert!(
            shape
                .to_string()
                .starts_with("k.toml:2: unknown field `visual`"),
            "{shape}"
        );
    }
}
