"""A local stand-in for Twilio's Messages API: records messages, can fail on demand.

Used by `make run` in local mode (outbound messages are shown, not sent), by `make shell`
and by the tests. It is the project's only fake: it replaces Twilio's cloud, which cannot be
reached from here. Endpoints beyond Twilio's own are under /_fake/.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from typing import Optional

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

MESSAGES = web.AppKey("messages", list)
FAILURES = web.AppKey("failures", list)
REDACTED = web.AppKey("redacted", list)
CONFIG = web.AppKey("config", dict)
_ids = itertools.count(1)


async def create_message(request: web.Request) -> web.Response:
    app = request.app
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
    if app[FAILURES]:
        # An int is a status; a dict may add the Retry-After header Twilio sends with a 429.
        failure = app[FAILURES].pop(0)
        status = failure if isinstance(failure, int) else failure["status"]
        headers = {} if isinstance(failure, int) or "retry_after" not in failure else {
            "Retry-After": str(failure["retry_after"])}
        return web.json_response({"code": status, "message": "injected failure"}, status=status,
                                 headers=headers)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not form.get("To") or not (form.get("Body") or form.get("ContentSid")):
        return web.json_response({"code": 21604, "message": "To and Body (or ContentSid) are required"},
                                 status=400)
    sid = f"SM{next(_ids):032d}"
    record = {"sid": sid, "to": form["To"], "from": form.get("From", ""), "body": form.get("Body", ""),
              "content_sid": form.get("ContentSid"), "account_sid": request.match_info["account"],
              "at": time.time()}
    app[MESSAGES].append(record)
    if app[CONFIG].get("echo"):
        to, shown = str(form["To"]), form.get("Body") or f"template {form['ContentSid']}"
        print(f"\n[phone …{to[-2:]}] {shown}\n", flush=True)
    callback = str(form.get("StatusCallback") or "")
    if callback and app[CONFIG].get("auth_token"):
        asyncio.get_running_loop().create_task(_status_callback(app, callback, sid))
    return web.json_response({"sid": sid, "status": "queued", "to": form["To"], "body": record["body"]},
                             status=201)


async def _status_callback(app: web.Application, url: str, sid: str) -> None:
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    signature = RequestValidator(app[CONFIG]["auth_token"]).compute_signature(url, params)
    try:
        async with aiohttp.ClientSession() as session:
            await session.post(url, data=params, headers={"X-Twilio-Signature": signature},
                               timeout=aiohttp.ClientTimeout(total=5))
    except (aiohttp.ClientError, asyncio.TimeoutError):
        pass  # Twilio gives up on callbacks too


async def update_message(request: web.Request) -> web.Response:
    """Twilio's message update: `Body=""` redacts the body of a message."""
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    sid = request.match_info["sid"]
    if form.get("Body") == "":
        request.app[REDACTED].append(sid)
    return web.json_response({"sid": sid, "body": form.get("Body", "")})


async def list_messages(request: web.Request) -> web.Response:
    to: Optional[str] = request.query.get("to")
    since = float(request.query.get("since", 0))
    found = [m for m in request.app[MESSAGES] if (not to or m["to"] == to) and m["at"] > since]
    return web.json_response({"messages": found})


async def inject_failures(request: web.Request) -> web.Response:
    request.app[FAILURES].extend(s if isinstance(s, dict) else int(s)
                                 for s in (await request.json())["statuses"])
    return web.json_response({"pending": request.app[FAILURES]})


async def reset(request: web.Request) -> web.Response:
    request.app[MESSAGES].clear()
    request.app[FAILURES].clear()
    return web.json_response({"ok": True})


def make_app(auth_token: str = "", echo: bool = False) -> web.Application:
    app = web.Application()
    app[MESSAGES], app[FAILURES], app[REDACTED] = [], [], []
    app[CONFIG] = {"auth_token": auth_token, "echo": echo}
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", create_message)
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages/{sid}.json", update_message)
    app.router.add_get("/_fake/messages", list_messages)
    app.router.add_post("/_fake/failures", inject_failures)
    app.router.add_post("/_fake/reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--echo", action="store_true", help="print each message received")
    args = parser.parse_args()
    from core.settings import Settings

    settings = Settings.from_env()
    web.run_app(make_app(settings.twilio_auth_token, args.echo), host="127.0.0.1", port=args.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
