//! Entering and leaving the full-screen terminal, on every exit path.
//!
//! The guard restores the terminal when dropped (normal quit, `?` errors); the panic hook
//! restores it before the panic message prints. After a hangup nothing is written: the
//! terminal is gone, and writing to it could block or fail.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};

/// Every frame goes through this buffer and leaves in one write.
pub type Backend = CrosstermBackend<BufWriter<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leaves the alternate screen and raw mode. Safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Forgets the terminal without writing to it (after a hangup).
pub fn abandon() {
    ACTIVE.store(false, Ordering::SeqCst);
}

/// Restores the terminal on drop.
pub struct Guard {
    pub screen: Screen<Backend>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Installs a panic hook that restores the terminal first, so the message is readable.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Raw mode, alternate screen, hidden cursor, mouse capture if asked.
pub fn enter(mouse: bool) -> io::Result<Guard> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    let entered = execute!(out, EnterAlternateScreen, cursor::Hide).and_then(|()| {
        if mouse {
            execute!(out, EnableMouseCapture)
        } else {
            Ok(())
        }
    });
    if let Err(e) = entered {
        restore();
        return Err(e);
    }
    let backend = CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, io::stdout()));
    Ok(Guard {
        screen: Screen::new(backend),
    })
}

/// Turns mouse capture on or off while running.
pub fn set_mouse(on: bool) -> io::Result<()> {
    let mut out = io::stdout();
    if on {
        execute!(out, EnableMouseCapture)
    } else {
        execute!(out, DisableMouseCapture)
    }
}

/// The screen as last written, and the backend to write changes to.
///
/// Each frame is rendered into a fresh buffer and compared with the one on the terminal; only
/// the cells that differ are written, and an unchanged frame writes nothing at all (ratatui's
/// `Terminal::draw` always writes cursor and colour resets). Two buffers are swapped, never
/// copied.
pub struct Screen<B: ratatui::backend::Backend> {
    backend: B,
    shown: ratatui::buffer::Buffer,
    next: ratatui::buffer::Buffer,
}

impl<B: ratatui::backend::Backend> Screen<B> {
    pub fn new(backend: B) -> Self {
        let empty = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::default());
        Self {
            backend,
            shown: empty.clone(),
            next: empty,
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The terminal's size as (columns, rows).
    pub fn size(&self) -> Result<(u16, u16), B::Error> {
        let s = self.backend.size()?;
        Ok((s.width, s.height))
    }

    /// Renders with `render` at the terminal's size and writes what changed. Returns whether
    /// anything was written.
    pub fn draw(
        &mut self,
        render: impl FnOnce(ratatui::layout::Rect, &mut ratatui::buffer::Buffer),
    ) -> Result<bool, B::Error> {
        let size = self.size()?;
        self.draw_at(size, render)
    }

    /// As [`draw`](Self::draw), at a given size (columns, rows).
    pub fn draw_at(
        &mut self,
        (w, h): (u16, u16),
        render: impl FnOnce(ratatui::layout::Rect, &mut ratatui::buffer::Buffer),
    ) -> Result<bool, B::Error> {
        let area = ratatui::layout::Rect::new(0, 0, w, h);
        if self.shown.area == area {
            self.next.reset();
        } else {
            // A new size: start from a clear screen and an empty picture of it.
            self.backend.clear()?;
            self.shown = ratatui::buffer::Buffer::empty(area);
            self.next = ratatui::buffer::Buffer::empty(area);
        }
        render(area, &mut self.next);
        let changes = self.shown.diff(&self.next);
        if changes.is_empty() {
            return Ok(false);
        }
        self.backend.draw(changes.into_iter())?;
        self.backend.flush()?;
        std::mem::swap(&mut self.shown, &mut self.next);
        Ok(true)
    }
}
