"""Logging that never carries a phone number or message text.

Our own code logs pseudonyms and reasons only; as a second line of defence every
handler redacts anything shaped like a phone address. Rasa's structlog events that carry
user text are redacted by `redact_event` (installed by bot.rasa_server).
"""
from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any, Optional

PHONE = re.compile(r"(whatsapp:)?\+?(00)?212[\s.-]?\d(?:[\s.-]?\d){8}|\b0[5-7](?:[\s.-]?\d){8}\b|whatsapp:\+?\d+")
# Keys of Rasa's structured log events that hold user text or slot values.
SENSITIVE_KEYS = {
    "text", "response_text", "user_text", "slot_values", "parse_data_text",
    "parse_data_entities", "prediction_events", "tracker_latest_message", "prefilled_slots",
    "message", "response", "slot_candidates", "rasa_event", "rasa_events", "tracker_states",
    "current_states", "old_states", "successes", "current_entity", "next_entity", "states",
    "entity", "token_text", "user_message", "json_message", "metadata", "events",
    "parse_data", "entities", "slots", "value",
}


class RedactPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = PHONE.sub("[number]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_event(_logger: Any, _name: str, event_dict: dict) -> dict:
    """A structlog processor: replace the values of text-bearing keys."""
    for key in SENSITIVE_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(settings: Any, name: str = "gateway", level: int = logging.INFO,
                      log_dir: Optional[Path] = None) -> None:
    """Log to stderr and to var/logs/<name>.log, at INFO or above, redacting phones."""
    log_dir = log_dir or Path(settings.var_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handlers = [logging.StreamHandler(sys.stderr), logging.FileHandler(log_dir / f"{name}.log")]
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactPhones())
        root.addHandler(handler)
    root.setLevel(max(level, logging.INFO))
