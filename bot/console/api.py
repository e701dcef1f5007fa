"""The console's JSON API and page: login, queue, one conversation, claim, reply, notes,
release, close. Conversations are shown by pseudonym; no message text reaches a log."""
from __future__ import annotations

import logging
import time
from typing import Optional

from aiohttp import web

from bot.appkeys import GATEWAY, LOCKS, METRICS, SETTINGS, STORE, VAULT
from bot.console import accounts, login
from bot.console.canned import load_canned
from bot.console.live import HUB
from bot.console.security import ApiError, clear_session_cookie, current, json_body, set_session_cookie
from bot.stats import wait_bucket
from bot.store import Conversation
from core.crypto import Vault
from core.settings import ROOT

log = logging.getLogger("salama.console")
routes = web.RouteTableDef()
STATIC = ROOT / "bot" / "static" / "console"
CANNED = web.AppKey("console_canned", list)
WHATSAPP_WINDOW_S = 24 * 3600
LISTS = {"waiting": ("waiting",), "active": ("active",), "mine": ("active",)}


# -- the page ------------------------------------------------------------------------
@routes.get("/console", name="console")
async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


@routes.get("/console/", name="console_slash")
async def page_slash(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console")


# -- sessions --------------------------------------------------------------------------
@routes.post("/console/api/login", name="console_login")
async def log_in(request: web.Request) -> web.Response:
    body = await json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ApiError(400, "bad_request", 'Send {"username": ..., "password": ...}.')
    username = username[:64]
    store = request.app[STORE]
    try:
        result = await login.authenticate(request.app, username, password, login.client_address(request))
    except login.LimitsUnavailable as exc:
        log.warning("console login refused: login limits unavailable (%s)", exc)
        raise ApiError(503, "unavailable", "Login is unavailable for a moment: try again soon.",
                       retry_after=login.BUSY_RETRY_S) from None
    if isinstance(result, login.Refused):
        raise ApiError(429, "too_many_attempts",
                       f"Too many login attempts: try again in {result.retry_after} s.",
                       retry_after=result.retry_after)
    if not result:
        raise ApiError(401, "bad_credentials", "Wrong name or password.")
    token, session = await store.aio.call(accounts.create_session, store, username)
    await store.aio.audit("login", username, None)
    log.info("console login counsellor=%s", username)
    response = web.json_response({"csrf_token": session.csrf_token, "username": username,
                                  "role": session.role})
    set_session_cookie(response, request.app[SETTINGS], token)
    return response


@routes.post("/console/api/logout", name="console_logout")
async def logout(request: web.Request) -> web.Response:
    session, store = current(request), request.app[STORE]
    await store.aio.call(accounts.end_session, store, session.token_hash)
    await store.aio.audit("logout", session.username, None)
    await request.app[HUB].close_session(session.token_hash)
    response = web.json_response({"ok": True})
    clear_session_cookie(response)
    return response


@routes.get("/console/api/session", name="console_session")
async def who(request: web.Request) -> web.Response:
    """After a reload the page asks who it is and gets the CSRF token back (same origin only)."""
    session = current(request)
    return web.json_response({"username": session.username, "csrf_token": session.csrf_token,
                              "role": session.role})


@routes.get("/console/api/canned", name="console_canned")
async def canned(request: web.Request) -> web.Response:
    return web.json_response({"canned": request.app[CANNED]})


# -- conversations -----------------------------------------------------------------------
@routes.get("/console/api/conversations", name="console_conversations")
async def conversations(request: web.Request) -> web.Response:
    which = request.query.get("status", "waiting")
    if which not in LISTS:
        raise ApiError(400, "bad_status", "status must be waiting, active or mine.")
    me, store = current(request).username, request.app[STORE]
    convs = await store.aio.list_conversations(LISTS[which], me if which == "mine" else None)
    last = await store.aio.last_lines([c.id for c in convs])
    vault, now = request.app[VAULT], time.time()
    items = [_summary(c, me, now, _message(vault, last.get(c.id))) for c in convs]
    return web.json_response({"conversations": items})


@routes.get("/console/api/conversations/{id}", name="console_conversation")
async def conversation(request: web.Request) -> web.Response:
    conv = await _handed(request)
    return web.json_response(await _detail(request.app, conv, current(request).username))


@routes.post("/console/api/conversations/{id}/claim", name="console_claim")
async def claim(request: web.Request) -> web.Response:
    app, me = request.app, current(request).username
    conv = await _handed(request, acting=True)
    store = app[STORE]
    if not await store.aio.claim_conversation(conv.id, me):
        conv = await _handed(request, acting=True)
        if conv.counsellor != me:
            raise ApiError(409, "claimed_by_other", "Another counsellor has already claimed this conversation.",
                           counsellor=conv.counsellor)
    else:
        await _record(app, "claim", me, conv.id)
        waited = time.time() - (conv.waiting_since or time.time())
        app[GATEWAY].stats.count("handoff_wait", wait_bucket(waited))
        app[METRICS].observe("salama_handoff_wait_seconds", waited)
    conv = await store.aio.get_conversation(conv.id)
    return web.json_response(await _detail(app, conv, me))


@routes.post("/console/api/conversations/{id}/messages", name="console_reply")
async def reply(request: web.Request) -> web.Response:
    app, me = request.app, current(request).username
    text = _text(await json_body(request), app[SETTINGS].max_body_chars)
    conv = await _handed(request, acting=True)
    gateway = app[GATEWAY]
    async with request.app[LOCKS].hold(conv.id):  # not while her message is being handled
        conv = await _mine(request, me)
        if conv.opted_out:
            raise ApiError(409, "opted_out", "She has opted out (STOP): nothing can be sent to her.")
        if conv.quiet:
            raise ApiError(409, "quiet", "She used the quick-exit word: nothing is sent until she writes again.")
        window = _window(conv, time.time())
        if not window["open"]:
            raise ApiError(409, "whatsapp_window_closed",
                           "Her last message is more than 24 hours old: WhatsApp will not deliver "
                           "a free-form reply.", template_sid=app[SETTINGS].twilio_whatsapp_template_sid or None)
        await gateway.send_later(conv.id, text, sender="counsellor", counsellor=me)
    await _record(app, "reply", me, conv.id)
    return web.json_response({"ok": True}, status=201)


@routes.post("/console/api/conversations/{id}/template", name="console_template")
async def template(request: web.Request) -> web.Response:
    """Send the approved WhatsApp template: the only message WhatsApp delivers after 24 hours."""
    app, me = request.app, current(request).username
    content_sid = app[SETTINGS].twilio_whatsapp_template_sid
    conv = await _handed(request, acting=True)
    gateway = app[GATEWAY]
    async with request.app[LOCKS].hold(conv.id):
        conv = await _mine(request, me)
        if conv.channel != "whatsapp" or not content_sid:
            raise ApiError(409, "no_template", "No WhatsApp template applies to this conversation.")
        if conv.opted_out or conv.quiet:
            raise ApiError(409, "opted_out" if conv.opted_out else "quiet",
                           "Nothing can be sent to her now.")
        await gateway.send_template(conv.id, content_sid, me)
    await _record(app, "template", me, conv.id)
    return web.json_response({"ok": True}, status=201)


@routes.post("/console/api/conversations/{id}/notes", name="console_note")
async def note(request: web.Request) -> web.Response:
    app, me = request.app, current(request).username
    text = _text(await json_body(request), 4000)
    conv = await _mine(request, me)  # notes belong to the counsellor who has her
    store = app[STORE]
    await store.aio.add_note(conv.id, me, app[VAULT].encrypt(text))
    await _record(app, "note", me, conv.id)
    return web.json_response({"ok": True}, status=201)


@routes.post("/console/api/conversations/{id}/release", name="console_release")
async def release(request: web.Request) -> web.Response:
    return await _end(request, "release")


@routes.post("/console/api/conversations/{id}/close", name="console_close")
async def close(request: web.Request) -> web.Response:
    return await _end(request, "close")


async def _end(request: web.Request, action: str) -> web.Response:
    """Release and close both give her back to the bot and tell her so; the audit says which."""
    app, me = request.app, current(request).username
    conv = await _handed(request, acting=True)
    gateway = app[GATEWAY]
    async with request.app[LOCKS].hold(conv.id):
        conv = await _mine(request, me)
        await gateway.hand_back(conv.id)
    await _record(app, action, me, conv.id)
    return web.json_response({"ok": True, "status": "bot"})


# -- helpers -------------------------------------------------------------------------
async def _handed(request: web.Request, acting: bool = False) -> Conversation:
    """The conversation, if it is with the counsellors. One the bot has (never handed over,
    or released, or closed) is not theirs to read: 404; to act on: 409."""
    store = request.app[STORE]
    conv = await store.aio.get_conversation(request.match_info["id"])
    if conv is not None and conv.status == "bot" and acting:
        raise ApiError(409, "closed", "This conversation is back with the bot (released or closed).")
    if conv is None or conv.status not in ("waiting", "active"):
        raise ApiError(404, "not_found", "No such conversation in the queue.")
    return conv


async def _mine(request: web.Request, me: str) -> Conversation:
    conv = await _handed(request, acting=True)
    if conv.status != "active":
        raise ApiError(409, "not_claimed", "Claim this conversation before acting on it.")
    if conv.counsellor != me:
        raise ApiError(409, "claimed_by_other", "Another counsellor has this conversation.",
                       counsellor=conv.counsellor)
    return conv


def _text(body: dict, limit: int) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "empty_text", 'Send {"text": ...} with some text.')
    if len(text) > limit:
        raise ApiError(400, "too_long", f"The text is longer than {limit} characters.")
    return text.strip()


async def _record(app: web.Application, action: str, me: str, conv_id: str) -> None:
    store = app[STORE]
    await store.aio.audit(action, me, conv_id)
    log.info("console %s counsellor=%s conversation=%s", action, me, conv_id)
    await app[HUB].publish({"type": "changed", "id": conv_id})


def _window(conv: Conversation, now: float) -> dict:
    """WhatsApp delivers free-form messages only within 24 hours of her last message."""
    if conv.channel != "whatsapp":
        return {"applies": False, "open": True, "closes_at": None}
    closes = conv.last_inbound_at + WHATSAPP_WINDOW_S if conv.last_inbound_at else None
    return {"applies": True, "open": bool(closes and closes > now), "closes_at": closes}


def _summary(conv: Conversation, me: str, now: float, last: Optional[dict]) -> dict:
    return {
        "id": conv.id, "status": conv.status, "priority": conv.priority, "language": conv.language,
        "region": conv.region, "channel": conv.channel, "waiting_since": conv.waiting_since,
        "counsellor": conv.counsellor, "mine": conv.counsellor == me,
        "last_inbound_at": conv.last_inbound_at, "last_message": last,
        "reply_window": _window(conv, now),
    }


async def _detail(app: web.Application, conv: Conversation, me: str) -> dict:
    store, vault = app[STORE], app[VAULT]
    rows = await store.aio.get_transcript(conv.id)
    notes = await store.aio.get_notes(conv.id)
    messages = [_message(vault, r) for r in rows]
    return {
        **_summary(conv, me, time.time(), messages[-1] if messages else None),
        "template_sid": app[SETTINGS].twilio_whatsapp_template_sid or None,
        "messages": messages,
        "notes": [{"counsellor": n["counsellor"], "text": vault.decrypt(n["text_enc"]), "at": n["at"]}
                  for n in notes],
    }


def _message(vault: Vault, row: Optional[dict]) -> Optional[dict]:
    if row is None:
        return None
    return {"from": row["sender"], "text": vault.decrypt(row["text_enc"]), "at": row["at"],
            "counsellor": row["counsellor"]}


def setup_routes(app: web.Application) -> None:
    app[CANNED] = load_canned()
    app.add_routes(routes)
    app.router.add_static("/console/static", STATIC, name="console_static")
