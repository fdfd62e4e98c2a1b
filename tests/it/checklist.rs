//! The daily checklist with real parts: a TLS server with a certificate made here, an HTTP
//! server with a skewed clock, the shipped checklist files, a walkthrough resumed from disk,
//! and `watchdeck check` against the demo fleet.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use watchdeck::checklist::{
    evaluate, gather, Check, Checklist, Gathered, Item, PlannedItem, Probe, Status, Verdict,
    Walkthrough, SHIPPED,
};

const DAY: u64 = 86_400;

fn now_ms() -> i64 {
    watchdeck::obs::now_ms()
}

fn item(check: Check) -> PlannedItem {
    PlannedItem {
        key: "svc/x".into(),
        checklist: "test".into(),
        target: Some("svc".into()),
        item: Item {
            id: "x".into(),
            title: "x".into(),
            check: Some(check),
            hint: None,
        },
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------- TLS certificate days left

struct Pki {
    ca_pem: String,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

/// A CA and a leaf for 127.0.0.1 expiring `days_left` days from now (negative: expired).
fn pki(days_left: i64) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "watchdeck test CA");
    ca.not_before = epoch
        + now
            .checked_sub(Duration::from_secs(400 * DAY))
            .expect("past");
    ca.not_after = epoch + (now + Duration::from_secs(400 * DAY));
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("leaf params");
    leaf.not_before = epoch
        + now
            .checked_sub(Duration::from_secs(300 * DAY))
            .expect("past");
    let end = now.as_secs() as i64 + days_left * DAY as i64;
    leaf.not_after = epoch + Duration::from_secs(end as u64);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf cert");
    Pki {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// A TLS server on 127.0.0.1 that completes handshakes and hangs up. Returns its port.
fn tls_server(pki: &Pki) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(mut conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                while conn.is_handshaking() {
                    if conn.complete_io(&mut sock).is_err() {
                        return;
                    }
                }
                // Read until the client closes (it sends close_notify).
                let mut buf = [0u8; 256];
                let mut tls = rustls::Stream::new(&mut conn, &mut sock);
                let _ = tls.read(&mut buf);
            });
        }
    });
    port
}

fn tls_check(days_left: i64, min_days: f64, trust_ca: bool) -> watchdeck::checklist::Outcome {
    let pki = pki(days_left);
    let port = tls_server(&pki);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write ca");
    let url = format!("https://127.0.0.1:{port}/metrics");
    let planned = item(Check::TlsDays {
        url: Some(url.clone()),
        min_days,
    });
    let probe = Probe::Tls {
        url: reqwest::Url::parse(&url).expect("url"),
        ca_file: trust_ca.then_some(ca_file),
    };
    let gathered = runtime().block_on(gather(&probe, Duration::from_secs(5)));
    assert!(
        matches!(&gathered, Gathered::Tls(Ok(_))),
        "handshake: {gathered:?}"
    );
    evaluate(&planned, &probe, None, &gathered, now_ms())
}

#[test]
fn tls_certificate_with_10_days_left_fails_a_30_day_threshold() {
    let o = tls_check(10, 30.0, true);
    assert_eq!(o.status, Status::Fail, "{o:?}");
    let days = o.value.expect("days");
    assert!((9.9..=10.0).contains(&days), "{days}");
    assert!(o.evidence.contains("days left"), "{}", o.evidence);
    assert!(o.evidence.contains("need at least 30"), "{}", o.evidence);
}

#[test]
fn tls_certificate_with_60_days_left_passes() {
    let o = tls_check(60, 30.0, true);
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert!((59.9..=60.0).contains(&o.value.expect("days")));
}

#[test]
fn tls_certificate_from_an_untrusted_ca_fails_even_with_days_left() {
    let o = tls_check(60, 30.0, false);
    assert_eq!(o.status, Status::Fail, "{o:?}");
    assert!(o.evidence.contains("does not verify"), "{}", o.evidence);
}

#[test]
fn expired_certificate_fails_with_its_date() {
    let o = tls_check(-3, 30.0, true);
    assert_eq!(o.status, Status::Fail, "{o:?}");
    assert!(o.evidence.contains("expired on"), "{}", o.evidence);
    assert!(o.value.expect("days") < -2.9);
}

#[test]
fn tls_to_a_closed_port_could_not_be_checked() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("https://127.0.0.1:{port}/");
    let planned = item(Check::TlsDays {
        url: Some(url.clone()),
        min_days: 30.0,
    });
    let probe = Probe::Tls {
        url: reqwest::Url::parse(&url).expect("url"),
        ca_file: None,
    };
    let gathered = runtime().block_on(gather(&probe, Duration::from_secs(2)));
    let o = evaluate(&planned, &probe, None, &gathered, now_ms());
    assert_eq!(o.status, Status::Unknown, "{o:?}");
    assert!(o.evidence.contains("cannot connect"), "{}", o.evidence);
}

// ---------------------------------------------------------------- clock skew from Date

/// An HTTP server whose `Date` header is `offset_s` away from this machine's clock.
async fn skewed_server(offset_s: i64) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let t = if offset_s >= 0 {
                    SystemTime::now() + Duration::from_secs(offset_s as u64)
                } else {
                    SystemTime::now() - Duration::from_secs(offset_s.unsigned_abs())
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nDate: {}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    httpdate::fmt_http_date(t)
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

fn clock_check(offset_s: i64) -> watchdeck::checklist::Outcome {
    runtime().block_on(async {
        let port = skewed_server(offset_s).await;
        let url = format!("http://127.0.0.1:{port}/healthz");
        let planned = item(Check::ClockSkew {
            url: Some(url.clone()),
            max_seconds: 5.0,
        });
        let probe = Probe::Clock {
            url: reqwest::Url::parse(&url).expect("url"),
            ca_file: None,
        };
        let gathered = gather(&probe, Duration::from_secs(5)).await;
        evaluate(&planned, &probe, None, &gathered, now_ms())
    })
}

#[test]
fn a_date_five_minutes_ahead_fails_with_the_skew_in_the_evidence() {
    let o = clock_check(300);
    assert_eq!(o.status, Status::Fail, "{o:?}");
    let skew = o.value.expect("skew");
    assert!((298.0..=302.0).contains(&skew), "{skew}");
    assert!(o.evidence.contains("ahead of"), "{}", o.evidence);
    assert!(o.evidence.contains("s ahead"), "{}", o.evidence);
    let shown: f64 = o
        .evidence
        .trim_start_matches("server clock ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("number");
    assert!((298.0..=302.0).contains(&shown), "{}", o.evidence);
}

#[test]
fn a_date_five_minutes_behind_fails_too() {
    let o = clock_check(-300);
    assert_eq!(o.status, Status::Fail, "{o:?}");
    assert!(o.evidence.contains("behind"), "{}", o.evidence);
}

#[test]
fn an_accurate_date_passes() {
    let o = clock_check(0);
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert!(o.value.expect("skew").abs() < 2.0);
}

// ---------------------------------------------------------------- checklist files

#[test]
fn every_shipped_checklist_parses_and_belongs_to_its_preset() {
    for (name, _) in SHIPPED {
        let c = Checklist::shipped(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.name, name);
        assert_eq!(
            c.preset.map(watchdeck::config::PresetName::as_str),
            Some(name)
        );
        assert!(
            c.items.iter().any(|i| i.check.is_some()),
            "{name}: no auto item"
        );
        for i in &c.items {
            assert!(
                i.hint.is_some(),
                "{name}/{}: every shipped item has a hint",
                i.id
            );
        }
    }
    let overlay = Checklist::shipped("overlay").expect("overlay");
    let types: Vec<&str> = overlay
        .items
        .iter()
        .filter_map(|i| i.check.as_ref().map(Check::type_name))
        .collect();
    for t in [
        "tls-days",
        "value",
        "health",
        "backup-fresh",
        "disk-free",
        "clock-skew",
    ] {
        assert!(types.contains(&t), "overlay checklist lacks {t}");
    }
}

#[test]
fn a_bad_checklist_reports_every_problem_with_its_line() {
    let text = r#"name = "mine"
preset = "overlay"

[[item]]
id = "a"
title = "auto without a check"
kind = "auto"

[[item]]
id = "a"
title = "same id again"
kind = "manual"

[[item]]
id = "lat"
title = "latency without a panel"
kind = "auto"
check = { type = "value", value = "latency-p95", max = 0.2 }

[[item]]
id = "tls"
title = "tls on http"
kind = "auto"
check = { type = "tls-days", url = "http://example.org/", min_days = 20 }
"#;
    let e = Checklist::parse(text, "mine.toml").expect_err("invalid");
    let msg = e.to_string();
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 4, "{msg}");
    assert!(
        lines[0].starts_with("mine.toml:5: item \"a\": kind = \"auto\" needs a check"),
        "{msg}"
    );
    assert!(
        lines[1].starts_with("mine.toml:10: item \"a\": this id is already used"),
        "{msg}"
    );
    assert!(
        lines[2].starts_with("mine.toml:15: item \"lat\": this value needs `panel`"),
        "{msg}"
    );
    assert!(
        lines[3].starts_with("mine.toml:21: item \"tls\": url"),
        "{msg}"
    );
}

#[test]
fn toml_shape_errors_name_the_line() {
    let text = "name = \"x\"\n\n[[item]]\nid = \"a\"\ntitle = \"t\"\nkind = \"sometimes\"\n";
    let msg = Checklist::parse(text, "x.toml")
        .expect_err("bad kind")
        .to_string();
    assert!(msg.starts_with("x.toml:6:"), "{msg}");
    let text = "name = \"x\"\n[[item]]\nid = \"a\"\ntitle = \"t\"\nkind = \"auto\"\ncheck = { type = \"psychic\" }\n";
    let msg = Checklist::parse(text, "x.toml")
        .expect_err("bad type")
        .to_string();
    assert!(msg.starts_with("x.toml:6:"), "{msg}");
    let msg = Checklist::parse("name = \"x\"\nbogus = 1\n", "x.toml")
        .expect_err("unknown key")
        .to_string();
    assert!(
        msg.starts_with("x.toml:2:") && msg.contains("bogus"),
        "{msg}"
    );
}

#[test]
fn load_takes_a_shipped_name_or_a_path() {
    assert_eq!(Checklist::load("mail").expect("mail").name, "mail");
    let e = Checklist::load("nosuch").expect_err("unknown").to_string();
    assert!(e.contains("community-node, overlay, mail, rest-api"), "{e}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mine.toml");
    std::fs::write(
        &path,
        "name = \"mine\"\n[[item]]\nid = \"m\"\ntitle = \"look\"\nkind = \"manual\"\n",
    )
    .expect("write");
    let c = Checklist::load(&path.display().to_string()).expect("file");
    assert_eq!((c.name.as_str(), c.items.len()), ("mine", 1));
}

// ---------------------------------------------------------------- walkthrough resume

fn walk_plan() -> Vec<PlannedItem> {
    let c = Checklist::parse(
        r#"name = "night"
[[item]]
id = "disk"
title = "Disk has room"
kind = "auto"
check = { type = "disk-free", path = "/", min_percent = 1 }

[[item]]
id = "ttl"
title = "TTL job ran"
kind = "manual"
[item.hint]
symptom = "DB grows"
cause = "TTL not running"
action = "Run the TTL job"
runbook = "001 §11"

[[item]]
id = "drill"
title = "Restore drill"
kind = "manual"

[[item]]
id = "ntp"
title = "Clock in sync"
kind = "manual"
"#,
        "night.toml",
    )
    .expect("parses");
    c.items
        .into_iter()
        .map(|item| PlannedItem {
            key: format!("overlay/{}", item.id),
            checklist: c.name.clone(),
            target: Some("overlay".into()),
            item,
        })
        .collect()
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

/// What the resumed walkthrough's report must say.
fn assert_walk_report(report: &watchdeck::checklist::Report) {
    assert_eq!(report.mode, "walkthrough");
    assert_eq!(report.operator, "alice");
    let s = report.summary;
    assert_eq!(
        (s.passed, s.failed, s.skipped, s.pending, s.unknown),
        (1, 1, 1, 1, 0)
    );
    assert_eq!(report.exit_code(), 1);

    let md = report.to_markdown();
    assert!(
        md.contains("Operator **alice** · environment **prod** · walkthrough"),
        "{md}"
    );
    assert!(
        md.contains("**Result: FAILED** — 1 passed, 1 failed"),
        "{md}"
    );
    assert!(
        md.contains("| `overlay/ttl` | TTL job ran (manual) | **FAIL** ([hint](#hint-overlay-ttl)) | manual — note: no deletions since Monday |"),
        "{md}"
    );
    assert!(md.contains("<a id=\"hint-overlay-ttl\"></a>"), "{md}");
    assert!(md.contains("- first action: Run the TTL job"), "{md}");
    assert!(md.contains("- runbook: 001 §11"), "{md}");
    assert!(
        md.contains("| `overlay/drill` | Restore drill (manual) | skipped |"),
        "{md}"
    );
    assert!(
        md.contains("| `overlay/ntp` | Clock in sync (manual) | pending |"),
        "{md}"
    );
    assert!(md.contains("% free"), "disk evidence: {md}");

    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    let items = json["items"].as_array().expect("items");
    let by_key = |k: &str| items.iter().find(|i| i["key"] == k).expect(k);
    assert_eq!(by_key("overlay/disk")["status"], "pass");
    assert_eq!(by_key("overlay/disk")["kind"], "auto");
    assert_eq!(by_key("overlay/ttl")["status"], "fail");
    assert_eq!(by_key("overlay/ttl")["note"], "no deletions since Monday");
    assert_eq!(by_key("overlay/ttl")["hint"]["action"], "Run the TTL job");
    assert!(by_key("overlay/ttl")["at"]
        .as_str()
        .is_some_and(|a| a.ends_with('Z')));
    assert_eq!(by_key("overlay/drill")["status"], "skipped");
    assert_eq!(by_key("overlay/ntp")["status"], "pending");
    assert_eq!(json["summary"]["failed"], 1);
}

#[test]
fn a_walkthrough_resumes_after_an_interruption_and_reports() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir: PathBuf = root.path().join("reports");
    let plan = walk_plan();
    let t0 = now_ms();
    let state_path;
    {
        let mut w = Walkthrough::load_or_new(&dir, &plan, "alice", Some("prod"), t0)
            .expect("new walkthrough");
        state_path = w.path().to_path_buf();
        assert!(state_path.is_file(), "saved at once");
        assert_eq!(w.progress(), (0, 4));
        w.record_at(
            "overlay/ttl",
            Verdict::Fail,
            Some("no deletions since Monday".into()),
            t0 + 1000,
        )
        .expect("record");
        w.record_at("overlay/drill", Verdict::Skip, None, t0 + 2000)
            .expect("record");
        // Interrupted here: the walkthrough is dropped without finishing.
    }
    assert_eq!(mode(&state_path), 0o600);
    assert_eq!(mode(&dir), 0o700);

    let mut w = Walkthrough::load_or_new(&dir, &plan, "alice", None, t0 + 5000).expect("resume");
    assert_eq!(w.progress(), (2, 4));
    assert_eq!(w.next_open(), Some(0));
    let ttl = &w.items()[1];
    assert_eq!(ttl.verdict, Some(Verdict::Fail));
    assert_eq!(ttl.note.as_deref(), Some("no deletions since Monday"));
    assert_eq!(w.state.started_ms, t0, "resuming keeps the start");
    assert_eq!(w.state.environment.as_deref(), Some("prod"));

    // The cockpit judges the auto item, then the operator confirms it and finishes.
    let probe = Probe::Disk { path: "/".into() };
    let gathered = runtime().block_on(gather(&probe, Duration::from_secs(5)));
    let outcome = evaluate(&plan[0], &probe, None, &gathered, now_ms());
    assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
    w.set_auto("overlay/disk", outcome).expect("auto");
    w.record_at("overlay/disk", Verdict::Pass, None, t0 + 6000)
        .expect("record");
    assert_eq!(w.next_open(), Some(3));
    assert!(w.record("overlay/nope", Verdict::Pass, None).is_err());

    let report = w.finish(Vec::new(), t0 + 7000);
    assert_walk_report(&report);
    let md = report.to_markdown();
    let (md_path, json_path) = report.write(&dir).expect("write report");
    let date = &report.date;
    assert_eq!(
        md_path.file_name().and_then(|n| n.to_str()),
        Some(format!("{date}-alice-night.md").as_str())
    );
    assert_eq!(
        json_path.file_name().and_then(|n| n.to_str()),
        Some(format!("{date}-alice-night.json").as_str())
    );
    assert_eq!(mode(&md_path), 0o600);
    assert_eq!(mode(&json_path), 0o600);
    assert_eq!(std::fs::read_to_string(&md_path).expect("md"), md);
    w.close().expect("close");
    assert!(
        !state_path.exists(),
        "the state goes once the report is saved"
    );
}

// ---------------------------------------------------------------- `watchdeck check`

fn check_cmd(state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_watchdeck"))
        .env("XDG_STATE_HOME", state)
        .env("USER", "ci-bot")
        .env_remove("WATCHDECK_CONFIG")
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn check_on_the_calm_demo_passes_and_saves_the_report() {
    let state = tempfile::tempdir().expect("tempdir");
    let out = check_cmd(state.path(), &["check", "--demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("**Result: PASSED**"), "{stdout}");
    // The demo's nightly backup ran, so the overlay's backup is fresh.
    assert!(
        stdout.contains("| `overlay/backup-fresh` |")
            && stdout.contains("newest verified backup is"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| `overlay/ttl-checkpoint` | TTL job"),
        "{stdout}"
    );
    let reports = state.path().join("watchdeck/reports");
    assert_eq!(mode(&reports), 0o700);
    let names: Vec<String> = std::fs::read_dir(&reports)
        .expect("reports dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let md = names
        .iter()
        .find(|n| n.ends_with("-ci-bot-fleet.md"))
        .unwrap_or_else(|| panic!("{names:?}"));
    assert_eq!(mode(&reports.join(md)), 0o600);
    let json = md.replace(".md", ".json");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join(&json)).expect(&json)).expect("json");
    assert_eq!(v["mode"], "headless");
    assert_eq!(v["summary"]["failed"], 0);
    let manual = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["key"] == "overlay/backup-recover")
        .expect("manual item");
    assert_eq!(manual["status"], "pending");
}

#[test]
fn check_on_an_incident_fails_with_the_hint() {
    let state = tempfile::tempdir().expect("tempdir");
    let out = check_cmd(
        state.path(),
        &[
            "check",
            "--demo",
            "--scenario",
            "ack-latency",
            "--format",
            "json",
            "--no-save",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ack = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["key"] == "overlay/ack-latency")
        .expect("ack item");
    assert_eq!(ack["status"], "fail");
    assert!(ack["evidence"]
        .as_str()
        .is_some_and(|e| e.contains("max 0.2")));
    assert!(ack["hint"]["action"]
        .as_str()
        .is_some_and(|a| a.contains("204")));
    assert!(
        !state.path().join("watchdeck/reports").exists(),
        "--no-save"
    );
}

#[test]
fn check_with_one_named_checklist_runs_only_its_items() {
    let state = tempfile::tempdir().expect("tempdir");
    let out = check_cmd(
        state.path(),
        &[
            "check",
            "--demo",
            "--scenario",
            "disk-fill",
            "--checklist",
            "mail",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["checklists"], serde_json::json!(["mail"]));
    let items = v["items"].as_array().expect("items");
    assert!(items.iter().all(|i| i["target"] == "mail"), "{items:?}");
    let storage = items
        .iter()
        .find(|i| i["key"] == "mail/storage")
        .expect("storage");
    assert_eq!(storage["status"], "fail");
}

#[test]
fn check_that_cannot_check_exits_2() {
    let state = tempfile::tempdir().expect("tempdir");
    let bad = state.path().join("bad.toml");
    std::fs::write(&bad, "[[target]]\nname = \"x\"\nmetrics = \"not a url\"\n").expect("write");
    let out = check_cmd(
        state.path(),
        &["--config", &bad.display().to_string(), "check"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));

    let out = check_cmd(state.path(), &["check", "--demo", "--checklist", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown checklist \"nosuch\""));

    let mine = state.path().join("mine.toml");
    std::fs::write(
        &mine,
        "name = \"mine\"\ntargets = [\"overlay\", \"nope\"]\n[[item]]\nid = \"m\"\ntitle = \"look\"\nkind = \"manual\"\n",
    )
    .expect("write");
    let out = check_cmd(
        state.path(),
        &[
            "check",
            "--demo",
            "--checklist",
            &mine.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("names targets the config does not have: nope"));

    // A target that does not answer: its value checks cannot be made.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cfg = state.path().join("down.toml");
    std::fs::write(
        &cfg,
        format!("[[target]]\nname = \"api\"\npreset = \"rest-api\"\nmetrics = \"http://127.0.0.1:{port}/metrics\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n"),
    )
    .expect("write");
    let out = check_cmd(
        state.path(),
        &[
            "--config",
            &cfg.display().to_string(),
            "check",
            "--no-save",
            "--format",
            "json",
        ],
    );
    // Its value checks cannot be made (below), but the target being down is itself a known
    // failure: the TargetDown rule holds, and a check never passes while a rule holds.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["summary"]["alerts_pending"], 1, "{v}");
    assert_eq!(v["alerts"][0]["name"], "TargetDown", "{v}");
    let lat = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["key"] == "api/latency")
        .expect("latency");
    assert_eq!(lat["status"], "unknown");
    assert!(
        lat["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("api is down")),
        "{lat}"
    );
}

#[test]
fn report_files_are_not_readable_by_others_even_with_a_loose_umask() {
    // The reports directory is created 0700 whatever the umask says.
    let state = tempfile::tempdir().expect("tempdir");
    let dir = state.path().join("a/b/reports");
    let plan = walk_plan();
    let w = Walkthrough::load_or_new(&dir, &plan, "bob", None, now_ms()).expect("new");
    assert_eq!(mode(&dir), 0o700);
    let report = w.finish(Vec::new(), now_ms());
    let (md, _) = report.write(&dir).expect("write");
    assert_eq!(mode(&md), 0o600);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&md)
        .expect("open");
    f.write_all(b"").expect("writable by the owner");
}

/// `check --demo --scenario S` for all six scenarios: calm passes (0); every incident fails
/// (1) on its own alert, already firing from the demo's history, never PASSED.
#[test]
fn check_exit_codes_for_every_demo_scenario() {
    let cases = [
        ("calm", 0, None),
        ("backlog-stall", 1, Some("OutboxBacklogHigh")),
        ("ack-latency", 1, Some("WebhookAckSlow")),
        ("sse-drop", 1, Some("SseRingMiss")),
        ("disk-fill", 1, Some("DbDiskPressure")),
        ("dependency-down", 1, Some("ApiErrorRateCritical")),
    ];
    for (scenario, code, alert) in cases {
        let state = tempfile::tempdir().expect("tempdir");
        let out = check_cmd(
            state.path(),
            &[
                "check",
                "--demo",
                "--scenario",
                scenario,
                "--format",
                "json",
                "--no-save",
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{scenario}: {stdout}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        match alert {
            None => assert_eq!(v["alerts"], serde_json::json!([]), "{scenario}: {v}"),
            Some(name) => {
                let firing = v["alerts"]
                    .as_array()
                    .expect("alerts")
                    .iter()
                    .find(|a| a["name"] == name)
                    .unwrap_or_else(|| panic!("{scenario}: no {name} in {v}"));
                assert_eq!(firing["state"], "firing", "{scenario}: {firing}");
                assert_eq!(firing["from_history"], true, "{scenario}: {firing}");
            }
        }
    }
}
