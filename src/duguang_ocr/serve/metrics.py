"""Prometheus metrics of one server, in a registry of its own.

A registry per app (not prometheus_client's global one) so that several apps in one
process, as in the tests, count separately and never collide on metric names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PREFIX = "duguang_ocr"
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The server's counters, gauges and histograms."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(f"{PREFIX}_requests", "Recognize requests by HTTP status",
                                ["code"], registry=r)
        self.lines = Counter(f"{PREFIX}_lines", "Lines recognised", registry=r)
        self.batches = Histogram(f"{PREFIX}_batch_size", "Lines per model call",
                                 buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram(f"{PREFIX}_batch_seconds", "Model time per call",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.latency = Histogram(f"{PREFIX}_request_seconds",
                                 "Recognize request latency, body read to response",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge(f"{PREFIX}_queue_depth", "Lines waiting for the model",
                                 registry=r)
        self.inflight = Gauge(f"{PREFIX}_inflight_requests", "HTTP requests being handled",
                              registry=r)
        self.cancelled = Counter(f"{PREFIX}_cancelled_jobs",
                                 "Queued jobs dropped before the model ran them "
                                 "(client gone or timed out)", registry=r)

    def observe_batch(self, lines: int, seconds: float) -> None:
        self.lines.inc(lines)
        self.batches.observe(lines)
        self.batch_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
