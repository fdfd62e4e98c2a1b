//! Child processes for actions: argv only, own process group, clean environment, bounded
//! output tails, timeout and cancel that kill the whole group.
//!
//! Never a shell: the argv goes to execve as given, so a topic id of `x;touch /tmp/pwned` is one
//! argument. The child starts with an empty environment plus a short allowlist (PATH, HOME,
//! locale, KUBECONFIG…) and what the caller adds, so a token the cockpit holds for an HTTP
//! header never reaches a child. Each child leads its own process group, so cancel and timeout
//! reach pg_dump's or kubectl's own children too: SIGTERM to the group, then SIGKILL after a
//! grace period.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{kill_process_group, Pid, Signal};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command as TokioCommand;
use tokio::task::JoinHandle;

use super::{Ctx, Progress, Stream};

/// Lines kept per stream for the cockpit's output view and the audit record.
pub const TAIL_LINES: usize = 200;
/// Longest line kept; longer ones are cut (a binary blob on stderr must not fill memory).
pub const MAX_LINE: usize = 4096;
/// How long a group gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(3);

/// Variables a child inherits from watchdeck's own environment; everything else is dropped.
pub const ENV_ALLOW: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "KUBECONFIG",
    "XDG_RUNTIME_DIR",
];

/// What to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// Program and arguments; `argv[0]` is looked up in PATH when it has no slash.
    pub argv: Vec<String>,
    /// Added to the allowlisted environment (e.g. `PGPASSFILE`).
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

impl Command {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        Command {
            argv: argv.into_iter().map(Into::into).collect(),
            ..Command::default()
        }
    }

    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// How a child ended when it ran to completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    pub stdout_tail: Vec<String>,
    pub stderr_tail: Vec<String>,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// "exit 1" / "killed by signal 9", for messages.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "ended without a status".to_owned(),
        }
    }

    /// The last non-empty stderr line, for a one-line error.
    pub fn last_error_line(&self) -> Option<&str> {
        self.stderr_tail
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("empty command")]
    Empty,
    #[error("cannot start {program}: {source} — is it installed and on PATH?")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} was cancelled; its process group was killed")]
    Cancelled { program: String, tails: Finished },
    #[error("{program} did not finish within the action's timeout; its process group was killed")]
    TimedOut { program: String, tails: Finished },
    #[error("waiting for {program} failed: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

impl ChildError {
    /// Output tails captured before the group was killed, if any.
    pub fn tails(&self) -> Option<&Finished> {
        match self {
            ChildError::Cancelled { tails, .. } | ChildError::TimedOut { tails, .. } => Some(tails),
            _ => None,
        }
    }
}

enum End {
    Exited(std::io::Result<std::process::ExitStatus>),
    Cancelled,
    TimedOut,
}

/// Runs `cmd` to completion under `ctx`: output lines go to `ctx.progress` (masked) and into
/// bounded tails; cancel or the deadline kill the process group.
pub async fn run(cmd: &Command, ctx: &Ctx) -> Result<Finished, ChildError> {
    let program = cmd.argv.first().ok_or(ChildError::Empty)?.clone();
    let mut command = TokioCommand::new(&program);
    command
        .args(&cmd.argv[1..])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for key in ENV_ALLOW {
        if let Some(v) = std::env::var_os(key) {
            command.env(key, v);
        }
    }
    for (k, v) in &cmd.env {
        command.env(k, v);
    }
    if let Some(dir) = &cmd.cwd {
        command.current_dir(dir);
    }
    die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|source| ChildError::Spawn {
        program: program.clone(),
        source,
    })?;
    let pgid = child.id().and_then(|id| Pid::from_raw(id as i32));
    if let (Some(lock), Some(pid)) = (&ctx.lock, pgid) {
        lock.note_child(pid.as_raw_nonzero().get());
    }
    let out = child
        .stdout
        .take()
        .map(|s| reader(s, Stream::Stdout, ctx.clone()));
    let err = child
        .stderr
        .take()
        .map(|s| reader(s, Stream::Stderr, ctx.clone()));

    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    let end = tokio::select! {
        status = child.wait() => End::Exited(status),
        () = ctx.cancel.cancelled() => End::Cancelled,
        () = tokio::time::sleep_until(deadline) => End::TimedOut,
    };
    let status = match end {
        End::Exited(status) => status,
        End::Cancelled | End::TimedOut => {
            kill_group(pgid, &mut child).await;
            let tails = collect(None, out, err).await;
            return Err(if matches!(end, End::Cancelled) {
                ChildError::Cancelled { program, tails }
            } else {
                ChildError::TimedOut { program, tails }
            });
        }
    };
    let status = status.map_err(|source| ChildError::Wait {
        program: program.clone(),
        source,
    })?;
    // The leader is gone; anything it left in its group holding the pipes open is killed so
    // the readers end.
    let (mut out, mut err) = (out, err);
    let readers_done = async { (join_ref(&mut out).await, join_ref(&mut err).await) };
    let (stdout_tail, stderr_tail) =
        if let Ok(tails) = tokio::time::timeout(Duration::from_secs(2), readers_done).await {
            tails
        } else {
            // Something that left the group (setsid, a daemonizing script) holds the pipes:
            // the readers are stopped rather than left waiting forever.
            if let Some(pid) = pgid {
                let _ = kill_process_group(pid, Signal::KILL);
            }
            for h in [&out, &err].into_iter().flatten() {
                h.abort();
            }
            (Vec::new(), Vec::new())
        };
    Ok(Finished {
        code: status.code(),
        signal: status.signal(),
        stdout_tail,
        stderr_tail,
    })
}

/// Makes the child receive SIGKILL when watchdeck dies, even by `kill -9` (Linux's
/// `PR_SET_PDEATHSIG`): a child must not outlive the process that holds its lock. What the child
/// starts in its own group is covered by the lock file, which records the group (see
/// [`super::lock::LockGuard::note_child`]).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(command: &mut TokioCommand) {
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec. It makes only two system calls
    // (prctl and getppid), both async-signal-safe, touches no lock and allocates nothing
    // (an `Errno` converts to `io::Error` without allocating).
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have died between fork and prctl: then nothing would signal us.
            if rustix::process::getppid() != Some(parent) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut TokioCommand) {}

/// SIGTERM to the group, SIGKILL after the grace period, then reap the leader.
async fn kill_group(pgid: Option<Pid>, child: &mut tokio::process::Child) {
    if let Some(pid) = pgid {
        let _ = kill_process_group(pid, Signal::TERM);
        if tokio::time::timeout(KILL_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = kill_process_group(pid, Signal::KILL);
        } else {
            // The leader went; stragglers in its group get no grace.
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
    let _ = child.kill().await;
    let _ = child.wait().await;
}

async fn collect(
    code: Option<i32>,
    out: Option<JoinHandle<Vec<String>>>,
    err: Option<JoinHandle<Vec<String>>>,
) -> Finished {
    let tails = async { (join_tail(out).await, join_tail(err).await) };
    let (stdout_tail, stderr_tail) = tokio::time::timeout(Duration::from_secs(2), tails)
        .await
        .unwrap_or_default();
    Finished {
        code,
        signal: None,
        stdout_tail,
        stderr_tail,
    }
}

async fn join_ref(h: &mut Option<JoinHandle<Vec<String>>>) -> Vec<String> {
    match h {
        Some(h) => h.await.unwrap_or_default(),
        None => Vec::new(),
    }
}

async fn join_tail(h: Option<JoinHandle<Vec<String>>>) -> Vec<String> {
    match h {
        Some(h) => h.await.unwrap_or_default(),
        None => Vec::new(),
    }
}

fn reader<R: AsyncRead + Unpin + Send + 'static>(
    stream: R,
    which: Stream,
    ctx: Ctx,
) -> JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut tail = VecDeque::with_capacity(16);
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::with_capacity(256);
        loop {
            buf.clear();
            // read_until with a cap: a line without a newline is cut at MAX_LINE.
            match read_line_capped(&mut reader, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf);
            let line = ctx.mask(text.trim_end_matches(['\n', '\r']));
            let _ = ctx.progress.send(Progress::Output {
                stream: which,
                line: line.clone(),
            });
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        tail.into_iter().collect()
    })
}

/// Reads one line of at most [`MAX_LINE`] bytes (the rest of a longer line is skipped).
async fn read_line_capped<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let n = chunk.len();
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..n.min(room)]);
        reader.consume(n);
        total += n;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(timeout: Duration) -> (Ctx, tokio::sync::mpsc::UnboundedReceiver<Progress>) {
        Ctx::detached(timeout)
    }

    #[tokio::test]
    async fn argv_is_passed_literally_and_output_is_tailed() {
        let (c, _rx) = ctx(Duration::from_secs(10));
        let f = run(
            &Command::new(["printf", "%s\\n", "x;touch /tmp/pwned", "$(id)"]),
            &c,
        )
        .await
        .expect("printf runs");
        assert!(f.success());
        assert_eq!(f.stdout_tail, vec!["x;touch /tmp/pwned", "$(id)"]);
    }

    #[tokio::test]
    async fn environment_is_allowlisted() {
        std::env::set_var("WATCHDECK_CHILD_CANARY", "canary-3f9");
        let (c, _rx) = ctx(Duration::from_secs(10));
        let f = run(&Command::new(["env"]).env("PGPASSFILE", "/x"), &c)
            .await
            .expect("env runs");
        assert!(f.stdout_tail.iter().any(|l| l == "PGPASSFILE=/x"));
        assert!(!f.stdout_tail.iter().any(|l| l.contains("canary-3f9")));
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("grandchild-survived");
        // The grandchild would write the marker after 2 s unless its group is killed.
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let (c, _rx) = ctx(Duration::from_millis(300));
        let err = run(&Command::new(["sh", "-c", &script]), &c)
            .await
            .expect_err("times out");
        assert!(matches!(err, ChildError::TimedOut { .. }), "{err}");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "a grandchild outlived the kill");
    }

    #[tokio::test]
    async fn a_grandchild_that_left_the_group_does_not_hold_the_run() {
        let (c, _rx) = ctx(Duration::from_secs(60));
        // `setsid` puts the sleeper in a session of its own, out of reach of the group kill,
        // with the stdout pipe still open: before the fix, the readers waited for it.
        let cmd = Command::new(["sh", "-c", "setsid sleep 20 & echo started"]);
        let f = tokio::time::timeout(Duration::from_secs(15), run(&cmd, &c))
            .await
            .expect("the run does not wait on a process outside its group")
            .expect("sh runs");
        assert!(f.success());
    }

    #[tokio::test]
    async fn cancel_kills_and_reports() {
        let (c, _rx) = ctx(Duration::from_secs(30));
        let cancel = c.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cancel.cancel();
        });
        let err = run(&Command::new(["sleep", "30"]), &c)
            .await
            .expect_err("cancelled");
        assert!(matches!(err, ChildError::Cancelled { .. }), "{err}");
    }

    #[tokio::test]
    async fn missing_program_is_a_plain_error() {
        let (c, _rx) = ctx(Duration::from_secs(5));
        let err = run(&Command::new(["no-such-program-watchdeck"]), &c)
            .await
            .expect_err("not found");
        assert!(err.to_string().contains("is it installed"), "{err}");
    }

    #[tokio::test]
    async fn secrets_are_masked_in_output() {
        let (mut c, _rx) = ctx(Duration::from_secs(5));
        c.secrets = vec!["hunter2".into()];
        let f = run(&Command::new(["echo", "pw=hunter2"]), &c)
            .await
            .expect("echo");
        assert_eq!(f.stdout_tail, vec!["pw=***"]);
    }
}
