"""Twilio-facing routes: signed inbound messages and delivery status callbacks."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable
from xml.sax.saxutils import escape

from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.appkeys import GATEWAY, METRICS, SETTINGS, STORE
from bot.gateway import Inbound

log = logging.getLogger("salama.webhook")
routes = web.RouteTableDef()
SIGNED_PATHS = ("/twilio/",)


@web.middleware
async def twilio_signature(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every /twilio/ request must carry a valid X-Twilio-Signature, or it gets 403.

    The URL signed is PUBLIC_BASE_URL + path + query, not the URL the request arrived on:
    a proxy in front of the gateway rewrites host, scheme and port.
    """
    if not request.path.startswith(SIGNED_PATHS):
        return await handler(request)
    settings = request.app[SETTINGS]
    signature = request.headers.get("X-Twilio-Signature", "")
    form = await request.post()
    url = settings.public_base_url.rstrip("/") + request.path_qs
    if not signature or not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        request.app[METRICS].inc("salama_rejected_webhooks_total")
        log.warning("rejected webhook without a valid signature path=%s", request.path)
        raise web.HTTPForbidden(text="invalid signature")
    return await handler(request)


def twiml(texts: list[str]) -> web.Response:
    return web.Response(text=twiml_xml(texts), content_type="application/xml")


def twiml_xml(texts: list[str]) -> str:
    """What twilio's MessagingResponse renders for these messages (tests compare the two),
    without building an element tree for every answer."""
    if not texts:
        return _XML_DECL + "<Response />"
    return _XML_DECL + "<Response>" + "".join(
        f"<Message>{escape(t)}</Message>" if t else "<Message />" for t in texts) + "</Response>"


_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>'


@routes.post("/twilio/messages", name="twilio_messages")
async def inbound_message(request: web.Request) -> web.Response:
    form = await request.post()
    msg = Inbound.from_form(form)
    if not msg.address:
        raise web.HTTPBadRequest(text="missing From")
    response = None

    async def send(texts: list[str]) -> None:
        # Written here, before the gateway records the turn: she does not wait for that.
        nonlocal response
        response = twiml(texts)
        await response.prepare(request)
        await response.write_eof()

    texts = await request.app[GATEWAY].handle(msg, send)
    return response if response is not None else twiml(texts)  # (a Response is falsy)


@routes.post("/twilio/status", name="twilio_status")
async def status_callback(request: web.Request) -> web.Response:
    form = await request.post()
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if sid and status:
        store = request.app[STORE]
        await store.run(store.record_delivery, sid, status)
        request.app[METRICS].inc("salama_delivery_status_total", status=status)
    return web.Response(status=204)
