"""Runs the rasa_sdk action server with every log record sanitised (core.logsafe) and its
log file rotated: an action that raises must not put her words in a log."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import rasa_sdk.utils
from rasa_sdk.__main__ import main as sdk_main

from bot import stats_actions
from core import logsafe


def _rotating_file_logging(logger_obj: logging.Logger, log_file: Optional[str], loglevel: int,
                           _config_file: Optional[str]) -> None:
    if log_file:
        handler = logsafe.file_handler(Path(log_file))
        handler.setLevel(loglevel)
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)-5.5s]  %(message)s"))
        logger_obj.addHandler(handler)
        logger_obj.setLevel(loglevel)


def main() -> int:
    logsafe.install()
    rasa_sdk.utils.configure_file_logging = _rotating_file_logging  # read at call time
    stats_actions.install()  # the programme view's topics and regions asked about
    sdk_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
