"""Entry point of `python -m bot.console`."""
import sys

from bot.console.cli import main

sys.exit(main())
