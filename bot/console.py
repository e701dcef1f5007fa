"""Counsellor console: routes, sessions and live queue (see issue: handoff and console)."""
from __future__ import annotations

from aiohttp import web


def middlewares() -> list:
    return []


def setup(app: web.Application) -> None:
    """Register the console's routes on the gateway app."""
