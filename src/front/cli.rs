//! Command line: the cockpit by default, and headless front ends to the same engine.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "watchdeck",
    version,
    about = "A keyboard-driven terminal cockpit for on-call operators",
    long_about = "watchdeck polls your services' Prometheus /metrics and health endpoints, \
                  local disks and Postgres, and shows what an on-call operator acts on: target \
                  health, outbox backlog, SSE clients, webhook ACK latency, disk usage.",
    after_help = "With no command, opens the cockpit on the configured targets. \
                  `watchdeck demo` opens it on the built-in demo fleet."
)]
pub struct Cli {
    /// Config file (else $WATCHDECK_CONFIG, else $XDG_CONFIG_HOME/watchdeck/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub screen: ScreenArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options of the cockpit screen.
#[derive(Debug, Args, Clone)]
pub struct ScreenArgs {
    /// Theme: default, light, high-contrast, monochrome, or a theme file (NO_COLOR forces
    /// monochrome).
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Do not capture the mouse (keeps the terminal's own text selection).
    #[arg(long, global = true)]
    pub no_mouse: bool,
    /// Read-only: no remediation action can run.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Ring the terminal bell when a critical alert starts firing.
    #[arg(long, global = true)]
    pub bell: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect one round (or --watch N rounds) and print every target's panels.
    Snapshot(SnapshotArgs),
    /// Print every series an endpoint or file exposes, and every malformed line.
    Scrape(ScrapeArgs),
    /// Check or print the config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Open the cockpit on the built-in demo fleet (simulated services on loopback).
    Demo(DemoArgs),
    /// Plan, and with --yes run, a remediation action (same code path as the cockpit).
    Action(ActionArgs),
    /// Run the daily checklist's automatic items and the alert rules once, save and print
    /// the report. Exit 0 all passed, 1 something failed, 2 could not check.
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A shipped checklist (community-node, overlay, mail, rest-api) or a checklist file.
    /// Default: each target with a preset gets its preset's checklist.
    #[arg(long, value_name = "NAME|PATH")]
    pub checklist: Option<String>,
    /// Output format of the printed report (both are saved).
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// The operator named in the report and its file name (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
    /// Where reports are saved (default: $XDG_STATE_HOME/watchdeck/reports).
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Print the report only; save nothing.
    #[arg(long)]
    pub no_save: bool,
    /// Run the demo fleet in-process and check it instead of the config's targets.
    #[arg(long)]
    pub demo: bool,
    /// Demo incident to play (with --demo): calm, backlog-stall, ack-latency, sse-drop,
    /// disk-fill, dependency-down.
    #[arg(long, default_value = "calm", requires = "demo")]
    pub scenario: String,
    /// Window for rates, quantiles and increases (e.g. 60s, 5m).
    #[arg(long, default_value = "60s")]
    pub window: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionName {
    Backup,
    Suspend,
    Resume,
    Rollback,
    Run,
}

#[derive(Debug, Args)]
pub struct ActionArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: ActionName,
    /// The target, as named in the config.
    #[arg(long)]
    pub target: String,
    /// The topic id (suspend, resume).
    #[arg(long)]
    pub topic: Option<String>,
    /// The command's name (run).
    #[arg(long)]
    pub name: Option<String>,
    /// Print the plan, with a server-side dry run where the driver has one; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the plan. Without it the plan is printed and nothing changes.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Incident to play: calm, backlog-stall, ack-latency, sse-drop, disk-fill,
    /// dependency-down.
    #[arg(long, default_value = "calm")]
    pub scenario: String,
    /// Back the community-node twin with a real database: an admin DSN without a password,
    /// e.g. postgres://postgres@127.0.0.1:5432/postgres. A database of its own is created and
    /// dropped on exit.
    #[arg(long, value_name = "DSN")]
    pub postgres: Option<String>,
    /// Start without the demo's history (as a cockpit with no [history] store would): alerts
    /// then count from launch. For comparing the first frame with and without history.
    #[arg(long)]
    pub no_history: bool,
    #[command(subcommand)]
    pub command: Option<DemoCommand>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Run the demo fleet in-process and read it instead of the config's targets.
    #[arg(long)]
    pub demo: bool,
    /// Demo incident to play (with --demo): calm, backlog-stall, ack-latency, sse-drop,
    /// disk-fill, dependency-down.
    #[arg(long, default_value = "calm", requires = "demo")]
    pub scenario: String,
    /// With --demo: back the community-node twin with a real database (see `demo --help`).
    #[arg(long, value_name = "DSN", requires = "demo")]
    pub postgres: Option<String>,
    /// Collect N rounds, printing each (rates and windowed quantiles need two).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub watch: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Window for rates, quantiles and trends (e.g. 60s, 5m).
    #[arg(long, default_value = "60s")]
    pub window: String,
}

#[derive(Debug, Args)]
pub struct ScrapeArgs {
    /// An http(s) URL, a file path, or - for standard input.
    pub source: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Read the body as OpenMetrics (default: from Content-Type, or a trailing # EOF).
    #[arg(long)]
    pub openmetrics: bool,
    /// Deadline for a URL, body included.
    #[arg(long, default_value = "10s")]
    pub timeout: String,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file (the global --config, or the default location).
    Check {
        /// The file to check (overrides --config).
        path: Option<PathBuf>,
    },
    /// Print a commented sample config.
    Template,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Serve the demo fleet on loopback until interrupted, and print a config pointing at it.
    Serve {
        /// Incident to play.
        #[arg(long, default_value = "calm")]
        scenario: String,
        /// First port (the services take consecutive ports); default: any free ports.
        /// Normal fleet only.
        #[arg(long)]
        port: Option<u16>,
        /// How many services: 6 is the normal fleet; 7 to 5000 start a scaled fleet of
        /// `<kind>-NNNN` instances (metrics and health only, each on a free port of its own),
        /// the scenario playing on the first instance of each kind.
        #[arg(long, value_name = "N", value_parser = parse_instances)]
        instances: Option<usize>,
        /// Also write a Prometheus scrape config for the served fleet to PATH (mode 0644,
        /// replaced atomically once every service listens): one job per preset, a `target`
        /// label per service.
        #[arg(long, value_name = "PATH")]
        prometheus_config: Option<PathBuf>,
        /// Scrape interval of the printed watchdeck config and of --prometheus-config
        /// [default: 1s for the normal fleet, 5s for a scaled one].
        #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
        scrape_interval: Option<std::time::Duration>,
    },
    /// Ask a demo twin to restart (the demo rollback's restart command).
    #[command(hide = true)]
    Restart {
        /// The twin's /admin/restart URL (loopback).
        url: String,
    },
    /// The demo's stand-in for `kubectl rollout undo|status deployment/NAME -n NS
    /// [--dry-run=server] [--timeout=D]`, talking to the REST API twin.
    #[command(hide = true)]
    Kubectl {
        /// The twin's base URL (loopback).
        #[arg(long)]
        server: String,
        /// kubectl's own arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The normal demo fleet's size; `--instances` above it starts a scaled fleet.
pub const DEMO_SERVICES: usize = 6;

/// `--instances`: 6 (the normal fleet) or 7 to [`MAX_INSTANCES`](crate::demo::MAX_INSTANCES).
fn parse_instances(s: &str) -> Result<usize, String> {
    use crate::demo::MAX_INSTANCES;
    let range = format!(
        "give {DEMO_SERVICES} for the normal fleet, or {} to {MAX_INSTANCES} for a scaled one",
        DEMO_SERVICES + 1
    );
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("not a whole number; {range}"))?;
    if n < DEMO_SERVICES {
        Err(format!(
            "the normal demo fleet has {DEMO_SERVICES} services and a scaled one more; {range}"
        ))
    } else if n > MAX_INSTANCES {
        Err(format!(
            "at most {MAX_INSTANCES} instances run in one process; {range}"
        ))
    } else {
        Ok(n)
    }
}

/// `--scrape-interval`: a humantime duration, at least a millisecond and whole milliseconds.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("{e} (e.g. 5s, 500ms)"))?;
    if d < std::time::Duration::from_millis(1) || d.subsec_nanos() % 1_000_000 != 0 {
        return Err("give a whole number of milliseconds, at least 1ms (e.g. 5s, 500ms)".into());
    }
    Ok(d)
}
