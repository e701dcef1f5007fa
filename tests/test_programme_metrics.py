"""/metrics follows Prometheus' naming conventions, every metric the code uses is declared,
and docs/grafana-dashboard.json parses and names only metrics the gateway exposes."""
from __future__ import annotations

import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import FAMILIES, Metrics
from core.settings import ROOT
from tests.conftest import Phone

DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
USED = re.compile(r"\.(inc|observe)\(\s*\"(salama_[a-z_]+)\"")


async def exposed(client) -> set[str]:
    """Every sample name /metrics can carry (counters' _total, histograms' _bucket...)."""
    resp = await client.get("/metrics")
    assert resp.status == 200
    names = set()
    for family in text_string_to_metric_families(await resp.text()):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}[family.type]
        names |= {family.name + s for s in suffixes}
    return names


def test_names_follow_prometheus_conventions():
    for name, (kind, help_text, labels) in FAMILIES.items():
        assert re.fullmatch(r"salama_[a-z][a-z_]*[a-z]", name), name
        assert help_text.endswith("."), name
        if kind.__name__ == "Counter":
            assert name.endswith("_total"), name
        elif kind.__name__ == "Histogram":
            assert name.endswith("_seconds"), f"{name}: a duration, in seconds"
        else:
            assert not name.endswith(("_total", "_seconds")), name
        assert not {"number", "phone", "text", "body", "from", "to"} & set(labels), name


def test_every_metric_the_code_uses_is_declared():
    used = {m.group(2) for path in (ROOT / "bot").rglob("*.py") for m in USED.finditer(path.read_text())}
    assert used and used <= set(FAMILIES), used - set(FAMILIES)
    assert "salama_handoff_wait_seconds" in used
    with pytest.raises(ValueError):
        Metrics().inc("salama_messages_in_total", phone="+212600000001")


async def test_every_family_is_on_metrics_from_the_first_scrape(gateway_factory):
    client, settings, app = await gateway_factory()
    names = await exposed(client)
    for name, (kind, _, _) in FAMILIES.items():
        assert (name + "_bucket" if kind.__name__ == "Histogram" else name) in names, name


async def test_the_grafana_dashboard_parses_and_names_only_metrics_that_exist(gateway_factory):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert dashboard["title"] and len(exprs) >= 10
    client, settings, app = await gateway_factory()
    await Phone(client, settings).send("bonjour")
    names = await exposed(client)
    referenced = {n for expr in exprs for n in re.findall(r"\bsalama_[a-z_]+\b", expr)}
    assert referenced and referenced <= names, referenced - names
    # Every family is on the dashboard (a new metric needs a panel).
    covered = {re.sub(r"_(bucket|sum|count)$", "", n) for n in referenced}
    assert covered == set(FAMILIES), set(FAMILIES) - covered
