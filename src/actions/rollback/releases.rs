//! The `releases/<ts>` + `current` symlink layout (runbook: `/opt/<app>/releases/<ts>`,
//! `current -> releases/<ts>`): reading it, choosing the release to roll back to, swapping
//! `current` atomically, and the bad-release marks watchdeck owns.
//!
//! Bad marks: a release that failed a watchdeck rollback gets a file
//! `releases/<ts>/.watchdeck-bad` holding JSON `{"reason": "...", "at": "<RFC 3339 UTC>"}`.
//! Any file of that name marks the release bad, even an unreadable one. Keeping the mark inside
//! the release means pruning the release prunes its mark too; deleting the file (or
//! [`clear_bad`]) makes the release a candidate again.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The directory of releases under the root.
pub const RELEASES_DIR: &str = "releases";
/// The symlink that names the live release.
pub const CURRENT: &str = "current";
/// The bad mark's file name inside a release directory.
pub const BAD_MARK: &str = ".watchdeck-bad";

/// One `releases/<name>` directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub name: String,
    /// `current` points to it.
    pub current: bool,
    /// Marked bad by an earlier failed rollback.
    pub bad: Option<BadMark>,
}

/// What a `.watchdeck-bad` file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadMark {
    pub reason: String,
    /// When it was marked, RFC 3339 UTC (empty when the file could not be read).
    pub at: String,
}

/// What `root/current` is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Current {
    Missing,
    /// A real file or directory, not a symlink: watchdeck will not replace it.
    NotSymlink,
    Link {
        /// The link text as stored (`releases/A` or `/opt/app/releases/A`).
        target: PathBuf,
        /// The release it resolves to; `None` when it resolves elsewhere or nowhere.
        release: Option<String>,
        /// The target does not exist.
        dangling: bool,
    },
}

/// The whole tree as scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tree {
    pub root: PathBuf,
    /// Sorted by name: timestamps sort lexically, so this is oldest first.
    pub releases: Vec<Release>,
    pub current: Current,
}

/// Why there is nothing to roll back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoCurrent { root: PathBuf },
    NotSymlink { root: PathBuf },
    Dangling { root: PathBuf, target: PathBuf },
    Outside { root: PathBuf, target: PathBuf },
    Oldest { root: PathBuf, current: String },
    AllOlderBad { current: String, bad: Vec<String> },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoCurrent { root } => write!(
                f,
                "{}/current does not exist, so there is no deployed release to roll back from",
                root.display()
            ),
            Refusal::NotSymlink { root } => write!(
                f,
                "{}/current is not a symlink; watchdeck only swaps a symlinked current (ln -sfn layout)",
                root.display()
            ),
            Refusal::Dangling { root, target } => write!(
                f,
                "{}/current points to {}, which does not exist; fix current by hand first",
                root.display(),
                target.display()
            ),
            Refusal::Outside { root, target } => write!(
                f,
                "{}/current points to {}, which is not a release under {}/releases",
                root.display(),
                target.display(),
                root.display()
            ),
            Refusal::Oldest { root, current } => write!(
                f,
                "the current release {current} is the oldest under {}/releases; there is nothing older to roll back to",
                root.display()
            ),
            Refusal::AllOlderBad { current, bad } => write!(
                f,
                "every release older than {current} is marked bad ({}); delete a release's {BAD_MARK} file to allow it again",
                bad.join(", ")
            ),
        }
    }
}

impl Tree {
    /// The release `current` points to.
    pub fn current_release(&self) -> Option<&str> {
        match &self.current {
            Current::Link {
                release: Some(r), ..
            } => Some(r),
            _ => None,
        }
    }

    /// The newest release older than the current one that is not marked bad.
    pub fn candidate(&self) -> Result<&Release, Refusal> {
        let root = self.root.clone();
        let current = match &self.current {
            Current::Missing => return Err(Refusal::NoCurrent { root }),
            Current::NotSymlink => return Err(Refusal::NotSymlink { root }),
            Current::Link {
                target,
                dangling: true,
                ..
            } => {
                return Err(Refusal::Dangling {
                    root,
                    target: target.clone(),
                })
            }
            Current::Link {
                target,
                release: None,
                ..
            } => {
                return Err(Refusal::Outside {
                    root,
                    target: target.clone(),
                })
            }
            Current::Link {
                release: Some(r), ..
            } => r.clone(),
        };
        let older: Vec<&Release> = self.releases.iter().filter(|r| r.name < current).collect();
        if older.is_empty() {
            return Err(Refusal::Oldest { root, current });
        }
        older
            .iter()
            .rev()
            .find(|r| r.bad.is_none())
            .copied()
            .ok_or_else(|| Refusal::AllOlderBad {
                current,
                bad: older.iter().map(|r| r.name.clone()).collect(),
            })
    }

    /// A string that changes whenever anything a rollback decision rests on changes: the
    /// link text of `current`, the release names, and the bad marks.
    pub fn fingerprint(&self) -> String {
        let mut out = match &self.current {
            Current::Missing => "current=missing".to_owned(),
            Current::NotSymlink => "current=not-symlink".to_owned(),
            Current::Link {
                target, dangling, ..
            } => format!(
                "current->{}{}",
                target.display(),
                if *dangling { " (dangling)" } else { "" }
            ),
        };
        for r in &self.releases {
            out.push('|');
            out.push_str(&r.name);
            if let Some(b) = &r.bad {
                out.push_str(" bad@");
                out.push_str(&b.at);
            }
        }
        out
    }

    /// Whether `current`'s link text is absolute (new links keep the same style).
    pub fn current_is_absolute(&self) -> bool {
        matches!(&self.current, Current::Link { target, .. } if target.is_absolute())
    }
}

/// Reads `root/releases` and `root/current`.
pub fn scan(root: &Path) -> io::Result<Tree> {
    let releases_dir = root.join(RELEASES_DIR);
    let mut releases = Vec::new();
    for entry in fs::read_dir(&releases_dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue; // not UTF-8: not a <ts> release
        };
        // Hidden entries are temp files and the like, never releases.
        if name.starts_with('.') {
            continue;
        }
        // `metadata` follows symlinks: a symlinked release directory still counts.
        if !fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let bad = read_bad(&entry.path().join(BAD_MARK));
        releases.push(Release {
            name,
            current: false,
            bad,
        });
    }
    releases.sort_by(|a, b| a.name.cmp(&b.name));

    let link = root.join(CURRENT);
    let current = match fs::symlink_metadata(&link) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Current::Missing,
        Err(e) => return Err(e),
        Ok(m) if !m.file_type().is_symlink() => Current::NotSymlink,
        Ok(_) => {
            let target = fs::read_link(&link)?;
            // Resolve both sides so that a root reached through a symlink (/opt/app ->
            // /srv/app) or a `./releases/A` link still names its release.
            match fs::canonicalize(root.join(&target)) {
                Err(_) => Current::Link {
                    target,
                    release: None,
                    dangling: true,
                },
                Ok(resolved) => {
                    let canon_releases = fs::canonicalize(&releases_dir)?;
                    let release = match (resolved.parent(), resolved.file_name()) {
                        (Some(parent), Some(name)) if parent == canon_releases => name
                            .to_str()
                            .filter(|n| releases.iter().any(|r| r.name == *n))
                            .map(str::to_owned),
                        _ => None,
                    };
                    Current::Link {
                        target,
                        release,
                        dangling: false,
                    }
                }
            }
        }
    };
    if let Current::Link {
        release: Some(name),
        ..
    } = &current
    {
        for r in &mut releases {
            r.current = r.name == *name;
        }
    }
    Ok(Tree {
        root: root.to_path_buf(),
        releases,
        current,
    })
}

fn read_bad(path: &Path) -> Option<BadMark> {
    match crate::safe_fs::read_regular(path, crate::safe_fs::MAX_CONFIG_FILE) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| BadMark {
            reason: format!("mark file present but unreadable ({e})"),
            at: String::new(),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        // Present but unreadable (permissions): still bad, never silently a candidate.
        Err(e) => fs::symlink_metadata(path).ok().map(|_| BadMark {
            reason: format!("mark file present but unreadable ({e})"),
            at: String::new(),
        }),
    }
}

/// The link text for `current -> releases/<name>`, in the given style.
pub fn link_for(root: &Path, name: &str, absolute: bool) -> io::Result<PathBuf> {
    let rel = Path::new(RELEASES_DIR).join(name);
    if absolute {
        Ok(std::path::absolute(root)?.join(rel))
    } else {
        Ok(rel)
    }
}

/// Checks that a release name is one plain path component (it comes from a directory
/// listing, but the plan is data a caller holds and could have built by hand).
pub fn is_plain_name(name: &str) -> bool {
    let mut comps = Path::new(name).components();
    matches!((comps.next(), comps.next()), (Some(Component::Normal(c)), None) if c == OsStr::new(name))
}

static SWAP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Points `root/current` at `target` atomically: a new symlink at a temporary name, renamed
/// over `current`, then the directory fsynced. `current` is never absent, not even for an
/// instant, because rename(2) replaces the old link in one step.
pub fn swap_current(root: &Path, target: &Path) -> io::Result<()> {
    let n = SWAP_SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = root.join(format!(".current.tmp-{}-{n}", std::process::id()));
    std::os::unix::fs::symlink(target, &tmp)?;
    if let Err(e) = fs::rename(&tmp, root.join(CURRENT)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable only once the directory entry is on disk.
    fs::File::open(root)?.sync_all()
}

/// Marks `releases/<name>` bad with `reason` (written to a temp name and renamed in place).
pub fn mark_bad(root: &Path, name: &str, reason: &str) -> io::Result<()> {
    if !is_plain_name(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a release name"),
        ));
    }
    let dir = root.join(RELEASES_DIR).join(name);
    let mark = BadMark {
        reason: reason.to_owned(),
        at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    };
    let tmp = dir.join(format!("{BAD_MARK}.tmp-{}", std::process::id()));
    let body = serde_json::to_vec_pretty(&mark).map_err(io::Error::other)?;
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&body)?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dir.join(BAD_MARK))
}

/// Removes the bad mark of `releases/<name>` (no error when there is none).
pub fn clear_bad(root: &Path, name: &str) -> io::Result<()> {
    if !is_plain_name(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a release name"),
        ));
    }
    match fs::remove_file(root.join(RELEASES_DIR).join(name).join(BAD_MARK)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(names: &[&str], current: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in names {
            fs::create_dir_all(dir.path().join(RELEASES_DIR).join(n)).expect("mkdir");
        }
        if let Some(c) = current {
            std::os::unix::fs::symlink(c, dir.path().join(CURRENT)).expect("symlink");
        }
        dir
    }

    #[test]
    fn candidate_is_newest_older_not_bad() {
        let d = tree(
            &["20240103", "20240101", "20240102"],
            Some("releases/20240103"),
        );
        mark_bad(d.path(), "20240102", "health failed").expect("mark");
        let t = scan(d.path()).expect("scan");
        let names: Vec<_> = t.releases.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["20240101", "20240102", "20240103"]);
        assert!(t.releases[2].current);
        assert_eq!(
            t.releases[1].bad.as_ref().map(|b| b.reason.as_str()),
            Some("health failed")
        );
        assert_eq!(t.candidate().expect("candidate").name, "20240101");
    }

    #[test]
    fn absolute_link_is_recognised_and_style_kept() {
        let d = tree(&["a", "b"], None);
        let abs = d.path().join("releases/b");
        std::os::unix::fs::symlink(&abs, d.path().join(CURRENT)).expect("symlink");
        let t = scan(d.path()).expect("scan");
        assert_eq!(t.current_release(), Some("b"));
        assert!(t.current_is_absolute());
        assert_eq!(
            link_for(d.path(), "a", true).expect("abs"),
            d.path().join("releases/a")
        );
    }

    #[test]
    fn refusals_say_why() {
        let d = tree(&["a", "b"], None);
        let t = scan(d.path()).expect("scan");
        assert!(matches!(t.candidate(), Err(Refusal::NoCurrent { .. })));

        let d = tree(&["a", "b"], Some("releases/a"));
        let e = scan(d.path())
            .expect("scan")
            .candidate()
            .expect_err("oldest");
        assert!(e.to_string().contains("oldest"), "{e}");

        let d = tree(&["a", "b"], Some("releases/zzz"));
        let e = scan(d.path())
            .expect("scan")
            .candidate()
            .expect_err("dangling");
        assert!(e.to_string().contains("does not exist"), "{e}");

        let d = tree(&["a", "b"], Some("releases/b"));
        mark_bad(d.path(), "a", "x").expect("mark");
        let e = scan(d.path()).expect("scan").candidate().expect_err("bad");
        assert!(e.to_string().contains("marked bad (a)"), "{e}");
        clear_bad(d.path(), "a").expect("clear");
        assert_eq!(
            scan(d.path()).expect("scan").candidate().expect("ok").name,
            "a"
        );

        let d = tree(&["a", "b"], None);
        fs::create_dir(d.path().join(CURRENT)).expect("dir");
        let e = scan(d.path()).expect("scan").candidate().expect_err("dir");
        assert!(e.to_string().contains("not a symlink"), "{e}");
    }

    #[test]
    fn fingerprint_tracks_marks_and_link() {
        let d = tree(&["a", "b"], Some("releases/b"));
        let f1 = scan(d.path()).expect("scan").fingerprint();
        mark_bad(d.path(), "a", "x").expect("mark");
        let f2 = scan(d.path()).expect("scan").fingerprint();
        assert_ne!(f1, f2);
        swap_current(d.path(), Path::new("releases/a")).expect("swap");
        assert_ne!(f2, scan(d.path()).expect("scan").fingerprint());
    }

    #[test]
    fn names_must_be_plain() {
        assert!(is_plain_name("20240101T000000Z"));
        for bad in ["", "..", ".", "a/b", "/a", "../a"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
