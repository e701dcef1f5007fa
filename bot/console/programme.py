"""Supervisor routes: the programme view (JSON, CSV, page) and account management.

The security guard (bot.console.security) lets only supervisors reach /console/api/programme
and /console/api/accounts; counsellors get 403. Account changes need the CSRF token like
every other change, follow the same password rules and are audited (who, what, whose).
"""
from __future__ import annotations

import asyncio
import contextlib
import csv
import logging

from aiohttp import web

from bot.appkeys import GATEWAY, STORE
from bot.console import accounts, aggregates
from bot.console.live import HUB
from bot.console.security import ApiError, current, json_body
from bot.store.stats_store import read_counts
from core.settings import ROOT

log = logging.getLogger("salama.console")
routes = web.RouteTableDef()
STATIC = ROOT / "bot" / "static" / "console"
REGIONS_CSV = ROOT / "data" / "places" / "regions.csv"
REGIONS = web.AppKey("programme_regions", dict)
FLUSH_EVERY_S = 5.0


def load_regions() -> dict[str, dict[str, str]]:
    """Morocco's 12 regions: slug -> {"fr", "ar"} names (data/places/regions.csv)."""
    with open(REGIONS_CSV, encoding="utf-8", newline="") as f:
        return {r["slug"]: {"fr": r["name_fr"], "ar": r["name_ar"]} for r in csv.DictReader(f)}


@routes.get("/console/programme", name="programme")
async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "programme.html")


async def _view(request: web.Request) -> dict:
    app = request.app
    try:
        first, last, month = aggregates.period(request.query.get("month"))
    except aggregates.BadPeriod as exc:
        raise ApiError(400, "bad_month", str(exc)) from None
    store, stats = app[STORE], app[GATEWAY].stats
    await store.aio.call(stats.flush)  # this gateway's last seconds are in the view
    rows = await store.aio.call(read_counts, store.engine, first, last)
    return aggregates.build(rows, first, last, month, app[REGIONS])


@routes.get("/console/api/programme", name="programme_json")
async def programme(request: web.Request) -> web.Response:
    return web.json_response(await _view(request))


@routes.get("/console/api/programme.csv", name="programme_csv")
async def programme_csv(request: web.Request) -> web.Response:
    view = await _view(request)
    name = f"salama-{view['first_day']}_{view['last_day']}.csv"
    return web.Response(text=aggregates.to_csv(view), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- accounts ------------------------------------------------------------------------
@routes.get("/console/api/accounts", name="accounts")
async def list_accounts(request: web.Request) -> web.Response:
    store = request.app[STORE]
    return web.json_response({"accounts": await store.aio.call(accounts.list_accounts, store)})


@routes.post("/console/api/accounts", name="account_create")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    name, password, role = body.get("username"), body.get("password"), body.get("role", "counsellor")
    if not (isinstance(name, str) and isinstance(password, str) and isinstance(role, str)):
        raise ApiError(400, "bad_request", 'Send {"username", "password", "role"}.')
    await _change(request, "account_create", name, accounts.add_counsellor, name, password, role)
    return web.json_response({"ok": True}, status=201)


@routes.post("/console/api/accounts/{name}/password", name="account_password")
async def reset_password(request: web.Request) -> web.Response:
    password = (await json_body(request)).get("password")
    if not isinstance(password, str):
        raise ApiError(400, "bad_request", 'Send {"password": ...}.')
    name = request.match_info["name"]
    await _change(request, "account_password", name, accounts.set_password, name, password)
    return web.json_response({"ok": True})


@routes.post("/console/api/accounts/{name}/disable", name="account_disable")
async def disable(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == current(request).username:
        raise ApiError(409, "self", "You cannot disable your own account.")
    await _change(request, "account_disable", name, accounts.set_disabled, name, True)
    return web.json_response({"ok": True})


@routes.post("/console/api/accounts/{name}/enable", name="account_enable")
async def enable(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await _change(request, "account_enable", name, accounts.set_disabled, name, False)
    return web.json_response({"ok": True})


async def _change(request: web.Request, action: str, subject: str, fn, *args) -> None:
    """Run one account change in a store thread (hashing included), then audit it."""
    store, me = request.app[STORE], current(request).username
    try:
        await store.aio.call(fn, store, *args)
    except accounts.AccountError as exc:
        raise ApiError(400, "bad_account", str(exc)) from None
    await store.aio.call(accounts.audit_account, store, action, me, subject)
    log.info("console %s supervisor=%s account=%s", action, me, subject)
    if action in ("account_password", "account_disable"):
        await request.app[HUB].close_sessions_of(subject)


# -- the counters' flush -----------------------------------------------------------------
async def _flush_loop(app: web.Application) -> None:
    store, stats = app[STORE], app[GATEWAY].stats
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        try:
            await store.aio.call(stats.flush)
        except Exception:  # the store is down: the counts wait for the next flush
            log.exception("could not flush the daily counters")


FLUSHER = web.AppKey("stats_flusher", asyncio.Task)


async def start_flushing(app: web.Application) -> None:
    # on_startup: the gateway (and its counters) exists once the app's resources started.
    app[FLUSHER] = asyncio.create_task(_flush_loop(app))


async def stop_flushing(app: web.Application) -> None:
    """on_shutdown, before the store closes: stop the loop and flush what is left."""
    app[FLUSHER].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app[FLUSHER]
    with contextlib.suppress(Exception):
        await app[STORE].aio.call(app[GATEWAY].stats.flush)


def setup(app: web.Application) -> None:
    app[REGIONS] = load_regions()
    app.add_routes(routes)
    # (aiohttp 3.9's signal hints disagree with aiosignal's; the handlers are right.)
    app.on_startup.append(start_flushing)  # type: ignore[arg-type]
    app.on_shutdown.append(stop_flushing)  # type: ignore[arg-type]
