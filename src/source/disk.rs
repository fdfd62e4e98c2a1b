//! Local filesystem usage through statvfs(3).

use std::path::Path;
use std::time::Duration;

use crate::obs::DiskUsage;

/// How long one statvfs may take before the path is reported as not answering.
pub const DISK_TIMEOUT: Duration = Duration::from_secs(2);

/// Size, available and free bytes of the filesystem holding `path`.
pub fn statvfs_usage(path: &Path) -> Result<DiskUsage, String> {
    let st = rustix::fs::statvfs(path)
        .map_err(|e| format!("cannot stat filesystem of {}: {e}", path.display()))?;
    let unit = st.f_frsize as f64;
    Ok(DiskUsage {
        size_bytes: st.f_blocks as f64 * unit,
        avail_bytes: st.f_bavail as f64 * unit,
        free_bytes: st.f_bfree as f64 * unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_filesystem_has_a_size() {
        let u = statvfs_usage(Path::new("/")).expect("statvfs /");
        assert!(u.size_bytes > 0.0);
        assert!(u.free_bytes <= u.size_bytes);
        assert!(u.avail_bytes <= u.free_bytes);
    }

    #[test]
    fn missing_path_is_a_plain_error() {
        let e = statvfs_usage(Path::new("/no/such/dir/for/watchdeck")).expect_err("missing");
        assert!(
            e.starts_with("cannot stat filesystem of /no/such/dir/for/watchdeck"),
            "{e}"
        );
    }
}
