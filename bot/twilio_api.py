"""Twilio's Messages API over one aiohttp session (never the blocking twilio client)."""
from __future__ import annotations

import asyncio
import email.utils
import math
import time
from datetime import timezone
from typing import Optional

import aiohttp


class TwilioRetryable(Exception):
    """429, 5xx or a network error: try again later."""

    def __init__(self, reason: str, retry_after: Optional[float] = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def retry_after_s(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header (delay in seconds or an HTTP date), None when
    absent or unreadable; never negative, never more than an hour."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), 3600.0)


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
                    raise TwilioRetryable(f"status {resp.status}",
                                          retry_after_s(resp.headers.get("Retry-After")))
                if resp.status >= 400:
                    raise TwilioRejected(f"status {resp.status}")
                return (await resp.json())["sid"]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TwilioRetryable(type(exc).__name__) from None
