//! Cockpit costs on the demo fleet: render time per frame, bytes written per update, idle CPU
//! of the real binary, and time to the first complete frame.
//!
//! Run: `cargo bench --bench screen` (prints figures; takes about 80 s because idle CPU is
//! measured over 60 s). `WATCHDECK_BENCH_IDLE_SECS=10` shortens that part.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use watchdeck::app::update::{update, Msg};
use watchdeck::config::Config;
use watchdeck::demo::{Fleet, Scenario};
use watchdeck::front::cockpit;
use watchdeck::source::Collector;

// The pseudo-terminal harness of the end-to-end tests (the bench uses a part of it).
#[allow(dead_code)]
#[path = "../tests/it/common/pty.rs"]
mod pty;

/// A writer that counts what the terminal backend writes.
#[derive(Clone, Default)]
struct Counting(Arc<Mutex<usize>>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().expect("count") += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ten_target_config(fleet: &Fleet) -> String {
    // The six demo services, plus four more targets reading the same services under other names.
    let mut text = fleet.config_toml(Duration::from_secs(1));
    for (i, t) in fleet.targets.iter().take(4).enumerate() {
        let health = t
            .health_urls
            .iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            text,
            "\n[[target]]\nname = \"{}-copy{i}\"\npreset = \"{}\"\nmetrics = \"{}\"\nhealth = [{health}]\n",
            t.name, t.preset, t.metrics_url
        );
    }
    text
}

async fn in_process(config: &Config) {
    let mut model = cockpit::model(config, &cockpit::Options::default()).expect("model");
    model.size = (200, 50);
    let mut collector = Collector::start(config, Some(3)).expect("collector");
    let mut observations = Vec::new();
    while let Some(obs) = collector.rx.recv().await {
        observations.push(obs);
    }
    let split = observations.len() * 2 / 3;
    for obs in observations.drain(..split) {
        update(&mut model, Msg::Observation(Box::new(obs)));
    }

    // Render time per frame at 200x50: render, diff against the previous frame, encode the
    // changes for the terminal (into a byte counter), as the cockpit does.
    let counter = Counting::default();
    let mut screen = watchdeck::terminal::Screen::new(CrosstermBackend::new(counter.clone()));
    let bytes = || *counter.0.lock().expect("count");
    let mut draw = |model: &watchdeck::app::model::Model| {
        screen
            .draw_at((200, 50), |area, buf| {
                watchdeck::ui::render(model, area, buf);
            })
            .expect("draw")
    };
    draw(&model);
    let first = bytes();
    let n = 500;
    let t = Instant::now();
    for i in 0..n {
        // Alternate the selection so every frame has something to write.
        model.selected[0] = i % 2;
        draw(&model);
    }
    let per_frame = t.elapsed() / n as u32;
    model.selected[0] = 0;
    draw(&model);

    // Bytes for a frame where only numbers changed (the last round of observations), and for
    // one where nothing changed.
    let before = bytes();
    for obs in observations {
        update(&mut model, Msg::Observation(Box::new(obs)));
    }
    draw(&model);
    let numbers = bytes() - before;
    draw(&model);
    let nothing = bytes() - before - numbers;

    println!(
        "render + diff + encode at 200x50, 10 targets: {:.3} ms/frame",
        per_frame.as_secs_f64() * 1e3
    );
    println!("bytes written: first frame {first}, update with new numbers {numbers}, nothing changed {nothing}");
}

fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn real_binary(config_path: &std::path::Path, idle_secs: u64, admin_token: &str) {
    let mut term = pty::Launch::new(&["--config", config_path.to_str().expect("utf-8 path")])
        .size(200, 50)
        .env(watchdeck::demo::ADMIN_TOKEN_ENV, admin_token)
        .mark("first frame", |t| t.contains("[1] Targets"))
        .mark("complete", |t| t.contains("10/10 targets up"))
        .start();
    term.wait_mark("complete", Duration::from_secs(20));
    let pid = term.pid();
    std::thread::sleep(Duration::from_secs(2));
    let t0 = proc_cpu_ticks(pid).expect("stat");
    let w0 = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_secs));
    let t1 = proc_cpu_ticks(pid).expect("stat");
    let wall = w0.elapsed().as_secs_f64();
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    let cpu = (t1 - t0) as f64 / 100.0;
    term.send("q");
    let _ = term.wait_exit(Duration::from_secs(10));
    let fmt = |d: Option<Duration>| {
        d.map_or_else(
            || "not seen".to_owned(),
            |d| format!("{:.0} ms", d.as_secs_f64() * 1e3),
        )
    };
    println!(
        "real binary, 10 targets at 1 s: first frame {}, all targets up on screen {}",
        fmt(term.mark("first frame")),
        fmt(term.mark("complete"))
    );
    println!(
        "idle CPU over {wall:.0} s: {cpu:.2} s = {:.2}% of one core",
        cpu / wall * 100.0
    );
}

fn main() {
    let idle_secs = std::env::var("WATCHDECK_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let fleet = rt
        .block_on(Fleet::start(Scenario::BacklogStall, None))
        .expect("fleet");
    let text = ten_target_config(&fleet);
    // The fleet's own environment: its admin token stands in for an unset variable.
    let config = Config::parse(&text, None, &fleet.env()).expect("config");
    rt.block_on(in_process(&config));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ten.toml");
    std::fs::write(&path, text).expect("write config");
    real_binary(&path, idle_secs, fleet.admin_token());
    rt.block_on(fleet.shutdown());
    // Time from launch to the scenario's alert FIRING on screen: with the demo's history
    // (replayed at launch) and without it (the rule's `for:` must pass live: 1 m here).
    let short = idle_secs < 60;
    for (scenario, alert) in [
        ("ack-latency", "WebhookAckSlow"),
        ("backlog-stall", "OutboxBacklogHigh"),
    ] {
        let with = first_alert(&["demo", "--scenario", scenario], alert, 30);
        println!("launch to {alert} FIRING on screen, demo {scenario} with history: {with}");
    }
    if short {
        println!("launch to WebhookAckSlow FIRING without history: skipped (takes over 60 s; run without WATCHDECK_BENCH_IDLE_SECS)");
    } else {
        let without = first_alert(
            &["demo", "--scenario", "ack-latency", "--no-history"],
            "WebhookAckSlow",
            120,
        );
        println!("launch to WebhookAckSlow FIRING on screen, demo ack-latency without history: {without}");
    }
}

/// Starts the real binary in a 120x40 pty and returns how long after launch a line of the
/// screen shows `alert` as FIRING (or says it was not seen within `limit_s`).
fn first_alert(args: &[&str], alert: &str, limit_s: u64) -> String {
    let alert = alert.to_owned();
    let mut term = pty::Launch::new(args)
        .mark("firing", move |t| {
            t.lines()
                .any(|l| l.contains("FIRING") && l.contains(alert.as_str()))
        })
        .start();
    let seen = term.wait_mark("firing", Duration::from_secs(limit_s));
    term.send("q");
    let _ = term.wait_exit(Duration::from_secs(10));
    seen.map_or_else(
        || format!("not seen within {limit_s} s"),
        |d| format!("{:.0} ms", d.as_secs_f64() * 1e3),
    )
}
