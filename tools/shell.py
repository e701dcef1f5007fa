"""`make shell`: a simulated phone that talks to the running gateway over signed webhooks.

What you see is what a woman gets: the same signature check, pseudonym, formatting,
numbered options and late answers (read back from the local Twilio stand-in).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
import uuid
from typing import Optional
from xml.etree import ElementTree

import aiohttp
from twilio.request_validator import RequestValidator

from core.settings import Settings


def sign(settings: Settings, path: str, params: dict[str, str]) -> str:
    url = settings.public_base_url.rstrip("/") + path
    return RequestValidator(settings.twilio_auth_token).compute_signature(url, params)


def twiml_messages(xml: str) -> list[str]:
    root = ElementTree.fromstring(xml)
    return [(m.text or "").strip() for m in root.iter("Message")]


async def send(session: aiohttp.ClientSession, settings: Settings, params: dict[str, str],
               gateway: str) -> list[str]:
    headers = {"X-Twilio-Signature": sign(settings, "/twilio/messages", params)}
    async with session.post(f"{gateway}/twilio/messages", data=params, headers=headers) as resp:
        if resp.status != 200:
            return [f"[gateway answered HTTP {resp.status}]"]
        return twiml_messages(await resp.text())


async def late_messages(session: aiohttp.ClientSession, fake_url: str, to: str, since: float) -> list[dict]:
    try:
        async with session.get(f"{fake_url}/_fake/messages", params={"to": to, "since": str(since)}) as resp:
            return (await resp.json())["messages"]
    except aiohttp.ClientError:
        return []


async def chat(address: str, gateway: str, fake_url: str) -> None:
    settings = Settings.from_env()
    counter = itertools.count(1)
    since = time.time()
    print(f"Salama shell as {'WhatsApp' if address.startswith('whatsapp:') else 'SMS'} "
          f"(a test number). Type a message; Ctrl-D to quit. Try: salam / 1 / rajli kaydrebni")
    async with aiohttp.ClientSession() as session:
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            params = {"From": address, "To": settings.twilio_whatsapp_from, "Body": line.strip(),
                      "MessageSid": f"SMshell{uuid.uuid4().hex[:26]}{next(counter)}", "NumMedia": "0"}
            for text in await send(session, settings, params, gateway):
                print(f"salama> {text}\n")
            await asyncio.sleep(0.3)
            for message in await late_messages(session, fake_url, address, since):
                print(f"salama (later)> {message['body']}\n")
                since = max(since, message["at"])


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sms", action="store_true", help="be an SMS user (default WhatsApp)")
    parser.add_argument("--from", dest="number", default="+212600000001", help="the phone number to pretend")
    parser.add_argument("--gateway", default="http://127.0.0.1:8080")
    parser.add_argument("--twilio", default="http://127.0.0.1:8099", help="the local Twilio stand-in")
    args = parser.parse_args(argv)
    address = args.number if args.sms else f"whatsapp:{args.number}"
    asyncio.run(chat(address, args.gateway, args.twilio))


if __name__ == "__main__":
    main()
