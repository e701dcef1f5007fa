"""Twilio-facing routes: signed inbound messages and delivery status callbacks."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDictProxy
from twilio.request_validator import RequestValidator, compare

from bot.appkeys import GATEWAY, METRICS, SETTINGS, STORE
from bot.gateway import ForgedRetry
from bot.inbound import Inbound, read_form, valid_sender

log = logging.getLogger("salama.webhook")
routes = web.RouteTableDef()
SIGNED_PATHS = ("/twilio/",)


@web.middleware
async def twilio_signature(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every /twilio/ request must carry a valid X-Twilio-Signature, or it gets 403.

    The URL signed is PUBLIC_BASE_URL + path + query, not the URL the request arrived on:
    a proxy in front of the gateway rewrites host, scheme and port. The body is capped in
    size and fields before it is parsed (bot.inbound), so an unsigned request costs little.
    """
    if not request.path.startswith(SIGNED_PATHS):
        return await handler(request)
    settings = request.app[SETTINGS]
    signature = request.headers.get("X-Twilio-Signature", "")
    try:
        form = request["form"] = await read_form(request)
    except web.HTTPException as exc:
        request.app[METRICS].inc("salama_rejected_webhooks_total", reason=f"http_{exc.status}")
        log.warning("rejected webhook body status=%s path=%s", exc.status, request.path)
        raise
    url = settings.public_base_url.rstrip("/") + request.path_qs
    if not signature or not _signed(RequestValidator(settings.twilio_auth_token), url, form, signature):
        request.app[METRICS].inc("salama_rejected_webhooks_total", reason="signature")
        log.warning("rejected webhook without a valid signature path=%s", request.path)
        raise web.HTTPForbidden(text="invalid signature")
    return await handler(request)


def _signed(validator: RequestValidator, url: str, form: MultiDictProxy[str], signature: str) -> bool:
    """twilio's `validate` (the URL with and without its port: two HMACs), after one HMAC of
    the URL as configured, which is one of those two and the one Twilio signs when it is right."""
    return compare(validator.compute_signature(url, form), signature) or validator.validate(url, form, signature)


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
    msg = Inbound.from_form(request["form"], request.app[SETTINGS].max_body_chars)
    if not valid_sender(msg.address):
        request.app[METRICS].inc("salama_rejected_webhooks_total", reason="sender")
        log.warning("rejected webhook: From is not a phone number")
        raise web.HTTPBadRequest(text="From must be a phone number")
    response = None

    async def send(texts: list[str]) -> None:
        # Written here, before the gateway records the turn: she does not wait for that.
        nonlocal response
        response = twiml(texts)
        await response.prepare(request)
        await response.write_eof()

    try:
        texts = await request.app[GATEWAY].handle(msg, send)
    except ForgedRetry:
        raise web.HTTPForbidden(text="MessageSid already used") from None
    return response if response is not None else twiml(texts)  # (a Response is falsy)


@routes.post("/twilio/status", name="twilio_status")
async def status_callback(request: web.Request) -> web.Response:
    form = request["form"]
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if sid and status:
        store = request.app[STORE]
        await store.aio.record_delivery(sid, status)
        request.app[METRICS].inc("salama_delivery_status_total", status=status)
    return web.Response(status=204)
