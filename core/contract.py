"""What the custom actions tell the gateway, defined once: hand her to a counsellor (with a
priority, a reason, her variety and region), or erase her conversation.

The actions send these as Rasa custom payloads (`dispatcher.utter_message(json_message=...)`);
the gateway reads them back with `instruction()`. The priority orders the counsellors' queue
(the store sorts on its number) and is derived from what she said in one place, here.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Iterable, Optional, Union


class Priority(IntEnum):
    OTHER = 0
    DISCLOSURE = 1  # she told of violence
    EMERGENCY = 2  # she is in danger now

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: Optional[str]) -> Priority:
        return cls.__members__.get((label or "other").upper(), cls.OTHER)

    @classmethod
    def from_intents(cls, intents: Iterable[Optional[str]]) -> Priority:
        """The priority of a conversation whose messages had these intents."""
        said = set(intents)
        if "emergency" in said:
            return cls.EMERGENCY
        if said & {"report_violence", "report_online_violence"}:
            return cls.DISCLOSURE
        return cls.OTHER


@dataclass(frozen=True)
class Handoff:
    """Queue her for a counsellor."""

    priority: Priority = Priority.OTHER
    reason: str = "asked"  # asked | offered (after a disclosure, distress or misunderstanding)
    variety: Optional[str] = None  # dar_ar, dar_lat, ar, fr: the counsellor answers in it
    region: Optional[str] = None  # a region slug of data/places, when she said where she is

    def payload(self) -> dict[str, Any]:
        return {"handoff": {"priority": self.priority.label, "reason": self.reason,
                            "variety": self.variety, "region": self.region}}


@dataclass(frozen=True)
class Forget:
    """Erase everything about her (she confirmed)."""

    def payload(self) -> dict[str, Any]:
        return {"forget": True}


Instruction = Union[Handoff, Forget]


def instruction(custom: Optional[dict[str, Any]]) -> Optional[Instruction]:
    """The instruction a custom payload carries, or None."""
    if not custom:
        return None
    if custom.get("forget") is True:
        return Forget()
    info = custom.get("handoff")
    if isinstance(info, dict):
        return Handoff(priority=Priority.from_label(info.get("priority")),
                       reason=str(info.get("reason") or "asked"),
                       variety=info.get("variety") or info.get("language"),
                       region=info.get("region"))
    return None
