//! `node_exporter` style filesystem gauges for one mount point. In normal operation the free
//! space wanders a little (writes, vacuum, log rotation); while `filling`, it falls at a
//! steady rate until the filesystem is full, never below zero.

use super::sim::{Expo, Kind, Prng, Wander};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone)]
pub(crate) struct Filesystem {
    device: &'static str,
    fstype: &'static str,
    mountpoint: &'static str,
    size: f64,
    /// Blocks reserved for root (ext4 keeps 5 %): `free` = `avail` + this.
    reserved: f64,
    avail: Wander,
    /// Bytes per second lost while filling; 0 = normal operation.
    fill_rate: f64,
}

impl Filesystem {
    /// `used` is the starting share of the size in use (0..1).
    pub(crate) fn new(
        device: &'static str,
        mountpoint: &'static str,
        size_gib: f64,
        used: f64,
    ) -> Self {
        let size = (size_gib * GIB).round();
        let reserved = (size * 0.05).round();
        let avail = (size * (1.0 - used)).round();
        Self {
            device,
            fstype: "ext4",
            mountpoint,
            size,
            reserved,
            avail: Wander::new(avail, 0.002, 0.05).within(0.0, size - reserved),
            fill_rate: 0.0,
        }
    }

    /// Starts filling at a steady rate that takes what is available now in about `secs`.
    pub(crate) fn fill_within(&mut self, secs: f64) {
        self.fill_rate = self.avail.value / secs.max(1.0);
    }

    pub(crate) fn mountpoint(&self) -> &'static str {
        self.mountpoint
    }

    /// No space left for ordinary writers: what Postgres and `SQLite` run into.
    pub(crate) fn is_full(&self) -> bool {
        self.avail.value < 1.0
    }

    pub(crate) fn advance(&mut self, dt: f64, rng: &mut Prng) {
        if self.fill_rate > 0.0 {
            let jitter = (1.0 + 0.1 * rng.normal()).clamp(0.5, 1.5);
            self.avail.value = (self.avail.value - self.fill_rate * dt * jitter).max(0.0);
        } else {
            self.avail.step(dt, rng);
        }
    }
}

/// Writes the three `node_filesystem_*` families for `filesystems`.
pub(crate) fn render(out: &mut Expo, filesystems: &[Filesystem]) {
    let families = [
        ("node_filesystem_size_bytes", "Filesystem size in bytes."),
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
        ),
        (
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
        ),
    ];
    for (i, (name, help)) in families.into_iter().enumerate() {
        out.family(name, Kind::Gauge, help);
        for fs in filesystems {
            let avail = fs.avail.value.round();
            let value = match i {
                0 => fs.size,
                1 => avail,
                _ => avail + fs.reserved,
            };
            let labels = [
                ("device", fs.device),
                ("fstype", fs.fstype),
                ("mountpoint", fs.mountpoint),
            ];
            out.sample(name, &labels, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filling_reaches_full_but_not_below_zero() {
        let mut rng = Prng::for_name("disk");
        let mut fs = Filesystem::new("/dev/sdb1", "/var/lib/postgresql", 100.0, 0.7);
        fs.fill_within(60.0);
        let start = fs.avail.value;
        fs.advance(1.0, &mut rng);
        assert!(fs.avail.value < start);
        for _ in 0..29 {
            fs.advance(1.0, &mut rng);
        }
        let half = fs.avail.value / start;
        assert!(
            (0.4..0.6).contains(&half),
            "half the time, half the space: {half}"
        );
        for _ in 0..60 {
            fs.advance(1.0, &mut rng);
        }
        assert!(fs.avail.value.abs() < f64::EPSILON);
        assert!(fs.is_full());
    }
}
