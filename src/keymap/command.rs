//! The cockpit's commands: what a key, a mouse click or the `:` palette asks the app to do.
//!
//! Commands are plain data with stable kebab-case names, so the keymap file, the user's
//! `[keys]` overrides, the help overlay and the palette all speak the same vocabulary. One
//! table below holds name and description together so the two can never drift apart.

use std::fmt;
use std::str::FromStr;

/// Something the operator asks the cockpit to do. The app's `update` decides what it means in
/// the current mode; this type only names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Help,
    Palette,
    Filter,
    Freeze,
    FocusNext,
    FocusPrev,
    FocusOverview,
    FocusBacklog,
    FocusSse,
    FocusLatency,
    FocusDisk,
    FocusHealth,
    FocusSignals,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Drill,
    Back,
    Browse,
    ToggleMouse,
    Close,
    Run,
    Confirm,
    Cancel,
    Actions,
    Audit,
    CancelAction,
    AckAlert,
    SilenceAlert,
    Remedy,
    Checklist,
    Pass,
    Fail,
    Skip,
    Note,
    Finish,
    Alertmanager,
}

/// (command, name, description), in the order commands are listed to users.
const TABLE: [(Command, &str, &str); 43] = [
    (Command::Quit, "quit", "Quit watchdeck"),
    (Command::Help, "help", "Show the key bindings"),
    (Command::Palette, "palette", "Open the command palette"),
    (Command::Filter, "filter", "Filter the list by text"),
    (
        Command::Freeze,
        "freeze",
        "Freeze or resume the display (polling continues)",
    ),
    (Command::FocusNext, "focus-next", "Focus the next panel"),
    (Command::FocusPrev, "focus-prev", "Focus the previous panel"),
    (
        Command::FocusOverview,
        "focus-overview",
        "Focus the overview panel",
    ),
    (
        Command::FocusBacklog,
        "focus-backlog",
        "Focus the outbox backlog panel",
    ),
    (
        Command::FocusSse,
        "focus-sse",
        "Focus the SSE clients panel",
    ),
    (
        Command::FocusLatency,
        "focus-latency",
        "Focus the ACK latency panel",
    ),
    (
        Command::FocusDisk,
        "focus-disk",
        "Focus the disk usage panel",
    ),
    (
        Command::FocusHealth,
        "focus-health",
        "Focus the health panel",
    ),
    (
        Command::FocusSignals,
        "focus-signals",
        "Focus the signals panel",
    ),
    (Command::Up, "up", "Move the selection up"),
    (Command::Down, "down", "Move the selection down"),
    (Command::Left, "left", "Move left"),
    (Command::Right, "right", "Move right"),
    (Command::PageUp, "page-up", "Scroll up one page"),
    (Command::PageDown, "page-down", "Scroll down one page"),
    (Command::Top, "top", "Jump to the first row"),
    (Command::Bottom, "bottom", "Jump to the last row"),
    (
        Command::Drill,
        "drill",
        "Open the selected target's detail view",
    ),
    (Command::Back, "back", "Go back to the previous view"),
    (
        Command::Browse,
        "browse",
        "Browse all series of the selected target",
    ),
    (
        Command::ToggleMouse,
        "toggle-mouse",
        "Turn mouse capture on or off",
    ),
    (Command::Close, "close", "Close the popup"),
    (Command::Run, "run", "Run the selected command"),
    (Command::Confirm, "confirm", "Answer yes"),
    (Command::Cancel, "cancel", "Answer no"),
    (
        Command::Actions,
        "actions",
        "Open the selected target's actions (backup, topics, rollback, commands)",
    ),
    (Command::Audit, "audit", "Show the audit log of actions"),
    (
        Command::CancelAction,
        "cancel-action",
        "Cancel the action running on this target",
    ),
    (
        Command::AckAlert,
        "ack-alert",
        "Acknowledge the selected alert with a note (audited)",
    ),
    (
        Command::SilenceAlert,
        "silence-alert",
        "Silence the selected alert for a while (audited)",
    ),
    (
        Command::Remedy,
        "remedy",
        "Open the remediation action the selected alert names",
    ),
    (
        Command::Checklist,
        "checklist",
        "Walk through today's checklist (resumes where it stopped)",
    ),
    (Command::Pass, "pass", "Checklist: the item passes"),
    (Command::Fail, "fail", "Checklist: the item fails"),
    (Command::Skip, "skip", "Checklist: skip the item"),
    (Command::Note, "note", "Checklist: write a note on the item"),
    (
        Command::Finish,
        "finish",
        "Checklist: write the report (Markdown and JSON)",
    ),
    (
        Command::Alertmanager,
        "alertmanager",
        "The configured Alertmanager's alerts and silences",
    ),
];

impl Command {
    /// Every command, in the order help and the palette list them.
    pub const ALL: [Command; 43] = {
        let mut all = [Command::Quit; 43];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    /// The kebab-case name used in keymap files, config overrides and the palette.
    pub fn name(self) -> &'static str {
        TABLE[self.index()].1
    }

    /// A short sentence for the help overlay and the palette.
    pub fn description(self) -> &'static str {
        TABLE[self.index()].2
    }

    /// Position in [`Command::ALL`]; a stable tie-breaker for sorting.
    pub fn index(self) -> usize {
        // The table is written in declaration order (a test checks it), so the discriminant
        // is the row.
        self as usize
    }

    /// The command whose name is nearest to `name` (for "did you mean"), if one is close
    /// enough to be a plausible typo.
    pub fn closest(name: &str) -> Option<Command> {
        let lower = name.to_ascii_lowercase();
        let limit = (lower.chars().count() / 3).clamp(1, 3);
        Command::ALL
            .into_iter()
            .map(|c| (edit_distance(&lower, c.name()), c))
            .filter(|&(d, _)| d <= limit)
            .min_by_key(|&(d, c)| (d, c.index()))
            .map(|(_, c)| c)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A command name that is not in [`Command::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command \"{name}\" — {}", hint(*.suggestion))]
pub struct UnknownCommand {
    pub name: String,
    pub suggestion: Option<Command>,
}

fn hint(suggestion: Option<Command>) -> String {
    match suggestion {
        Some(c) => format!("did you mean \"{c}\"?"),
        None => format!(
            "commands are: {}",
            Command::ALL.map(Command::name).join(", ")
        ),
    }
}

impl FromStr for Command {
    type Err = UnknownCommand;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TABLE
            .iter()
            .find(|(_, name, _)| *name == s)
            .map(|(c, _, _)| *c)
            .ok_or_else(|| UnknownCommand {
                name: s.to_string(),
                suggestion: Command::closest(s),
            })
    }
}

/// Edit distance over chars where swapping two neighbours counts as one edit (optimal
/// string alignment): "donw" is one typo away from "down", not two.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order_and_names_round_trip() {
        for (i, (c, name, desc)) in TABLE.iter().enumerate() {
            assert_eq!(c.index(), i, "{name} is out of order");
            assert_eq!(Command::ALL[i], *c);
            assert_eq!(name.parse::<Command>(), Ok(*c));
            assert_eq!(c.to_string(), *name);
            assert!(!desc.is_empty());
            assert!(
                name.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{name} is not kebab-case"
            );
        }
    }

    #[test]
    fn unknown_names_suggest_the_nearest() {
        let err = "frezze".parse::<Command>().expect_err("unknown");
        assert_eq!(err.suggestion, Some(Command::Freeze));
        assert_eq!(
            err.to_string(),
            "unknown command \"frezze\" — did you mean \"freeze\"?"
        );
        assert_eq!(Command::closest("focus-helth"), Some(Command::FocusHealth));
        assert_eq!(Command::closest("Quit"), Some(Command::Quit));
        let far = "launch-missiles".parse::<Command>().expect_err("unknown");
        assert_eq!(far.suggestion, None);
        assert!(far
            .to_string()
            .contains("commands are: quit, help, palette"));
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("freeze", "freeze"), 0);
        assert_eq!(edit_distance("frezze", "freeze"), 1);
        assert_eq!(edit_distance("", "up"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("donw", "down"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(Command::closest("donw"), Some(Command::Down));
    }
}
