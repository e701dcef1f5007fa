"""Logging that never carries a phone number or message text, in every process.

Three layers:
- our own code logs pseudonyms and reasons only;
- `install()` sanitises every log record of the process as it is created (a record
  factory, so it covers the handlers Rasa, rasa_sdk and Sanic create themselves): exception
  messages are dropped from tracebacks (only the exception types and the code frames stay),
  third-party messages lose quoted strings, JSON-like bodies and `body=...` tails, and
  anything shaped like a phone number of any country becomes "[number]";
- Rasa's structlog events that carry user text are redacted by `redact_event`.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

# Any phone-shaped run of 8 to 15 digits (any country, with the usual separators), and
# WhatsApp addresses; not inside a word (pseudonyms are hex). Over-redacts long ids and dates in third-party logs: that is the price.
PHONE = re.compile(r"whatsapp:\S+|(?<!\w)\+?\d(?:[\s.\-()]{0,2}\d){7,14}(?!\w)")
# Keys of Rasa's structured log events that hold user text or slot values.
SENSITIVE_KEYS = {
    "text", "response_text", "user_text", "slot_values", "parse_data_text",
    "parse_data_entities", "prediction_events", "tracker_latest_message", "prefilled_slots",
    "message", "response", "slot_candidates", "rasa_event", "rasa_events", "tracker_states",
    "current_states", "old_states", "successes", "current_entity", "next_entity", "states",
    "entity", "token_text", "user_message", "json_message", "metadata", "events",
    "parse_data", "entities", "slots", "value",
}
OUR_LOGGERS = ("salama",)
# What third-party messages may carry her words in: quoted strings (names of actions and
# responses excepted), bracketed bodies, and whatever follows "body=".
_BODY_TAIL = re.compile(r"(body|text|message)=.*", re.IGNORECASE | re.DOTALL)
_BRACKETED = re.compile(r"[{\[].*[}\]]", re.DOTALL)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_SAFE_QUOTED = re.compile(r"^['\"](action|utter|validate)_\w+['\"]$")
MAX_BYTES, BACKUPS = 10 * 1024 * 1024, 5


def scrub(message: str) -> str:
    """A third-party log message without anything that may be her words or her number."""
    message = _BODY_TAIL.sub(r"\1=[redacted]", message)
    message = _BRACKETED.sub("[redacted]", message)
    message = _QUOTED.sub(lambda m: m.group(0) if _SAFE_QUOTED.match(m.group(0)) else "'[redacted]'",
                          message)
    return PHONE.sub("[number]", message)


def safe_traceback(exc_info: Any) -> str:
    """The traceback's code frames and exception types, without any exception message."""
    exc_type, exc, tb = exc_info
    if exc is None:
        return ""
    te = traceback.TracebackException(exc_type, exc, tb, limit=None)
    seen = set()
    node: Optional[traceback.TracebackException] = te
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        node._str = "[message redacted]"  # type: ignore[attr-defined]
        for attr in ("text", "msg"):  # a SyntaxError's details may quote her text
            if getattr(node, attr, None) is not None:
                setattr(node, attr, None)
        node = node.__cause__ or node.__context__
    return "".join(te.format()).rstrip("\n")


def sanitise(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: keep the template only
        message = str(record.msg)
    if not record.name.startswith(OUR_LOGGERS):
        message = scrub(message)
    else:
        message = PHONE.sub("[number]", message)
    record.msg, record.args = message, None
    if record.exc_info:
        record.exc_text = safe_traceback(record.exc_info)
        record.exc_info = None
    return record


_installed = False


def install() -> None:
    """Sanitise every log record this process creates, whatever logger or handler."""
    global _installed
    if _installed:
        return
    base = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return sanitise(base(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    logging.captureWarnings(True)  # warnings print their text: route them through the factory
    _installed = True


def redact_event(_logger: Any, _name: str, event_dict: dict) -> dict:
    """A structlog processor: replace the values of text-bearing keys."""
    for key in SENSITIVE_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def file_handler(path: Path) -> logging.Handler:
    """A log file that rotates at 10 MB and keeps 5 old files (PRIVACY.md: logs are kept
    short; they hold no text or number, but they do hold pseudonyms)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                encoding="utf-8")


def configure_logging(settings: Any, name: str = "gateway", level: int = logging.INFO,
                      log_dir: Optional[Path] = None) -> None:
    """Log to stderr and to var/logs/<name>.log (rotated), at INFO or above, sanitised."""
    install()
    log_dir = log_dir or Path(settings.var_dir) / "logs"
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handlers = [logging.StreamHandler(sys.stderr), file_handler(log_dir / f"{name}.log")]
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(max(level, logging.INFO))
