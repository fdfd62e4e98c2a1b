//! `[actions]` and each target's `[target.backup]`, `[target.topics]`, `[target.rollback]` and
//! `[[target.command]]`: what remediation the operator may start, checked like the rest.
//!
//! Everything an action will run is fixed here, in the file: argv lists (never a shell
//! string), URL templates with one `{topic}` hole, SQL with `$1`. What the operator types at
//! the cockpit (a topic id) only ever fills those holes, and is validated again by the driver.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::endpoint::relative_to_config;
use super::error::Problems;
use super::file::HeadersFile;
use super::headers::headers;
use super::secret::Secret;
use super::validate::{positive_duration, Context};

// ----- the file's shape -----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionsFile {
    pub read_only: Option<bool>,
    pub state_dir: Option<Spanned<String>>,
    pub audit: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackupFile {
    pub kind: Spanned<String>,
    pub dir: Spanned<String>,
    pub keep: Option<Spanned<i64>>,
    pub database: Option<Spanned<String>>,
    #[serde(default)]
    pub drill_tables: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<toml::Value>>,
    pub max_age: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TopicsFile {
    pub driver: Spanned<String>,
    pub method: Option<Spanned<String>>,
    pub suspend_url: Option<Spanned<String>>,
    pub resume_url: Option<Spanned<String>>,
    pub state_url: Option<Spanned<String>>,
    pub expect_status: Option<Spanned<i64>>,
    pub headers: Option<HeadersFile>,
    pub suspend_sql: Option<Spanned<String>>,
    pub resume_sql: Option<Spanned<String>>,
    pub state_sql: Option<Spanned<String>>,
    pub metric: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    pub timeout: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RollbackFile {
    pub kind: Spanned<String>,
    pub root: Option<Spanned<String>>,
    pub restart: Option<Spanned<Vec<String>>>,
    pub healthy_checks: Option<Spanned<i64>>,
    pub deadline: Option<Spanned<toml::Value>>,
    pub health_interval: Option<Spanned<toml::Value>>,
    pub undo: Option<Spanned<Vec<String>>>,
    pub status: Option<Spanned<Vec<String>>>,
    pub dry_run: Option<Spanned<Vec<String>>>,
    pub timeout: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommandFile {
    pub name: Spanned<String>,
    pub argv: Spanned<Vec<String>>,
    pub risk: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub timeout: Option<Spanned<toml::Value>>,
}

pub(super) const ACTIONS_KEYS: &[&str] = &["read_only", "state_dir", "audit"];
pub(super) const BACKUP_KEYS: &[&str] = &[
    "kind",
    "dir",
    "keep",
    "database",
    "drill_tables",
    "timeout",
    "max_age",
];
pub(super) const TOPICS_KEYS: &[&str] = &[
    "driver",
    "method",
    "suspend_url",
    "resume_url",
    "state_url",
    "expect_status",
    "headers",
    "suspend_sql",
    "resume_sql",
    "state_sql",
    "metric",
    "label",
    "timeout",
];
pub(super) const ROLLBACK_KEYS: &[&str] = &[
    "kind",
    "root",
    "restart",
    "healthy_checks",
    "deadline",
    "health_interval",
    "undo",
    "status",
    "dry_run",
    "timeout",
];
pub(super) const COMMAND_KEYS: &[&str] = &["name", "argv", "risk", "description", "timeout"];

// ----- validated types -----

/// `[actions]`: where state and the audit file live, and the global read-only switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionsConfig {
    /// Every mutating action is refused (also `--read-only`).
    pub read_only: bool,
    /// Locks and default audit location; `None`: `$XDG_STATE_HOME/watchdeck`.
    pub state_dir: Option<PathBuf>,
    /// The audit file; `None`: `<state_dir>/audit.jsonl`.
    pub audit: Option<PathBuf>,
}

/// One target's actions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetActions {
    /// `read_only = true` on the target: its actions are refused.
    pub read_only: bool,
    pub backup: Option<BackupConfig>,
    pub topics: Option<TopicsConfig>,
    pub rollback: Option<RollbackConfig>,
    pub commands: Vec<CommandConfig>,
}

impl TargetActions {
    pub fn is_empty(&self) -> bool {
        self.backup.is_none()
            && self.topics.is_none()
            && self.rollback.is_none()
            && self.commands.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    pub kind: BackupKind,
    /// Where generations are written (created 0700 if missing).
    pub dir: PathBuf,
    /// Verified generations kept.
    pub keep: usize,
    /// Postgres only: tables whose row counts a restore drill compares; empty = no drill.
    pub drill_tables: Vec<String>,
    pub timeout: Duration,
    /// The newest verified backup older than this is an alert.
    pub max_age: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupKind {
    /// pg_dump of `[target.postgres]`'s database.
    Postgres,
    /// SQLite online backup of this file.
    Sqlite { database: PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicsConfig {
    pub driver: TopicDriverConfig,
    /// Counter whose `label` values are the topics (for the picker's traffic column).
    pub metric: Option<String>,
    pub label: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TopicDriverConfig {
    Http {
        method: String,
        suspend_url: String,
        resume_url: String,
        state_url: Option<String>,
        headers: Vec<(String, Secret)>,
        expect_status: u16,
    },
    /// Statements with `$1` as the topic id, run on `[target.postgres]`.
    Sql {
        suspend_sql: String,
        resume_sql: String,
        state_sql: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackConfig {
    pub kind: RollbackKind,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackKind {
    /// `root/current` → `root/releases/<ts>`; health from the target's `health` URLs.
    Symlink {
        root: PathBuf,
        restart: Vec<String>,
        healthy_checks: u32,
        deadline: Duration,
        health_interval: Duration,
    },
    /// A command such as `kubectl rollout undo …`.
    Command {
        undo: Vec<String>,
        status: Option<Vec<String>>,
        dry_run: Option<Vec<String>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandConfig {
    /// 1-32 characters from `[a-z0-9-]`.
    pub name: String,
    pub argv: Vec<String>,
    pub risk: Risk,
    pub description: Option<String>,
    pub timeout: Duration,
}

// ----- validation -----

pub(super) fn actions(f: Option<&ActionsFile>, cx: &Context<'_>) -> ActionsConfig {
    let Some(f) = f else {
        return ActionsConfig::default();
    };
    ActionsConfig {
        read_only: f.read_only.unwrap_or(false),
        state_dir: f
            .state_dir
            .as_ref()
            .map(|s| relative_to_config(s.get_ref(), cx)),
        audit: f
            .audit
            .as_ref()
            .map(|s| relative_to_config(s.get_ref(), cx)),
    }
}

/// `[actions]` paths that would fail only when an action runs: an empty one means the config's
/// own directory, never what the operator meant.
pub(super) fn check_actions_paths(f: Option<&ActionsFile>, p: &mut Problems<'_>) {
    let Some(f) = f else { return };
    for (key, v) in [("state_dir", &f.state_dir), ("audit", &f.audit)] {
        if let Some(v) = v.as_ref().filter(|v| v.get_ref().trim().is_empty()) {
            p.push(
                &v.span(),
                format!(
                    "[actions] {key} is empty — give a path, or remove the key to use the default"
                ),
            );
        }
    }
}

/// Everything a target's action sections need from the rest of its config.
pub(super) struct TargetFacts<'a> {
    pub name: &'a str,
    pub has_postgres: bool,
    pub has_health: bool,
}

pub(super) struct TargetActionFiles<'a> {
    pub read_only: Option<bool>,
    pub backup: Option<&'a Spanned<BackupFile>>,
    pub topics: Option<&'a Spanned<TopicsFile>>,
    pub rollback: Option<&'a Spanned<RollbackFile>>,
    pub commands: &'a [Spanned<CommandFile>],
}

pub(super) fn target_actions(
    files: &TargetActionFiles<'_>,
    t: &TargetFacts<'_>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> TargetActions {
    let ctx = format!("target {:?}: ", t.name);
    let mut names = Vec::<String>::new();
    let commands = files
        .commands
        .iter()
        .filter_map(|c| {
            let c = command(&ctx, c, cx, p)?;
            if names.contains(&c.name) {
                p.push(
                    &(0..0),
                    format!(
                        "{ctx}[[target.command]] {:?} is defined twice — rename one",
                        c.name
                    ),
                );
                return None;
            }
            names.push(c.name.clone());
            Some(c)
        })
        .collect();
    TargetActions {
        read_only: files.read_only.unwrap_or(false),
        backup: files.backup.and_then(|b| backup(&ctx, b, t, cx, p)),
        topics: files.topics.and_then(|b| topics(&ctx, b, t, cx, p)),
        rollback: files.rollback.and_then(|r| rollback(&ctx, r, t, cx, p)),
        commands,
    }
}

fn duration_or(
    ctx: &str,
    key: &str,
    v: Option<&Spanned<toml::Value>>,
    default: Duration,
    p: &mut Problems<'_>,
) -> Duration {
    v.and_then(|v| positive_duration(ctx, key, v, p))
        .unwrap_or(default)
}

fn backup(
    ctx: &str,
    s: &Spanned<BackupFile>,
    t: &TargetFacts<'_>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<BackupConfig> {
    let f = s.get_ref();
    let ctx = format!("{ctx}[target.backup] ");
    let kind = match f.kind.get_ref().as_str() {
        "postgres" => {
            if !t.has_postgres {
                p.push(&f.kind.span(), format!("{ctx}kind = \"postgres\" needs the target's [target.postgres] section (its connection is what pg_dump uses) — add it"));
                // Checked on, so the rest of the section's problems are reported at once.
            }
            if let Some(db) = &f.database {
                p.push(&db.span(), format!("{ctx}database is for kind = \"sqlite\"; a postgres backup dumps [target.postgres]'s database — remove it"));
            }
            BackupKind::Postgres
        }
        "sqlite" => {
            let Some(db) = &f.database else {
                p.push(
                    &f.kind.span(),
                    format!("{ctx}kind = \"sqlite\" needs database = \"/path/to/app.db\" — add it"),
                );
                return None;
            };
            if !f.drill_tables.is_empty() {
                p.push(&f.drill_tables[0].span(), format!("{ctx}drill_tables is for kind = \"postgres\" (the SQLite backup is checked by PRAGMA integrity_check) — remove it"));
            }
            if db.get_ref().trim().is_empty() {
                p.push(
                    &db.span(),
                    format!("{ctx}database is empty — give the path of the SQLite file to back up"),
                );
            }
            BackupKind::Sqlite {
                database: relative_to_config(db.get_ref(), cx),
            }
        }
        other => {
            p.push(
                &f.kind.span(),
                format!("{ctx}kind {other:?} is not known — use \"postgres\" or \"sqlite\""),
            );
            return None;
        }
    };
    let default_keep = if matches!(kind, BackupKind::Postgres) {
        30
    } else {
        14
    };
    let keep = match &f.keep {
        None => default_keep,
        Some(k) if (1..=1000).contains(k.get_ref()) => *k.get_ref() as usize,
        Some(k) => {
            p.push(&k.span(), format!("{ctx}keep = {} is out of range — keep 1 to 1000 verified generations (the newest verified backup is never deleted)", k.get_ref()));
            default_keep
        }
    };
    if f.dir.get_ref().trim().is_empty() {
        p.push(
            &f.dir.span(),
            format!("{ctx}dir is empty — give the directory the backups go to, e.g. \"/var/backups/{}\"", t.name),
        );
    }
    for table in &f.drill_tables {
        if !qualified_table(table.get_ref()) {
            p.push(&table.span(), format!("{ctx}drill_tables entry {:?} is not schema.table — write it like \"cn_relay.events\" (letters, digits, _)", table.get_ref()));
        }
    }
    Some(BackupConfig {
        kind,
        dir: relative_to_config(f.dir.get_ref(), cx),
        keep,
        drill_tables: f.drill_tables.iter().map(|t| t.get_ref().clone()).collect(),
        timeout: duration_or(
            &ctx,
            "timeout",
            f.timeout.as_ref(),
            Duration::from_secs(3600),
            p,
        ),
        max_age: duration_or(
            &ctx,
            "max_age",
            f.max_age.as_ref(),
            Duration::from_secs(26 * 3600),
            p,
        ),
    })
}

fn qualified_table(s: &str) -> bool {
    let ident = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !p.starts_with(|c: char| c.is_ascii_digit())
    };
    matches!(s.split_once('.'), Some((a, b)) if ident(a) && ident(b))
}

#[allow(clippy::too_many_lines)] // one arm per driver, each checking its own keys
fn topics(
    ctx: &str,
    s: &Spanned<TopicsFile>,
    t: &TargetFacts<'_>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<TopicsConfig> {
    let f = s.get_ref();
    let ctx = format!("{ctx}[target.topics] ");
    let require =
        |key: &str, v: &Option<Spanned<String>>, p: &mut Problems<'_>| -> Option<String> {
            if v.is_none() {
                p.push(
                    &f.driver.span(),
                    format!(
                        "{ctx}driver = {:?} needs {key} — add it",
                        f.driver.get_ref()
                    ),
                );
            }
            v.as_ref().map(|v| v.get_ref().clone())
        };
    let driver = match f.driver.get_ref().as_str() {
        "http" => {
            let suspend = require("suspend_url", &f.suspend_url, p);
            let resume = require("resume_url", &f.resume_url, p);
            for u in [&f.suspend_url, &f.resume_url, &f.state_url]
                .into_iter()
                .flatten()
            {
                url_template(&ctx, u, p);
            }
            let method = f
                .method
                .as_ref()
                .map_or("POST".to_owned(), |m| m.get_ref().to_ascii_uppercase());
            if !["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                if let Some(m) = &f.method {
                    p.push(&m.span(), format!("{ctx}method {:?} does not change anything — use POST, PUT, PATCH or DELETE", m.get_ref()));
                }
            }
            let expect_status = match &f.expect_status {
                None => 200,
                Some(s) if (200..=299).contains(s.get_ref()) => *s.get_ref() as u16,
                Some(s) => {
                    p.push(&s.span(), format!("{ctx}expect_status = {} is not a 2xx status — give the status the endpoint answers on success", s.get_ref()));
                    200
                }
            };
            let headers = f
                .headers
                .as_ref()
                .map(|h| headers(&ctx, h, cx.env, p))
                .unwrap_or_default();
            TopicDriverConfig::Http {
                method,
                suspend_url: suspend?,
                resume_url: resume?,
                state_url: f.state_url.as_ref().map(|u| u.get_ref().clone()),
                headers,
                expect_status,
            }
        }
        "sql" => {
            if !t.has_postgres {
                p.push(&f.driver.span(), format!("{ctx}driver = \"sql\" runs on the target's [target.postgres] connection — add that section"));
            }
            let suspend = require("suspend_sql", &f.suspend_sql, p);
            let resume = require("resume_sql", &f.resume_sql, p);
            for q in [&f.suspend_sql, &f.resume_sql, &f.state_sql]
                .into_iter()
                .flatten()
            {
                if !q.get_ref().contains("$1") {
                    p.push(&q.span(), format!("{ctx}the statement does not use $1 — the topic id is bound as $1 (never pasted into the SQL)"));
                }
            }
            TopicDriverConfig::Sql {
                suspend_sql: suspend?,
                resume_sql: resume?,
                state_sql: f.state_sql.as_ref().map(|u| u.get_ref().clone()),
            }
        }
        other => {
            p.push(
                &f.driver.span(),
                format!("{ctx}driver {other:?} is not known — use \"http\" or \"sql\""),
            );
            return None;
        }
    };
    Some(TopicsConfig {
        driver,
        metric: f.metric.as_ref().map(|m| m.get_ref().clone()),
        label: f
            .label
            .as_ref()
            .map_or("topic".to_owned(), |l| l.get_ref().clone()),
        timeout: duration_or(
            &ctx,
            "timeout",
            f.timeout.as_ref(),
            Duration::from_secs(30),
            p,
        ),
    })
}

fn url_template(ctx: &str, u: &Spanned<String>, p: &mut Problems<'_>) {
    let text = u.get_ref();
    if text.matches("{topic}").count() != 1 {
        p.push(&u.span(), format!("{ctx}{text:?} must contain {{topic}} exactly once — it is replaced by the percent-encoded topic id"));
        return;
    }
    match reqwest::Url::parse(&text.replace("{topic}", "t")) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => p.push(&u.span(), format!("{ctx}{text:?} is not an http(s) URL template — e.g. \"http://127.0.0.1:8080/admin/topics/{{topic}}/suspend\"")),
    }
}

fn rollback(
    ctx: &str,
    s: &Spanned<RollbackFile>,
    t: &TargetFacts<'_>,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<RollbackConfig> {
    let f = s.get_ref();
    let ctx = format!("{ctx}[target.rollback] ");
    let kind = match f.kind.get_ref().as_str() {
        "symlink" => {
            let (Some(root), Some(restart)) = (&f.root, &f.restart) else {
                p.push(&f.kind.span(), format!("{ctx}kind = \"symlink\" needs root = \"/opt/app\" (holding current and releases/) and restart = [\"systemctl\", \"restart\", \"app\"] — add them"));
                return None;
            };
            argv(&ctx, "restart", restart, p);
            if !t.has_health {
                p.push(&f.kind.span(), format!("{ctx}a symlink rollback is verified by the target's health URLs — add health = [\"http://host:port/healthz\"] to the target"));
            }
            let healthy_checks = match &f.healthy_checks {
                None => 3,
                Some(n) if (1..=20).contains(n.get_ref()) => *n.get_ref() as u32,
                Some(n) => {
                    p.push(&n.span(), format!("{ctx}healthy_checks = {} is out of range — 1 to 20 consecutive healthy checks", n.get_ref()));
                    3
                }
            };
            RollbackKind::Symlink {
                root: relative_to_config(root.get_ref(), cx),
                restart: restart.get_ref().clone(),
                healthy_checks,
                deadline: duration_or(
                    &ctx,
                    "deadline",
                    f.deadline.as_ref(),
                    Duration::from_secs(90),
                    p,
                ),
                health_interval: duration_or(
                    &ctx,
                    "health_interval",
                    f.health_interval.as_ref(),
                    Duration::from_secs(1),
                    p,
                ),
            }
        }
        "command" => {
            let Some(undo) = &f.undo else {
                p.push(&f.kind.span(), format!("{ctx}kind = \"command\" needs undo = [\"kubectl\", \"rollout\", \"undo\", \"deployment/NAME\", \"-n\", \"NS\"] — add it"));
                return None;
            };
            for (key, v) in [
                ("undo", Some(undo)),
                ("status", f.status.as_ref()),
                ("dry_run", f.dry_run.as_ref()),
            ] {
                if let Some(v) = v {
                    argv(&ctx, key, v, p);
                }
            }
            RollbackKind::Command {
                undo: undo.get_ref().clone(),
                status: f.status.as_ref().map(|v| v.get_ref().clone()),
                dry_run: f.dry_run.as_ref().map(|v| v.get_ref().clone()),
            }
        }
        other => {
            p.push(
                &f.kind.span(),
                format!("{ctx}kind {other:?} is not known — use \"symlink\" or \"command\""),
            );
            return None;
        }
    };
    Some(RollbackConfig {
        kind,
        timeout: duration_or(
            &ctx,
            "timeout",
            f.timeout.as_ref(),
            Duration::from_secs(300),
            p,
        ),
    })
}

fn command(
    ctx: &str,
    s: &Spanned<CommandFile>,
    _cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<CommandConfig> {
    let f = s.get_ref();
    let name = f.name.get_ref();
    let ctx = format!("{ctx}[[target.command]] {name:?}: ");
    let ok_name = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok_name {
        p.push(&f.name.span(), format!("{ctx}name must be 1-32 characters from a-z 0-9 - (it is typed in `watchdeck action run --name`)"));
    }
    argv(&ctx, "argv", &f.argv, p);
    let risk = match f.risk.as_ref().map(|r| r.get_ref().as_str()) {
        None | Some("high") => Risk::High,
        Some("low") => Risk::Low,
        Some(other) => {
            p.push(&f.risk.as_ref().map_or(0..0, Spanned::span), format!("{ctx}risk {other:?} is not known — use \"low\" (confirm with y) or \"high\" (type the target's name)"));
            Risk::High
        }
    };
    ok_name.then(|| CommandConfig {
        name: name.clone(),
        argv: f.argv.get_ref().clone(),
        risk,
        description: f.description.as_ref().map(|d| d.get_ref().clone()),
        timeout: duration_or(
            &ctx,
            "timeout",
            f.timeout.as_ref(),
            Duration::from_secs(300),
            p,
        ),
    })
}

/// An argv list: non-empty, a program first, known placeholders only (`actions::command`).
fn argv(ctx: &str, key: &str, v: &Spanned<Vec<String>>, p: &mut Problems<'_>) {
    let list = v.get_ref();
    let Some(program) = list.first() else {
        p.push(&v.span(), format!("{ctx}{key} is empty — give the program and its arguments as a list, e.g. [\"systemctl\", \"restart\", \"app\"]"));
        return;
    };
    if program.contains(' ') && list.len() == 1 {
        p.push(&v.span(), format!("{ctx}{key} = [{program:?}] looks like a shell command line — watchdeck never runs a shell; split it into a list of arguments"));
    }
    if let Err(why) = super::argv::validate_template(list) {
        p.push(&v.span(), format!("{ctx}{key}: {why}"));
        return;
    }
    // Configured commands are filled with the target's name and the time only; a topic or a
    // release is never known when they run, so a placeholder for one would stay unfilled.
    for arg in list {
        let bare = arg.replace("{{", "").replace("}}", "");
        for var in ["{topic}", "{release}"] {
            if bare.contains(var) {
                p.push(
                    &v.span(),
                    format!("{ctx}{key}: {var} cannot be filled here — use {{target}}, {{ts}} or {{date}}"),
                );
            }
        }
    }
}

/// Header values for masking: everything an action might send that must not be shown.
pub fn secrets_of(a: &TargetActions) -> Vec<String> {
    match a.topics.as_ref().map(|t| &t.driver) {
        Some(TopicDriverConfig::Http { headers, .. }) => {
            headers.iter().map(|(_, v)| v.expose().to_owned()).collect()
        }
        _ => Vec::new(),
    }
}

/// How hard the confirmation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// A `y` on a dialog whose focus starts on Cancel (backups: they add, never remove data
    /// that is not listed in the plan).
    Low,
    /// The operator types the target's name or the topic id exactly.
    High,
}
