//! End to end: the real binary in a real pseudo-terminal against the demo fleet. Keys go in,
//! the screen is read back through a VT100 emulator.

use std::time::Duration;

use crate::common::pty::{Launch, Term};

/// The deadline of every wait on the screen.
const START: Duration = Duration::from_secs(20);

/// `watchdeck ARGS` in a `cols`×`rows` terminal of kind `term`.
fn start(args: &[&str], term: &str, cols: u16, rows: u16) -> Term {
    Launch::new(args)
        .term(term)
        .size(cols, rows)
        .limit(START)
        .start()
}

/// The number after `consumer` on the first line that also contains `marker`.
fn row_value(screen: &str, consumer: &str, marker: &str) -> Option<f64> {
    let line = screen
        .lines()
        .find(|l| l.contains(consumer) && l.contains(marker))?;
    let after = &line[line.find(consumer)? + consumer.len()..];
    // `17.4k` is 17400: the panel writes thousands with a k.
    let word = after.split_whitespace().next()?;
    match word.strip_suffix('k') {
        Some(k) => k.parse::<f64>().ok().map(|v| v * 1000.0),
        None => word.parse().ok(),
    }
}

/// The value column of cn-index's backlog row for `consumer`.
fn backlog_value(screen: &str, consumer: &str) -> Option<f64> {
    row_value(screen, consumer, "cn-index")
}

#[test]
fn cockpit_starts_shows_the_stall_moves_focus_opens_help_and_quits_cleanly() {
    let mut s = start(
        &["demo", "--scenario", "backlog-stall"],
        "xterm-256color",
        120,
        40,
    );
    let screen = s.wait_for("all six targets", |t| {
        [
            "cn-relay",
            "cn-user-api",
            "cn-index",
            "overlay",
            "mail",
            "rest-api",
        ]
        .iter()
        .all(|n| t.contains(n))
            && t.contains("6/6 targets up")
    });
    assert!(screen.contains("[2] Outbox backlog"), "{screen}");

    // The stalled consumer climbs.
    let first = s.wait_for("index-v1 backlog", |t| {
        backlog_value(t, "index-v1").is_some()
    });
    let v1 = backlog_value(&first, "index-v1").expect("value");
    let later = s.wait_for("index-v1 climbing", |t| {
        backlog_value(t, "index-v1").is_some_and(|v| v > v1 + 20.0)
    });
    // The direction, in the longest words the row has room for (never a cut word).
    assert!(
        later.contains("/s climbing") || later.contains("/s ↑"),
        "{later}"
    );
    assert!(!later.contains("climbi│"), "{later}");

    // Keys move the selection and focus: select the second target and drill into it.
    s.send("1");
    s.send("\x1b[B"); // Down: select the second target
    s.send("\r"); // Enter drills into it
    s.wait_for("detail view of cn-user-api", |t| {
        t.contains("[1] cn-user-api")
    });
    s.send("\x1b"); // Esc back
    s.wait_for("main view again", |t| t.contains("[1] Targets"));

    // Help is generated from the keymap.
    s.send("?");
    let help = s.wait_for("help", |t| t.contains("Keys — ? or Esc closes"));
    assert!(help.contains("Quit"), "{help}");
    s.send("\x1b");
    s.wait_for("help closed", |t| !t.contains("Keys — ? or Esc closes"));

    s.send("q");
    let status = s.wait_exit(Duration::from_secs(10)).expect("q quits");
    assert!(status.success(), "{status:?}");
    // Its last bytes (the terminal restored) read to the end, not just written.
    s.wait_output_end();
    let raw = s.raw();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).into_owned();
    assert!(
        tail.contains("\x1b[?1049l"),
        "left the alternate screen: {tail:?}"
    );
    assert!(tail.contains("\x1b[?25h"), "cursor shown again: {tail:?}");
    assert!(!s.alternate_screen());
}

#[test]
fn narrow_terminal_tab_and_numbers_switch_the_panel() {
    let mut s = start(&["demo"], "screen-256color", 80, 24);
    s.wait_for("start", |t| {
        t.contains("[1] Targets") && t.contains("[2] Outbox backlog")
    });
    s.send("4");
    s.wait_for("latency panel", |t| t.contains("[4] Latency"));
    s.send("\t");
    s.wait_for("disk panel after Tab", |t| t.contains("[5] Disk"));
    s.send(":");
    s.wait_for("palette", |t| t.contains("Command"));
    s.send("hel");
    s.send("\r");
    s.wait_for("help from the palette", |t| {
        t.contains("Keys — ? or Esc closes")
    });
    s.send("\x1b");
    // Esc followed at once by a key reads as Alt+key: wait for the help to close first.
    s.wait_for("help closed", |t| !t.contains("Keys — ? or Esc closes"));
    s.send("q");
    let status = s.wait_exit(Duration::from_secs(10));
    assert!(
        status
            .as_ref()
            .is_some_and(portable_pty::ExitStatus::success),
        "{status:?}\n{}",
        s.contents()
    );
}

#[test]
fn sighup_makes_it_exit_without_spinning() {
    let mut s = start(&["demo"], "tmux-256color", 100, 30);
    s.wait_for("start", |t| t.contains("[1] Targets"));
    let status = std::process::Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = s
        .wait_exit(Duration::from_secs(5))
        .expect("exits within 5 s of SIGHUP");
    assert_eq!(exit.exit_code(), 129, "{exit:?}");
}

#[test]
fn a_closed_terminal_is_a_hangup() {
    let mut s = start(&["demo"], "linux", 100, 30);
    s.wait_for("start", |t| t.contains("[1] Targets"));
    // Close our side of the pty: the program's reads fail (EIO) and the kernel hangs it up.
    s.close();
    assert!(
        s.wait_exit(Duration::from_secs(5)).is_some(),
        "exits within 5 s once its terminal is gone"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = start(&["demo"], "xterm-256color", 100, 30);
    s.wait_for("start", |t| t.contains("[1] Targets"));
    std::process::Command::new("kill")
        .args(["-TERM", &s.pid().to_string()])
        .status()
        .expect("kill");
    let exit = s
        .wait_exit(Duration::from_secs(5))
        .expect("exits on SIGTERM");
    assert_eq!(exit.exit_code(), 143);
    s.wait_output_end();
    assert!(!s.alternate_screen());
}

/// The value on the backlog row of `consumer` that comes from SQL (marked `db`).
fn db_backlog_value(screen: &str, consumer: &str) -> Option<f64> {
    row_value(screen, consumer, " db")
}

#[test]
fn the_db_sourced_backlog_of_the_stalled_consumer_climbs_on_screen() {
    let mut s = start(
        &[
            "demo",
            "--scenario",
            "backlog-stall",
            "--postgres",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ],
        "xterm-256color",
        160,
        50,
    );
    let first = s.wait_for("index-v1 from SQL", |t| {
        db_backlog_value(t, "index-v1").is_some()
    });
    let v1 = db_backlog_value(&first, "index-v1").expect("value");
    let later = s.wait_for("index-v1 from SQL climbing", |t| {
        db_backlog_value(t, "index-v1").is_some_and(|v| v > v1 + 20.0)
    });
    assert!(
        later.contains("db = metric"),
        "SQL and metric agree on screen:\n{later}"
    );
    assert!(
        later.contains("database watchdec"),
        "the database size joins the disk panel"
    );
    s.send("q");
    let status = s.wait_exit(Duration::from_secs(10));
    assert!(
        status
            .as_ref()
            .is_some_and(portable_pty::ExitStatus::success),
        "{status:?}"
    );
}

/// SSH drops mid-action: the action runs to its end headless, the audit file says so, then the
/// process leaves (exit 129, as for any hangup).
#[test]
fn a_hangup_mid_action_lets_it_finish_headless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("finished");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[actions]
state_dir = "{state}"

[[target]]
name = "svc"
health = ["http://127.0.0.1:9/healthz"]

[[target.command]]
name = "slow"
argv = ["sh", "-c", "sleep 3; echo done > {marker}"]
risk = "low"
"#,
            state = dir.path().join("state").display(),
            marker = marker.display()
        ),
    )
    .expect("config");
    let config_arg = config.display().to_string();
    let mut s = start(&["--config", &config_arg], "xterm-256color", 100, 30);
    s.wait_for("start", |t| t.contains("[1] Targets"));
    s.send("a");
    s.wait_for("actions view", |t| t.contains("Run slow"));
    s.send("\r");
    s.wait_for("the plan", |t| t.contains("[ Run: y ]"));
    s.send("y");
    s.wait_for("running", |t| t.contains("▶ run svc"));
    std::process::Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .expect("kill");
    // Still running half a second after the hangup (the point: it does not leave at once),
    // and the command has not finished yet. This sleep lets time pass on purpose.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        s.try_wait().is_none(),
        "left at the hangup although an action runs"
    );
    assert!(!marker.exists());
    let exit = s
        .wait_exit(Duration::from_secs(15))
        .expect("exits once the action has ended");
    assert_eq!(exit.exit_code(), 129, "{exit:?}");
    assert!(marker.exists(), "the action finished headless");
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).expect("audit file");
    let last: serde_json::Value =
        serde_json::from_str(audit.lines().last().expect("a record")).expect("JSON");
    assert_eq!(last["phase"], "outcome");
    assert_eq!(last["result"], "completed-headless", "{audit}");
}

/// Every incident scenario, at 200×50 and at 80×24: the first complete frame (every target
/// up or named, history read) already names the scenario's own alert as FIRING in the strip
/// under the header, with its since-time from history, and no frame on the way says "no
/// alerts firing" once the alert holds.
#[test]
fn every_incident_is_firing_on_the_first_complete_frame_at_both_sizes() {
    let cases = [
        ("backlog-stall", "OutboxBacklogHigh"),
        ("ack-latency", "WebhookAckSlow"),
        ("sse-drop", "SseRingMiss"),
        ("disk-fill", "DbDiskPressure"),
        ("dependency-down", "ApiErrorRateCritical"),
    ];
    for (scenario, alert) in cases {
        for (cols, rows) in [(200, 50), (80, 24)] {
            let mut s = start(
                &["demo", "--scenario", scenario],
                "xterm-256color",
                cols,
                rows,
            );
            let calm_frames = std::cell::Cell::new(0u32);
            let screen = s.wait_for(&format!("{scenario} at {cols}x{rows}"), |t| {
                // A frame is complete once the history is in (the strip says where it came
                // from) and every target has reported.
                let complete = t.contains("history: 15m from") && t.contains("(6/6)");
                if complete && t.contains("no alerts firing") {
                    calm_frames.set(calm_frames.get() + 1);
                }
                complete
            });
            assert_eq!(
                calm_frames.get(),
                0,
                "{scenario} {cols}x{rows}: a complete frame said no alerts firing"
            );
            let strip: Vec<&str> = screen.lines().skip(1).take(6).collect();
            assert!(
                strip
                    .iter()
                    .any(|l| l.contains("FIRING") && l.contains(alert) && l.contains("(history)")),
                "{scenario} {cols}x{rows}: {alert} is not firing from history in the strip:\n{screen}"
            );
            assert!(
                !screen
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .contains("no alerts firing"),
                "{screen}"
            );
            s.send("q");
            let _ = s.wait_exit(Duration::from_secs(10));
        }
    }
}
