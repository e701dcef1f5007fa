"""Typed keys for what the gateway app shares between handlers (typed by their annotations:
a few of these classes import this module, so the values are built without them)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import aiohttp

    from bot.gateway import Gateway
    from bot.locks import ConversationLocks, RedisConversationLocks
    from bot.metrics import Metrics
    from bot.outbox import OutboxSender
    from bot.rasa_client import RasaClient
    from bot.store import Store
    from core.crypto import Vault
    from core.settings import Settings

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[Store] = web.AppKey("store")
VAULT: web.AppKey[Vault] = web.AppKey("vault")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway")
RASA: web.AppKey[RasaClient] = web.AppKey("rasa")
OUTBOX: web.AppKey[OutboxSender] = web.AppKey("outbox")
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http")
LOCKS: web.AppKey[ConversationLocks | RedisConversationLocks] = web.AppKey("locks")
