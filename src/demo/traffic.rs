//! Simulated HTTP traffic for one route template: request counts by status and a latency
//! histogram. Shared by the community-node services (which add a `service` label) and the
//! rest-api (which does not).

use super::sim::{Expo, Histogram, Kind, Prng, Ticker};

/// One route template and method, e.g. `GET /v1/users/{id}`.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) template: &'static str,
    pub(crate) method: &'static str,
    rate: f64,
    median: f64,
    sigma: f64,
    /// Status code, relative weight in normal operation, requests so far.
    statuses: Vec<(&'static str, f64, u64)>,
    ticker: Ticker,
    latency: Histogram,
    /// Extra share of requests that fail with 503 (set by scenarios).
    pub(crate) failing: f64,
    /// Multiplier on the latency median (set by scenarios).
    pub(crate) slowdown: f64,
}

impl Route {
    /// `statuses` are weights of normal outcomes; a `503` entry is added on demand.
    pub(crate) fn new(
        method: &'static str,
        template: &'static str,
        rate: f64,
        median: f64,
        statuses: &[(&'static str, f64)],
        buckets: &'static [f64],
    ) -> Self {
        Self {
            template,
            method,
            rate,
            median,
            sigma: 0.6,
            statuses: statuses.iter().map(|(s, w)| (*s, *w, 0)).collect(),
            ticker: Ticker::default(),
            latency: Histogram::new(buckets),
            failing: 0.0,
            slowdown: 1.0,
        }
    }

    /// Multiplies the request rate by `load`.
    pub(crate) fn scale(&mut self, load: f64) {
        self.rate *= load;
    }

    pub(crate) fn advance(&mut self, dt: f64, rng: &mut Prng) {
        let n = self.ticker.events(self.rate, dt, rng);
        if n == 0 {
            return;
        }
        let failed = rng.binomial(n, self.failing.clamp(0.0, 1.0));
        if failed > 0 {
            self.bump("503", failed);
        }
        // Split the rest by weight: each status draws its share of what is left.
        let mut left = n - failed;
        let mut weight_left: f64 = self.statuses.iter().map(|s| s.1).sum();
        for entry in &mut self.statuses {
            if left == 0 || weight_left <= 0.0 {
                break;
            }
            let got = rng.binomial(left, (entry.1 / weight_left).min(1.0));
            entry.2 += got;
            left -= got;
            weight_left -= entry.1;
        }
        if let Some(first) = self.statuses.first_mut() {
            first.2 += left;
        }
        let (median, sigma) = (self.median * self.slowdown, self.sigma);
        self.latency
            .observe_n(n, rng, |r| r.lognormal(median, sigma));
    }

    fn bump(&mut self, status: &'static str, n: u64) {
        match self.statuses.iter_mut().find(|s| s.0 == status) {
            Some(entry) => entry.2 += n,
            None => self.statuses.push((status, 0.0, n)),
        }
    }
}

/// Writes `http_requests_total` and `http_request_duration_seconds` for `routes`.
/// With a `service` the labels are `{service,route,method,status}` (community-node),
/// without it `{method,route,status}` (`NestJS` rest-api).
pub(crate) fn render(out: &mut Expo, routes: &[Route], service: Option<&str>) {
    out.family(
        "http_requests_total",
        Kind::Counter,
        "HTTP requests by route template, method and status.",
    );
    for r in routes {
        for (status, _, count) in &r.statuses {
            let mut labels = route_labels(r, service);
            labels.push(("status", status));
            out.sample("http_requests_total", &labels, *count as f64);
        }
    }
    out.family(
        "http_request_duration_seconds",
        Kind::Histogram,
        "HTTP request latency in seconds.",
    );
    for r in routes {
        out.histogram(
            "http_request_duration_seconds",
            &route_labels(r, service),
            &r.latency,
        );
    }
}

/// A route's labels, in the order each kind of service writes them (`status` goes last).
fn route_labels<'a>(r: &'a Route, service: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    match service {
        Some(svc) => vec![
            ("service", svc),
            ("route", r.template),
            ("method", r.method),
        ],
        None => vec![("method", r.method), ("route", r.template)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static B: [f64; 2] = [0.1, 1.0];

    #[test]
    fn counts_split_by_status_and_match_histogram() {
        let mut rng = Prng::for_name("route");
        let mut r = Route::new(
            "GET",
            "/v1/users/{id}",
            100.0,
            0.02,
            &[("200", 9.0), ("404", 1.0)],
            &B,
        );
        r.failing = 0.1;
        for _ in 0..50 {
            r.advance(0.2, &mut rng);
        }
        let total: u64 = r.statuses.iter().map(|s| s.2).sum();
        assert_eq!(total, r.latency.count());
        let get = |code: &str| r.statuses.iter().find(|s| s.0 == code).map_or(0, |s| s.2);
        assert!(get("200") > get("404") && get("404") > 0);
        assert!(get("503") > total / 20, "503s: {} of {total}", get("503"));
    }
}
