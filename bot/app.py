"""The gateway's app factory: Twilio webhook, health, metrics, console; background tasks."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from bot import console, handoff, malloc, webhook
from bot.appkeys import GATEWAY, HTTP, LOCKS, METRICS, OUTBOX, RASA, SETTINGS, STORE, VAULT
from bot.gateway import Gateway
from bot.gateway.parts import Parts
from bot.locks import ConversationLocks, RedisConversationLocks
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.outbox import OutboxSender
from bot.rasa_client import RasaClient
from bot.store import Store
from bot.texts import Texts
from bot.twilio_api import TwilioApi
from core.logsafe import configure_logging
from core.safety_net import SafetyNet
from core.settings import Settings

log = logging.getLogger("salama.app")
routes = web.RouteTableDef()


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    app = request.app
    checks = {"rasa": await app[RASA].health(), "actions": await _actions_health(app)}
    store = app[STORE]
    try:
        await store.aio.ping()
        backlog = await store.aio.outbox_backlog()
        checks["store"] = None
    except Exception as exc:
        checks["store"], backlog = type(exc).__name__, None
    ok = all(v is None for v in checks.values())
    body = {
        "status": "ok" if ok else "degraded",
        **{name: ("ok" if err is None else f"down: {err}") for name, err in checks.items()},
        "outbox_backlog": backlog,
    }
    return web.json_response(body, status=200 if ok else 503)


async def _actions_health(app: web.Application) -> str | None:
    try:
        async with app[HTTP].get(f"{app[SETTINGS].actions_url}/health",
                                 timeout=aiohttp.ClientTimeout(total=2)) as resp:
            return None if resp.status == 200 else f"status {resp.status}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return type(exc).__name__


@routes.get("/metrics", name="metrics")
async def metrics(request: web.Request) -> web.Response:
    store = request.app[STORE]
    gauges = {}
    with contextlib.suppress(Exception):
        gauges["salama_outbox_backlog"] = await store.aio.outbox_backlog()
        gauges["salama_queue_waiting"] = len(await store.aio.list_conversations(("waiting",)))
        gauges["salama_queue_active"] = len(await store.aio.list_conversations(("active",)))
    # Prometheus' text format (the content type carries its version).
    return web.Response(text=request.app[METRICS].render(gauges),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


# One cleanup context per resource, opened in this order and closed in the reverse.
async def _store(app: web.Application) -> AsyncIterator[None]:
    """First: a store whose schema is behind stops the start with its message."""
    app[STORE] = Store(app[SETTINGS].store_url)
    app[VAULT] = app[SETTINGS].vault()
    yield
    app[STORE].close()


async def _http(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session for Rasa, the action server's health and Twilio's API."""
    app[HTTP] = aiohttp.ClientSession()
    yield
    await app[HTTP].close()


async def _locks(app: web.Application) -> AsyncIterator[None]:
    """Several gateways share the order of a conversation through Redis; one needs no server."""
    settings = app[SETTINGS]
    locks = RedisConversationLocks(settings.redis_url) if settings.redis_url else ConversationLocks()
    app[LOCKS] = locks
    yield
    if isinstance(locks, RedisConversationLocks):
        await locks.close()


async def _gateway(app: web.Application) -> AsyncIterator[None]:
    """The gateway and its outbox sender; at shutdown, the turns still running finish."""
    settings, session, store, vault = app[SETTINGS], app[HTTP], app[STORE], app[VAULT]
    app[RASA] = RasaClient(session, settings.rasa_url, settings.rasa_token, settings.rasa_timeout_s)
    api = TwilioApi(session, settings.twilio_api_base_url, settings.twilio_account_sid,
                    settings.twilio_auth_token,
                    status_callback=settings.public_base_url.rstrip("/") + "/twilio/status")
    app[OUTBOX] = outbox = OutboxSender(store, vault, api, settings, app[METRICS])
    parts = Parts(settings=settings, store=store, vault=vault, rasa=app[RASA], texts=Texts.load(),
                  metrics=app[METRICS], locks=app[LOCKS], kick_outbox=outbox.kick, twilio=api)
    app[GATEWAY] = gateway = Gateway(parts, SafetyNet.load())
    yield
    await gateway.drain()


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The outbox sender's loop and the periodic jobs."""
    tasks = [asyncio.create_task(app[OUTBOX].run()), asyncio.create_task(_periodic(app))]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _periodic(app: web.Application) -> None:
    """Every few seconds: tell women nobody has claimed, give Rasa what it missed while
    down; once a minute: free heap pages back to the system; once an hour: retention purge."""
    last_purge = last_trim = 0.0
    while True:
        try:
            await handoff.notify_unclaimed(app)
            await app[GATEWAY].retry_pending()
            if time.time() - last_purge > 3600:
                await purge(app[STORE], app[SETTINGS])
                last_purge = time.time()
            if time.time() - last_trim > 60:
                malloc.trim()
                last_trim = time.time()
        except Exception:
            log.exception("periodic job failed")
        await asyncio.sleep(5)


async def purge(store: Store, settings: Settings) -> dict[str, int]:
    cutoff = time.time() - settings.retention_days * 86400
    counts = await store.aio.purge_older_than(cutoff)
    log.info("retention purge removed %s", counts)
    return counts


def init_app(settings: Settings) -> web.Application:
    # Twilio bodies are capped lower in bot.inbound; the console sends small JSON.
    app = web.Application(middlewares=[webhook.twilio_signature, *console.middlewares()],
                          client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app.add_routes(routes)
    app.add_routes(webhook.routes)
    console.setup(app)
    app.cleanup_ctx.extend([_store, _http, _locks, _gateway, _background])
    return app


def main() -> None:
    malloc.limit_arenas()  # before the store's worker threads exist
    settings = Settings.from_env()
    configure_logging(settings, name=f"gateway-{settings.gateway_port}")
    mode = "local mode (messages go to the local Twilio stand-in)" if settings.local_mode else "Twilio mode"
    log.info("gateway on %s:%s, %s", settings.gateway_host, settings.gateway_port, mode)
    web.run_app(init_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                print=None, access_log=None, loop=_event_loop())


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop (already there for Rasa's Sanic) when it imports: fewer system calls a message."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover (pinned in requirements.txt)
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
