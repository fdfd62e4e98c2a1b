//! What the cockpit's Backups section shows: a target's generations, newest first, read from
//! its backup directory by the backup driver.

/// A generation as the Backups section shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRow {
    pub file: String,
    /// Unix ms when it finished.
    pub at_ms: i64,
    pub bytes: u64,
    pub verified: bool,
    /// Verification text, or the error of a failed attempt.
    pub note: String,
}

/// The Backups section of one target, as last read from its directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Backups {
    pub rows: Vec<BackupRow>,
    pub error: Option<String>,
    /// The last restore drill: "ok: cn_relay.events 1200 = 1200 (3.2 s)".
    pub drill: Option<String>,
    /// The newest verified backup older than this (ms) is an alert.
    pub max_age_ms: i64,
    /// False until the directory has been read once.
    pub loaded: bool,
}

impl Backups {
    /// Unix ms of the newest verified generation.
    pub fn newest_verified_ms(&self) -> Option<i64> {
        self.rows
            .iter()
            .filter(|r| r.verified)
            .map(|r| r.at_ms)
            .max()
    }

    /// True when the newest verified backup is older than `max_age` (or there is none).
    pub fn stale(&self, now_ms: i64) -> bool {
        self.loaded
            && self.error.is_none()
            && self
                .newest_verified_ms()
                .is_none_or(|t| now_ms - t > self.max_age_ms)
    }
}
