//! Parity with Prometheus's own parser, tested against the real `prometheus` binary.
//!
//! Hand-written and generated expositions are served on loopback, one path each; a real
//! Prometheus (started by `common/prom.rs` on a free port, temporary config and data
//! directory) scrapes every one of them as a job of its own; what it stored is read back with
//! one instant query and compared with what `watchdeck scrape URL --format json` lists for the
//! same URL: names, labels (empty values dropped, as Prometheus does) and values. Where
//! Prometheus fails a whole scrape (`up == 0`), watchdeck must at least report a malformed
//! line. Where Prometheus keeps a scrape, watchdeck may report only duplicates (Prometheus
//! keeps their first sample and drops the rest).

use crate::common::prom;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

struct Case {
    name: String,
    content_type: &'static str,
    body: Vec<u8>,
}

fn case(name: &str, body: &str) -> Case {
    Case {
        name: name.to_owned(),
        content_type: TEXT,
        body: body.as_bytes().to_vec(),
    }
}

fn om(name: &str, body: &str) -> Case {
    Case {
        name: name.to_owned(),
        content_type: OPENMETRICS,
        body: body.as_bytes().to_vec(),
    }
}

/// The exposition format's corners, written by hand.
#[allow(clippy::too_many_lines)] // a table of cases
fn hand_written(now_ms: i64) -> Vec<Case> {
    let mut v = vec![
        case("plain", "a 1\nb 2.5\nc -3\n"),
        case("labels", "a{x=\"1\",y=\"2\"} 3\n"),
        case("space before brace", "a {x=\"1\"} 1\n"),
        case("space after brace", "a{ x=\"1\"} 1\n"),
        case("space before close", "a{x=\"1\" } 1\n"),
        case("space around equals", "a{x = \"1\"} 1\n"),
        case("space around comma", "a{x=\"1\" , y=\"2\"} 1\n"),
        case("tabs between tokens", "a\t{\tx\t=\t\"1\"\t,\ty=\"2\"\t}\t1\n"),
        case("spaces everywhere", "a  {  x  =  \"1\"  ,  y  =  \"2\"  }   7   \n"),
        case("trailing comma", "a{x=\"1\",} 1\n"),
        case("empty label set", "a{} 1\n"),
        case("empty label value", "a{x=\"\",y=\"2\"} 1\n"),
        case("no space before value", "a{x=\"1\"}1\n"),
        case(
            "escapes",
            "a{x=\"q\\\"uote\",y=\"back\\\\slash\",z=\"new\\nline\"} 1\n",
        ),
        case("unknown escape kept", "a{x=\"tab\\there\"} 1\n"),
        case("separators in values", "a{x=\"a,b=c}{\",y=\" \"} 1\n"),
        case("utf-8 value", "a{x=\"größe ✓ 日本\"} 1\n"),
        case(
            "special values",
            "a{v=\"nan\"} NaN\na{v=\"pinf\"} +Inf\na{v=\"ninf\"} -Inf\na{v=\"inf\"} Inf\n",
        ),
        case("special spellings", "a{v=\"1\"} nan\na{v=\"2\"} inf\na{v=\"3\"} -inf\n"),
        case("infinity word", "a Infinity\n"),
        case(
            "number forms",
            "a{v=\"1\"} 1e3\na{v=\"2\"} 1E-3\na{v=\"3\"} .5\na{v=\"4\"} 5.\na{v=\"5\"} +1\na{v=\"6\"} -0\na{v=\"7\"} 0001\n",
        ),
        case("big numbers", "a{v=\"1\"} 123456789012345678901234567890\na{v=\"2\"} 1.7976931348623157e308\na{v=\"3\"} 4.9e-324\n"),
        case("hex float", "a 0x1p-2\n"),
        case("underscore digits", "a 1_000\n"),
        case("timestamp", &format!("a 1 {now_ms}\nb{{x=\"1\"}} 2 {now_ms}\n")),
        case("comments", "# just a comment\n#no space\na 1\n# another\nb 2\n"),
        case(
            "help and type",
            "# HELP a The a, with \\\\ and \\n escapes.\n# TYPE a counter\na 1\n# HELP b\n# TYPE b gauge\nb 2\n",
        ),
        case("type after samples", "a 1\n# TYPE a gauge\n"),
        case("type twice", "# TYPE a gauge\n# TYPE a gauge\na 1\n"),
        case("help twice", "# HELP a one\n# HELP a two\na 1\n"),
        case("unknown type", "# TYPE a strange\na 1\n"),
        case("untyped type", "# TYPE a untyped\na 1\n"),
        case(
            "histogram",
            "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.5\nh_count 3\n",
        ),
        case(
            "summary",
            "# TYPE s summary\ns{quantile=\"0.5\"} 0.1\ns{quantile=\"0.99\"} 0.2\ns_sum 3\ns_count 9\n",
        ),
        case("crlf", "a 1\r\nb 2\r\n"),
        case("no final newline", "a 1\nb 2"),
        case("blank lines", "\n\na 1\n\n\nb 2\n\n"),
        case("blank line with spaces", "a 1\n   \nb 2\n"),
        case("leading spaces", "  a 1\n"),
        case("empty body", ""),
        case("only comments", "# HELP a x\n# TYPE a gauge\n"),
        case("colon names", "a:b:c 1\n:x 2\n"),
        case("reserved label", "a{__x=\"1\"} 1\n"),
        case("label named le on a gauge", "a{le=\"1\"} 1\n"),
        case("duplicate series", "a 1\na 2\n"),
        case("duplicate with labels reordered", "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n"),
        case("duplicate by empty label", "a{x=\"\"} 1\na 2\n"),
        case("duplicate with spaces", "a{x=\"1\"} 1\na{ x = \"1\" } 2\n"),
        case("duplicate label name", "a{x=\"1\",x=\"2\"} 1\n"),
        case("name starts with digit", "1a 1\n"),
        case("missing value", "a\n"),
        case("unquoted label value", "a{x=1} 1\n"),
        case("unterminated label value", "a{x=\"1} 1\n"),
        case("missing close brace", "a{x=\"1\" 1\n"),
        case("bad value", "a one\n"),
        case("value then junk", "a 1 2 3\n"),
        case("float timestamp", "a 1 1.5\n"),
        case("label name starts with digit", "a{1x=\"1\"} 1\n"),
        case("dash in name", "a-b 1\n"),
        case("one bad line among good", "a 1\nb{ 2\nc 3\n"),
        case("pairs without a comma", "a{x=\"1\" y=\"2\"} 1\n"),
        case("leading comma", "a{,x=\"1\"} 1\n"),
        case("signed timestamp", "a 1 -5\n"),
        case("plus timestamp", "a 1 +5\n"),
        case("exemplar in text format", "a 1 # {t=\"x\"} 1\n"),
        case("signed nan", "a -nan\n"),
        case("value glued to name", "a+1\n"),
        case("trailing blanks", "a 1   \t\nb{x=\"1\"} 2 \n"),
        case("timestamp then blanks", &format!("a 1 {now_ms}  \n")),
        case("type line with crlf", "# TYPE a gauge\r\na 1\n"),
        case("help line with crlf", "# HELP a text\r\na 1\n"),
        case("blank crlf line", "a 1\n\r\nb 2\n"),
        case("comment with crlf", "# hello\r\na 1\n"),
        case("comment without space then HELP", "#HELP a x\na 1\n"),
        case("HELP without name", "# HELP\na 1\n"),
        case("TYPE without type", "# TYPE a\na 1\n"),
        case("long label value", &format!("a{{x=\"{}\"}} 1\n", "v".repeat(3000))),
        case("many labels", &{
            let l: Vec<String> = (0..30).map(|i| format!("l{i}=\"{i}\"")).collect();
            format!("a{{{}}} 1\n", l.join(","))
        }),
        om("om plain", "# TYPE a gauge\na 1\n# EOF\n"),
        om("om counter", "# TYPE c counter\n# HELP c help\nc_total 3\nc_created 1.7e9\n# EOF\n"),
        om("om unit", "# TYPE t gauge\n# UNIT t seconds\nt 2\n# EOF\n"),
        om("om no eof", "# TYPE a gauge\na 1\n"),
        om(
            "om exemplar",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1 # {trace_id=\"abc\"} 0.5\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 1\n# EOF\n",
        ),
        om("om timestamp", &format!("# TYPE a gauge\na 1 {}\n# EOF\n", now_ms / 1000)),
        om("om content after eof", "# TYPE a gauge\na 1\n# EOF\nb 2\n"),
        om("om untyped", "a 1\n# EOF\n"),
    ];
    for c in &mut v {
        c.name = format!("hand: {}", c.name);
    }
    v
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Blanks between tokens, as a sloppy exporter might write them.
fn ws(r: &mut Rng) -> &'static str {
    ["", "", "", " ", "  ", "\t"][r.below(6)]
}

fn gen_name(r: &mut Rng, first: &str, rest: &str) -> String {
    let f: Vec<char> = first.chars().collect();
    let c: Vec<char> = rest.chars().collect();
    let mut s = String::new();
    s.push(f[r.below(f.len())]);
    for _ in 0..r.below(8) {
        s.push(c[r.below(c.len())]);
    }
    s
}

/// A label value as written (escapes in) for a random string.
fn gen_value(r: &mut Rng) -> String {
    let parts = [
        "a", "b", "0", "/path", " ", ",", "=", "{", "}", "\\\\", "\\\"", "\\n", "é", "日", "✓",
        "#", "x y",
    ];
    let mut s = String::new();
    for _ in 0..r.below(6) {
        s.push_str(r.pick(&parts));
    }
    s
}

fn gen_number(r: &mut Rng) -> String {
    match r.below(10) {
        0 => "NaN".into(),
        1 => r.pick(&["+Inf", "-Inf"]).into(),
        2 => format!("{}", r.next() % 1000),
        3 => format!("{}.{}", r.next() % 100, r.next() % 1000),
        4 => format!("{}e{}", r.next() % 10, r.below(20) as i64 - 10),
        5 => format!("-{}", r.next() % 100_000),
        6 => format!("{}", r.next()),
        7 => "0".into(),
        8 => format!("{:.3}", (r.next() % 100_000) as f64 / 7.0),
        _ => format!("{}E+{}", r.next() % 10, r.below(30)),
    }
}

/// Generated text-format expositions: families with HELP/TYPE, random labels and values,
/// whitespace between tokens; each series once.
fn generated(count: usize, seed: u64) -> Vec<Case> {
    let mut r = Rng(seed);
    let mut out = Vec::new();
    for i in 0..count {
        let mut body = String::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..=r.below(6) {
            let family = format!(
                "{}_{}",
                gen_name(&mut r, "abcxyz:", "abcxyz_:0123456789"),
                r.below(1000)
            );
            if r.below(2) == 0 {
                let _ = writeln!(body, "# HELP {family} Help for {family}, with \\\\ too.");
            }
            if r.below(2) == 0 {
                let t = r.pick(&["gauge", "counter", "untyped"]);
                let _ = writeln!(body, "# TYPE {family} {t}");
            }
            for _ in 0..=r.below(5) {
                let mut labels: Vec<(String, String)> = Vec::new();
                for _ in 0..r.below(4) {
                    let n = gen_name(&mut r, "abcdefgh_", "abcdefgh_0123456789");
                    if n.starts_with("__")
                        || n == "job"
                        || n == "instance"
                        || labels.iter().any(|(m, _)| *m == n)
                    {
                        continue;
                    }
                    labels.push((n, gen_value(&mut r)));
                }
                // Identity as Prometheus sees it: sorted, empty values dropped.
                let mut id: Vec<(String, String)> = labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .cloned()
                    .collect();
                id.sort();
                if !seen.insert((family.clone(), id)) {
                    continue;
                }
                let mut line = family.clone();
                if !labels.is_empty() || r.below(4) == 0 {
                    line.push_str(ws(&mut r));
                    line.push('{');
                    let pairs: Vec<String> = labels
                        .iter()
                        .map(|(n, v)| {
                            format!(
                                "{}{n}{}={}\"{v}\"{}",
                                ws(&mut r),
                                ws(&mut r),
                                ws(&mut r),
                                ws(&mut r)
                            )
                        })
                        .collect();
                    line.push_str(&pairs.join(","));
                    line.push('}');
                }
                line.push(' ');
                line.push_str(ws(&mut r));
                line.push_str(&gen_number(&mut r));
                line.push_str(ws(&mut r));
                body.push_str(&line);
                body.push('\n');
            }
        }
        out.push(Case {
            name: format!("generated #{i} (seed {seed})"),
            content_type: TEXT,
            body: body.into_bytes(),
        });
    }
    out
}

/// Serves `cases[i]` at `/case/i` with its content type, until the task is dropped.
async fn serve(cases: Arc<Vec<(&'static str, Vec<u8>)>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let cases = cases.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("/");
                let found = path
                    .strip_prefix("/case/")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|i| cases.get(i));
                let reply = match found {
                    Some((ct, body)) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(body);
                        r
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

/// A series as compared: name, labels without empty values, and the value.
type Series = (String, BTreeMap<String, String>, Value);

/// A sample's value. Equal when both are NaN, or within 4 ULP: serde_json (without its
/// `float_roundtrip` feature) may read a long decimal one ULP off what watchdeck printed.
#[derive(Debug, Clone, Copy)]
struct Value(Option<f64>);

impl PartialEq for Value {
    fn eq(&self, o: &Value) -> bool {
        match (self.0, o.0) {
            (Some(a), Some(b)) if a.is_nan() && b.is_nan() => true,
            (Some(a), Some(b)) if a == b => true,
            (Some(a), Some(b)) if a.is_finite() && b.is_finite() => {
                (a - b).abs() <= a.abs().max(b.abs()) * 4.0 * f64::EPSILON
            }
            _ => false,
        }
    }
}

fn sort(v: &mut [Series]) {
    v.sort_by(|a, b| {
        (&a.0, &a.1).cmp(&(&b.0, &b.1)).then(
            a.2 .0
                .unwrap_or(f64::NAN)
                .total_cmp(&b.2 .0.unwrap_or(f64::NAN)),
        )
    });
}

fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// What `watchdeck scrape URL --format json` made of a case: its series and malformed reasons.
fn watchdeck_scrape(url: &str) -> (Vec<Series>, Vec<String>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchdeck"))
        .args(["scrape", "--format", "json", url])
        .output()
        .expect("run watchdeck scrape");
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "watchdeck scrape {url} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut series = Vec::new();
    for s in listing["samples"].as_array().cloned().unwrap_or_default() {
        let name = s["name"].as_str().unwrap_or_default().to_owned();
        let labels: BTreeMap<String, String> = s["labels"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .filter(|(_, v)| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let value = Value(match &s["value"] {
            serde_json::Value::String(t) => parse_number(t),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        });
        series.push((name, labels, value));
    }
    let malformed = listing["malformed"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            format!(
                "line {}: {} — {}",
                m["line"],
                m["reason"].as_str().unwrap_or_default(),
                m["text"].as_str().unwrap_or_default()
            )
        })
        .collect();
    sort(&mut series);
    (series, malformed)
}

/// Synthetic series Prometheus adds to every job.
const SYNTHETIC: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // serve, scrape, query, compare: one story
async fn watchdeck_reads_what_prometheus_reads() {
    let started = Instant::now();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let mut cases = hand_written(now_ms - 5000);
    cases.extend(generated(60, 0x5eed_1234_abcd_0001));
    let served: Arc<Vec<(&'static str, Vec<u8>)>> = Arc::new(
        cases
            .iter()
            .map(|c| (c.content_type, c.body.clone()))
            .collect(),
    );
    let port = serve(served).await;
    let mut config =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for i in 0..cases.len() {
        let _ = write!(
            config,
            "  - job_name: case{i}\n    metrics_path: /case/{i}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        );
    }
    let server = prom::start_prometheus(&config).await;
    let client = reqwest::Client::new();
    let query = |q: String| {
        let client = client.clone();
        let base = server.base.clone();
        async move {
            let r = client
                .get(format!("{base}/api/v1/query"))
                .query(&[("query", q.as_str())])
                .send()
                .await
                .ok()?;
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
            v["data"]["result"].as_array().cloned()
        }
    };
    // Every job scraped at least once.
    let ups: HashMap<String, f64> =
        prom::eventually("every case scraped", Duration::from_secs(90), || async {
            let result = query("up".to_owned()).await?;
            let ups: HashMap<String, f64> = result
                .iter()
                .filter_map(|s| {
                    Some((
                        s["metric"]["job"].as_str()?.to_owned(),
                        s["value"][1].as_str()?.parse::<f64>().ok()?,
                    ))
                })
                .collect();
            (ups.len() == cases.len()).then_some(ups)
        })
        .await;
    let stored = query("{job=~\"case.+\"}".to_owned())
        .await
        .expect("query every series");
    let mut by_job: HashMap<String, Vec<Series>> = HashMap::new();
    for s in &stored {
        let metric = s["metric"].as_object().cloned().unwrap_or_default();
        let name = metric
            .get("__name__")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        if SYNTHETIC.contains(&name.as_str()) {
            continue;
        }
        let job = metric
            .get("job")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let labels: BTreeMap<String, String> = metric
            .iter()
            .filter(|(k, _)| !["__name__", "job", "instance"].contains(&k.as_str()))
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        let value = Value(s["value"][1].as_str().and_then(parse_number));
        by_job.entry(job).or_default().push((name, labels, value));
    }

    let mut differences = Vec::new();
    let (mut accepted, mut failed) = (0, 0);
    for (i, c) in cases.iter().enumerate() {
        let url = format!("http://127.0.0.1:{port}/case/{i}");
        let (ours, malformed) = tokio::task::spawn_blocking({
            let url = url.clone();
            move || watchdeck_scrape(&url)
        })
        .await
        .expect("scrape task");
        let up = ups.get(&format!("case{i}")).copied().unwrap_or(0.0);
        let body = String::from_utf8_lossy(&c.body);
        if up == 0.0 {
            failed += 1;
            if malformed.is_empty() {
                differences.push(format!(
                    "{} ({}): Prometheus failed the scrape, watchdeck reported no malformed line\n{body}",
                    c.name, c.content_type
                ));
            }
            continue;
        }
        accepted += 1;
        let mut theirs = by_job.remove(&format!("case{i}")).unwrap_or_default();
        sort(&mut theirs);
        let unexpected: Vec<&String> = malformed.iter().filter(|m| !m.contains("twice")).collect();
        if theirs != ours || !unexpected.is_empty() {
            differences.push(format!(
                "{} ({}):\n  prometheus: {theirs:?}\n  watchdeck:  {ours:?}\n  malformed:  {malformed:?}\n{body}",
                c.name, c.content_type
            ));
        }
    }
    let summary = format!(
        "prom_parity: {} cases against Prometheus ({accepted} scrapes it kept, {failed} it failed), {} differences, in {:.1} s\n",
        cases.len(),
        differences.len(),
        started.elapsed().as_secs_f64()
    );
    // Straight to the process's stderr, past the test harness's capture: the count is wanted
    // in every run's output.
    let _ = std::io::stderr().write_all(summary.as_bytes());
    assert!(
        differences.is_empty(),
        "{summary}{}",
        differences.join("\n\n")
    );
    drop(server);
}
