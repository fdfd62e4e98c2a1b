//! The config file: strict TOML in, validated runtime types out, plus the embedded presets.
//!
//! `file` is the serde shape (unknown keys rejected, values spanned), `validate` turns it into
//! the types below and reports every problem with its line, `preset` maps panels to the
//! runbooks' metric names. Reading the file (and the CA and theme it names) is the only I/O
//! here. `theme` and `[keys]` are checked with the theme and keymap modules' own rules, so a
//! bad key binding is reported at config load like any other mistake.

pub mod actions;
pub mod alertmanager;
pub mod argv;
mod endpoint;
mod error;
mod file;
pub mod fleet;
mod headers;
pub mod history;
mod keys;
mod postgres;
mod postgres_validate;
pub mod preset;
mod secret;
mod template;
pub mod units;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use actions::{
    ActionsConfig, BackupConfig, BackupKind, CommandConfig, RollbackConfig, RollbackKind,
    TargetActions, TopicDriverConfig, TopicsConfig,
};
pub use error::{ConfigError, Problem};
pub use postgres::{
    display_config, read_passfile, BacklogSource, OutboxTables, PasswordSource, PostgresConfig,
    SqlIdent, SslMode, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT,
};
pub use preset::{
    AlertSeverity, AlertSpec, AlertValue, CounterPanel, ErrorRatePanel, GaugePanel, LatencyPanel,
    Preset, PresetError, PresetName, StoragePanel, UnknownPreset,
};
pub use secret::Secret;
pub use template::template;

pub use crate::keymap::KeyOverrides;

use error::Problems;
use file::FileConfig;

/// A validated config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Shown in the header, e.g. "prod".
    pub environment: Option<String>,
    pub targets: Vec<TargetConfig>,
    pub disks: Vec<DiskConfig>,
    /// `theme = …`: a shipped theme's name, or the path of a theme file (a relative path is
    /// resolved against the config file's directory). `None`: the default theme.
    pub theme: Option<String>,
    /// `[keys]`: checked overrides of the default key bindings.
    pub keys: KeyOverrides,
    /// `[actions]`: read-only switch, state directory, audit file.
    pub actions: ActionsConfig,
    /// `[alertmanager]`: an Alertmanager whose alerts and silences the cockpit shows.
    pub alertmanager: Option<alertmanager::AlertmanagerConfig>,
    /// `[[fleet]]`: `promql` sources whose instances are read from a Prometheus-compatible
    /// store instead of being scraped.
    pub fleets: Vec<fleet::FleetConfig>,
    /// `[history]`: the default store targets read their past from.
    pub history: Option<history::HistoryConfig>,
}

/// One service to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    /// Unique, 1-64 characters from `[A-Za-z0-9._-]`.
    pub name: String,
    pub preset: Option<PresetName>,
    /// The Prometheus exposition endpoint (http or https).
    pub metrics: Option<reqwest::Url>,
    /// Health endpoints; at least one of `metrics`, `health` and `postgres` is present.
    pub health: Vec<reqwest::Url>,
    pub interval: Duration,
    /// Per-request deadline; `0 < timeout <= interval`.
    pub timeout: Duration,
    /// Extra request headers in file order, `${NAME}` already resolved.
    pub headers: Vec<(String, Secret)>,
    /// Custom CA (PEM); a relative path is resolved against the config file's directory.
    pub ca_file: Option<PathBuf>,
    pub limits: Limits,
    /// `[target.postgres]`: backlog by SQL and database health.
    pub postgres: Option<PostgresConfig>,
    /// Remediation this target offers (backup, topics, rollback, commands).
    pub actions: TargetActions,
    /// `[[target.alert]]`: the operator's own rules, in the presets' alert shape.
    pub alerts: Vec<AlertSpec>,
    /// Where this target's past is read from at launch and after a gap.
    pub history: Option<history::TargetHistory>,
}

/// Bounds on what one scrape may cost, so a broken or hostile endpoint cannot exhaust memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_samples: usize,
    pub max_labels: usize,
    pub max_label_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_samples: 200_000,
            max_labels: 64,
            max_label_length: 4096,
        }
    }
}

/// A local filesystem watched through statvfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskConfig {
    /// Absolute path.
    pub path: PathBuf,
    /// Label on screen; the path when the file gives none.
    pub name: String,
}

impl Config {
    /// Reads, parses and validates a config file, and checks that any `ca_file` is readable PEM.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        // A config file (like every file it names) must be a regular file of sensible size.
        let text = crate::safe_fs::read_regular_string(path, 16 << 20).map_err(|source| {
            ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let env = |name: &str| std::env::var(name).ok();
        parse_with(
            &text,
            &validate::Context {
                source: Some(path),
                env: &env,
                check_files: true,
            },
        )
    }

    /// Parses and validates config text without touching the filesystem or the process
    /// environment: `env` resolves `${NAME}` in headers. `source` names the file in messages.
    pub fn parse(
        text: &str,
        source: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        parse_with(
            text,
            &validate::Context {
                source,
                env,
                check_files: false,
            },
        )
    }

    /// Where the config is: `--config PATH` if given, else `$WATCHDECK_CONFIG`, else
    /// `$XDG_CONFIG_HOME/watchdeck/config.toml` (or `~/.config/watchdeck/config.toml`).
    /// Paths the user named are returned even if missing, so loading them reports the error;
    /// the default location only if a file exists there.
    pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
        locate_with(
            explicit,
            &|name| std::env::var_os(name).map(PathBuf::from),
            &Path::is_file,
        )
    }

    /// The default location of the config file, whether or not it exists (for hints such as
    /// "write the template to …").
    pub fn default_path() -> Option<PathBuf> {
        default_path_with(&|name| std::env::var_os(name).map(PathBuf::from))
    }
}

fn parse_with(text: &str, cx: &validate::Context<'_>) -> Result<Config, ConfigError> {
    let file_name = cx
        .source
        .map_or_else(|| "<config>".to_string(), |p| p.display().to_string());
    let mut problems = Problems::new(text);
    match toml::from_str::<FileConfig>(text) {
        Ok(file) => {
            let config = validate::build(file, cx, &mut problems);
            if problems.is_empty() {
                return Ok(config);
            }
        }
        Err(err) => {
            // serde stops at the first shape error (syntax, unknown key, wrong type). Unknown
            // keys are the common case with several at once, so list them all; otherwise
            // report serde's one error. Bad values are all collected by `validate`.
            if !keys::report_unknown(text, &mut problems) {
                let span = err.span().unwrap_or(0..0);
                problems.push(&span, shape_message(err.message()));
            }
        }
    }
    Err(problems.into_error(file_name))
}

/// toml's message plus what to do. Only `message()` is used: toml's `Display` quotes the
/// source line, which could hold a header value.
fn shape_message(message: &str) -> String {
    // Syntax errors come as "invalid string\nexpected `\"`"; keep one problem per line.
    let message = message.trim_end().replace('\n', ": ");
    if message.starts_with("unknown field") {
        format!("{message} — remove the key or fix its spelling")
    } else if message.starts_with("missing field") {
        format!("{message} — add it")
    } else if message.starts_with("invalid type") {
        format!("{message} — `watchdeck config template` shows the expected form")
    } else {
        format!("{message} — fix the TOML at this spot")
    }
}

fn locate_with(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<PathBuf>,
    exists: &dyn Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(path) = env("WATCHDECK_CONFIG").filter(|p| !p.as_os_str().is_empty()) {
        return Some(path);
    }
    default_path_with(env).filter(|p| exists(p))
}

fn default_path_with(env: &dyn Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    let base = env("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env("HOME")
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".config"))
        })?;
    Some(base.join("watchdeck").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| PathBuf::from(v))
        }
    }

    #[test]
    fn locate_prefers_explicit_then_env_then_xdg() {
        let vars = [
            ("WATCHDECK_CONFIG", "/etc/wd.toml"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/home/op"),
        ];
        let always = |_: &Path| true;
        assert_eq!(
            locate_with(Some(Path::new("a.toml")), &env(&vars), &always),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            locate_with(None, &env(&vars), &always),
            Some(PathBuf::from("/etc/wd.toml"))
        );
        assert_eq!(
            locate_with(None, &env(&vars[1..]), &always),
            Some(PathBuf::from("/x/watchdeck/config.toml"))
        );
        assert_eq!(
            locate_with(None, &env(&vars[2..]), &always),
            Some(PathBuf::from("/home/op/.config/watchdeck/config.toml"))
        );
    }

    #[test]
    fn locate_skips_missing_defaults_and_relative_xdg() {
        let never = |_: &Path| false;
        let always = |_: &Path| true;
        let vars = [("XDG_CONFIG_HOME", "/x"), ("HOME", "/home/op")];
        assert_eq!(locate_with(None, &env(&vars), &never), None);
        let relative = [("XDG_CONFIG_HOME", "rel"), ("HOME", "/home/op")];
        assert_eq!(
            locate_with(None, &env(&relative), &always),
            Some(PathBuf::from("/home/op/.config/watchdeck/config.toml"))
        );
        assert_eq!(locate_with(None, &env(&[]), &always), None);
        let empty = [("WATCHDECK_CONFIG", ""), ("HOME", "/h")];
        assert_eq!(
            locate_with(None, &env(&empty), &always),
            Some(PathBuf::from("/h/.config/watchdeck/config.toml"))
        );
    }
}
