"""Typed keys for what the gateway app shares between handlers."""
from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from bot.crypto import Vault
    from bot.gateway import Gateway
    from bot.metrics import Metrics
    from bot.outbox import OutboxSender
    from bot.rasa_client import RasaClient
    from bot.settings import Settings
    from bot.store import Store

SETTINGS = web.AppKey("settings", "Settings")
STORE = web.AppKey("store", "Store")
VAULT = web.AppKey("vault", "Vault")
METRICS = web.AppKey("metrics", "Metrics")
GATEWAY = web.AppKey("gateway", "Gateway")
RASA = web.AppKey("rasa", "RasaClient")
OUTBOX = web.AppKey("outbox", "OutboxSender")
HTTP = web.AppKey("http", aiohttp.ClientSession)
