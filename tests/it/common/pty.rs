//! The real `watchdeck` binary in a real pseudo-terminal: keys go in, the screen is read back
//! through a VT100 emulator. Used by the end-to-end tests and by `benches/screen.rs`.
//!
//! ```ignore
//! let mut t = Launch::new(&["demo"]).size(120, 40).start();
//! t.wait_for("the fleet", |s| s.contains("6/6 targets up"));
//! t.send("q");
//! ```
//!
//! Every wait has a deadline and panics with the screen when it passes. The child gets its
//! environment from its own command (a fresh `XDG_STATE_HOME`, no `NO_COLOR`, no
//! `WATCHDECK_CONFIG`); nothing is set in the calling process.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, ExitStatus, MasterPty, PtySize};

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(20);

type Pred = Box<dyn Fn(&str) -> bool + Send>;

/// A screen condition the reader thread times: the first moment after launch it held. (Marks
/// are for `benches/screen.rs`; the tests wait with [`Term::wait_for`].)
struct Mark {
    #[allow(dead_code)]
    name: &'static str,
    pred: Pred,
    at: Option<Duration>,
}

/// What to start: arguments, terminal, size, environment.
pub struct Launch {
    args: Vec<String>,
    term: String,
    cols: u16,
    rows: u16,
    env: Vec<(String, String)>,
    state: Option<tempfile::TempDir>,
    limit: Duration,
    marks: Vec<Mark>,
}

impl Launch {
    /// `watchdeck ARGS` in a 120×40 `xterm-256color`, waits of 30 s at most.
    pub fn new(args: &[&str]) -> Launch {
        Launch {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            term: "xterm-256color".into(),
            cols: 120,
            rows: 40,
            env: Vec::new(),
            state: None,
            limit: Duration::from_secs(30),
            marks: Vec::new(),
        }
    }

    pub fn term(mut self, term: &str) -> Launch {
        term.clone_into(&mut self.term);
        self
    }

    pub fn size(mut self, cols: u16, rows: u16) -> Launch {
        (self.cols, self.rows) = (cols, rows);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `XDG_STATE_HOME` for the run (default: a fresh temporary directory).
    pub fn state(mut self, dir: tempfile::TempDir) -> Launch {
        self.state = Some(dir);
        self
    }

    /// The deadline of [`Term::wait_for`] and [`Term::quit`].
    pub fn limit(mut self, limit: Duration) -> Launch {
        self.limit = limit;
        self
    }

    /// Times `pred` on the screen as output arrives (read with [`Term::mark`]): for figures
    /// taken as the frame lands, not when a poll happens to look.
    #[allow(dead_code)]
    pub fn mark(
        mut self,
        name: &'static str,
        pred: impl Fn(&str) -> bool + Send + 'static,
    ) -> Launch {
        self.marks.push(Mark {
            name,
            pred: Box::new(pred),
            at: None,
        });
        self
    }

    pub fn start(self) -> Term {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: self.rows,
                cols: self.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let state = match self.state {
            Some(s) => s,
            None => tempfile::tempdir().expect("tempdir"),
        };
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_watchdeck"));
        cmd.args(&self.args);
        cmd.env("TERM", &self.term);
        cmd.env("XDG_STATE_HOME", state.path());
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("WATCHDECK_CONFIG");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let child = pty.slave.spawn_command(cmd).expect("spawn watchdeck");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(self.rows).expect("rows"),
            std::num::NonZeroU16::new(self.cols).expect("cols"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let marks = Arc::new(Mutex::new(self.marks));
        let closing = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(false));
        let (s2, r2, m2, c2, e2) = (
            screen.clone(),
            raw.clone(),
            marks.clone(),
            closing.clone(),
            ended.clone(),
        );
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            loop {
                if c2.load(Ordering::SeqCst) {
                    break;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut parser = s2.lock().expect("parser");
                        parser.process(&buf[..n]);
                        r2.lock().expect("raw").extend_from_slice(&buf[..n]);
                        let mut marks = m2.lock().expect("marks");
                        if marks.iter().any(|m| m.at.is_none()) {
                            let text = parser.screen().contents();
                            for m in marks.iter_mut().filter(|m| m.at.is_none()) {
                                if (m.pred)(&text) {
                                    m.at = Some(started.elapsed());
                                }
                            }
                        }
                    }
                }
            }
            e2.store(true, Ordering::SeqCst);
        });
        Term {
            child,
            master: Some(pty.master),
            writer: Some(writer),
            screen,
            raw,
            marks,
            closing,
            ended,
            limit: self.limit,
            state,
        }
    }
}

/// A running `watchdeck` in its pseudo-terminal; killed when dropped.
pub struct Term {
    child: Box<dyn Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    screen: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    #[allow(dead_code)]
    marks: Arc<Mutex<Vec<Mark>>>,
    /// Makes the reader thread let go of its end of the pty after its next read.
    closing: Arc<AtomicBool>,
    /// Set by the reader thread when it has read everything (end of output) and stopped.
    ended: Arc<AtomicBool>,
    limit: Duration,
    state: tempfile::TempDir,
}

impl Term {
    /// The screen as text.
    pub fn contents(&self) -> String {
        self.screen.lock().expect("parser").screen().contents()
    }

    /// Waits until the screen satisfies `pred`; panics with the screen after the deadline.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(what, self.limit, pred)
    }

    /// [`Term::wait_for`] with a deadline of its own.
    pub fn wait_for_within(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; screen:\n{text}"
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn send(&mut self, keys: &str) {
        let w = self.writer.as_mut().expect("the terminal is open");
        w.write_all(keys.as_bytes()).expect("write keys");
        w.flush().expect("flush");
    }

    /// Esc, then waits for `what` (an Esc followed at once by a key reads as Alt+key).
    pub fn esc_until(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.send("\x1b");
        self.wait_for(what, pred)
    }

    /// The exit status if the program has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits up to `limit` for the program to end.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// `q`, then the program must end, successfully, within the deadline.
    pub fn quit(&mut self) {
        self.send("q");
        let status = self.wait_exit(self.limit);
        assert!(
            status.as_ref().is_some_and(ExitStatus::success),
            "q did not quit cleanly within {:?}: {status:?}\n{}",
            self.limit,
            self.contents()
        );
    }

    /// Waits (after the program ended) until every byte it wrote has been read, so the screen
    /// and [`Term::raw`] hold its last output.
    pub fn wait_output_end(&self) {
        let start = Instant::now();
        while !self.ended.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < self.limit,
                "the terminal's output did not end within {:?} (is the program still running?)",
                self.limit
            );
            std::thread::sleep(POLL);
        }
    }

    /// Every byte the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().expect("raw").clone()
    }

    pub fn alternate_screen(&self) -> bool {
        self.screen
            .lock()
            .expect("parser")
            .screen()
            .alternate_screen()
    }

    /// Closes our side of the pty, as a terminal that goes away: the program's reads fail
    /// (EIO) and the kernel hangs it up.
    pub fn close(&mut self) {
        self.writer = None;
        self.master = None;
        self.closing.store(true, Ordering::SeqCst);
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    /// When after launch the screen first satisfied the [`Launch::mark`] called `name`.
    #[allow(dead_code)]
    pub fn mark(&self, name: &str) -> Option<Duration> {
        self.marks
            .lock()
            .expect("marks")
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no mark {name}"))
            .at
    }

    /// Waits up to `limit` for the mark `name`; `None` if it did not come.
    #[allow(dead_code)]
    pub fn wait_mark(&self, name: &str, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if let Some(at) = self.mark(name) {
                return Some(at);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// The program's `XDG_STATE_HOME`.
    pub fn state(&self) -> &std::path::Path {
        self.state.path()
    }

    /// Takes the state directory, for a second run over it.
    pub fn take_state(&mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.state, tempfile::tempdir().expect("tempdir"))
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
