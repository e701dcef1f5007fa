"""Prometheus metrics (prometheus_client): typed counters, histograms and gauges, counted by
channel or reason, never a number or a text.

Every family is declared in FAMILIES (kind, help, label names) and registered at start-up, so
/metrics lists all of them from the first scrape and docs/grafana-dashboard.json can be checked
against it (tests/test_programme_metrics.py). Names follow Prometheus' conventions: counters
end in `_total`, durations are histograms in `_seconds`. Using an undeclared name, or other
label names than declared, is a bug and raises."""
from __future__ import annotations

from typing import Any, TypeVar, cast

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["BUCKETS", "CONTENT_TYPE_LATEST", "FAMILIES", "Metrics", "WAIT_BUCKETS"]
F = TypeVar("F", Counter, Histogram, Gauge)

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 8.0, 15.0)
# A woman waits minutes, not milliseconds, for a counsellor: 30 s to 2 hours.
WAIT_BUCKETS = (30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0)
FAMILIES: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "salama_messages_in_total": (Counter, "Inbound messages, by channel.", ("channel",)),
    "salama_messages_out_total": (Counter, "Outbound messages, by channel and path (twiml or rest).",
                                  ("channel", "path")),
    "salama_rate_limited_total": (Counter, "Messages answered with the rate-limit notice.", ("channel",)),
    "salama_late_replies_total": (Counter, "Messages answered with the static reply past the budget.",
                                  ("channel",)),
    "salama_failures_total": (Counter, "Failures, by component.", ("component",)),
    "salama_rejected_webhooks_total": (Counter, "Webhooks refused, by reason.", ("reason",)),
    "salama_duplicate_webhooks_total": (Counter, "Retried webhooks answered from the store.", ("channel",)),
    "salama_handoffs_total": (Counter, "Conversations handed to a counsellor.", ()),
    "salama_erasures_total": (Counter, "Conversations erased at her request.", ()),
    "salama_outbound_retries_total": (Counter, "Outbound sends retried, by channel.", ("channel",)),
    "salama_delivery_status_total": (Counter, "Twilio delivery status callbacks, by status.", ("status",)),
    "salama_reply_seconds": (Histogram, "Time from webhook to answer, by channel.", ("channel",)),
    "salama_handoff_wait_seconds": (Histogram, "Time from a handoff to a counsellor's claim.", ()),
    "salama_outbox_backlog": (Gauge, "Messages waiting in the outbox.", ()),
    "salama_queue_waiting": (Gauge, "Conversations waiting for a counsellor.", ()),
    "salama_queue_active": (Gauge, "Conversations with a counsellor.", ()),
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._families: dict[str, Counter | Histogram | Gauge] = {}
        for name, (kind, help_text, labels) in FAMILIES.items():
            extra: dict[str, Any] = {}
            if kind is Histogram:
                extra["buckets"] = WAIT_BUCKETS if name == "salama_handoff_wait_seconds" else BUCKETS
            self._families[name] = kind(name, help_text, labelnames=labels, registry=self.registry, **extra)

    def _family(self, kind: type[F], name: str, labels: tuple[str, ...]) -> F:
        declared = FAMILIES.get(name)
        if declared is None or declared[0] is not kind or tuple(sorted(declared[2])) != labels:
            raise ValueError(f"metric {name} with labels {labels} is not declared in bot.metrics.FAMILIES")
        return cast(F, self._families[name])

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
