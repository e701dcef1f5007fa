"""An action package for the log-privacy tests: every custom action of domain.yml raises an
exception whose message carries her text and her location, as a buggy action would."""
from __future__ import annotations

from typing import Any

import yaml
from rasa_sdk import Action

from core.settings import ROOT


def _raising(name: str) -> type:
    def run(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> list:
        message = tracker.latest_message or {}
        raise RuntimeError(f"cannot handle {message.get('text')!r} at {message.get('metadata')!r}")

    return type(f"Raising_{name}", (Action,), {"name": lambda self: name, "run": run})


for _name in yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["actions"]:
    globals()[f"Raising_{_name}"] = _raising(_name)
