"""Twilio's Messages API over one aiohttp session (never the blocking twilio client)."""
from __future__ import annotations

import asyncio
from typing import Optional

import aiohttp


class TwilioRetryable(Exception):
    """429, 5xx or a network error: try again later."""

    def __init__(self, reason: str, retry_after: Optional[float] = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class TwilioRejected(Exception):
    """A 4xx other than 429: retrying will not help (bad number, opted out...)."""


class TwilioApi:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, account_sid: str,
                 auth_token: str, status_callback: Optional[str] = None) -> None:
        self._session = session
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        self._status_callback = status_callback

    async def redact(self, message_sid: str) -> None:
        """Blank a message's body on Twilio's side (POST Body="" to the message)."""
        url = self._url.removesuffix(".json") + f"/{message_sid}.json"
        try:
            async with self._session.post(url, data={"Body": ""}, auth=self._auth,
                                          timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status >= 400:
                    raise TwilioRejected(f"status {resp.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TwilioRetryable(type(exc).__name__) from None

    async def send(self, to: str, from_: str, body: str, content_sid: Optional[str] = None) -> str:
        """Create a message (a body, or an approved template by its ContentSid); returns its SID."""
        form = {"To": to, "From": from_}
        if content_sid:
            form["ContentSid"] = content_sid
        else:
            form["Body"] = body
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        try:
            async with self._session.post(
                self._url, data=form, auth=self._auth, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                if resp.status == 429 or resp.status >= 500:
                    retry_after = resp.headers.get("Retry-After")
                    raise TwilioRetryable(
                        f"status {resp.status}", float(retry_after) if retry_after else None
                    )
                if resp.status >= 400:
                    raise TwilioRejected(f"status {resp.status}")
                return (await resp.json())["sid"]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TwilioRetryable(type(exc).__name__) from None
