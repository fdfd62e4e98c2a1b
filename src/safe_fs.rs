//! Opening files without trusting what is on disk.
//!
//! - Files the config names (theme, CA bundle, passfile, checklist…) are read only when they
//!   are regular files, up to a size cap: `/dev/zero` would fill memory and a FIFO would block
//!   forever. They are opened with `O_NONBLOCK` and checked with `fstat` before any read.
//! - State files (locks, the audit file, temporary password files) are never opened through a
//!   symlink (`O_NOFOLLOW`), and their directory must be the user's own and closed to others:
//!   another user who can plant a link there could make an action write where they choose.
//! - Private temporary directories are made fresh (`mkdtemp`-style, 0700), never reused.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// The largest file the config may name (themes, CA bundles, passfiles, checklists).
pub const MAX_CONFIG_FILE: u64 = 4 << 20;

/// What a file that is not regular is, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symlink"
    } else {
        "not a file"
    }
}

/// Reads a regular file of at most `cap` bytes. Anything else is an error that says what the
/// path is ("not a regular file (it is a FIFO)"), returned at once, without blocking.
pub fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file (it is {})", kind_of(meta.file_type())),
        ));
    }
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} KiB; refusing to read it", cap >> 10),
        )
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(buf)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_string(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8 text"))
}

/// Adds `O_NOFOLLOW` (and `O_CLOEXEC`) to `opts`: the last component must not be a symlink.
pub fn no_follow(opts: &mut OpenOptions) -> &mut OpenOptions {
    opts.custom_flags((OFlags::NOFOLLOW | OFlags::CLOEXEC).bits() as i32)
}

/// Opens a state file with `opts` without following a symlink; a symlink is refused in words.
pub fn open_state_file(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    no_follow(opts).open(path).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symlink; watchdeck never follows one in its state — remove it",
                    path.display()
                ),
            )
        } else {
            e
        }
    })
}

/// Creates `dir` (and missing parents) with mode 0700, then checks that it is a directory of
/// this user's that no one else can write to. The error says what to fix.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    check_private(dir)
}

/// Checks that `dir` is a directory owned by this user and not writable by group or others.
pub fn check_private(dir: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    let refuse = |why: String| Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
    if !meta.is_dir() {
        return refuse(format!("{} is not a directory", dir.display()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return refuse(format!(
            "{} belongs to uid {}, not to you (uid {me}); watchdeck keeps its state only in a \
             directory of your own",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return refuse(format!(
            "{} is writable by others (mode {mode:04o}); run chmod 700 {}",
            dir.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// A random 64-bit number from the standard library's per-process hash keys and the clock.
fn random_u64(salt: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(salt);
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Makes a fresh directory `<parent>/<prefix><random>` with mode 0700, never an existing one
/// (`mkdtemp`): a name planted in a shared directory is skipped, not used.
pub fn fresh_private_dir(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    let mut last = None;
    for attempt in 0..64 {
        let dir = parent.join(format!("{prefix}{:016x}", random_u64(attempt)));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free name for a private directory")))
}

/// Whether any live (not zombie) process is in process group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    if let Ok(rd) = std::fs::read_dir("/proc") {
        let mut any_proc = false;
        for e in rd.filter_map(Result::ok) {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            any_proc = true;
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // "pid (comm) state ppid pgrp …": comm may hold anything, so split at the last ')'.
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let mut f = stat[close + 1..].split_whitespace();
            let state = f.next().unwrap_or("Z");
            let pgrp = f.nth(1).and_then(|s| s.parse::<i32>().ok());
            if pgrp == Some(pgid) && state != "Z" && state != "X" {
                return true;
            }
        }
        if any_proc {
            return false;
        }
    }
    rustix::process::Pid::from_raw(pgid)
        .is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_devices_are_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let e = read_regular(&fifo, 1024).expect_err("fifo");
        assert!(
            e.to_string().contains("not a regular file (it is a FIFO)"),
            "{e}"
        );
        let e = read_regular(Path::new("/dev/zero"), 1024).expect_err("device");
        assert!(e.to_string().contains("character device"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).expect("write");
        assert!(read_regular(&big, 1024).is_err());
        assert_eq!(read_regular(&big, 4096).expect("fits").len(), 2048);
    }

    #[test]
    fn state_files_are_not_opened_through_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("victim");
        std::fs::write(&target, "x").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = open_state_file(&link, OpenOptions::new().append(true)).expect_err("symlink");
        assert!(e.to_string().contains("is a symlink"), "{e}");
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        // Only root can give a directory away; elsewhere there is nothing to check.
        if rustix::process::geteuid().as_raw() != 0 {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).expect("mkdir");
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown");
        let e = check_private(&theirs).expect_err("not ours");
        assert!(e.to_string().contains("belongs to uid 65534"), "{e}");
    }

    #[test]
    fn fresh_private_dirs_are_new_and_0700() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = fresh_private_dir(dir.path(), "x-").expect("a");
        let b = fresh_private_dir(dir.path(), "x-").expect("b");
        assert_ne!(a, b);
        let mode = std::fs::metadata(&a).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(check_private(&a).is_err());
    }
}
