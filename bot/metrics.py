"""Prometheus metrics (prometheus_client): typed counters, histograms and gauges, counted by
channel or reason, never a number or a text. Families are created on first use, each with
the label names of that first use; a later call with other label names is a bug and raises."""
from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["BUCKETS", "CONTENT_TYPE_LATEST", "HELP", "Metrics"]
F = TypeVar("F", Counter, Histogram, Gauge)

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 8.0, 15.0)
# What each family counts: its HELP line on /metrics.
HELP = {
    "salama_messages_in_total": "Inbound messages, by channel.",
    "salama_messages_out_total": "Outbound messages, by channel and path (twiml or rest).",
    "salama_rate_limited_total": "Messages answered with the rate-limit notice.",
    "salama_late_replies_total": "Messages answered with the static reply past the budget.",
    "salama_failures_total": "Failures, by component.",
    "salama_rejected_webhooks_total": "Webhooks refused, by reason.",
    "salama_duplicate_webhooks_total": "Retried webhooks answered from the store.",
    "salama_handoffs_total": "Conversations handed to a counsellor.",
    "salama_erasures_total": "Conversations erased at her request.",
    "salama_outbound_retries_total": "Outbound sends retried, by channel.",
    "salama_delivery_status_total": "Twilio delivery status callbacks, by status.",
    "salama_reply_seconds": "Time from webhook to answer, by channel.",
    "salama_outbox_backlog": "Messages waiting in the outbox.",
    "salama_queue_waiting": "Conversations waiting for a counsellor.",
    "salama_queue_active": "Conversations with a counsellor.",
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._families: dict[str, Any] = {}

    def _family(self, kind: type[F], name: str, labels: tuple[str, ...]) -> F:
        family = self._families.get(name)
        if family is None:
            extra: dict[str, Any] = {"buckets": BUCKETS} if kind is Histogram else {}
            family = kind(name, HELP.get(name, name), labelnames=labels, registry=self.registry, **extra)
            self._families[name] = family
        if not isinstance(family, kind):
            raise TypeError(f"{name} is a {type(family).__name__}, not a {kind.__name__}")
        return family

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        family = self._family(Counter, name, tuple(sorted(labels)))
        (family.labels(**labels) if labels else family).inc(amount)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        family = self._family(Histogram, name, tuple(sorted(labels)))
        (family.labels(**labels) if labels else family).observe(seconds)

    def render(self, gauge_values: dict[str, float]) -> str:
        for name, value in gauge_values.items():
            self._family(Gauge, name, ()).set(value)
        return generate_latest(self.registry).decode()
