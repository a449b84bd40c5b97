"""Prometheus metrics of one app instance (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_SCAN = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Requests, verdicts, latencies, upstream errors, stream cuts and store-writer counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "stormwatch_http_requests", "HTTP requests answered.", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "stormwatch_http_request_seconds",
            "Time to answer a request.",
            ["route"],
            buckets=_LATENCY,
            registry=r,
        )
        self.verdicts = Counter(
            "stormwatch_verdicts",
            "Verdicts given, by phase (request/response/scan).",
            ["phase", "verdict"],
            registry=r,
        )
        self.scan_seconds = Histogram(
            "stormwatch_scan_seconds", "Engine time per scan call.", ["phase"], buckets=_SCAN, registry=r
        )
        self.upstream_seconds = Histogram(
            "stormwatch_upstream_seconds", "Upstream time to response headers.", buckets=_LATENCY, registry=r
        )
        self.upstream_errors = Counter(
            "stormwatch_upstream_errors", "Upstream failures by kind.", ["kind"], registry=r
        )
        self.stream_cuts = Counter(
            "stormwatch_stream_cuts", "Streams cut because the output turned malicious.", registry=r
        )
        self.auth_failures = Counter(
            "stormwatch_auth_failures", "Requests refused for a missing or bad key.", registry=r
        )
        self.rate_limited = Counter(
            "stormwatch_rate_limited", "Requests refused by a key's rate limit.", registry=r
        )
        self.store_written = Counter("stormwatch_store_written", "Records written to the store.", registry=r)
        self.store_errors = Counter(
            "stormwatch_store_errors", "Store write attempts that failed.", registry=r
        )
        self.judge_outcomes = Counter(
            "stormwatch_judge_outcomes",
            "Requests the judge was consulted on, by outcome (raised, lowered, over_budget, error_*...).",
            ["outcome"],
            registry=r,
        )
        self.detector_errors = Counter(
            "stormwatch_detector_errors",
            "Detector calls that raised (the verdict names the detector; the policy decides the outcome).",
            ["detector"],
            registry=r,
        )
        self.overloaded = Counter(
            "stormwatch_overloaded", "Requests refused 503 because the in-flight cap was reached.", registry=r
        )
        self.auth_throttled = Counter(
            "stormwatch_auth_throttled",
            "Requests refused 429 because their address failed to authenticate too often.",
            registry=r,
        )
        self.store_queue = Gauge(
            "stormwatch_store_queue_depth", "Records waiting for the store writer.", registry=r
        )

    def bind_queue_depth(self, depth: Callable[[], int]) -> None:
        """Read the writer queue depth at scrape time."""
        self.store_queue.set_function(lambda: float(depth()))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
