"""Prometheus text metrics: counts and latencies by channel, never numbers or text."""
from __future__ import annotations

from collections import defaultdict

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 8.0, 15.0)


class Metrics:
    def __init__(self) -> None:
        self._counters: dict[tuple[str, tuple], float] = defaultdict(float)
        self._hist: dict[tuple, list[float]] = {}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        self._counters[(name, tuple(sorted(labels.items())))] += amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        counts = self._hist.setdefault(key, [0.0] * (len(BUCKETS) + 2))
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        counts[-2] += 1  # count
        counts[-1] += seconds  # sum

    def render(self, gauge_values: dict[str, float]) -> str:
        lines = []
        for (name, labels), value in sorted(self._counters.items()):
            lines.append(f"{name}{_fmt(labels)} {value:g}")
        for (name, labels), counts in sorted(self._hist.items()):
            for bound, count in zip(BUCKETS, counts):
                lines.append(f"{name}_bucket{_fmt(labels + (('le', f'{bound:g}'),))} {count:g}")
            lines.append(f"{name}_bucket{_fmt(labels + (('le', '+Inf'),))} {counts[-2]:g}")
            lines.append(f"{name}_count{_fmt(labels)} {counts[-2]:g}")
            lines.append(f"{name}_sum{_fmt(labels)} {counts[-1]:.6f}")
        for name, value in sorted(gauge_values.items()):
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _fmt(labels: tuple) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
