//! Config fixtures: every shipped preset and the template parse, valid files give the expected
//! values, invalid files give the expected message on the expected line, and header values
//! never leak into `Debug` or error text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use watchdeck::config::{template, Config, ConfigError, Limits, Preset, PresetName, Secret};

const TOKEN: &str = "tok-from-env-SECRET";
const MULTILINE: &str = "line1\nline2-SECRET";

fn env(name: &str) -> Option<String> {
    match name {
        "CN_TOKEN" => Some(TOKEN.to_string()),
        "MULTILINE_TOKEN" => Some(MULTILINE.to_string()),
        _ => None,
    }
}

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind)
        .join(name)
}

fn read(kind: &str, name: &str) -> String {
    std::fs::read_to_string(fixture(kind, name)).expect("fixture exists")
}

fn parse_valid(name: &str) -> Config {
    let path = fixture("valid", name);
    Config::parse(&read("valid", name), Some(&path), &env)
        .unwrap_or_else(|e| panic!("{name} should parse:\n{e}"))
}

fn parse_invalid(name: &str) -> ConfigError {
    match Config::parse(&read("invalid", name), Some(Path::new(name)), &env) {
        Ok(c) => panic!("{name} should not parse, got {c:?}"),
        Err(e) => e,
    }
}

/// Asserts the exact set of problems: one line each, `name:line:col: ` then a message that
/// contains every listed fragment.
fn expect_problems(name: &str, expected: &[(&str, &[&str])]) -> String {
    let err = parse_invalid(name);
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "{name}: expected {} problems, got:\n{text}",
        expected.len()
    );
    assert_eq!(err.problems().len(), expected.len());
    for (line, (at, fragments)) in lines.iter().zip(expected) {
        let prefix = format!("{name}:{at}: ");
        assert!(
            line.starts_with(&prefix),
            "{name}: expected {prefix:?} in\n{line}"
        );
        for f in *fragments {
            assert!(line.contains(f), "{name}: expected {f:?} in\n{line}");
        }
    }
    text
}

// ---------------------------------------------------------------- presets

/// Sample names each preset must watch, exactly as the runbooks spell them.
fn runbook_names(name: PresetName) -> &'static [&'static str] {
    match name {
        PresetName::CommunityNode => &[
            "outbox_backlog",
            "http_request_duration_seconds_bucket",
            "suggest_stage_a_latency_ms_bucket",
            "suggest_stage_b_latency_ms_bucket",
            "http_requests_total",
            "ingest_rejected_total",
            "outbox_consumer_batches_total",
        ],
        PresetName::Overlay => &[
            "sse_clients",
            "webhook_ack_latency_seconds_bucket",
            "sse_broadcast_latency_seconds_bucket",
            "sse_ring_miss_total",
            "eventsub_invalid_signature_total",
            "oauth_validate_failures_total",
        ],
        PresetName::Mail => &[
            "mairust_queue_length",
            "mairust_storage_bytes",
            "mairust_storage_limit_bytes",
            "mairust_smtp_duration_seconds_bucket",
            "mairust_smtp_errors_total",
        ],
        PresetName::RestApi => &[
            "http_request_duration_seconds_bucket",
            "http_requests_total",
            "db_pool_connections",
        ],
    }
}

/// Every series the demo fleet contract (notes/metrics.md) lists per kind of service; a preset
/// naming anything else would watch a series that never arrives.
fn contract(name: PresetName) -> &'static [&'static str] {
    match name {
        PresetName::CommunityNode => &[
            "outbox_backlog",
            "outbox_consumer_batches_total",
            "outbox_consumer_processing_duration_seconds_bucket",
            "outbox_consumer_batch_size",
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "ws_connections",
            "ws_req_total",
            "ws_event_total",
            "ingest_received_total",
            "ingest_rejected_total",
            "suggest_stage_a_latency_ms_bucket",
            "suggest_stage_b_latency_ms_bucket",
            "process_resident_memory_bytes",
        ],
        PresetName::Overlay => &[
            "sse_clients",
            "sse_broadcast_latency_seconds_bucket",
            "sse_ring_miss_total",
            "webhook_ack_latency_seconds_bucket",
            "eventsub_ingress_total",
            "eventsub_invalid_signature_total",
            "oauth_validate_failures_total",
            "db_ttl_deleted_total",
            "db_checkpoint_seconds_bucket",
        ],
        PresetName::Mail => &[
            "mairust_smtp_connections_total",
            "mairust_smtp_messages_total",
            "mairust_smtp_errors_total",
            "mairust_smtp_duration_seconds_bucket",
            "mairust_api_duration_seconds_bucket",
            "mairust_api_requests_total",
            "mairust_hook_calls_total",
            "mairust_plugin_errors_total",
            "mairust_queue_length",
            "mairust_storage_bytes",
            "mairust_storage_limit_bytes",
        ],
        PresetName::RestApi => &[
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "nodejs_heap_size_used_bytes",
            "db_pool_connections",
            "db_pool_max_connections",
        ],
    }
}

#[test]
fn every_shipped_preset_parses_and_watches_the_runbook_metrics() {
    for name in PresetName::ALL {
        let preset =
            Preset::from_toml(Preset::source(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(preset.name, name);
        // Loaded, a preset also carries the rules every preset has (common.toml).
        let mut loaded = Preset::load(name);
        let common: Vec<String> = loaded.alerts[preset.alerts.len()..]
            .iter()
            .map(|a| a.name.clone())
            .collect();
        assert_eq!(
            common,
            ["TargetDown", "HealthCheckFailing", "DiskFull"],
            "{name}"
        );
        loaded.alerts.truncate(preset.alerts.len());
        assert_eq!(loaded, preset);
        assert!(!preset.description.is_empty(), "{name}");

        let watched = preset.watched_metrics();
        assert!(!watched.is_empty(), "{name}");
        for required in runbook_names(name) {
            assert!(
                watched.iter().any(|w| w == required),
                "{name} misses {required}: {watched:?}"
            );
        }
        for w in &watched {
            assert!(
                contract(name).contains(&w.as_str()),
                "{name} watches {w}, not in the runbook"
            );
        }
        let mut unique = watched.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            watched.len(),
            "{name}: duplicates in {watched:?}"
        );
    }
}

#[test]
fn preset_thresholds_follow_the_runbooks() {
    let cn = Preset::load(PresetName::CommunityNode);
    let backlog = &cn.backlog[0];
    assert_eq!(backlog.metric, "outbox_backlog");
    assert_eq!(backlog.by, ["service", "consumer"]);
    assert!(backlog.warn_above.is_some());
    let search = cn
        .latency
        .iter()
        .find(|l| l.histogram == "http_request_duration_seconds")
        .expect("search panel");
    assert_eq!(
        search.matchers,
        [("route".to_string(), "/v1/search".to_string())]
    );
    assert_eq!(search.threshold_seconds, Some(0.18));
    assert!((search.scale - 1.0).abs() < f64::EPSILON);
    for stage in ["suggest_stage_a_latency_ms", "suggest_stage_b_latency_ms"] {
        let l = cn
            .latency
            .iter()
            .find(|l| l.histogram == stage)
            .expect(stage);
        assert!((l.scale - 0.001).abs() < f64::EPSILON);
        assert_eq!(l.threshold_seconds, Some(0.08));
    }
    assert_eq!(cn.errors[0].metric, "http_requests_total");
    assert_eq!(cn.errors[0].error_prefix, "5");
    let rejects = cn
        .counters
        .iter()
        .find(|c| c.metric == "ingest_rejected_total")
        .expect("rejects");
    assert_eq!(rejects.by, ["reason"]);
    let batches = cn
        .counters
        .iter()
        .find(|c| c.metric == "outbox_consumer_batches_total")
        .expect("batches");
    assert_eq!(batches.by, ["consumer", "result"]);

    let overlay = Preset::load(PresetName::Overlay);
    assert_eq!(overlay.sse[0].metric, "sse_clients");
    assert_eq!(overlay.sse[0].by, ["aud"]);
    let ack = overlay
        .latency
        .iter()
        .find(|l| l.histogram == "webhook_ack_latency_seconds")
        .expect("ack");
    assert_eq!(ack.threshold_seconds, Some(0.2));
    let alerting: Vec<&str> = overlay
        .counters
        .iter()
        .filter(|c| c.alert_on_increase)
        .map(|c| c.metric.as_str())
        .collect();
    assert_eq!(
        alerting,
        ["sse_ring_miss_total", "eventsub_invalid_signature_total"]
    );

    let mail = Preset::load(PresetName::Mail);
    assert_eq!(mail.queue[0].metric, "mairust_queue_length");
    assert_eq!(mail.queue[0].warn_above, Some(1000.0));
    assert_eq!(mail.storage[0].used, "mairust_storage_bytes");
    assert_eq!(mail.storage[0].limit, "mairust_storage_limit_bytes");
    assert_eq!(mail.storage[0].warn_ratio, Some(0.9));
    assert!(mail.errors.is_empty());
    assert!(mail
        .counters
        .iter()
        .any(|c| c.metric == "mairust_smtp_errors_total"));

    let api = Preset::load(PresetName::RestApi);
    assert_eq!(api.latency[0].histogram, "http_request_duration_seconds");
    assert_eq!(api.latency[0].threshold_seconds, Some(0.5));
    assert_eq!(api.errors[0].warn_ratio, Some(0.03));
    assert_eq!(api.errors[0].status_label, "status");
}

// ---------------------------------------------------------------- template

#[test]
fn template_parses_and_shows_every_key() {
    let config = Config::parse(template(), None, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.environment.as_deref(), Some("prod"));
    assert_eq!(config.targets.len(), 2);
    assert_eq!(
        config.targets[0].headers[0].1.expose(),
        format!("Bearer {TOKEN}")
    );
    assert_eq!(config.disks.len(), 1);
    for key in [
        "environment",
        "[defaults]",
        "interval",
        "timeout",
        "[limits]",
        "max_body",
        "max_samples",
        "max_labels",
        "max_label_length",
        "[[target]]",
        "name",
        "preset",
        "metrics",
        "health",
        "ca_file",
        "[target.headers]",
        "[target.limits]",
        "[[disk]]",
        "path",
        "[[fleet]]",
        "selector",
        "basic_password_env",
        "name_label",
    ] {
        assert!(template().contains(key), "template does not show {key}");
    }
    for preset in PresetName::ALL {
        assert!(
            template().contains(preset.as_str()),
            "template does not list {preset}"
        );
    }
}

#[test]
fn template_needs_its_token_from_the_environment() {
    let err = Config::parse(template(), None, &|_| None)
        .expect_err("should fail")
        .to_string();
    assert!(
        err.contains("${CN_TOKEN}") && err.contains("export CN_TOKEN"),
        "{err}"
    );
    assert!(err.starts_with("<config>:"), "{err}");
}

// ---------------------------------------------------------------- valid files

#[test]
fn minimal_gets_the_defaults() {
    let config = parse_valid("minimal.toml");
    assert_eq!(config.source, Some(fixture("valid", "minimal.toml")));
    assert_eq!(config.environment, None);
    assert!(config.disks.is_empty());
    let [t] = config.targets.as_slice() else {
        panic!("one target")
    };
    assert_eq!(t.name, "overlay");
    assert_eq!(t.preset, None);
    assert_eq!(t.metrics, None);
    assert_eq!(t.health.len(), 1);
    assert_eq!(t.health[0].as_str(), "http://127.0.0.1:9201/healthz");
    assert_eq!(t.interval, Duration::from_secs(5));
    assert_eq!(t.timeout, Duration::from_secs(3));
    assert!(t.headers.is_empty());
    assert_eq!(t.ca_file, None);
    assert_eq!(
        t.limits,
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_samples: 200_000,
            max_labels: 64,
            max_label_length: 4096
        }
    );
    assert_eq!(t.limits, Limits::default());
}

#[test]
fn full_sets_every_value() {
    let config = parse_valid("full.toml");
    assert_eq!(config.environment.as_deref(), Some("staging"));
    let [relay, mail, api] = config.targets.as_slice() else {
        panic!("three targets")
    };

    assert_eq!(relay.name, "cn-relay");
    assert_eq!(relay.preset, Some(PresetName::CommunityNode));
    assert_eq!(
        relay.metrics.as_ref().map(reqwest::Url::as_str),
        Some("https://relay.internal:9101/metrics")
    );
    assert_eq!(relay.health.len(), 2);
    assert_eq!(relay.health[1].path(), "/readyz");
    assert_eq!(relay.interval, Duration::from_secs(2));
    // [defaults] timeout 4s is capped at this target's 2s interval.
    assert_eq!(relay.timeout, Duration::from_secs(2));
    assert_eq!(
        relay.ca_file,
        Some(fixture("valid", "certs/internal-ca.pem"))
    );
    // File order, env resolved.
    assert_eq!(
        relay.headers,
        vec![
            ("X-Scope".to_string(), Secret::new("ops")),
            (
                "Authorization".to_string(),
                Secret::new(format!("Bearer {TOKEN}"))
            ),
        ]
    );
    // Per-target limits override [limits] key by key.
    assert_eq!(
        relay.limits,
        Limits {
            max_body_bytes: 1_048_576,
            max_samples: 100_000,
            max_labels: 16,
            max_label_length: 1024
        }
    );

    assert_eq!(mail.name, "mail.primary");
    assert_eq!(mail.preset, Some(PresetName::Mail));
    assert!(mail.health.is_empty());
    assert_eq!(mail.interval, Duration::from_secs(60));
    assert_eq!(mail.timeout, Duration::from_secs(10));
    assert_eq!(
        mail.limits,
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_samples: 100_000,
            max_labels: 32,
            max_label_length: 1024
        }
    );

    assert_eq!(api.name, "rest_api-1");
    assert_eq!(api.preset, Some(PresetName::RestApi));
    assert_eq!(api.metrics, None);
    assert_eq!(api.interval, Duration::from_secs(10));
    assert_eq!(api.timeout, Duration::from_secs(4));

    assert_eq!(config.disks.len(), 2);
    assert_eq!(config.disks[0].path, Path::new("/var/lib/postgresql"));
    assert_eq!(config.disks[0].name, "pgdata");
    assert_eq!(config.disks[1].name, "/");
}

#[test]
fn disks_only_is_enough() {
    let config = parse_valid("disks_only.toml");
    assert!(config.targets.is_empty());
    let names: Vec<&str> = config.disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["/var/lib/overlay", "mail spool"]);
}

#[test]
fn load_reads_the_file_and_checks_the_ca() {
    let config = Config::load(&fixture("valid", "minimal.toml")).expect("loads");
    assert_eq!(config.targets[0].name, "overlay");

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
    std::fs::copy(
        fixture("valid", "certs/internal-ca.pem"),
        dir.path().join("certs/ca.pem"),
    )
    .expect("copy CA");
    let text = "[[target]]\nname = \"r\"\nmetrics = \"https://r.internal/metrics\"\nca_file = \"certs/ca.pem\"\n";
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write");
    let config = Config::load(&path).expect("loads with CA");
    assert_eq!(config.source.as_deref(), Some(path.as_path()));
    assert_eq!(
        config.targets[0].ca_file,
        Some(dir.path().join("certs/ca.pem"))
    );

    // The same file names a CA that is not PEM.
    std::fs::write(dir.path().join("certs/ca.pem"), "not a certificate").expect("write");
    let err = Config::load(&path).expect_err("should fail").to_string();
    assert!(
        err.starts_with(&format!("{}:4:11: ", path.display())),
        "{err}"
    );
    assert!(err.contains("holds no PEM certificate"), "{err}");
}

// ---------------------------------------------------------------- invalid files

#[test]
fn syntax_error_points_at_the_line() {
    expect_problems(
        "syntax_error.toml",
        &[("4:41", &["invalid basic string", "fix the TOML"])],
    );
}

#[test]
fn unknown_keys_are_all_listed_with_the_allowed_ones() {
    expect_problems(
        "unknown_keys.toml",
        &[
            (
                "1:1",
                &[
                    "unknown key `enviroment` in the top level",
                    "did you mean `environment`?",
                    "allowed keys: environment, defaults, limits, target, disk",
                ],
            ),
            (
                "5:1",
                &[
                    "unknown key `timout` in [defaults]",
                    "did you mean `timeout`?",
                    "allowed keys: interval, timeout",
                ],
            ),
            (
                "10:1",
                &[
                    "unknown key `header` in [[target]]",
                    "did you mean `headers`?",
                    "ca_file, headers, limits",
                ],
            ),
            (
                "13:1",
                &[
                    "unknown key `max_body_size` in [target.limits]",
                    "allowed keys: max_body, max_samples, max_labels, max_label_length",
                ],
            ),
            (
                "17:1",
                &[
                    "unknown key `label` in [[disk]]",
                    "allowed keys: path, name",
                ],
            ),
        ],
    );
}

#[test]
fn bad_urls_are_quoted_without_credentials() {
    let text = expect_problems(
        "bad_urls.toml",
        &[
            ("3:11", &["target \"relay\": metrics \"localhost:9101/metrics\" does not start with http:// or https://", "\"http://localhost:9101/metrics\""]),
            ("4:11", &["health \"ftp://127.0.0.1/healthz\" uses scheme \"ftp\"", "only http:// and https://"]),
            ("4:38", &["health \"not a url\" is not a valid URL"]),
            ("8:11", &["target \"mail\": metrics \"http://***@10.0.0.5:9090/metrics\" carries credentials", "[target.headers]"]),
        ],
    );
    assert!(
        !text.contains("hunter2") && !text.contains("admin"),
        "{text}"
    );
}

#[test]
fn a_target_needs_metrics_or_health() {
    expect_problems(
        "nothing_to_watch.toml",
        &[(
            "7:1",
            &[
                "target \"empty\": nothing to watch",
                "metrics = ",
                "health = ",
            ],
        )],
    );
    expect_problems(
        "empty.toml",
        &[("1:1", &["nothing to watch", "[[target]]", "[[disk]]"])],
    );
}

#[test]
fn timeouts_must_fit_their_interval() {
    expect_problems(
        "timeouts.toml",
        &[
            ("3:11", &["[defaults] timeout 3s is longer than interval 2s"]),
            ("9:11", &["target \"cn-relay\": timeout 10s is longer than interval 5s — the scrape deadline must fit in the interval; lower timeout or raise interval"]),
            ("14:11", &["target \"zero-timeout\": timeout \"0s\" must be greater than 0"]),
            ("19:12", &["target \"zero-interval\": interval \"0ms\" must be greater than 0"]),
        ],
    );
}

#[test]
fn duplicate_targets_name_both_lines() {
    expect_problems(
        "duplicate_targets.toml",
        &[(
            "10:8",
            &[
                "target \"cn-relay\" is defined twice (lines 2 and 10)",
                "rename one",
            ],
        )],
    );
}

#[test]
fn bad_durations_and_sizes_quote_the_value() {
    expect_problems(
        "bad_values.toml",
        &[
            (
                "2:12",
                &[
                    "[defaults] interval \"5 parsecs\" is not a duration",
                    "\"5s\"",
                ],
            ),
            ("3:11", &["[defaults] timeout = 3 has no unit", "\"3s\""]),
            (
                "6:12",
                &[
                    "[limits] max_body \"16 megs\" is not a size",
                    "unknown unit \"megs\"",
                    "\"16MiB\"",
                ],
            ),
            ("7:15", &["[limits] max_samples = 0 must be greater than 0"]),
            (
                "14:12",
                &["target \"cn-relay\": [target.limits] max_body = 0 must be greater than 0"],
            ),
            (
                "15:14",
                &["[target.limits] max_labels = -4 must be greater than 0"],
            ),
            (
                "16:20",
                &[
                    "[target.limits] max_label_length must be a whole number",
                    "not \"lots\"",
                ],
            ),
        ],
    );
}

#[test]
fn unknown_preset_lists_the_valid_ones() {
    expect_problems(
        "unknown_preset.toml",
        &[("3:10", &["target \"cn-relay\": unknown preset \"community\" — valid presets: community-node, overlay, mail, rest-api"])],
    );
}

#[test]
fn header_problems_name_the_header_never_the_value() {
    let text = expect_problems(
        "headers.toml",
        &[
            ("7:1", &["header name \"X Bad Name\" is not a valid HTTP header name"]),
            ("8:13", &["header \"X-Api-Key\" uses ${API_KEY_MISSING}, which is not set", "export API_KEY_MISSING"]),
            ("9:15", &["header \"X-Multiline\" has a value that HTTP does not allow after substituting ${MULTILINE_TOKEN}"]),
            ("10:12", &["header \"X-Number\" must be a string"]),
            ("11:12", &["header \"X-Broken\" has a malformed ${...} reference"]),
            ("12:1", &["header \"authorization\" is given twice (lines 6 and 12"]),
        ],
    );
    for secret in ["literal-secret", "SECRET", "12345", "UNCLOSED", "line1"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[test]
fn bad_target_names_say_why() {
    expect_problems(
        "bad_names.toml",
        &[
            (
                "2:8",
                &["target name \"cn relay\" contains ' '", "A-Z a-z 0-9 . _ -"],
            ),
            ("6:8", &["target name \"\" is empty"]),
            ("10:8", &["is 72 characters long"]),
        ],
    );
}

#[test]
fn disks_must_be_absolute_and_distinct() {
    expect_problems(
        "disks.toml",
        &[
            (
                "2:8",
                &["[[disk]] path \"var/lib/postgresql\" is not absolute"],
            ),
            (
                "10:8",
                &["[[disk]] name \"data\" is used twice (lines 6 and 10)"],
            ),
            (
                "13:8",
                &["[[disk]] path \"/var/lib/overlay\" is listed twice (lines 5 and 13)"],
            ),
        ],
    );
}

#[test]
fn shape_errors_point_at_the_value() {
    expect_problems(
        "wrong_type.toml",
        &[(
            "4:10",
            &["invalid type", "expected a sequence", "config template"],
        )],
    );
    expect_problems(
        "missing_name.toml",
        &[("3:1", &["missing field `name`", "add it"])],
    );
}

#[test]
fn ca_file_needs_https_and_a_readable_file() {
    expect_problems(
        "ca_without_https.toml",
        &[(
            "4:11",
            &["ca_file is set but no URL of this target uses https://"],
        )],
    );
    // Parsing does no I/O; loading checks the file, relative to the config's directory.
    assert!(Config::parse(&read("invalid", "ca_missing.toml"), None, &env).is_ok());
    let path = fixture("invalid", "ca_missing.toml");
    let err = Config::load(&path).expect_err("should fail").to_string();
    assert!(
        err.starts_with(&format!("{}:4:11: ", path.display())),
        "{err}"
    );
    assert!(
        err.contains(
            &fixture("invalid", "certs/does-not-exist.pem")
                .display()
                .to_string()
        ),
        "{err}"
    );
    assert!(err.contains("cannot be read"), "{err}");
}

#[test]
fn a_missing_file_says_how_to_make_one() {
    let path = fixture("invalid", "no-such-file.toml");
    let err = Config::load(&path).expect_err("should fail");
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.problems().is_empty());
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(text.contains("watchdeck config template"), "{text}");
}

// ---------------------------------------------------------------- secrets

#[test]
fn resolved_and_literal_header_values_never_print() {
    let text = "[[target]]\nname = \"a\"\nmetrics = \"http://h/metrics\"\n[target.headers]\nAuthorization = \"Bearer ${CN_TOKEN}\"\nX-Key = \"literal-SECRET\"\n";
    let config = Config::parse(text, None, &env).expect("valid");
    let debug = format!("{config:?} {config:#?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("<redacted>"));
    assert_eq!(
        config.targets[0].headers[0].1.expose(),
        format!("Bearer {TOKEN}")
    );
    assert_eq!(config.targets[0].headers[1].1.to_string(), "<redacted>");

    // The same headers in files that fail in every way that can quote text.
    let broken = [
        text.replace("metrics = ", "interval = \"soon\"\nmetrics = "),
        format!("bogus = 1\n{text}"),
        text.replace("literal-SECRET\"", "literal-SECRET"),
        text.replace("[target.headers]\nAuthorization = \"Bearer ${CN_TOKEN}\"\nX-Key = \"literal-SECRET\"\n", "headers = \"Bearer literal-SECRET\"\n"),
        text.replace("[target.headers]\nAuthorization = \"Bearer ${CN_TOKEN}\"\nX-Key = \"literal-SECRET\"\n", "headers = [\"literal-SECRET\"]\n"),
        text.replace("X-Key = \"literal-SECRET\"", "X-Key = \"literal-SECRET\"\n\"bad name\" = \"literal-SECRET\"\nX-Nl = \"${MULTILINE_TOKEN}\""),
    ];
    for bad in broken {
        let err = Config::parse(&bad, None, &env).expect_err("invalid");
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains(TOKEN),
            "leak for\n{bad}\n{shown}"
        );
    }
}
