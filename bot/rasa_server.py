"""Runs Rasa's own CLI with its text-bearing log fields redacted at every level, and with
the performance fixes of bot.rasa_patches."""
from __future__ import annotations

import sys

import rasa.utils.log_utils as log_utils

from bot import rasa_patches
from bot.logsafe import redact_event


def main() -> int:
    # Rasa builds its structlog pipeline from this module-level processor; replacing it
    # before Rasa configures logging makes every event pass through our redaction.
    log_utils._anonymizer = redact_event
    rasa_patches.apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
