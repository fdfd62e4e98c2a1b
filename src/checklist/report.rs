//! The checklist report: what was checked, with evidence, notes and the runbook hint of each
//! failed item, as Markdown for people and JSON for tools, saved in the reports directory
//! under the date and the operator's name.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::eval::Status;
use super::format::{Hint, ItemKind};
use crate::derive::rules::AlertRow;

/// One item in a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemReport {
    /// `target/id`.
    pub key: String,
    pub checklist: String,
    pub target: Option<String>,
    pub title: String,
    pub kind: ItemKind,
    pub status: Status,
    pub evidence: String,
    /// The operator's note.
    pub note: Option<String>,
    /// When it was decided (RFC 3339, UTC).
    pub at: Option<String>,
    /// The runbook hint, for failed items (and items that could not be checked).
    pub hint: Option<Hint>,
}

/// Counts by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub unknown: usize,
    pub skipped: usize,
    pub pending: usize,
    pub alerts_firing: usize,
    /// Rules whose condition holds but whose `for:` was not yet observed: they fail the run
    /// as firing ones do (a check never passes while a condition holds).
    pub alerts_pending: usize,
}

/// A finished checklist run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Names of the checklists run, in order.
    pub checklists: Vec<String>,
    pub operator: String,
    pub environment: Option<String>,
    /// `headless` (`watchdeck check`) or `walkthrough` (the cockpit).
    pub mode: &'static str,
    /// The report's date (UTC), `YYYY-MM-DD`.
    pub date: String,
    pub started: String,
    pub finished: String,
    pub summary: Summary,
    pub items: Vec<ItemReport>,
    /// Preset alerts firing or pending when the report was made.
    pub alerts: Vec<AlertRow>,
}

/// Exit statuses of `watchdeck check`.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CANNOT_CHECK: u8 = 2;

/// RFC 3339 (seconds, UTC) of unix ms.
pub fn rfc3339(ms: i64) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
    .to_string()
}

/// `YYYY-MM-DD` (UTC) of unix ms.
pub fn date_of(ms: i64) -> String {
    rfc3339(ms)[..10].to_owned()
}

/// The operator's name as it may appear in a file name: `[A-Za-z0-9._-]`, else `operator`.
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let s = s.trim_start_matches(['.', '-']).to_owned();
    if s.is_empty() {
        "operator".into()
    } else {
        s
    }
}

/// The operator: `$USER`, else `$LOGNAME`, else `operator`.
pub fn default_operator() -> String {
    crate::actions::audit::Operator::current().user
}

/// `overlay`, or `fleet` when several checklists ran.
pub fn checklists_stem(names: &[String]) -> String {
    match names {
        [one] => file_safe(one),
        _ => "fleet".into(),
    }
}

impl Summary {
    pub fn of(items: &[ItemReport], alerts: &[AlertRow]) -> Summary {
        let mut s = Summary {
            alerts_firing: alerts
                .iter()
                .filter(|a| a.state == crate::derive::rules::AlertPhase::Firing)
                .count(),
            alerts_pending: alerts
                .iter()
                .filter(|a| a.state == crate::derive::rules::AlertPhase::Pending)
                .count(),
            ..Summary::default()
        };
        for i in items {
            match i.status {
                Status::Pass => s.passed += 1,
                Status::Fail => s.failed += 1,
                Status::Unknown => s.unknown += 1,
                Status::Skipped => s.skipped += 1,
                Status::Pending => s.pending += 1,
            }
        }
        s
    }
}

fn anchor(key: &str) -> String {
    let a: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("hint-{a}")
}

/// Table cells: no line breaks, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('\n', " ").replace('|', "\\|")
}

impl Report {
    /// 0 all passed (manual items pending or skipped do not count), 1 an item failed or an
    /// alert is firing, 2 nothing failed but something could not be checked. A known failure
    /// wins over a check that could not be made: it is the more useful thing to page on.
    pub fn exit_code(&self) -> u8 {
        if self.summary.failed > 0
            || self.summary.alerts_firing > 0
            || self.summary.alerts_pending > 0
        {
            EXIT_FAILED
        } else if self.summary.unknown > 0 {
            EXIT_CANNOT_CHECK
        } else {
            EXIT_OK
        }
    }

    /// One word for the whole run.
    pub fn verdict(&self) -> &'static str {
        match self.exit_code() {
            EXIT_OK => "PASSED",
            EXIT_FAILED => "FAILED",
            _ => "INCOMPLETE",
        }
    }

    /// `2026-11-25-alice-overlay`.
    pub fn file_stem(&self) -> String {
        format!(
            "{}-{}-{}",
            self.date,
            file_safe(&self.operator),
            checklists_stem(&self.checklists)
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode the report: {e}\"}}"))
            + "\n"
    }

    #[allow(clippy::too_many_lines)] // one section after another, top to bottom
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        let s = &self.summary;
        let _ = writeln!(
            o,
            "# Checklist report: {} — {}\n",
            self.checklists.join(", "),
            self.date
        );
        let env = self
            .environment
            .as_deref()
            .map(|e| format!(" · environment **{e}**"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "Operator **{}**{env} · {} · started {} · finished {}\n",
            self.operator, self.mode, self.started, self.finished
        );
        let _ = writeln!(
            o,
            "**Result: {}** — {} passed, {} failed, {} could not be checked, {} skipped, {} pending; {} alerts firing, {} holding (for: not yet observed)\n",
            self.verdict(),
            s.passed,
            s.failed,
            s.unknown,
            s.skipped,
            s.pending,
            s.alerts_firing,
            s.alerts_pending
        );
        let _ = writeln!(o, "| Item | Check | Result | Evidence |");
        let _ = writeln!(o, "|---|---|---|---|");
        for i in &self.items {
            let mut evidence = cell(&i.evidence);
            if let Some(n) = &i.note {
                let _ = write!(evidence, " — note: {}", cell(n));
            }
            let result = match i.status {
                Status::Fail | Status::Unknown if i.hint.is_some() => {
                    format!("**{}** ([hint](#{}))", i.status.word(), anchor(&i.key))
                }
                Status::Fail | Status::Unknown => format!("**{}**", i.status.word()),
                _ => i.status.word().to_owned(),
            };
            let kind = match i.kind {
                ItemKind::Auto => "auto",
                ItemKind::Manual => "manual",
            };
            let _ = writeln!(
                o,
                "| `{}` | {} ({kind}) | {result} | {evidence} |",
                i.key,
                cell(&i.title)
            );
        }
        if !self.alerts.is_empty() {
            let _ = writeln!(o, "\n## Alerts\n");
            for a in &self.alerts {
                let value = a.value.map_or_else(|| "no data".into(), crate::fmt::num);
                let state = if a.state == crate::derive::rules::AlertPhase::Pending {
                    format!(
                        "failing** (condition holds; for: {} not yet observed){}",
                        humantime::format_duration(std::time::Duration::from_millis(
                            a.for_ms.max(0) as u64
                        )),
                        if a.from_history {
                            ""
                        } else {
                            ", seen since this run began"
                        },
                    )
                } else {
                    format!("{}**", a.state)
                };
                let _ = writeln!(
                    o,
                    "- **{state} {} `{}` {}: {value} ({}) since {}",
                    a.severity,
                    a.target,
                    a.name,
                    a.threshold,
                    rfc3339(a.since_ms)
                );
                {
                    let _ = writeln!(o, "  - symptom: {}", a.symptom);
                    let _ = writeln!(o, "  - cause: {}", a.cause);
                    let _ = writeln!(o, "  - first action: {}", a.action);
                }
            }
        }
        let hinted: Vec<&ItemReport> = self
            .items
            .iter()
            .filter(|i| matches!(i.status, Status::Fail | Status::Unknown) && i.hint.is_some())
            .collect();
        if !hinted.is_empty() {
            let _ = writeln!(o, "\n## Runbook hints\n");
            for i in hinted {
                let Some(h) = &i.hint else { continue };
                let _ = writeln!(o, "<a id=\"{}\"></a>", anchor(&i.key));
                let _ = writeln!(o, "### `{}` — {}\n", i.key, i.title);
                let _ = writeln!(o, "- symptom: {}", h.symptom);
                let _ = writeln!(o, "- likely cause: {}", h.cause);
                let _ = writeln!(o, "- first action: {}", h.action);
                if let Some(r) = &h.runbook {
                    let _ = writeln!(o, "- runbook: {r}");
                }
                let _ = writeln!(o);
            }
        }
        o
    }

    /// Writes `<stem>.md` and `<stem>.json` into `dir` (created 0700), each 0600, replacing
    /// the day's earlier report of the same operator and checklists. Returns both paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        make_private_dir(dir)?;
        let stem = self.file_stem();
        let md = dir.join(format!("{stem}.md"));
        let json = dir.join(format!("{stem}.json"));
        write_private(&md, self.to_markdown().as_bytes())?;
        write_private(&json, self.to_json().as_bytes())?;
        Ok((md, json))
    }
}

/// Creates `dir` (and parents) with mode 0700; an existing directory is left as it is.
pub fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))
}

/// Writes a file with mode 0600 through a temporary file and a rename, so a reader never
/// sees half a report and an interruption never leaves one.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let ctx = |e: std::io::Error, what: &str| {
        std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| ctx(e, "write"))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| ctx(e, "write"))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ctx(e, "replace")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::rules::{AlertPhase, SeverityWord};

    fn report(items: Vec<ItemReport>, alerts: Vec<AlertRow>) -> Report {
        Report {
            checklists: vec!["overlay".into()],
            operator: "alice smith".into(),
            environment: None,
            mode: "headless",
            date: "2026-11-25".into(),
            started: String::new(),
            finished: String::new(),
            summary: Summary::of(&items, &alerts),
            items,
            alerts,
        }
    }

    fn item(status: Status) -> ItemReport {
        ItemReport {
            key: "overlay/x".into(),
            checklist: "overlay".into(),
            target: Some("overlay".into()),
            title: "x | y".into(),
            kind: ItemKind::Auto,
            status,
            evidence: "e".into(),
            note: None,
            at: None,
            hint: None,
        }
    }

    fn alert(state: AlertPhase) -> AlertRow {
        AlertRow {
            target: "overlay".into(),
            name: "SseRingMiss".into(),
            severity: SeverityWord::Warning,
            state,
            since_ms: 0,
            value: Some(3.0),
            threshold: "> 0".into(),
            symptom: "s".into(),
            cause: "c".into(),
            action: "a".into(),
            remedy: None,
            for_ms: 0,
            from_history: false,
            origin: "watchdeck",
            value_text: "3".into(),
            watches: None,
        }
    }

    #[test]
    fn exit_codes_fail_wins_over_cannot_check() {
        assert_eq!(
            report(vec![item(Status::Pass), item(Status::Pending)], vec![]).exit_code(),
            EXIT_OK
        );
        // A rule whose condition holds fails the run even before its for: is observed.
        let pending = report(
            vec![item(Status::Skipped)],
            vec![alert(AlertPhase::Pending)],
        );
        assert_eq!(pending.exit_code(), EXIT_FAILED);
        assert!(pending
            .to_markdown()
            .contains("**failing** (condition holds; for: 0s not yet observed)"));
        assert_eq!(
            report(vec![item(Status::Pass)], vec![alert(AlertPhase::Firing)]).exit_code(),
            EXIT_FAILED
        );
        assert_eq!(
            report(vec![item(Status::Unknown)], vec![]).exit_code(),
            EXIT_CANNOT_CHECK
        );
        assert_eq!(
            report(vec![item(Status::Unknown), item(Status::Fail)], vec![]).exit_code(),
            EXIT_FAILED
        );
    }

    #[test]
    fn names_and_cells_are_safe() {
        let r = report(vec![item(Status::Pass)], vec![alert(AlertPhase::Firing)]);
        assert_eq!(r.file_stem(), "2026-11-25-alice_smith-overlay");
        assert_eq!(file_safe("../etc"), "_etc");
        assert_eq!(file_safe(""), "operator");
        let md = r.to_markdown();
        assert!(md.contains("x \\| y"), "{md}");
        assert!(
            md.contains("- **firing** warning `overlay` SseRingMiss: 3 (> 0)"),
            "{md}"
        );
        assert!(md.contains("  - first action: a"), "{md}");
    }
}
