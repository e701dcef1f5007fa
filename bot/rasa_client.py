"""Talks to Rasa: the REST channel for messages, the HTTP API (with token) for tracker events."""
from __future__ import annotations

import asyncio
from typing import Any, Optional

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not answer (down, timed out, or an error status)."""


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict]:
        """One user message in, the bot's messages out (text, buttons, custom)."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self._session.post(
                f"{self._base}/webhooks/rest/webhook", json=body, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"status {resp.status}")
                return await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(type(exc).__name__) from None

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        await self._api("POST", f"/conversations/{sender}/tracker/events", events)

    async def replace_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        await self._api("PUT", f"/conversations/{sender}/tracker/events", events)

    async def _api(self, method: str, path: str, body: Any) -> None:
        try:
            async with self._session.request(
                method, f"{self._base}{path}", json=body, params={"token": self._token},
                timeout=self._timeout,
            ) as resp:
                if resp.status >= 300:
                    raise RasaUnavailable(f"status {resp.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(type(exc).__name__) from None

    async def health(self) -> Optional[str]:
        """None when Rasa is up with a model loaded, else a short reason."""
        try:
            async with self._session.get(
                f"{self._base}/status", params={"token": self._token},
                timeout=aiohttp.ClientTimeout(total=2),
            ) as resp:
                if resp.status != 200:
                    return f"status {resp.status}"
                data = await resp.json()
                return None if data.get("model_file") else "no model loaded"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return type(exc).__name__
