"""What the gateway's units share: their dependencies, and the state of one turn."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

from bot.locks import ConversationLocks, RedisConversationLocks
from bot.metrics import Metrics
from bot.rasa_client import RasaClient
from bot.stats import Stats
from bot.store import Store
from bot.texts import Texts
from bot.twilio_api import TwilioApi
from core.crypto import Vault
from core.settings import Settings

log = logging.getLogger("salama.gateway")


class ForgedRetry(Exception):
    """A MessageSid already claimed by another sender: refused (403), nothing answered."""


@dataclass
class Parts:
    """The gateway's dependencies, built once by the app factory."""

    settings: Settings
    store: Store
    vault: Vault
    rasa: RasaClient
    texts: Texts
    metrics: Metrics
    locks: ConversationLocks | RedisConversationLocks
    kick_outbox: Callable[[], None]
    twilio: TwilioApi
    listeners: list[Callable[[str], Awaitable[None]]] = field(default_factory=list)
    stats: Stats = field(init=False)  # the programme's daily counters (bot.stats)

    def __post_init__(self) -> None:
        self.stats = Stats(self.store.engine)

    async def notify(self, conv_id: str) -> None:
        """Tell the console (and any other listener) that a conversation changed."""
        for listener in self.listeners:
            try:
                await listener(conv_id)
            except Exception:
                log.exception("listener failed")


@dataclass
class Writes:
    """What a turn writes once Rasa has answered, in one transaction after her answer has
    gone out (Store.finish_turn), still under the conversation's lock."""

    values: dict[str, Any] = field(default_factory=dict)  # conversation fields
    bot_texts: list[str] = field(default_factory=list)  # the bot's lines, for the transcript
    notify: bool = False  # tell the console once this is written


@dataclass
class Turn:
    """One message's turn: its variety (detected once), what it writes, and its answer."""

    language: Optional[str] = None
    late: bool = False
    duplicate: bool = False
    writes: Writes = field(default_factory=Writes)
    reply: asyncio.Future[list[str]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    sent: asyncio.Event = field(default_factory=asyncio.Event)  # the answer has left
    # What went to Rasa (text, metadata), once known; and, once she got the static answer,
    # the task persisting the fact that a real answer is owed (its pending row's id).
    to_rasa: Optional[tuple[str, dict]] = None
    owed: Optional[asyncio.Task[Optional[int]]] = None
    emergency_check: str = ""  # her text, to count as an emergency once she has her answer
