//! End to end: remediation actions from the real cockpit in a real pseudo-terminal against the
//! demo fleet (its overlay twin has a real SQLite database; its relay has topic admin routes).
//! Keys go in, the screen is read back through a VT100 emulator, and the audit file the binary
//! wrote under `$XDG_STATE_HOME/watchdeck/` is read afterwards. Every wait is on screen content.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::pty::{Launch, Term};

/// The relay's admin token: it must never show on screen or in the audit file.
const TOKEN: &str = "e2e-admin-token-5b1c9d0f";

/// Generous: two cores are shared by several builds and tests.
const LIMIT: Duration = Duration::from_secs(30);

/// `watchdeck ARGS` at 160×50 with the relay's admin token in its environment.
fn launch(args: &[&str]) -> Launch {
    Launch::new(args)
        .size(160, 50)
        .limit(LIMIT)
        .env("WATCHDECK_DEMO_ADMIN_TOKEN", TOKEN)
}

fn start(args: &[&str]) -> Term {
    launch(args).start()
}

/// Starts with `state` as `XDG_STATE_HOME` (a second run over the same state).
fn start_in(args: &[&str], state: tempfile::TempDir) -> Term {
    launch(args).state(state).start()
}

fn audit_path(s: &Term) -> PathBuf {
    s.state().join("watchdeck/audit.jsonl")
}

fn audit(s: &Term) -> Vec<serde_json::Value> {
    read_audit(&audit_path(s))
}

fn read_audit(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

/// Waits for the fleet, selects overview row `row` (0 = cn-relay, 3 = overlay) and opens
/// its Actions view.
fn open_actions(s: &mut Term, row: usize, name: &str) -> String {
    s.wait_for("all six targets up", |t| t.contains("6/6 targets up"));
    s.send("1");
    s.send("g");
    for _ in 0..row {
        s.send("j");
    }
    s.send("a");
    let title = format!("[a] {name} — actions");
    s.wait_for(&title, |t| t.contains(&title))
}

/// The first line of the screen containing `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

/// The backup file named on the outcome's summary line (`… wrote overlay-sqlite-….db …`).
fn written(screen: &str) -> Option<String> {
    let l = line_with(screen, "wrote overlay-sqlite-")?;
    let rest = &l[l.find("overlay-sqlite-")?..];
    Some(rest.split_whitespace().next()?.to_owned())
}

/// Presses j until the checklist item `key` is shown in full; each press waits until the
/// current item has moved on.
fn walk_to(s: &mut Term, key: &str) {
    for _ in 0..20 {
        let here = current_item(&s.contents());
        if here.as_deref() == Some(key) {
            return;
        }
        s.send("j");
        s.wait_for(&format!("the item after {here:?}"), |t| {
            current_item(t).is_some_and(|c| Some(&c) != here.as_ref())
        });
    }
}

/// The key of the checklist item shown in full (`cn-relay/backlog   automatic`).
fn current_item(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let at = l
            .find("   automatic")
            .or_else(|| l.find("   manual: you decide"))?;
        l[..at].split_whitespace().last().map(str::to_owned)
    })
}

fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// The intent and the outcome of one action: same id, this operator, `target`, `action`.
fn intent_and_outcome<'a>(
    records: &'a [serde_json::Value],
    target: &str,
    action: &str,
) -> (&'a serde_json::Value, &'a serde_json::Value) {
    assert_eq!(records.len(), 2, "one intent, one outcome: {records:#?}");
    let (intent, outcome) = (&records[0], &records[1]);
    assert_eq!(intent["phase"], "intent", "{intent}");
    assert_eq!(outcome["phase"], "outcome", "{outcome}");
    assert_eq!(intent["id"], outcome["id"]);
    assert!(intent["id"].as_str().is_some_and(|id| !id.is_empty()));
    for r in [intent, outcome] {
        assert_eq!(r["target"], target, "{r}");
        assert_eq!(r["action"], action, "{r}");
        assert_eq!(r["operator"]["uid"], uid(), "{r}");
        assert!(
            r["operator"]["user"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            "{r}"
        );
    }
    (intent, outcome)
}

#[test]
#[allow(clippy::too_many_lines)] // one session from key to audit record
fn backup_of_the_overlay_from_the_cockpit_runs_only_on_y_and_is_audited() {
    let mut s = start(&["demo"]);
    let screen = open_actions(&mut s, 3, "overlay");
    assert!(
        screen.contains("Back up (SQLite online backup, integrity_check; keep 14)"),
        "{screen}"
    );
    // The demo opens with its nightly backup: one verified generation, no STALE.
    let listed = s.wait_for("the Backups section, read from the demo's directory", |t| {
        t.lines()
            .any(|l| l.contains("overlay-sqlite-") && l.contains("verified"))
    });
    assert!(!listed.contains("STALE"), "{listed}");

    // Enter plans; Enter again on the dialog is Cancel, and nothing runs.
    s.send("\r");
    let plan = s.wait_for("the plan dialog", |t| {
        t.contains("y runs it · Enter, n or Esc cancels")
    });
    assert!(
        plan.contains("Back up overlay (SQLite online backup, integrity_check, keep 14)"),
        "{plan}"
    );
    assert!(plan.contains("risk low"), "{plan}");
    assert!(
        plan.contains("verify: PRAGMA integrity_check on the copy must return exactly ok"),
        "{plan}"
    );
    s.send("\r");
    s.wait_for("the dialog closed by Enter", |t| {
        !t.contains("y runs it") && t.contains("[a] overlay — actions")
    });
    assert!(
        audit(&s).is_empty(),
        "Enter ran something: {:#?}",
        audit(&s)
    );
    assert!(
        s.contents()
            .contains("nothing has run on this target in this session"),
        "{}",
        s.contents()
    );

    // Plan again; y runs it.
    s.send("\r");
    s.wait_for("the plan dialog again", |t| t.contains("[ Run: y ]"));
    s.send("y");
    // The demo's nightly generation is listed already: wait for the row of the file this run
    // wrote, not for any verified row.
    let done = s.wait_for("the backup succeeded and is listed as verified", |t| {
        line_with(t, "succeeded").is_some_and(|l| l.contains("wrote overlay-sqlite-"))
            && written(t).is_some_and(|f| {
                t.lines()
                    .any(|l| l.contains(&f) && !l.contains("wrote") && l.contains("verified"))
            })
    });
    // The file the outcome names is the one the Backups section lists, verified, while the
    // demo (and its directory) still runs.
    let file = written(&done).expect("the summary line names the file");
    let ts = file
        .strip_prefix("overlay-sqlite-")
        .and_then(|r| r.strip_suffix(".db"))
        .unwrap_or_default();
    assert!(
        ts.len() == "20261125T140000Z".len() && ts.ends_with('Z'),
        "{file}"
    );
    let row = done
        .lines()
        .find(|l| l.contains(&file) && !l.contains("wrote"))
        .unwrap_or_else(|| panic!("no Backups row for {file}:\n{done}"));
    assert!(row.contains("verified"), "{row}");
    assert!(!done.contains("STALE"), "a fresh verified backup:\n{done}");
    s.wait_for("the audit section shows the records", |t| {
        t.lines()
            .any(|l| l.contains("succeeded") && l.contains("backup") && l.contains("integrity"))
    });
    s.quit();

    let records = audit(&s);
    let (intent, outcome) = intent_and_outcome(&records, "overlay", "backup");
    assert_eq!(outcome["result"], "succeeded", "{outcome}");
    assert!(
        outcome["verification"]
            .as_str()
            .is_some_and(|v| v.contains("integrity_check")),
        "{outcome}"
    );
    let plan: Vec<&str> = intent["plan"]
        .as_array()
        .expect("plan lines")
        .iter()
        .map(|l| l.as_str().expect("a plan line is text"))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("online backup of ")
            && l.contains("overlay/data/app.db")
            && l.contains("overlay/backup/overlay-sqlite-<YYYYMMDDTHHMMSSZ>.db.partial")),
        "{plan:#?}"
    );
    assert!(
        plan.iter().any(|l| l.contains("PRAGMA integrity_check")),
        "{plan:#?}"
    );
}

#[test]
fn read_only_cockpit_refuses_the_backup_and_writes_no_audit() {
    let mut s = start(&["--read-only", "demo"]);
    let header = s.wait_for("the READ-ONLY badge", |t| t.contains(" READ-ONLY "));
    assert!(
        header
            .lines()
            .next()
            .is_some_and(|l| l.contains("READ-ONLY")),
        "on the header line:\n{header}"
    );
    let screen = open_actions(&mut s, 3, "overlay");
    assert!(
        screen.contains("READ-ONLY: every action is refused"),
        "{screen}"
    );
    s.send("\r");
    let refused = s.wait_for("the read-only refusal", |t| {
        t.contains("read-only: backup on overlay is refused")
    });
    assert!(
        !refused.contains("[ Run: y ]"),
        "no plan dialog:\n{refused}"
    );
    assert_eq!(
        refused
            .lines()
            .filter(|l| l.contains("overlay-sqlite-"))
            .count(),
        1,
        "only the demo's nightly backup:\n{refused}"
    );
    // y, Enter and the picker keys after it change nothing either.
    s.send("y");
    s.send("\r");
    s.wait_for("still refusing", |t| {
        t.contains("read-only: backup on overlay is refused") && !t.contains("[ Run: y ]")
    });
    assert!(
        !audit_path(&s).exists(),
        "an audit file was created in read-only mode"
    );
    s.quit();
    assert!(!audit_path(&s).exists());
}

#[test]
fn suspending_a_topic_on_the_relay_needs_its_id_typed_exactly() {
    let mut s = start(&["demo"]);
    open_actions(&mut s, 0, "cn-relay");
    // Suspend a topic… is the relay's first offer (it has no backup in the demo).

    // The picker lists topics from the relay's counter once it has been scraped twice.
    let began = Instant::now();
    loop {
        s.send("\r");
        let t = s.wait_for("the topic picker", |t| t.contains("suspend which topic?"));
        if line_with(&t, "kukuri:topic:spam-wave").is_some_and(|l| l.contains("/s")) {
            break;
        }
        assert!(began.elapsed() < LIMIT, "no topics with rates:\n{t}");
        s.esc_until("the picker closed", |t| !t.contains("suspend which topic?"));
        // The poll's pace: the relay is scraped every second; a deadline bounds the loop.
        std::thread::sleep(Duration::from_millis(500));
    }
    // Filter down to the one topic and take it.
    s.send("spam");
    s.wait_for("the filtered picker", |t| {
        t.contains("topic: spam") && !t.contains("kukuri:topic:rust")
    });
    s.send("\r");
    let plan = s.wait_for("the high-risk dialog", |t| {
        t.contains("Type kukuri:topic:spam-wave and Enter to run it")
    });
    assert!(plan.contains("Confirm — high risk"), "{plan}");
    assert!(
        plan.contains("kukuri%3Atopic%3Aspam-wave/suspend"),
        "the id is percent-encoded into the URL:\n{plan}"
    );
    assert!(
        !plan.contains(TOKEN),
        "the admin token is masked in the plan:\n{plan}"
    );

    // A wrong word (and a y) runs nothing.
    s.send("ykukuri:topic:spam");
    s.wait_for("the typed text", |t| t.contains("> ykukuri:topic:spam▏"));
    s.send("\r");
    s.wait_for("the mismatch", |t| {
        t.contains("does not match — type \"kukuri:topic:spam-wave\" exactly")
    });
    assert!(audit(&s).is_empty(), "{:#?}", audit(&s));

    // The exact id runs it.
    s.send("kukuri:topic:spam-wave");
    s.wait_for("the id typed", |t| t.contains("> kukuri:topic:spam-wave▏"));
    s.send("\r");
    let done = s.wait_for("the topic suspended", |t| {
        line_with(t, "succeeded").is_some_and(|l| l.contains("suspended"))
    });
    assert!(
        done.contains("Suspend topic \"kukuri:topic:spam-wave\" on cn-relay"),
        "{done}"
    );
    assert!(
        done.contains("verification: state re-read: suspended (confirmed)"),
        "{done}"
    );
    s.quit();

    let records = audit(&s);
    let (intent, outcome) = intent_and_outcome(&records, "cn-relay", "suspend");
    assert_eq!(outcome["result"], "succeeded", "{outcome}");
    for r in [intent, outcome] {
        assert_eq!(r["params"]["topic"], "kukuri:topic:spam-wave", "{r}");
    }
    let text = std::fs::read_to_string(audit_path(&s)).expect("audit");
    assert!(!text.contains(TOKEN), "the admin token leaked:\n{text}");
    assert!(
        text.contains("Authorization: ***"),
        "the header is in the plan, masked:\n{text}"
    );
}

/// The daily checklist in the cockpit: accept an automatic result, fail a manual item with a
/// note, quit in the middle, come back to the same place, write the report, read it.
#[test]
fn the_demo_checklist_walkthrough_resumes_and_writes_its_report() {
    let mut s = start(&["demo"]);
    s.wait_for("the fleet", |t| t.contains("6/6 targets up"));
    s.send("D");
    let first = s.wait_for("the first item judged", |t| {
        t.contains("[D] Daily checklist") && t.contains("automatic result: pass")
    });
    assert!(first.contains("cn-relay/health"), "{first}");
    assert!(first.contains("0 of 44 decided"), "{first}");
    // Enter accepts the automatic pass and moves on.
    s.send("\r");
    s.wait_for("one decided", |t| t.contains("1 of 44 decided"));
    // The next item is the relay's backlog: its value comes with its sparkline.
    s.wait_for("the backlog item with its sparkline", |t| {
        t.contains("cn-relay/backlog   automatic") && t.contains("over the last minutes:")
    });
    // Walk to the manual restore-drill item and fail it with a note.
    walk_to(&mut s, "cn-relay/restore-drill");
    s.wait_for("the manual item", |t| {
        t.contains("cn-relay/restore-drill   manual")
    });
    s.send("n");
    s.wait_for("typing a note", |t| t.contains("Enter keeps it"));
    s.send("drill overdue, booked for friday\r");
    s.send("f");
    s.wait_for("two decided", |t| t.contains("2 of 44 decided"));
    s.quit();
    let reports = s.state().join("watchdeck/reports");
    let saved: Vec<_> = std::fs::read_dir(&reports)
        .expect("reports dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        saved.iter().any(|n| n.ends_with(".walkthrough.json")),
        "the walkthrough is saved as it goes: {saved:?}"
    );

    // Back again: the same walkthrough, where it stopped.
    let mut again = start_in(&["demo"], s.take_state());
    again.wait_for("the fleet", |t| t.contains("6/6 targets up"));
    again.send("D");
    again.wait_for("resumed", |t| t.contains("2 of 44 decided"));
    again.send("F");
    again.wait_for("asked to confirm pending items", |t| {
        t.contains("have no verdict yet")
    });
    again.send("F");
    let done = again.wait_for("report written", |t| t.contains("checklist report written"));
    assert!(
        done.contains("[1] Targets"),
        "back on the main view:\n{done}"
    );
    again.quit();
    let reports = again.state().join("watchdeck/reports");
    let names: Vec<String> = std::fs::read_dir(&reports)
        .expect("reports dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with(".walkthrough.json")),
        "a finished walkthrough is closed: {names:?}"
    );
    let md_name = names
        .iter()
        .find(|n| Path::new(n).extension().is_some_and(|e| e == "md"))
        .expect("markdown report");
    let md = std::fs::read_to_string(reports.join(md_name)).expect("read md");
    assert!(md.contains("walkthrough"), "{md}");
    assert!(md.contains("| `cn-relay/health` |"), "{md}");
    assert!(md.contains("drill overdue, booked for friday"), "{md}");
    let json_name = names
        .iter()
        .find(|n| Path::new(n).extension().is_some_and(|e| e == "json"))
        .expect("json report");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(json_name)).expect("json"))
            .expect("report JSON");
    let item = |key: &str| {
        json["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no item {key}"))
    };
    assert_eq!(item("cn-relay/health")["status"], "pass");
    let drill = item("cn-relay/restore-drill");
    assert_eq!(drill["status"], "fail");
    assert_eq!(drill["note"], "drill overdue, booked for friday");
    assert!(
        drill["hint"]["action"]
            .as_str()
            .is_some_and(|a| !a.is_empty()),
        "a failed item carries its runbook hint: {drill}"
    );
    // Undecided automatic items carry their result as of the end; not-applicable ones say why.
    assert_eq!(item("cn-relay/backup-fresh")["status"], "skipped");
}
