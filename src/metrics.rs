//! Prometheus metrics (SPEC §8), served only on `metrics_listen` — never on the public
//! listener. Names follow Prometheus conventions: `cognito_sidecar_` prefix, base units
//! (seconds), `_total` counters, and label values from small fixed sets (never paths,
//! users or client ids from the wire).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabel {
    result: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~13 s: the sidecar's own work is sub-millisecond, upstreams are not.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<OutcomeLabel, Counter>,
    request_duration: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
    upstream_duration: Histogram,
    signins: Family<SignInLabel, Counter>,
    refreshes: Family<ResultLabel, Counter>,
    jwks_fetches: Family<ResultLabel, Counter<u64, AtomicU64>>,
    connections: Gauge<i64, AtomicI64>,
    tunnels: Gauge<i64, AtomicI64>,
    /// The series of every known outcome, resolved once: a family lookup hashes its
    /// label under a lock, and this is paid on every request.
    by_outcome: Vec<(&'static str, Counter, Histogram)>,
}

/// Every value of the `outcome` label (`dispatch::Outcome` plus `upstream_5xx` and
/// `sidecar_error`), exported from the start so dashboards see zeros, not gaps.
pub(crate) const OUTCOMES: [&str; 11] = [
    "proxied",
    "redirect_signin",
    "unauthenticated",
    "forbidden",
    "upstream_5xx",
    "upstream_error",
    "bad_request",
    "idp_unavailable",
    "store_unavailable",
    "sidecar_error",
    "internal",
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cognito_sidecar");
        let requests = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "requests",
            "Requests by outcome: proxied, redirect_signin, unauthenticated, forbidden, upstream_5xx, upstream_error, bad_request, idp_unavailable, store_unavailable, sidecar_error, internal",
            requests.clone(),
        );
        let request_duration =
            Family::<OutcomeLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "request_duration_seconds",
            "Time from request head to response head, by outcome",
            request_duration.clone(),
        );
        let upstream_duration = latency_histogram();
        registry.register(
            "upstream_duration_seconds",
            "Time the upstream took to send its response head",
            upstream_duration.clone(),
        );
        let signins = Family::<SignInLabel, Counter>::default();
        registry.register(
            "signins",
            "Completed sign-in callbacks by result and reason",
            signins.clone(),
        );
        let refreshes = Family::<ResultLabel, Counter>::default();
        registry.register(
            "refreshes",
            "Session token refreshes by result",
            refreshes.clone(),
        );
        let jwks_fetches = Family::<ResultLabel, Counter<u64, AtomicU64>>::default();
        registry.register(
            "jwks_fetches",
            "Signing-key set downloads by result",
            jwks_fetches.clone(),
        );
        let connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "active_connections",
            "Open client connections",
            connections.clone(),
        );
        let tunnels = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "open_tunnels",
            "Open upgraded (WebSocket) tunnels",
            tunnels.clone(),
        );
        let build = Family::<VersionLabel, Gauge>::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "build_info",
            "Build information; the value is always 1",
            build,
        );
        let by_outcome = OUTCOMES
            .iter()
            .map(|&outcome| {
                let label = OutcomeLabel { outcome };
                (
                    outcome,
                    requests.get_or_create(&label).clone(),
                    request_duration.get_or_create(&label).clone(),
                )
            })
            .collect();
        Self {
            by_outcome,
            registry,
            requests,
            request_duration,
            upstream_duration,
            signins,
            refreshes,
            jwks_fetches,
            connections,
            tunnels,
        }
    }

    pub fn request(&self, outcome: &'static str, seconds: f64) {
        if let Some((_, count, duration)) = self.by_outcome.iter().find(|(o, ..)| *o == outcome) {
            count.inc();
            duration.observe(seconds);
            return;
        }
        let label = OutcomeLabel { outcome };
        self.requests.get_or_create(&label).inc();
        self.request_duration.get_or_create(&label).observe(seconds);
    }

    pub fn upstream(&self, seconds: f64) {
        self.upstream_duration.observe(seconds);
    }

    pub fn signin(&self, ok: bool, reason: &'static str) {
        let result = if ok { "ok" } else { "failed" };
        self.signins
            .get_or_create(&SignInLabel { result, reason })
            .inc();
    }

    pub fn refresh(&self, result: &'static str) {
        self.refreshes.get_or_create(&ResultLabel { result }).inc();
    }

    /// The open-connections gauge, handed to the listener.
    pub fn connections_gauge(&self) -> Gauge<i64, AtomicI64> {
        self.connections.clone()
    }

    /// The text exposition, with gauges owned elsewhere read at scrape time.
    pub fn render(&self, jwks_ok: u64, jwks_failed: u64, open_tunnels: i64) -> String {
        self.jwks_fetches
            .get_or_create(&ResultLabel { result: "ok" })
            .inner()
            .store(jwks_ok, Ordering::Relaxed);
        self.jwks_fetches
            .get_or_create(&ResultLabel { result: "failed" })
            .inner()
            .store(jwks_failed, Ordering::Relaxed);
        self.tunnels.set(open_tunnels);
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prefixed_counters_and_histograms() {
        let m = Metrics::new();
        m.request("proxied", 0.002);
        m.request("proxied", 0.004);
        m.signin(false, "state_mismatch");
        m.refresh("ok");
        let text = m.render(3, 1, 2);
        assert!(
            text.contains("cognito_sidecar_requests_total{outcome=\"proxied\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("cognito_sidecar_request_duration_seconds_count{outcome=\"proxied\"} 2")
        );
        assert!(text.contains(
            "cognito_sidecar_signins_total{result=\"failed\",reason=\"state_mismatch\"} 1"
        ));
        assert!(text.contains("cognito_sidecar_refreshes_total{result=\"ok\"} 1"));
        assert!(text.contains("cognito_sidecar_jwks_fetches_total{result=\"ok\"} 3"));
        assert!(text.contains("cognito_sidecar_open_tunnels 2"));
        assert!(text.contains("cognito_sidecar_build_info{version="));
    }
}
