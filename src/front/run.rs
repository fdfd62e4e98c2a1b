//! From the parsed command line to the engine: each command's arguments checked and turned into
//! the call that serves it, and its exit status.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use super::cli::{
    ActionArgs, ActionName, CheckArgs, Cli, Command, ConfigCommand, DemoArgs, DemoCommand,
    OutputFormat, ReportFormat, ScrapeArgs, ScreenArgs, SnapshotArgs,
};
use super::{
    action as action_cmd, check as check_cmd, cockpit, config_cmd, demo_cmd, runtime, runtime_with,
    scrape as scrape_cmd, snapshot, EXIT_PROBLEM,
};
use crate::actions::Request;
use crate::client::http::{Fetcher, HttpLimits, Purpose};
use crate::config::{self, Config};
use crate::demo::Fleet;
use crate::expo::Format;

/// Runs the command the command line names; the cockpit when it names none.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        return cockpit_cmd(cli.config.as_deref(), &cli.screen, None, None, false);
    };
    match command {
        Command::Snapshot(args) => snapshot_cmd(cli.config.as_deref(), &args),
        Command::Check(args) => check(cli.config.as_deref(), &args),
        Command::Action(args) => action_cmd(cli.config.as_deref(), &args, cli.screen.read_only),
        Command::Scrape(args) => scrape(&args),
        Command::Demo(DemoArgs {
            scenario,
            postgres,
            no_history,
            command: None,
        }) => cockpit_cmd(
            None,
            &cli.screen,
            Some(&scenario),
            postgres.as_deref(),
            no_history,
        ),
        Command::Config(ConfigCommand::Template) => {
            print!("{}", config::template());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check { path }) => {
            config_cmd::check(path.or(cli.config).as_deref())
        }
        Command::Demo(DemoArgs {
            command:
                Some(DemoCommand::Serve {
                    scenario,
                    port,
                    instances,
                    prometheus_config,
                    scrape_interval,
                }),
            ..
        }) => demo_cmd::serve(&demo_cmd::ServeArgs {
            scenario: &scenario,
            port,
            instances: instances.unwrap_or(crate::front::cli::DEMO_SERVICES),
            prometheus_config: prometheus_config.as_deref(),
            scrape_interval,
        }),
        Command::Demo(DemoArgs {
            command: Some(DemoCommand::Restart { url }),
            ..
        }) => demo_cmd::restart(&url),
        Command::Demo(DemoArgs {
            command: Some(DemoCommand::Kubectl { server, args }),
            ..
        }) => demo_cmd::kubectl(&server, &args),
    }
}

/// The configured targets, or (with a scenario) the demo fleet started in-process and a config
/// that points at it. The fleet must outlive the run.
async fn config_or_demo(
    config_path: Option<&std::path::Path>,
    demo: Option<&str>,
    postgres: Option<&str>,
) -> Result<(Config, Option<Fleet>)> {
    let Some(scenario) = demo else {
        return Ok((load_config(config_path)?, None));
    };
    let scenario = crate::front::parse_scenario(scenario)?;
    let fleet = Fleet::start_with(scenario, None, postgres)
        .await
        .context("cannot start the demo fleet")?;
    let text = fleet.config_toml(Duration::from_secs(1));
    let config = Config::parse(&text, None, &fleet.env())
        .map_err(|e| anyhow!("the demo fleet's own config does not parse: {e}"))?;
    Ok((config, Some(fleet)))
}

fn action_cmd(
    config_path: Option<&std::path::Path>,
    args: &ActionArgs,
    read_only: bool,
) -> Result<ExitCode> {
    let target = args.target.clone();
    let need = |v: &Option<String>, flag: &str| {
        v.clone().ok_or_else(|| {
            anyhow!(
                "{flag} is required for `action {}`",
                action_word(args.action)
            )
        })
    };
    let request = match args.action {
        ActionName::Backup => Request::Backup { target },
        ActionName::Rollback => Request::Rollback { target },
        ActionName::Suspend => Request::Suspend {
            target,
            topic: need(&args.topic, "--topic")?,
        },
        ActionName::Resume => Request::Resume {
            target,
            topic: need(&args.topic, "--topic")?,
        },
        ActionName::Run => Request::Run {
            target,
            name: need(&args.name, "--name")?,
        },
    };
    let config = load_config(config_path)?;
    let state_dir = super::state_dir(&config)?;
    let opts = action_cmd::Options {
        request,
        yes: args.yes,
        dry_run: args.dry_run,
        read_only,
    };
    let code = runtime()?.block_on(action_cmd::run(&config, &state_dir, &opts));
    Ok(ExitCode::from(code as u8))
}

fn action_word(a: ActionName) -> &'static str {
    match a {
        ActionName::Backup => "backup",
        ActionName::Suspend => "suspend",
        ActionName::Resume => "resume",
        ActionName::Rollback => "rollback",
        ActionName::Run => "run",
    }
}

fn load_config(path: Option<&std::path::Path>) -> Result<Config> {
    let path = Config::locate(path).ok_or_else(|| {
        anyhow!("no config file: pass --config PATH or set WATCHDECK_CONFIG (`watchdeck config template` prints a sample), or try `--demo`")
    })?;
    Config::load(&path).map_err(|e| {
        anyhow!(
            "{e}\n(check it with `watchdeck config check {}`)",
            path.display()
        )
    })
}

fn snapshot_cmd(config_path: Option<&std::path::Path>, args: &SnapshotArgs) -> Result<ExitCode> {
    let window = humantime::parse_duration(&args.window)
        .map_err(|e| anyhow!("--window {:?}: {e} (write e.g. 60s or 5m)", args.window))?;
    if args.watch == 0 {
        return Err(anyhow!("--watch takes a number of rounds, 1 or more"));
    }
    let opts = snapshot::Options {
        rounds: args.watch,
        format: match args.format {
            OutputFormat::Text => snapshot::OutputFormat::Text,
            OutputFormat::Json => snapshot::OutputFormat::Json,
        },
        window_ms: window.as_millis() as i64,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let demo = args.demo.then_some(args.scenario.as_str());
        let (config, fleet) = config_or_demo(config_path, demo, args.postgres.as_deref()).await?;
        let mut stdout = std::io::stdout().lock();
        let mut write_err = None;
        let last = snapshot::run(&config, &opts, |s| {
            let text = match opts.format {
                snapshot::OutputFormat::Text => snapshot::render_text(s),
                snapshot::OutputFormat::Json => match serde_json::to_string(s) {
                    Ok(j) => j + "\n",
                    Err(e) => format!("{{\"error\":\"cannot encode snapshot: {e}\"}}\n"),
                },
            };
            if let Err(e) = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                write_err.get_or_insert(e);
            }
        })
        .await
        .map_err(|e| anyhow!(e))?;
        if let Some(fleet) = fleet {
            fleet.shutdown().await;
        }
        if let Some(e) = write_err {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(anyhow!("cannot write the snapshot: {e}"));
            }
        }
        Ok(if last.any_down() {
            ExitCode::from(EXIT_PROBLEM)
        } else {
            ExitCode::SUCCESS
        })
    })
}

fn check(config_path: Option<&std::path::Path>, args: &CheckArgs) -> Result<ExitCode> {
    let window = humantime::parse_duration(&args.window)
        .map_err(|e| anyhow!("--window {:?}: {e} (write e.g. 60s or 5m)", args.window))?;
    let reports_dir = if args.no_save {
        None
    } else {
        Some(
            args.reports_dir
                .clone()
                .or_else(check_cmd::default_reports_dir)
                .ok_or_else(|| {
                    anyhow!("no HOME or XDG_STATE_HOME for the reports: set one, pass --reports-dir DIR, or --no-save")
                })?,
        )
    };
    let opts = check_cmd::Options {
        checklist: args.checklist.clone(),
        format: match args.format {
            ReportFormat::Md => check_cmd::Format::Markdown,
            ReportFormat::Json => check_cmd::Format::Json,
        },
        operator: args
            .operator
            .clone()
            .unwrap_or_else(crate::checklist::default_operator),
        reports_dir,
        window_ms: window.as_millis() as i64,
    };
    runtime()?.block_on(async {
        let demo = args.demo.then_some(args.scenario.as_str());
        let (config, fleet) = config_or_demo(config_path, demo, None).await?;
        if fleet.is_some() {
            check_cmd::demo_nightly_backups(&config)
                .await
                .map_err(|e| anyhow!(e))?;
        }
        let mut stdout = std::io::stdout().lock();
        let code = check_cmd::run(&config, &opts, &mut stdout).await;
        if let Some(fleet) = fleet {
            fleet.shutdown().await;
        }
        Ok(ExitCode::from(code.map_err(|e| anyhow!(e))?))
    })
}

/// The cockpit on the configured targets, or on the demo fleet when `demo` names a scenario.
fn cockpit_cmd(
    config_path: Option<&std::path::Path>,
    screen: &ScreenArgs,
    demo: Option<&str>,
    postgres: Option<&str>,
    no_history: bool,
) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(anyhow!(
            "the cockpit needs a terminal; for scripts use `watchdeck snapshot` (or `snapshot --demo`)"
        ));
    }
    let opts = cockpit::Options {
        theme: screen.theme.clone(),
        mouse: !screen.no_mouse,
        read_only: screen.read_only,
        bell: screen.bell,
    };
    // The event loop runs on this thread; one worker carries the collectors (two measured
    // the same idle CPU, and a third busy thread buys nothing on a 2-core box).
    let rt = runtime_with(1)?;
    let exit = rt.block_on(async {
        let (mut config, fleet) = config_or_demo(config_path, demo, postgres).await?;
        if no_history {
            config.history = None;
            for t in &mut config.targets {
                t.history = None;
            }
        }
        let exit = cockpit::run(&config, &opts).await;
        if let Some(fleet) = fleet {
            fleet.shutdown().await;
        }
        exit
    });
    // Blocking tasks (a statvfs on a hung mount) must not keep a hung-up cockpit alive.
    rt.shutdown_timeout(Duration::from_secs(1));
    match exit? {
        cockpit::Exit::Quit => Ok(ExitCode::SUCCESS),
        cockpit::Exit::Hangup => Ok(ExitCode::from(129)),
        cockpit::Exit::Terminated => Ok(ExitCode::from(143)),
    }
}

/// Bodies read from files or stdin are capped like scraped ones.
const MAX_FILE_BODY: u64 = 256 << 20;

fn scrape(args: &ScrapeArgs) -> Result<ExitCode> {
    let timeout = humantime::parse_duration(&args.timeout)
        .map_err(|e| anyhow!("--timeout {:?}: {e} (write e.g. 10s)", args.timeout))?;
    let src = args.source.as_str();
    let (body, header_format) = if src.starts_with("http://") || src.starts_with("https://") {
        let url =
            reqwest::Url::parse(src).map_err(|e| anyhow!("{src:?} is not a valid URL: {e}"))?;
        let rt = runtime()?;
        rt.block_on(async {
            let fetcher = Fetcher::new(Purpose::Metrics, &[], None).map_err(|e| anyhow!("{e}"))?;
            let limits = HttpLimits {
                timeout,
                connect_timeout: Duration::from_secs(2).min(timeout),
                max_body_bytes: config::Limits::default().max_body_bytes,
            };
            let mut buf = Vec::new();
            let fetched = fetcher
                .fetch(&url, &limits, &mut buf)
                .await
                .map_err(|e| anyhow!("{src}: {e}"))?;
            Ok::<_, anyhow::Error>((
                buf,
                Some(Format::from_content_type(fetched.content_type.as_deref())),
            ))
        })?
    } else {
        let mut buf = Vec::new();
        let n = if src == "-" {
            std::io::stdin()
                .take(MAX_FILE_BODY + 1)
                .read_to_end(&mut buf)
        } else {
            std::fs::File::open(src)
                .with_context(|| format!("cannot open {src}"))?
                .take(MAX_FILE_BODY + 1)
                .read_to_end(&mut buf)
        }
        .with_context(|| format!("cannot read {src}"))?;
        if n as u64 > MAX_FILE_BODY {
            return Err(anyhow!(
                "{src} is larger than {} MiB; refusing to read it",
                MAX_FILE_BODY >> 20
            ));
        }
        (buf, None)
    };
    let format = if args.openmetrics {
        Format::OpenMetrics
    } else {
        header_format
            .filter(|f| *f == Format::OpenMetrics)
            .unwrap_or_else(|| Format::sniff(&body))
    };
    let listing = scrape_cmd::list(src, &body, format);
    let out = match args.format {
        OutputFormat::Text => scrape_cmd::render_text(&listing),
        OutputFormat::Json => serde_json::to_string_pretty(&listing)? + "\n",
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(if listing.malformed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEM)
    })
}
