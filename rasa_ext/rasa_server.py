"""Runs Rasa's own CLI with every log record sanitised (core.logsafe), its text-bearing
structlog fields redacted, its log file rotated, and the performance fixes of rasa_ext.rasa_patches."""
from __future__ import annotations

import logging
import sys
from typing import Any, Optional

import rasa.core.utils
import rasa.utils.log_utils as log_utils

from core import logsafe
from rasa_ext import rasa_patches


def _rotating_file_logging(logger_obj: logging.Logger, log_file: Optional[str],
                           use_syslog: Optional[bool], *_: Any, **__: Any) -> None:
    """Rasa's `--log-file`, rotated (Rasa's own handler grows for ever). No syslog: it would
    send her pseudonym's history off the machine."""
    if log_file:
        handler = logsafe.file_handler(logsafe.Path(log_file))
        handler.setLevel(logger_obj.level)
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)-5.5s]  %(message)s"))
        logger_obj.addHandler(handler)


def main() -> int:
    logsafe.install()
    # Rasa builds its structlog pipeline from this module-level processor; replacing it
    # before Rasa configures logging makes every event pass through our redaction.
    log_utils._anonymizer = logsafe.redact_event
    rasa.core.utils.configure_file_logging = _rotating_file_logging
    rasa_patches.apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
