"""The live queue: a WebSocket per open console, told which conversation changed (never what)."""
from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, web

from bot.appkeys import GATEWAY, STORE
from bot.console.security import ApiError, origin_ok, session_of

SEND_TIMEOUT_S = 2.0


class Hub:
    """Open sockets and the session (and account) each belongs to."""

    def __init__(self) -> None:
        self._sockets: dict[web.WebSocketResponse, str] = {}
        self._owners: dict[web.WebSocketResponse, str] = {}

    def add(self, ws: web.WebSocketResponse, token_hash: str, username: str) -> None:
        self._sockets[ws] = token_hash
        self._owners[ws] = username

    def discard(self, ws: web.WebSocketResponse) -> None:
        self._sockets.pop(ws, None)
        self._owners.pop(ws, None)

    async def publish(self, event: dict) -> None:
        """Send to every socket; a slow or broken one is closed rather than waited for."""
        sockets = list(self._sockets)
        results = await asyncio.gather(
            *(asyncio.wait_for(ws.send_json(event), SEND_TIMEOUT_S) for ws in sockets),
            return_exceptions=True)
        for ws, result in zip(sockets, results):
            if isinstance(result, Exception):
                self.discard(ws)
                await ws.close(code=WSCloseCode.GOING_AWAY)

    async def close_session(self, token_hash: str) -> None:
        for ws in [ws for ws, owner in self._sockets.items() if owner == token_hash]:
            self.discard(ws)
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"logged out")

    async def close_sessions_of(self, username: str) -> None:
        """A supervisor disabled the account or reset its password: its sockets close."""
        for ws in [ws for ws, owner in self._owners.items() if owner == username]:
            self.discard(ws)
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"account changed")

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            self.discard(ws)
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


HUB = web.AppKey("console_hub", Hub)


async def changed(app: web.Application, conv_id: str) -> None:
    store = app[STORE]
    exists = await store.aio.get_conversation(conv_id) is not None
    await app[HUB].publish({"type": "changed" if exists else "erased", "id": conv_id})


async def socket(request: web.Request) -> web.WebSocketResponse:
    """GET /console/ws: same-origin only (a WebSocket is not bound by CORS), logged in only."""
    if not origin_ok(request, required=True):
        raise ApiError(403, "bad_origin", "WebSocket refused: wrong or missing Origin.")
    session = await session_of(request)
    if session is None:
        raise ApiError(401, "not_logged_in", "Log in first (the session is missing or expired).")
    if session.role != "counsellor":  # the queue is for counsellors only
        raise ApiError(403, "forbidden_role", "Only a counsellor's account may do this.")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub = request.app[HUB]
    hub.add(ws, session.token_hash, session.username)
    try:
        async for _ in ws:  # the page sends nothing we act on
            pass
    finally:
        hub.discard(ws)
    return ws


async def on_startup(app: web.Application) -> None:
    # The gateway exists once the app's resources have started (cleanup_ctx runs first).
    app[GATEWAY].on_change(lambda conv_id: changed(app, conv_id))


async def on_shutdown(app: web.Application) -> None:
    await app[HUB].close_all()
