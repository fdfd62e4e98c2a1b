//! Parse + ingest throughput, first-scrape cost, allocations per sample and index memory,
//! for watchdeck's parser and for `prometheus-parse` on the same bytes.
//!
//! Run: `cargo bench --bench parse` (prints a table; no timing assertions anywhere).
//! Short mode for CI: `WATCHDECK_BENCH_SHORT=1 cargo bench --bench parse` or
//! `cargo bench --bench parse -- --short` (a few iterations, the same figures, rougher).
//! `WATCHDECK_BENCH_FIRST_ONLY=1` repeats only the first scrape (for a profiler) and prints it.
#![allow(unsafe_code)] // the counting allocator below is the only unsafe code in the project

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use watchdeck::expo::{Format, IndexLimits, SeriesIndex};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

/// A realistic exposition: labelled request histograms with `{id}` route templates, request
/// counters, outbox backlog gauges and process metrics. `round` changes the values.
fn exposition(round: u64) -> String {
    const ROUTES: [&str; 10] = [
        "/v1/users/{id}",
        "/v1/users/{id}/posts/{post_id}",
        "/v1/topics/{topic_id}/posts",
        "/v1/search",
        "/v1/suggest",
        "/v1/relays/{relay_id}/subscriptions/{sub_id}",
        "/v1/moderation/reports/{report_id}",
        "/v1/labels/{label_id}",
        "/healthz",
        "/v1/trust/{subject_pubkey}",
    ];
    const LE: [&str; 12] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.18", "0.25", "0.5", "1", "2.5", "10", "+Inf",
    ];
    let mut out = String::with_capacity(14 << 20);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ round;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let services = [
        "cn-relay",
        "cn-user-api",
        "cn-index",
        "cn-moderation",
        "cn-trust",
    ];
    let methods = ["GET", "POST", "DELETE"];
    let statuses = ["200", "201", "404", "500"];
    out.push_str("# HELP http_request_duration_seconds Request latency by route.\n");
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for svc in services {
        for pod in 0..20 {
            for route in ROUTES {
                for method in methods {
                    for status in &statuses[..2] {
                        let mut c = rnd() % 1000 + round * 7;
                        for le in LE {
                            c += rnd() % 5000;
                            let _ = writeln!(
                                out,
                                "http_request_duration_seconds_bucket{{service=\"{svc}\",pod=\"{svc}-{pod:02}\",route=\"{route}\",method=\"{method}\",status=\"{status}\",le=\"{le}\"}} {c}"
                            );
                        }
                        let _ = writeln!(
                            out,
                            "http_request_duration_seconds_sum{{service=\"{svc}\",pod=\"{svc}-{pod:02}\",route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}.{:03}",
                            c / 20,
                            rnd() % 1000
                        );
                        let _ = writeln!(
                            out,
                            "http_request_duration_seconds_count{{service=\"{svc}\",pod=\"{svc}-{pod:02}\",route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {c}"
                        );
                    }
                }
            }
        }
    }
    out.push_str("# HELP http_requests_total Requests by route and status.\n");
    out.push_str("# TYPE http_requests_total counter\n");
    for svc in services {
        for pod in 0..20 {
            for route in ROUTES {
                for method in methods {
                    for status in statuses {
                        let _ = writeln!(
                            out,
                            "http_requests_total{{service=\"{svc}\",pod=\"{svc}-{pod:02}\",route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                            rnd() % 100_000 + round * 11
                        );
                    }
                }
            }
        }
    }
    out.push_str("# HELP outbox_backlog Events not yet consumed.\n# TYPE outbox_backlog gauge\n");
    for svc in services {
        for consumer in 0..200 {
            let _ = writeln!(
                out,
                "outbox_backlog{{service=\"{svc}\",consumer=\"consumer-{consumer:04}-v1\"}} {}",
                rnd() % 5000
            );
        }
    }
    out.push_str("# TYPE process_resident_memory_bytes gauge\n");
    let _ = writeln!(out, "process_resident_memory_bytes {}", rnd() % (1 << 30));
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One first scrape: a fresh index reads the whole body. Returns (time, allocations, samples).
fn our_first_scrape(body: &[u8], limits: IndexLimits) -> (Duration, u64, usize) {
    let mut idx = SeriesIndex::new(limits);
    let a0 = allocs();
    let t = Instant::now();
    let r = idx.ingest(body, Format::Prometheus, 0);
    let took = t.elapsed();
    let n = allocs() - a0;
    assert_eq!(r.malformed_count, 0);
    assert_eq!(r.new_series, r.samples);
    drop(idx);
    (took, n, r.samples)
}

/// prometheus-parse on the same text, fed lines as its API wants them.
fn their_first_scrape(text: &str) -> (Duration, u64, usize) {
    let a0 = allocs();
    let t = Instant::now();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("prometheus-parse reads it");
    let took = t.elapsed();
    let n = allocs() - a0;
    (took, n, scrape.samples.len())
}

#[allow(clippy::too_many_lines)] // one linear measurement script, read top to bottom
fn main() {
    let short = std::env::var_os("WATCHDECK_BENCH_SHORT").is_some_and(|v| v != "0")
        || std::env::args().any(|a| a == "--short");
    let bodies: Vec<String> = (0..3).map(exposition).collect();
    let body = bodies[0].as_bytes();
    let mb = body.len() as f64 / 1e6;
    let limits = IndexLimits {
        max_samples: 1_000_000,
        ..IndexLimits::default()
    };

    if std::env::var_os("WATCHDECK_BENCH_FIRST_ONLY").is_some() {
        let runs: Vec<Duration> = (0..if short { 3 } else { 40 })
            .map(|_| our_first_scrape(body, limits).0)
            .collect();
        let fastest = runs.iter().min().copied().unwrap_or_default();
        println!(
            "first scrape {:.1} ms (fastest {:.1} ms)",
            median(runs).as_secs_f64() * 1e3,
            fastest.as_secs_f64() * 1e3
        );
        return;
    }

    // First scrape, ours and theirs taking turns, so both see the same machine (it is shared,
    // and its load changes from one second to the next).
    let first_runs = if short { 3 } else { 15 };
    let (mut first, mut pp) = (Vec::new(), Vec::new());
    let (mut first_allocs, mut pp_allocs) = (0, 0);
    let (mut samples, mut pp_samples) = (0, 0);
    for _ in 0..first_runs {
        let (t, a, n) = our_first_scrape(body, limits);
        (first_allocs, samples) = (a, n);
        first.push(t);
        let (t, a, n) = their_first_scrape(bodies[0].as_str());
        (pp_allocs, pp_samples) = (a, n);
        pp.push(t);
    }
    let first = median(first);
    let pp = median(pp);

    // Steady state: the same series, new values every scrape.
    let mut idx = SeriesIndex::new(limits);
    idx.ingest(body, Format::Prometheus, 0);
    let mut steady = Vec::new();
    let a0 = allocs();
    let rounds: u32 = if short { 6 } else { 60 };
    for i in 0..rounds {
        let b = bodies[(i % 3) as usize].as_bytes();
        let t = Instant::now();
        let r = idx.ingest(b, Format::Prometheus, i64::from(i) * 1000 + 1000);
        steady.push(t.elapsed());
        assert_eq!(r.new_series, 0);
    }
    let steady_allocs = (allocs() - a0) as f64 / (f64::from(rounds) * samples as f64);
    let steady = median(steady);

    // The same, but the target writes its series in a different order every time, so the
    // order prediction never hits and every sample goes through the hash table.
    let reversed: Vec<String> = bodies
        .iter()
        .map(|b| {
            let mut out = String::with_capacity(b.len());
            for l in b.lines().rev() {
                out.push_str(l);
                out.push('\n');
            }
            out
        })
        .collect();
    let mut shuffled = Vec::new();
    let a1 = allocs();
    for i in 0..rounds {
        let b = if i % 2 == 0 {
            &reversed[(i % 3) as usize]
        } else {
            &bodies[(i % 3) as usize]
        };
        let t = Instant::now();
        let r = idx.ingest(
            b.as_bytes(),
            Format::Prometheus,
            i64::from(i) * 1000 + 100_000,
        );
        shuffled.push(t.elapsed());
        assert_eq!(r.new_series, 0);
    }
    let shuffled_allocs = (allocs() - a1) as f64 / (f64::from(rounds) * samples as f64);
    let shuffled = median(shuffled);
    let index_mem = idx.memory_bytes();

    let mbs = |d: Duration| mb / d.as_secs_f64();
    let sps = |d: Duration, n: usize| n as f64 / d.as_secs_f64();
    let first_aps = first_allocs as f64 / samples as f64;
    let pp_aps = pp_allocs as f64 / pp_samples as f64;
    if short {
        println!(
            "short mode: {first_runs} first scrapes each, {rounds} steady rounds (rough figures)"
        );
    }
    println!("exposition: {mb:.1} MB, {samples} samples ({pp_samples} read by prometheus-parse)");
    println!(
        "{:<34} {:>12} {:>14} {:>12}",
        "", "MB/s", "samples/s", "allocs/sample"
    );
    println!(
        "{:<34} {:>12.0} {:>14.0} {:>12.3}",
        "watchdeck steady state (median)",
        mbs(steady),
        sps(steady, samples),
        steady_allocs
    );
    println!(
        "{:<34} {:>12.0} {:>14.0} {:>12.3}",
        "watchdeck steady, order changing",
        mbs(shuffled),
        sps(shuffled, samples),
        shuffled_allocs
    );
    println!(
        "{:<34} {:>12.0} {:>14.0} {:>12.3}",
        "watchdeck first scrape",
        mbs(first),
        sps(first, samples),
        first_aps
    );
    println!(
        "{:<34} {:>12.0} {:>14.0} {:>12.3}",
        "prometheus-parse 0.2",
        mbs(pp),
        sps(pp, pp_samples),
        pp_aps
    );
    println!(
        "first scrape: {:.1}x prometheus-parse ({:.0} vs {:.0} MB/s; {:.3} vs {:.1} allocations/sample; {:.1} ms)",
        pp.as_secs_f64() / first.as_secs_f64(),
        mbs(first),
        mbs(pp),
        first_aps,
        pp_aps,
        first.as_secs_f64() * 1e3
    );
    println!(
        "steady state: {:.1}x prometheus-parse ({:.2} ms a scrape)",
        pp.as_secs_f64() / steady.as_secs_f64(),
        steady.as_secs_f64() * 1e3
    );
    println!(
        "series index memory: {:.1} MB = {:.2}x the body",
        index_mem as f64 / 1e6,
        index_mem as f64 / body.len() as f64
    );
}
