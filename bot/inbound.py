"""A Twilio webhook's body, read safely: size and field caps before any parsing, strict
UTF-8, a sender that is a phone number, a location that is a place on Earth."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qsl

import phonenumbers
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

# Twilio's webhooks carry a few dozen fields and a body of at most 1,600 characters (up to
# 9 bytes each once percent-encoded) plus up to 10 media URLs: 64 KiB and 100 fields leave
# room for all of it and keep a hostile body's cost bounded before the signature is checked.
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100
FORM_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The form of a Twilio request, or an HTTP error (413, 415, 400) before any real work."""
    media_type, charset = content_type(request.headers.get("Content-Type", ""))
    if media_type != FORM_TYPE:
        raise web.HTTPUnsupportedMediaType(text="expected an urlencoded form")
    if (charset or "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise web.HTTPUnsupportedMediaType(text="expected utf-8")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES,
                                            actual_size=request.content_length or 0)
    body = await request.content.read(MAX_BODY_BYTES + 1)  # chunked bodies are capped too
    if len(body) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=len(body))
    if body.count(b"&") >= MAX_FIELDS:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FIELDS, actual_size=body.count(b"&") + 1,
                                            text="too many fields")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest(text="malformed form") from None
    return MultiDictProxy(MultiDict(pairs))


def content_type(header: str) -> tuple[str, str]:
    """The media type (lower case) and charset of a Content-Type header. aiohttp's
    request.content_type reads it with the e-mail package's parser, which cost 2 % of the
    gateway's time a message."""
    media_type, *params = header.split(";")
    charset = ""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
    return media_type.strip().lower(), charset


def valid_sender(address: str) -> bool:
    """'whatsapp:+<E.164>' or '+<E.164>', a number of a possible length for its country."""
    number = address.removeprefix("whatsapp:")
    if not number.startswith("+") or not number[1:].isdigit() or len(number) > 16:
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


@dataclass
class Inbound:
    """The fields of a Twilio webhook that the gateway uses."""

    address: str
    body: str
    message_sid: str
    num_media: int = 0
    latitude: Optional[float] = None
    longitude: Optional[float] = None

    @property
    def channel(self) -> str:
        return "whatsapp" if self.address.startswith("whatsapp:") else "sms"

    @classmethod
    def from_form(cls, form: MultiDictProxy[str] | dict, max_body_chars: int = 1600) -> Inbound:
        lat, lng = _coordinate(form.get("Latitude"), 90), _coordinate(form.get("Longitude"), 180)
        if lat is None or lng is None:
            lat = lng = None  # half a location is no location
        media = str(form.get("NumMedia") or "0")
        return cls(
            address=form.get("From", ""),
            # Cut before anything reads it: detection and the safety net see at most this.
            body=(form.get("Body", "") or "")[:max_body_chars],
            message_sid=form.get("MessageSid") or form.get("SmsSid") or "",
            num_media=int(media) if media.isascii() and media.isdigit() else 0,
            latitude=lat,
            longitude=lng,
        )


def _coordinate(value: Optional[str], bound: float) -> Optional[float]:
    """A finite number within [-bound, bound], or None (999, NaN, inf and text are not places)."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or abs(number) > bound:
        return None
    return number
