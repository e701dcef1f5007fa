"""The programme view's charts from the daily counters, with small cells suppressed.

Every number that leaves the server goes through `suppress` or `shown`: a count below 5
(zero included) is sent as the string "< 5", never as a number. A chart's total is shown, so
the hidden cells of a chart must not add up to a small number either (`suppress`).
"""
from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Optional, Union

from bot.stats import WAIT_BUCKETS, day_of

SMALL = 5
HIDDEN = "< 5"
DAYS = 30
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
Cell = Union[int, str]
Rows = list[tuple[str, str, str, int]]

# id, counter kind, how the cells are chosen: by day, or by key (ordered: fixed keys, else by size)
CHARTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("conversations_per_day", "conversations_new", "day", ()),
    ("topics", "topics", "key", ()),
    ("regions", "regions_asked", "key", ()),
    ("handoff_regions", "handoff_regions", "key", ()),
    ("varieties", "conversations_variety", "key", ("dar_ar", "dar_lat", "ar", "fr")),
    ("channels", "conversations_new", "key", ("whatsapp", "sms")),
    ("messages_in", "messages_in", "key", ("whatsapp", "sms")),
    ("messages_out", "messages_out", "key", ("whatsapp", "sms")),
    ("handoffs_asked", "handoffs_asked", "key", ("emergency", "disclosure", "other")),
    ("handoff_reasons", "handoff_reasons", "key", ("asked", "offered")),
    ("handoff_wait", "handoff_wait", "key", tuple(label for _, label in WAIT_BUCKETS)),
    ("fallbacks", "fallbacks", "key", ("rasa_slow", "rasa_down", "error")),
    ("emergencies", "emergencies", "key", ("dar_ar", "dar_lat", "ar", "fr")),
)
REGION_CHARTS = ("regions", "handoff_regions")
# Counters shown as one total each for the period.
TOTALS = ("handoffs_unclaimed", "handoffs_after_hours", "erasures", "quick_exits", "stops")


class BadPeriod(ValueError):
    """A month that is not YYYY-MM."""


def period(month: Optional[str], now: Optional[float] = None) -> tuple[str, str, Optional[str]]:
    """(first day, last day, month): the given month, or the last 30 days up to today."""
    if month:
        found = MONTH.match(month)
        if not found:
            raise BadPeriod("month must be YYYY-MM")
        year, mon = int(found.group(1)), int(found.group(2))
        first = date(year, mon, 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return first.isoformat(), last.isoformat(), month
    today = date.fromisoformat(day_of(time.time() if now is None else now))
    return (today - timedelta(days=DAYS - 1)).isoformat(), today.isoformat(), None


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def shown(n: int) -> Cell:
    return n if n >= SMALL else HIDDEN


def suppress(values: list[int]) -> list[Cell]:
    """The cells as sent: below 5 hidden; then, while the hidden cells add up to 1 to 4, the
    smallest shown cell is hidden too, so that the total minus the shown cells is never a
    small number."""
    cells: list[Cell] = [shown(v) for v in values]
    while 0 < sum(v for v, c in zip(values, cells) if c == HIDDEN) < SMALL:
        visible = [i for i, c in enumerate(cells) if c != HIDDEN]
        if not visible:
            break
        cells[min(visible, key=lambda i: values[i])] = HIDDEN
    return cells


def _median_bucket(counts: list[int], labels: list[str]) -> Optional[str]:
    """The wait bucket that holds the median claim (None below 5 claims)."""
    total = sum(counts)
    if total < SMALL:
        return None
    seen = 0
    for n, label in zip(counts, labels):
        seen += n
        if seen * 2 >= total:
            return label
    return None


def build(rows: Rows, first: str, last: str, month: Optional[str],
          regions: Optional[dict[str, dict[str, str]]] = None) -> dict:
    """The view's JSON: each chart's labels, suppressed cells and suppressed total. Every
    region of `regions` (slug: {"fr", "ar"} names) is listed, largest first: a region
    missing from the chart would say it had no conversation, which is itself a small cell."""
    regions = regions or {}
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, kind, key, n in rows:
        by_kind[kind][key] += n
        by_day[kind][day] += n
    charts = []
    for chart_id, kind, axis, order in CHARTS:
        if axis == "day":
            labels = days(first, last)
            values = [by_day[kind].get(d, 0) for d in labels]
        else:
            counts = by_kind[kind]
            listed = order or (tuple(regions) if chart_id in REGION_CHARTS else ())
            keys = set(counts) | set(listed)
            if order:
                labels = [*order, *sorted((k for k in keys if k not in order), key=lambda k: (-counts.get(k, 0), k))]
            else:  # ordered bars, largest first
                labels = sorted(keys, key=lambda k: (-counts.get(k, 0), k))
            values = [counts.get(k, 0) for k in labels]
        chart: dict[str, Any] = {"id": chart_id, "labels": labels, "values": suppress(values),
                                 "total": shown(sum(values))}
        if chart_id == "handoff_wait":
            chart["median"] = _median_bucket(values, labels)
        if chart_id in REGION_CHARTS:
            chart["names"] = {k: regions[k] for k in labels if k in regions}
        charts.append(chart)
    totals = {kind: shown(sum(by_kind[kind].values())) for kind in TOTALS}
    return {"first_day": first, "last_day": last, "month": month, "suppressed_below": SMALL,
            "charts": charts, "totals": totals}


def to_csv(view: dict) -> str:
    """The same suppressed cells as the JSON, one per line: chart, label, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "chart", "label", "value"])
    span = f"{view['first_day']}/{view['last_day']}"
    for chart in view["charts"]:
        for label, value in zip(chart["labels"], chart["values"]):
            writer.writerow([span, chart["id"], label, value])
        writer.writerow([span, chart["id"], "total", chart["total"]])
        if "median" in chart:
            writer.writerow([span, chart["id"], "median", chart["median"] or ""])
    for kind, value in view["totals"].items():
        writer.writerow([span, kind, "total", value])
    return out.getvalue()
