"""Prometheus metrics of the service, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServiceMetrics:
    routes = ("/v1/predict", "/v1/explain", "/v1/memory", "/healthz", "/readyz", "/metrics", "/", "/docs", "/openapi.json")

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("sentiment_requests_total", "HTTP requests by route and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("sentiment_request_seconds", "HTTP request latency", ["route"], registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10))
        self.batch_size = Histogram("sentiment_batch_size", "texts per forward pass", registry=self.registry,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.queue_depth = Gauge("sentiment_queue_depth", "texts waiting for the model", registry=self.registry)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
