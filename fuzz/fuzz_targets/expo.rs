//! `cargo +nightly fuzz run expo` — the exposition parser and index never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use watchdeck::expo::{Format, SeriesIndex};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut idx = SeriesIndex::default();
        idx.ingest(data, format, 1);
        idx.ingest(data, format, 2);
        for v in idx.iter() {
            let _ = v.labels.iter().count();
        }
    }
});
