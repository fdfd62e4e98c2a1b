//! The `watchdeck` binary: parses the command line and hands off to the library.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Parser;

use watchdeck::actions::Request;
use watchdeck::cli::{
    ActionArgs, ActionName, CheckArgs, Cli, Command, ConfigCommand, DemoArgs, DemoCommand,
    OutputFormat, ReportFormat, ScrapeArgs, ScreenArgs, SnapshotArgs,
};
use watchdeck::config::{self, Config};
use watchdeck::demo::{Fleet, Scenario};
use watchdeck::expo::Format;
use watchdeck::source::http::{Fetcher, HttpLimits, Purpose};
use watchdeck::{action_cmd, check_cmd, cockpit, logging, scrape_cmd, snapshot};

/// Exit statuses: 0 fine, 1 something watched is wrong (target down, malformed lines),
/// 2 watchdeck could not do what was asked (bad config, unreachable endpoint).
const EXIT_PROBLEM: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = logging::init();
    let screen = matches!(
        cli.command,
        None | Some(Command::Demo(DemoArgs { command: None, .. }))
    );
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            say(&format!("watchdeck: {e:#}"));
            ExitCode::from(EXIT_ERROR)
        }
    };
    if screen {
        if let Some(p) = &log.path {
            say(&format!("watchdeck: logs are in {}", p.display()));
        }
        if let Some(problem) = &log.problem {
            say(&format!("watchdeck: {problem}"));
        }
    }
    code
}

/// One line on stderr; a failed write is ignored. After a hangup the terminal is gone and
/// the write fails with EIO: `eprintln!` would panic (exit 101) where the exit must be 129.
fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    runtime_with(2)
}

fn runtime_with(workers: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> Result<ExitCode> {
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
            let path = path.or(cli.config);
            let path = Config::locate(path.as_deref()).ok_or_else(|| {
                anyhow!(
                    "no config file: pass --config PATH, set WATCHDECK_CONFIG, or create {}",
                    Config::default_path().map_or_else(
                        || "~/.config/watchdeck/config.toml".to_owned(),
                        |p| p.display().to_string()
                    )
                )
            })?;
            match Config::load(&path) {
                Ok(c) => {
                    println!(
                        "{}: ok — {} targets, {} disks, {} fleets",
                        path.display(),
                        c.targets.len(),
                        c.disks.len(),
                        c.fleets.len()
                    );
                    // The PromQL each fleet sends, for review by whoever runs the store.
                    for f in &c.fleets {
                        let queries = watchdeck::source::fleet::describe(f);
                        println!(
                            "\nfleet {} ({}): {} queries per refresh, every {}:",
                            f.name,
                            watchdeck::source::display_url(&f.url),
                            queries.lines().count(),
                            humantime::format_duration(f.interval)
                        );
                        for q in queries.lines() {
                            println!("  {q}");
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    say(&e.to_string());
                    Ok(ExitCode::from(EXIT_ERROR))
                }
            }
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
        }) => demo_serve(&ServeArgs {
            scenario: &scenario,
            port,
            instances: instances.unwrap_or(watchdeck::cli::DEMO_SERVICES),
            prometheus_config: prometheus_config.as_deref(),
            scrape_interval,
        }),
        Command::Demo(DemoArgs {
            command: Some(DemoCommand::Restart { url }),
            ..
        }) => demo_restart(&url),
        Command::Demo(DemoArgs {
            command: Some(DemoCommand::Kubectl { server, args }),
            ..
        }) => demo_kubectl(&server, &args),
    }
}

fn parse_scenario(s: &str) -> Result<Scenario> {
    s.parse::<Scenario>().map_err(|_| {
        let all: Vec<String> = Scenario::ALL.iter().map(ToString::to_string).collect();
        anyhow!("unknown scenario {s:?}; choose one of: {}", all.join(", "))
    })
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
    let scenario = parse_scenario(scenario)?;
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
    let state_dir = config
        .actions
        .state_dir
        .clone()
        .or_else(watchdeck::logging::state_dir)
        .ok_or_else(|| {
            anyhow!("no HOME or XDG_STATE_HOME: set one, or [actions] state_dir in the config")
        })?;
    // The operator's own directory, closed to others: locks and the audit file live there.
    watchdeck::safe_fs::private_dir(&state_dir)
        .with_context(|| format!("cannot use the state directory {}", state_dir.display()))?;
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
            .unwrap_or_else(watchdeck::checklist::default_operator),
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

/// `watchdeck demo restart URL`: what the demo's rollback runs instead of systemctl.
fn demo_restart(url: &str) -> Result<ExitCode> {
    let url = reqwest::Url::parse(url).map_err(|e| anyhow!("{url:?} is not a URL: {e}"))?;
    if url.host_str() != Some("127.0.0.1") {
        return Err(anyhow!(
            "demo restart only talks to a demo twin on 127.0.0.1"
        ));
    }
    runtime_with(1)?.block_on(async {
        let resp = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?
            .post(url.clone())
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach the demo twin at {url}: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        print!("{body}");
        if status.is_success() {
            Ok(ExitCode::SUCCESS)
        } else {
            Err(anyhow!("the demo twin answered {status}"))
        }
    })
}

/// `watchdeck demo kubectl --server URL rollout undo|status …`: kubectl's rollout verbs
/// against the REST API twin, with kubectl's output and exit codes.
fn demo_kubectl(server: &str, args: &[String]) -> Result<ExitCode> {
    let base = reqwest::Url::parse(server).map_err(|e| anyhow!("--server {server:?}: {e}"))?;
    if base.host_str() != Some("127.0.0.1") {
        return Err(anyhow!(
            "demo kubectl only talks to a demo twin on 127.0.0.1"
        ));
    }
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let dry_run = words.contains(&"--dry-run=server");
    let timeout = words
        .iter()
        .find_map(|w| w.strip_prefix("--timeout="))
        .map_or(Ok(Duration::from_secs(60)), humantime::parse_duration)
        .map_err(|e| anyhow!("--timeout: {e}"))?;
    let verb = match words.as_slice() {
        ["rollout", verb @ ("undo" | "status"), deployment, ..]
            if deployment.starts_with("deployment/") =>
        {
            *verb
        }
        _ => {
            eprintln!("error: demo kubectl knows `rollout undo|status deployment/NAME`");
            return Ok(ExitCode::from(1));
        }
    };
    runtime_with(1)?.block_on(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        if verb == "undo" {
            let mut url = base.join("/admin/rollout/undo")?;
            if dry_run {
                url.set_query(Some("dry_run=server"));
            }
            let resp = client.post(url).send().await?;
            let ok = resp.status().is_success();
            let body = resp.text().await.unwrap_or_default();
            if ok {
                print!("{body}");
                return Ok(ExitCode::SUCCESS);
            }
            eprint!("{body}");
            return Ok(ExitCode::from(1));
        }
        let url = base.join("/admin/rollout/status")?;
        let deadline = std::time::Instant::now() + timeout;
        let mut last = String::new();
        loop {
            let resp = client.get(url.clone()).send().await?;
            let ok = resp.status().is_success();
            let body = resp.text().await.unwrap_or_default();
            if body != last {
                print!("{body}");
                std::io::stdout().flush().ok();
                last = body;
            }
            if ok {
                return Ok(ExitCode::SUCCESS);
            }
            if std::time::Instant::now() >= deadline {
                eprintln!("error: timed out waiting for the condition");
                return Ok(ExitCode::from(1));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}

/// What `watchdeck demo serve` was asked for.
struct ServeArgs<'a> {
    scenario: &'a str,
    port: Option<u16>,
    instances: usize,
    prometheus_config: Option<&'a std::path::Path>,
    scrape_interval: Option<Duration>,
}

/// The fleet `demo serve` runs: the normal one, or a scaled one.
enum Served {
    Normal(Fleet),
    Scaled(watchdeck::demo::ScaledFleet),
}

fn demo_serve(args: &ServeArgs<'_>) -> Result<ExitCode> {
    let scenario = parse_scenario(args.scenario)?;
    let scaled = args.instances > watchdeck::cli::DEMO_SERVICES;
    if scaled && args.port.is_some() {
        return Err(anyhow!(
            "--port is for the normal fleet; a scaled fleet (--instances {}) takes free ports",
            args.instances
        ));
    }
    let interval = args.scrape_interval.unwrap_or(if scaled {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    });
    let rt = runtime()?;
    rt.block_on(async {
        let served = if scaled {
            let fleet = Fleet::start_scaled(scenario, args.instances)
                .await
                .context("cannot start the scaled demo fleet")?;
            Served::Scaled(fleet)
        } else {
            let fleet = Fleet::start(scenario, args.port)
                .await
                .context("cannot start the demo fleet (is the port free?)")?;
            Served::Normal(fleet)
        };
        let (targets, config) = match &served {
            Served::Normal(f) => (&f.targets, f.config_toml(interval)),
            Served::Scaled(f) => (&f.targets, f.config_toml(interval)),
        };
        if let Some(path) = args.prometheus_config {
            let yml = watchdeck::demo::prometheus_config(targets, interval);
            write_public_file(path, &yml).with_context(|| {
                format!("cannot write the Prometheus config {}", path.display())
            })?;
        }
        match &served {
            Served::Normal(_) => {
                println!("# watchdeck demo fleet, scenario {scenario}. Ctrl-C stops it.");
            }
            Served::Scaled(f) => println!(
                "# watchdeck scaled demo fleet: {} instances, scenario {scenario} on the first \
                 of each kind. Ctrl-C stops it.",
                f.targets.len()
            ),
        }
        println!("# Save this as a config and run: watchdeck --config FILE snapshot");
        if let Some(path) = args.prometheus_config {
            println!(
                "# Prometheus scrape config written to {}: prometheus --config.file={}",
                path.display(),
                path.display()
            );
        }
        if let (Served::Normal(fleet), Err(_)) =
            (&served, std::env::var(watchdeck::demo::ADMIN_TOKEN_ENV))
        {
            println!(
                "# Topic actions need the fleet's admin token in the environment:\n#   export {}={}",
                watchdeck::demo::ADMIN_TOKEN_ENV,
                fleet.admin_token()
            );
        }
        print!("{config}");
        std::io::stdout().flush().ok();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        match served {
            Served::Normal(f) => f.shutdown().await,
            Served::Scaled(f) => f.shutdown().await,
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Writes `text` to `path` with mode 0644 (whatever the umask), through a temporary file in
/// the same directory and a rename, so a reader never sees half of it.
fn write_public_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::write(&tmp, text)
        .and_then(|()| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
