"""Per-channel formatting: SMS segments (GSM-7 vs UCS-2), splitting, numbered options."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = set("^{}\\[~]|€\f")

SMS_MAX_SEGMENTS = 3
WHATSAPP_MAX_CHARS = 1024
_SENTENCE_END = re.compile(r"(?<=[.!?؟…\n])\s+")
_MARKDOWN = re.compile(r"[*_`]{1,3}")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXT for ch in text)


def sms_units(text: str) -> tuple[str, int]:
    """The encoding Twilio would pick and the message's length in its units."""
    if is_gsm7(text):
        return "GSM-7", sum(2 if ch in GSM7_EXT else 1 for ch in text)
    # UCS-2 counts UTF-16 code units: an emoji takes two.
    return "UCS-2", len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    encoding, units = sms_units(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if units <= single:
        return 1
    return -(-units // multi)


def _fits(text: str, channel: str) -> bool:
    if channel == "sms":
        return sms_segments(text) <= SMS_MAX_SEGMENTS
    return len(text) <= WHATSAPP_MAX_CHARS


def split_message(text: str, channel: str) -> list[str]:
    """Split a reply into messages that each fit the channel.

    Lines are kept whole where they fit, then sentences, then words; a word longer than a
    message (a pasted link) is cut.
    """
    text = text.strip()
    return [m.strip() for m in _pack(text, channel, level=0) if m.strip()] if text else []


_LEVELS = (("\n", lambda t: t.split("\n")), (" ", _SENTENCE_END.split), (" ", str.split))


def _pack(text: str, channel: str, level: int) -> list[str]:
    if _fits(text, channel):
        return [text]
    if level == len(_LEVELS):
        return _hard_cut(text, channel)
    joiner, splitter = _LEVELS[level]
    out: list[str] = []
    current = ""
    for piece in splitter(text):
        candidate = f"{current}{joiner}{piece}" if current else piece
        if _fits(candidate, channel):
            current = candidate
            continue
        if current:
            out.append(current)
        parts = _pack(piece, channel, level + 1)
        out.extend(parts[:-1])
        current = parts[-1] if parts else ""
    if current:
        out.append(current)
    return out


def _hard_cut(text: str, channel: str) -> list[str]:
    if channel != "sms":
        size = WHATSAPP_MAX_CHARS
    else:
        size = 153 * SMS_MAX_SEGMENTS if is_gsm7(text) else 67 * SMS_MAX_SEGMENTS
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Reply:
    """What goes back to her for one turn: message texts and the payloads behind digits."""

    messages: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def render(bot_messages: list[dict], channel: str, zero_label: str) -> Reply:
    """Turn Rasa's messages (text + buttons) into channel texts with numbered options.

    Buttons become "1. title" lines; the digit maps back to the payload. Option 0 is
    always the menu. Markdown is stripped: SMS and WhatsApp show it literally or oddly.
    """
    reply = Reply()
    blocks: list[str] = []
    for message in bot_messages:
        text = _MARKDOWN.sub("", message.get("text") or "").strip()
        lines = [text] if text else []
        for button in message.get("buttons") or []:
            reply.options.append(button["payload"])
            lines.append(f"{len(reply.options)}. {button['title']}")
        if lines:
            blocks.append("\n".join(lines))
    if reply.options:
        blocks.append(f"0. {zero_label}")
    joined = "\n".join(blocks)
    reply.messages = split_message(joined, channel)
    return reply
