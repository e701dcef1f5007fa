"""The programme view: daily counters for each event, small-cell suppression in JSON and CSV,
erasure, the supervisor role and account management, on the real gateway (Rasa down or
stood in for by a slow local server)."""
from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
import subprocess
import time
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from bot import stats as stats_mod
from bot.appkeys import GATEWAY, STORE
from bot.console import accounts, aggregates, cli
from bot.handoff import MOROCCO, notify_unclaimed
from bot.store import Store, audit, daily_counts
from core.contract import instruction
from core.settings import ROOT
from tests.conftest import Phone
from tests.test_console import PASSWORD, Counsellor, clean_env, waiting

# One message per variety, each of the kind the test is about.
GREETINGS = {"dar_lat": "salam, bghit nswl", "dar_ar": "السلام، بغيت نسول", "ar": "مرحبا، أريد أن أسأل",
             "fr": "bonjour, je voudrais demander"}
DANGER = {"dar_lat": "ghadi y9telni", "dar_ar": "غادي يقتلني", "ar": "زوجي سيقتلني الآن", "fr": "il va me tuer"}


@pytest.fixture(autouse=True)
def cheaper_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "SCRYPT_N", 2**14)


def her(i: int, channel: str = "whatsapp") -> str:
    return f"whatsapp:+2126000001{i:02d}" if channel == "whatsapp" else f"+2126000002{i:02d}"


async def counts(app: Any) -> dict[tuple[str, str], int]:
    """Today's counters after a flush, as {(kind, key): count}; some are counted after her
    answer, so the turns still running finish first."""
    store = app[STORE]
    await app[GATEWAY].drain()
    await store.aio.call(app[GATEWAY].stats.flush)
    today = stats_mod.day_of(time.time())
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(daily_counts).where(daily_counts.c.day == today))
        return {(r.kind, r.key): r.count for r in rows}


def moved(before: dict, after: dict) -> dict[tuple[str, str], int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


async def people(app: Any, client: Any, **roles: str) -> dict[str, Counsellor]:
    """Accounts made as the CLI makes them, logged in: name -> role."""
    store, found = app[STORE], {}
    for name, role in roles.items():
        await store.aio.call(cli.run, store, f"add-{role}", name, io.StringIO(PASSWORD + "\n"))
        person = Counsellor(client, name)
        assert (await person.login()).status == 200
        found[name] = person
    return found


# -- a counter for each event ------------------------------------------------------------
async def test_new_conversations_messages_channels_and_varieties_are_counted(gateway_factory):
    client, settings, app = await gateway_factory()
    before = await counts(app)
    for i, text in enumerate(GREETINGS.values()):
        phone = Phone(client, settings, her(i, "whatsapp" if i % 2 else "sms"))
        replies = await phone.send(text)
        await phone.send("?")  # a second message: not a new conversation
    change = moved(before, await counts(app))
    assert change[("conversations_new", "whatsapp")] == 2 and change[("conversations_new", "sms")] == 2
    assert {k: v for k, v in change.items() if k[0] == "conversations_variety"} == {
        ("conversations_variety", v): 1 for v in GREETINGS}
    assert change[("messages_in", "whatsapp")] == 4 and change[("messages_in", "sms")] == 4
    # Rasa is down: each message is answered with the static reply (first contact adds one).
    assert change[("fallbacks", "rasa_down")] == 8
    assert change[("messages_out", "whatsapp")] + change[("messages_out", "sms")] >= 8
    assert replies


async def test_emergencies_are_counted_in_the_four_varieties(gateway_factory):
    client, settings, app = await gateway_factory()
    before = await counts(app)
    for i, text in enumerate(DANGER.values()):
        await Phone(client, settings, her(i)).send(text)
    await Phone(client, settings, her(9)).send("salam labas")  # not an emergency
    change = moved(before, await counts(app))
    assert {k: v for k, v in change.items() if k[0] == "emergencies"} == {
        ("emergencies", v): 1 for v in DANGER}


@pytest.mark.parametrize("variety", list(GREETINGS))
async def test_stop_quick_exit_and_erasure_are_counted_whatever_she_writes_in(gateway_factory, variety):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, her(1))
    await phone.send(GREETINGS[variety])
    before = await counts(app)
    await phone.send("ananas")  # the quick-exit word
    await phone.send({"dar_ar": "مسح", "ar": "امسح", "fr": "effacer", "dar_lat": "mse7"}[variety])
    await phone.send("1")
    await Phone(client, settings, her(2)).send(GREETINGS[variety])
    await Phone(client, settings, her(2)).send("STOP")
    change = moved(before, await counts(app))
    assert change[("quick_exits", "")] == 1 and change[("erasures", "")] == 1 and change[("stops", "")] == 1


async def test_handoffs_asked_regions_wait_and_unclaimed_are_counted(gateway_factory):
    client, settings, app = await gateway_factory(handoff_wait_s=60)
    (amina,) = (await people(app, client, amina="counsellor")).values()
    gateway = app[GATEWAY]
    before = await counts(app)
    ids = []
    for i, (priority, reason, region) in enumerate([("emergency", "asked", "casablanca-settat"),
                                                    ("disclosure", "offered", None),
                                                    ("other", "asked", "casablanca-settat")]):
        await Phone(client, settings, her(i)).send("salam")
        conv_id = gateway.vault.pseudonym(her(i))
        # What the gateway does with action_handoff's answer (Rasa is down in this test).
        order = instruction({"handoff": {"priority": priority, "reason": reason, "region": region}})
        await gateway.handoffs.start(conv_id, order)
        ids.append(conv_id)
    store = app[STORE]
    await store.aio.call(store.update_conversation, ids[0], waiting_since=time.time() - 7 * 60)
    assert (await amina.act(ids[0], "claim")).status == 200
    await store.aio.call(store.update_conversation, ids[1], waiting_since=time.time() - 120)
    assert await notify_unclaimed(app) == 1  # within hours (00:00-24:00), waited past 60 s
    change = moved(before, await counts(app))
    assert {k: v for k, v in change.items() if k[0] in ("handoffs_asked", "handoff_regions", "handoff_wait",
                                                        "handoffs_unclaimed", "handoff_reasons")} == {
        ("handoffs_asked", "emergency"): 1, ("handoffs_asked", "disclosure"): 1, ("handoffs_asked", "other"): 1,
        ("handoff_reasons", "asked"): 2, ("handoff_reasons", "offered"): 1,
        ("handoff_regions", "casablanca-settat"): 2, ("handoff_regions", "unknown"): 1,
        ("handoff_wait", "5-15"): 1, ("handoffs_unclaimed", ""): 1}


async def test_handoffs_outside_the_counsellors_hours_are_counted(gateway_factory):
    hour = datetime.now(MOROCCO).hour
    client, settings, app = await gateway_factory(counsellor_hours="13:00-14:00" if hour < 12 else "01:00-02:00")
    _, conv_id = await waiting(client, settings, app)
    before = await counts(app)
    assert await notify_unclaimed(app) == 1
    assert moved(before, await counts(app)) == {("handoffs_after_hours", ""): 1, ("messages_out", "whatsapp"): 1}


async def test_a_slow_rasa_is_counted_as_a_fallback(gateway_factory, aiohttp_server):
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.5)
        return web.json_response([{"recipient_id": "x", "text": "late"}])

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", slow)
    server = await aiohttp_server(rasa)
    client, settings, app = await gateway_factory(rasa_url=str(server.make_url("")).rstrip("/"),
                                                  reply_budget_s=0.3)
    before = await counts(app)
    await Phone(client, settings, her(1)).send("salam")
    await app[GATEWAY].drain()
    assert moved(before, await counts(app))[("fallbacks", "rasa_slow")] == 1


def test_the_day_is_moroccos_and_waits_fall_in_their_buckets():
    # 23:30 UTC on 1 December is 00:30 on 2 December in Casablanca (UTC+1 outside Ramadan).
    assert stats_mod.day_of(datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc).timestamp()) == "2026-12-02"
    # During Ramadan Morocco is on UTC+0: 23:30 UTC on 1 March 2025 is still 1 March there.
    assert stats_mod.day_of(datetime(2025, 3, 1, 23, 30, tzinfo=timezone.utc).timestamp()) == "2025-03-01"
    # The day kept between calls is the same as reading each time afresh, in any order, across
    # the Ramadan changes of 2025 and 2026 (every 17 minutes, forwards, then shuffled).
    import random
    times = [datetime(2025, 2, 20, tzinfo=timezone.utc).timestamp() + 1020 * i for i in range(2 * 365 * 85)]
    fresh = {at: datetime.fromtimestamp(at, stats_mod.MOROCCO).strftime("%Y-%m-%d") for at in times}
    assert [stats_mod.day_of(at) for at in times] == [fresh[at] for at in times]
    random.Random(4).shuffle(times)
    assert [stats_mod.day_of(at) for at in times] == [fresh[at] for at in times]
    assert [stats_mod.wait_bucket(s) for s in (10, 60, 400, 7200, 99999)] == ["0-1", "1-5", "5-15", "120+", "120+"]
    with pytest.raises(ValueError):
        stats_mod.Stats(None).count("her_number", "+212600000001")  # type: ignore[arg-type]


# -- erasure -------------------------------------------------------------------------------
async def test_an_erased_conversation_leaves_the_aggregates_unchanged_and_nothing_of_her(gateway_factory):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, her(7))
    await phone.send("bonjour, mon mari me frappe")
    await phone.send(DANGER["fr"])
    before = await counts(app)
    await phone.send("effacer")
    await phone.send("1")
    after = await counts(app)
    # The erasure is counted; nothing counted before it is taken away.
    assert moved(before, after) == {("erasures", ""): 1, ("messages_in", "whatsapp"): 2,
                                    ("messages_out", "whatsapp"): 2}
    conv_id = app[GATEWAY].vault.pseudonym(her(7))
    store = app[STORE]
    with store.engine.connect() as conn:
        cells = [str(v) for row in conn.execute(sa.select(daily_counts)) for v in row]
    for secret in (conv_id, "212600000107", "frappe", "tuer"):
        assert not any(secret in cell for cell in cells), secret
    assert set(daily_counts.c.keys()) == {"day", "kind", "key", "count"}


async def test_the_retention_purge_leaves_the_counters(gateway_factory):
    client, settings, app = await gateway_factory()
    await Phone(client, settings, her(1)).send("salam")
    before = await counts(app)
    store = app[STORE]
    await store.aio.call(store.purge_older_than, time.time() + 10)  # everything is older than this
    assert await counts(app) == before


# -- small cells -----------------------------------------------------------------------------
def small_numbers(value: Any, path: str = "") -> list[str]:
    """Where an int below 5 sits in a chart's cells or totals (the JSON that leaves)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() if k not in ("suppressed_below",) for p in small_numbers(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in small_numbers(v, f"{path}[{i}]")]
    if isinstance(value, bool) or not isinstance(value, int):
        return []
    return [path] if value < 5 else []


async def seeded(gateway_factory: Any) -> tuple[Any, Any, dict[str, Counsellor]]:
    """A gateway whose counters hold cells of every size, and a supervisor and a counsellor."""
    client, settings, app = await gateway_factory()
    stats = app[GATEWAY].stats
    for kind, key, n in [("conversations_new", "whatsapp", 7), ("conversations_new", "sms", 3),
                         ("regions_asked", "casablanca-settat", 12), ("regions_asked", "oriental", 1),
                         ("regions_asked", "souss-massa", 6), ("regions_asked", "draa-tafilalet", 9),
                         ("conversations_variety", "dar_lat", 8), ("conversations_variety", "fr", 2),
                         ("handoff_wait", "1-5", 4), ("handoff_wait", "5-15", 6), ("stops", "", 2),
                         ("erasures", "", 5), ("fallbacks", "rasa_down", 1)]:
        stats.count(kind, key, n)
    return client, app, await people(app, client, salma="supervisor", amina="counsellor")


async def test_a_cell_below_5_never_leaves_the_server_as_a_number(gateway_factory):
    client, app, team = await seeded(gateway_factory)
    resp = await team["salma"].get("/console/api/programme")
    assert resp.status == 200
    view = await resp.json()
    assert small_numbers(view) == []
    charts = {c["id"]: c for c in view["charts"]}
    regions = dict(zip(charts["regions"]["labels"], charts["regions"]["values"]))
    # Every region is listed, largest first. Oriental's 1 is hidden, and the other hidden
    # regions are all 0: 28 - 12 - 9 - 6 would give it away, so Souss-Massa (6) is hidden too.
    assert len(regions) == 12 and list(regions)[:2] == ["casablanca-settat", "draa-tafilalet"]
    assert {k: v for k, v in regions.items() if v != "< 5"} == {"casablanca-settat": 12, "draa-tafilalet": 9}
    assert charts["regions"]["names"]["oriental"] == {"fr": "Oriental", "ar": "الشرق"}
    assert charts["regions"]["total"] == 28
    assert charts["channels"]["values"] == ["< 5", "< 5"] and charts["channels"]["total"] == 10
    assert charts["handoff_wait"]["median"] == "5-15"
    assert view["totals"]["stops"] == "< 5" and view["totals"]["erasures"] == 5
    day = charts["conversations_per_day"]
    assert len(day["labels"]) == 30 and day["values"][-1] == 10 and set(day["values"][:-1]) == {"< 5"}

    resp = await team["salma"].get("/console/api/programme.csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert {r["value"] for r in rows if r["label"] != "median" and not r["value"].isdigit()} <= {"< 5"}
    assert all(int(r["value"]) >= 5 for r in rows if r["value"].isdigit())
    exported = {(r["chart"], r["label"]): r["value"] for r in rows}
    assert exported[("regions", "oriental")] == "< 5" and exported[("regions", "casablanca-settat")] == "12"


async def test_a_month_can_be_chosen_and_a_bad_one_is_refused(gateway_factory):
    client, app, team = await seeded(gateway_factory)
    this_month = stats_mod.day_of(time.time())[:7]
    view = await (await team["salma"].get(f"/console/api/programme?month={this_month}")).json()
    assert view["month"] == this_month and view["first_day"] == f"{this_month}-01"
    assert {c["id"]: c for c in view["charts"]}["regions"]["total"] == 28
    empty = await (await team["salma"].get("/console/api/programme?month=2020-02")).json()
    assert empty["last_day"] == "2020-02-29" and small_numbers(empty) == []
    bad = await team["salma"].get("/console/api/programme?month=2026-13")
    assert bad.status == 400 and (await bad.json())["code"] == "bad_month"


def test_hidden_cells_never_add_up_to_a_small_number():
    assert aggregates.suppress([10, 3, 6, 8]) == [10, "< 5", "< 5", 8]  # 27 - 18 would be 9, not 3
    assert aggregates.suppress([10, 3, 2, 8]) == [10, "< 5", "< 5", 8]  # 3 + 2 = 5 hidden together
    assert aggregates.suppress([10, 1, 0, 0, 6, 5]) == [10, "< 5", "< 5", "< 5", 6, "< 5"]
    assert aggregates.suppress([10, 5]) == [10, 5]
    assert aggregates.suppress([7, 0]) == [7, "< 5"]  # the hidden cell is 0: nothing small to find
    assert aggregates.suppress([0]) == ["< 5"] and aggregates.suppress([4]) == ["< 5"]


# -- roles -------------------------------------------------------------------------------------
SUPERVISOR_PREFIXES = ("/console/api/programme", "/console/api/accounts")


def supervisor_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the router serves under the supervisor prefixes: a new route is
    covered without editing this test."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        if path.startswith(SUPERVISOR_PREFIXES) and route.method != "HEAD":
            found.append((route.method, path.replace("{name}", "amina")))
    return found


async def test_a_counsellor_gets_403_on_every_supervisor_route(gateway_factory):
    client, app, team = await seeded(gateway_factory)
    routes = supervisor_routes(app)
    assert len(routes) >= 7, routes
    for method, path in routes:
        amina = team["amina"]
        resp = await (amina.get(path) if method == "GET" else amina.post(path, {"password": "x" * 20}))
        assert resp.status == 403, (method, path)
        assert (await resp.json())["code"] == "forbidden_role"
    assert await (await team["amina"].get("/console/api/session")).json() == {
        "username": "amina", "csrf_token": team["amina"].csrf, "role": "counsellor"}


async def test_a_supervisor_reads_no_conversation_and_opens_no_queue_socket(gateway_factory):
    client, settings, app = await gateway_factory()
    _, conv_id = await waiting(client, settings, app)
    salma = (await people(app, client, salma="supervisor"))["salma"]
    for path in ("/console/api/conversations?status=waiting", f"/console/api/conversations/{conv_id}",
                 "/console/api/canned"):
        assert (await salma.get(path)).status == 403, path
    assert (await salma.post(f"/console/api/conversations/{conv_id}/claim")).status == 403
    resp = await client.get("/console/ws", headers={**salma.headers(csrf=False), "Origin": settings.public_base_url})
    assert resp.status == 403


# -- account management --------------------------------------------------------------------------
def audited(app: Any) -> list[tuple]:
    with app[STORE].engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit.c.action, audit.c.counsellor, audit.c.subject)
                                               .where(audit.c.action.like("account_%")).order_by(audit.c.id))]


async def test_supervisors_manage_accounts_with_the_same_rules_csrf_and_audit(gateway_factory, caplog):
    client, settings, app = await gateway_factory()
    team = await people(app, client, salma="supervisor")
    salma = team["salma"]
    new = {"username": "nadia", "password": "a long enough password", "role": "counsellor"}
    # CSRF: no token, a wrong one, a foreign Origin: refused, nothing made.
    no_token = await client.post("/console/api/accounts", json=new, headers=salma.headers(csrf=False))
    assert no_token.status == 403 and (await no_token.json())["code"] == "csrf"
    wrong = await client.post("/console/api/accounts", json=new,
                              headers={**salma.headers(csrf=False), "X-CSRF-Token": "x" * 43})
    assert wrong.status == 403
    foreign = await salma.post("/console/api/accounts", new, Origin="https://evil.example")
    assert foreign.status == 403 and (await foreign.json())["code"] == "bad_origin"
    # The password rules are the command line's.
    short = await salma.post("/console/api/accounts", {**new, "password": "short"})
    assert short.status == 400 and "10 characters" in (await short.json())["error"]
    bad_role = await salma.post("/console/api/accounts", {**new, "role": "admin"})
    assert bad_role.status == 400
    assert audited(app) == []
    assert (await salma.post("/console/api/accounts", new)).status == 201
    assert (await salma.post("/console/api/accounts", new)).status == 400  # exists
    nadia = Counsellor(client, "nadia")
    assert (await nadia.login("a long enough password")).status == 200
    listed = (await (await salma.get("/console/api/accounts")).json())["accounts"]
    assert {a["username"]: (a["role"], a["disabled"]) for a in listed} == {
        "nadia": ("counsellor", False), "salma": ("supervisor", False)}
    assert "password_hash" not in json.dumps(listed) and "scrypt" not in json.dumps(listed)

    # Reset: her sessions end, the new password works.
    assert (await salma.post("/console/api/accounts/nadia/password", {"password": "short"})).status == 400
    assert (await salma.post("/console/api/accounts/nadia/password", {"password": "another long one!"})).status == 200
    assert (await nadia.get("/console/api/session")).status == 401
    assert (await nadia.login("a long enough password")).status == 401
    assert (await nadia.login("another long one!")).status == 200
    # Disable: her session ends and she cannot log in; enable: she can again.
    assert (await salma.post("/console/api/accounts/nadia/disable")).status == 200
    assert (await nadia.get("/console/api/session")).status == 401
    assert (await nadia.login("another long one!")).status == 401
    assert (await salma.post("/console/api/accounts/salma/disable")).status == 409  # not herself
    assert (await salma.post("/console/api/accounts/ghost/disable")).status == 400
    assert (await salma.post("/console/api/accounts/nadia/enable")).status == 200
    assert (await nadia.login("another long one!")).status == 200
    assert audited(app) == [("account_create", "salma", "nadia"), ("account_password", "salma", "nadia"),
                            ("account_disable", "salma", "nadia"), ("account_enable", "salma", "nadia")]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "another long one!" not in logged and "a long enough password" not in logged


async def test_a_supervisor_made_from_the_page_can_log_in_as_one(gateway_factory):
    client, settings, app = await gateway_factory()
    salma = (await people(app, client, salma="supervisor"))["salma"]
    assert (await salma.post("/console/api/accounts", {"username": "karima", "password": "x" * 12,
                                                       "role": "supervisor"})).status == 201
    karima = Counsellor(client, "karima")
    resp = await karima.login("x" * 12)
    assert (await resp.json())["role"] == "supervisor"
    assert (await karima.get("/console/api/programme")).status == 200


def test_make_supervisor_creates_the_first_supervisor(var_dir):
    done = subprocess.run(["make", "-s", "--no-print-directory", "supervisor", "NAME=salma"], cwd=ROOT,
                          env=clean_env(var_dir), input=PASSWORD + "\n", capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert "supervisor salma created" in done.stdout and PASSWORD not in done.stdout + done.stderr
    store = Store(f"sqlite:///{var_dir / 'gateway.db'}")
    try:
        assert [(a["username"], a["role"]) for a in accounts.list_accounts(store)] == [("salma", "supervisor")]
    finally:
        store.close()
    usage = subprocess.run(["make", "-s", "supervisor"], cwd=ROOT, env=clean_env(var_dir), capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode != 0 and "make supervisor NAME=" in usage.stderr


# -- the page ------------------------------------------------------------------------------------
def test_the_vendored_chart_library_is_the_pinned_release():
    vendor = ROOT / "bot" / "static" / "console" / "vendor" / "chartjs"
    code = (vendor / "chart.umd.min.js").read_bytes()
    assert hashlib.sha256(code).hexdigest() == "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"
    assert b"Chart.js v4.6.1" in code[:200] and "MIT" in (vendor / "LICENSE.md").read_text()
    assert "87364cc2" in (vendor / "SOURCE.md").read_text()


async def test_the_programme_page_is_served_with_no_external_asset(gateway_factory):
    client, settings, app = await gateway_factory()
    resp = await client.get("/console/programme")
    assert resp.status == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    html = await resp.text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith(("/console/", "data:")) for a in assets), assets
    for asset in assets:
        if asset.startswith("/console/static/"):
            assert (await client.get(asset)).status == 200, asset
    # The page is static: its numbers come from the API, which asks for a supervisor's session.
    assert (await client.get("/console/api/programme")).status == 401
    script = (ROOT / "bot" / "static" / "console" / "programme.js").read_text()
    assert "innerHTML" not in script and "http://" not in script and "https://" not in script


# -- the action server: topics and regions asked about -------------------------------------------
PLACES = {"dar_lat": "fes", "dar_ar": "فاس", "ar": "فاس", "fr": "Fès"}
SHELTER = {"dar_lat": "bghit fin nbat f fes", "dar_ar": "بغيت فين نبات ففاس", "ar": "أريد مأوى في فاس",
           "fr": "je cherche un refuge à Fès"}


def action_call(action: str, variety: str, intent: str, place: str = "") -> dict:
    """What Rasa sends the action server after her message (the tracker as JSON)."""
    entities = [{"entity": "place", "value": place}] if place else []
    latest = {"text": SHELTER[variety], "intent": {"name": intent, "confidence": 0.9}, "entities": entities,
              "metadata": {"channel": "whatsapp", "language": variety}}
    return {"next_action": action, "sender_id": "u0", "domain": {}, "tracker": {
        "sender_id": "u0", "slots": {"language": variety, "place": None, "help_kind": "shelter"},
        "latest_message": latest, "events": [{"event": "user", **latest}], "paused": False,
        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}}


@pytest.fixture
def executor(monkeypatch):
    from rasa_sdk.executor import ActionExecutor

    monkeypatch.setattr(ActionExecutor, "run", ActionExecutor.run)  # put back after the test
    found = ActionExecutor()
    found.register_package("actions")
    return found


def test_topics_yml_gives_every_intent_of_the_domain_one_place(tmp_path):
    from bot.stats_actions import TopicsError, load_topics

    topics = load_topics()
    assert topics["report_violence"] == "violence" and topics["find_shelter"] == "places_of_help"
    assert topics["greet"] is None and topics["nlu_fallback"] == "not_understood"
    twice = tmp_path / "topics.yml"
    twice.write_text("families:\n  violence: [report_violence]\n  legal: [report_violence]\n", encoding="utf-8")
    with pytest.raises(TopicsError, match=r"topics.yml:3: intent 'report_violence' is listed twice"):
        load_topics(twice)
    short = tmp_path / "short.yml"
    short.write_text("families:\n  violence: [report_violence, hello]\n", encoding="utf-8")
    with pytest.raises(TopicsError, match=r"short.yml:1: intents missing .*'emergency'.* not in domain.yml \['hello'\]"):
        load_topics(short)


@pytest.mark.parametrize("variety", list(GREETINGS))
async def test_the_action_server_counts_her_topic_and_the_region_she_asks_about(var_dir, executor, variety):
    from bot.stats_actions import ActionStats, install, load_topics
    from bot.store import make_engine

    engine = make_engine(f"sqlite:///{var_dir / 'gateway.db'}")
    counter = install(ActionStats(stats_mod.Stats(engine), load_topics()))
    for intent in ("find_shelter", "greet", "report_violence"):
        await executor.run(action_call("action_extract_turn_slots", variety, intent))
    answer = await executor.run(action_call("action_nearest_help", variety, "find_shelter", PLACES[variety]))
    assert answer["responses"] and "fes-meknes" in str(answer["events"])
    counter.stats.flush()
    with engine.connect() as conn:
        rows = {(r.kind, r.key): r.count for r in conn.execute(sa.select(daily_counts))}
    assert rows == {("topics", "places_of_help"): 1, ("topics", "violence"): 1, ("regions_asked", "fes-meknes"): 1}
    engine.dispose()


async def test_counting_in_the_action_server_never_costs_her_an_answer(tmp_path, executor, caplog):
    from bot.stats_actions import ActionStats, install, load_topics
    from bot.store import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")  # no table: every write fails
    counter = install(ActionStats(stats_mod.Stats(engine), load_topics()))
    counter._flushed = 0.0  # due now
    answer = await executor.run(action_call("action_extract_turn_slots", "fr", "report_violence"))
    assert {"event": "slot", "name": "language", "value": "fr", "timestamp": None} in answer["events"]
    await counter._flushing
    assert "could not write the daily counters" in caplog.text
    assert "je cherche" not in caplog.text
    engine.dispose()


@pytest.mark.postgres
async def test_gateways_sharing_postgresql_add_up_their_counts():
    from bot.migrate import upgrade
    from bot.store import make_engine
    from tests.conftest import empty_postgres_database

    with empty_postgres_database() as url:
        upgrade(url)
        engines = [make_engine(url) for _ in range(3)]
        try:
            gateways = [stats_mod.Stats(e) for e in engines]
            for i, stats in enumerate(gateways):
                stats.count("messages_in", "sms", 10 + i)
                stats.count("stops")
            # Three gateways flush the same rows at once: the upserts add, none is lost.
            await asyncio.gather(*(asyncio.to_thread(s.flush) for s in gateways))
            with engines[0].connect() as conn:
                rows = {(r.kind, r.key): r.count for r in conn.execute(sa.select(daily_counts))}
            assert rows == {("messages_in", "sms"): 33, ("stops", ""): 3}
        finally:
            for engine in engines:
                engine.dispose()


async def test_what_a_gateway_counted_is_written_when_it_stops(gateway_factory, var_dir):
    from bot.store import make_engine

    client, settings, app = await gateway_factory()
    await Phone(client, settings, her(1)).send("salam")
    await client.close()  # the app shuts down: its last counts are flushed, not lost
    engine = make_engine(f"sqlite:///{var_dir / 'gateway.db'}")
    try:
        with engine.connect() as conn:
            rows = {(r.kind, r.key): r.count for r in conn.execute(sa.select(daily_counts))}
    finally:
        engine.dispose()
    assert rows[("messages_in", "whatsapp")] == 1 and rows[("conversations_new", "whatsapp")] == 1
