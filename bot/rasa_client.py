"""Talks to Rasa: the REST channel for messages, the HTTP API (with token) for tracker events.

Several Rasa servers may share the work (RASA_URL lists them, comma-separated; `make run`
starts RASA_PROCESSES of them). A conversation always goes to the same one: the servers are
ranked per conversation by a hash of her pseudonym and the server's URL (rendezvous hashing),
and the first whose connection holds answers. So her tracker stays in that server's memory
(rasa_ext/tracker_store.py), one server handles her turns in order, and when a server is down or
restarting (connection refused, reset or closed) only its conversations move, to the next in
their ranking, which reads them from the shared tracker store; they come back when it is up
again. A server that answers with an error or times out is not asked twice: the gateway's usual
fallback applies (the static answer now, her message kept for Rasa).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any, Optional

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not answer (down, timed out, or an error status)."""


def rasa_urls(spec: str) -> list[str]:
    """The Rasa servers of a RASA_URL setting: one URL, or several separated by commas."""
    urls = [u.strip().rstrip("/") for u in spec.split(",") if u.strip()]
    if not urls:
        raise ValueError("RASA_URL names no server")
    return urls


def ranking(sender: str, urls: list[str]) -> list[str]:
    """The servers in the order a conversation tries them: stable for her, different for
    each conversation, and removing one server moves only the conversations it had."""
    return sorted(urls, key=lambda url: hashlib.blake2b(f"{url} {sender}".encode(), digest_size=8).digest(),
                  reverse=True)


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float) -> None:
        self._session = session
        self._urls = rasa_urls(base_url)
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict]:
        """One user message in, the bot's messages out (text, buttons, custom)."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        return await self._request(sender, "POST", "/webhooks/rest/webhook", body, {}, json_answer=True)

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        await self._request(sender, "POST", f"/conversations/{sender}/tracker/events", events,
                            {"token": self._token})

    async def replace_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        await self._request(sender, "PUT", f"/conversations/{sender}/tracker/events", events,
                            {"token": self._token})

    async def _request(self, sender: str, method: str, path: str, body: Any, params: dict[str, str],
                       json_answer: bool = False) -> Any:
        reason = "no server"
        for base in ranking(sender, self._urls) if len(self._urls) > 1 else self._urls:
            try:
                async with self._session.request(method, f"{base}{path}", json=body, params=params,
                                                 timeout=self._timeout) as resp:
                    if resp.status >= 300:
                        raise RasaUnavailable(f"status {resp.status}")
                    # (json.loads, not resp.json(): that parses the Content-Type with the e-mail
                    # package's parser on every answer)
                    return json.loads(await resp.read()) if json_answer else None
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
                # Refused, reset or closed: down or restarting (or it died during her turn,
                # which the gateway would otherwise ask again later anyway): try the next.
                reason = type(exc).__name__
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:  # (ValueError: not JSON)
                raise RasaUnavailable(type(exc).__name__) from None
        raise RasaUnavailable(reason)

    async def health(self) -> Optional[str]:
        """None when a Rasa server is up with a model loaded (her conversations go to it when
        hers is down), else a short reason."""
        reasons = await asyncio.gather(*(self._health(url) for url in self._urls))
        if not all(reasons):
            return None
        return reasons[0] if len(reasons) == 1 else "; ".join(f"{u}: {r}" for u, r in zip(self._urls, reasons))

    async def _health(self, base: str) -> Optional[str]:
        try:
            async with self._session.get(
                f"{base}/status", params={"token": self._token},
                timeout=aiohttp.ClientTimeout(total=2),
            ) as resp:
                if resp.status != 200:
                    return f"status {resp.status}"
                data = await resp.json()
                return None if data.get("model_file") else "no model loaded"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return type(exc).__name__
