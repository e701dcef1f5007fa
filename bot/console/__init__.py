"""Console: accounts, sessions, the JSON API, the live queue, the programme view, the pages.

`bot.app` calls `middlewares()` and `setup(app)`; `python -m bot.console` manages accounts.
"""
from __future__ import annotations

from aiohttp import web

from bot.console import api, live, login, programme, security


def middlewares() -> list:
    return [security.guard]


def setup(app: web.Application) -> None:
    """Register the console's routes, headers, login gate, live queue and their start and stop."""
    app[live.HUB] = live.Hub()
    # (aiohttp 3.9's signal hints disagree with aiosignal's; the handlers are right.)
    app.on_response_prepare.append(security.add_headers)  # type: ignore[arg-type]
    app.cleanup_ctx.append(login.gate_ctx)
    api.setup_routes(app)
    programme.setup(app)
    app.router.add_get("/console/ws", live.socket, name="console_ws")
    app.on_startup.append(live.on_startup)  # type: ignore[arg-type]
    app.on_shutdown.append(live.on_shutdown)  # type: ignore[arg-type]
