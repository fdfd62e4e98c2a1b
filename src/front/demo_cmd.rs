//! The demo's commands besides the cockpit: `demo serve` (the fleet, or N instances, on fixed
//! ports), `demo restart` and `demo kubectl` (what the demo's rollbacks run instead of systemctl
//! and kubectl).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use crate::demo::Fleet;

/// `watchdeck demo restart URL`: what the demo's rollback runs instead of systemctl.
pub fn restart(url: &str) -> Result<ExitCode> {
    let url = reqwest::Url::parse(url).map_err(|e| anyhow!("{url:?} is not a URL: {e}"))?;
    if url.host_str() != Some("127.0.0.1") {
        return Err(anyhow!(
            "demo restart only talks to a demo twin on 127.0.0.1"
        ));
    }
    super::runtime_with(1)?.block_on(async {
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
pub fn kubectl(server: &str, args: &[String]) -> Result<ExitCode> {
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
    super::runtime_with(1)?.block_on(async move {
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
pub struct ServeArgs<'a> {
    pub scenario: &'a str,
    pub port: Option<u16>,
    pub instances: usize,
    pub prometheus_config: Option<&'a std::path::Path>,
    pub scrape_interval: Option<Duration>,
}

/// The fleet `demo serve` runs: the normal one, or a scaled one.
enum Served {
    Normal(Fleet),
    Scaled(crate::demo::ScaledFleet),
}

pub fn serve(args: &ServeArgs<'_>) -> Result<ExitCode> {
    let scenario = super::parse_scenario(args.scenario)?;
    let scaled = args.instances > crate::front::cli::DEMO_SERVICES;
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
    let rt = super::runtime()?;
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
            let yml = crate::demo::prometheus_config(targets, interval);
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
            (&served, std::env::var(crate::demo::ADMIN_TOKEN_ENV))
        {
            println!(
                "# Topic actions need the fleet's admin token in the environment:\n#   export {}={}",
                crate::demo::ADMIN_TOKEN_ENV,
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
