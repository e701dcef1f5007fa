"""Her words and her location reach no log when something fails: an action that raises, an
action server that answers 500 with the tracker in its body, Rasa answering 500, and an
unexpected exception in the gateway. Plus the sanitiser itself, record by record."""
from __future__ import annotations

import asyncio
import io
import logging
import secrets
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from aiohttp import web

from bot.appkeys import GATEWAY
from core import logsafe
from tests.conftest import MODEL, Phone, Stack, free_port, make_settings
from tools.run import children, stop

NUMBER = "whatsapp:+212661234567"
FOREIGN = ["+33 6 12 34 56 78", "+1 (415) 555-0100", "+44 20 7946 0958", "0033612345678"]


# -- the sanitiser, record by record ---------------------------------------------------------
def _format(logger_name: str, make_record) -> str:
    logsafe.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        make_record(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


@pytest.mark.parametrize("name", ["rasa.core.actions.action", "rasa_sdk.executor", "sanic.error",
                                  "salama.gateway", "asyncio"])
def test_exception_messages_and_bodies_never_reach_a_handler(name):
    canary, lat = f"zqcanary{secrets.token_hex(4)}", f"33.{secrets.randbelow(10**6):06d}"

    def log(logger: logging.Logger) -> None:
        try:
            try:
                raise KeyError(f"text {canary}")
            except KeyError as exc:
                raise RuntimeError(f"body='{{\"text\": \"{canary}\", \"lat\": {lat}}}'") from exc
        except RuntimeError:
            logger.exception("failed: %s", f"body={{'text': '{canary}'}}" if name != "salama.gateway" else "x")

    out = _format(name, log)
    assert canary not in out and lat not in out, out
    assert "RuntimeError" in out and "KeyError" in out  # the types and frames stay
    assert "test_log_privacy.py" in out


def test_third_party_messages_lose_quoted_text_but_keep_action_names():
    canary = f"zqcanary{secrets.token_hex(4)}"
    out = _format("rasa.core.processor", lambda lg: lg.error(
        "Failed to execute custom action 'action_nearest_help' on '%s' {'lat': 31.1}", canary))
    assert canary not in out and "31.1" not in out
    assert "'action_nearest_help'" in out


@pytest.mark.parametrize("number", FOREIGN + ["+212 6 61 23 45 67", "0661234567", NUMBER])
@pytest.mark.parametrize("name", ["salama.gateway", "aiohttp.access"])
def test_numbers_of_every_country_are_redacted(name, number):
    out = _format(name, lambda lg: lg.warning("from %s conversation=u3f29381204ab", number))
    assert number not in out and "[number]" in out
    assert "u3f29381204ab" in out  # a pseudonym is not a number


def test_log_files_rotate(tmp_path):
    handler = logsafe.file_handler(tmp_path / "x.log")
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == logsafe.MAX_BYTES and handler.backupCount == logsafe.BACKUPS
    handler.close()


# -- the live stack failing in every way -----------------------------------------------------
class Switch:
    """The action endpoint Rasa calls: forwards to the raising action server, or answers 500
    with the request (her tracker) in the body, as a broken proxy or server would."""

    def __init__(self, forward_url: str) -> None:
        self.forward_url = forward_url
        self.mode = "forward"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.mode == "echo500":
            return web.Response(status=500, body=body, content_type="application/json")
        from aiohttp import ClientSession
        async with ClientSession() as session, session.post(self.forward_url, data=body,
                                headers={"Content-Type": "application/json"}) as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type=resp.content_type)


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory) -> Iterator[tuple[Stack, Path, int]]:
    """Rasa and a raising action server, their stdout and stderr kept in files."""
    if not MODEL.exists():
        pytest.fail("needs the trained model: run `make train`")
    var_dir = tmp_path_factory.mktemp("fault-var")
    settings = make_settings(var_dir)
    rasa_port, actions_port, switch_port = free_port(), free_port(), free_port()
    endpoints = var_dir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{switch_port}/webhook"\n'
                         "tracker_store:\n  type: rasa_ext.tracker_store.EncryptedSQLTrackerStore\n"
                         f'  dialect: "sqlite"\n  db: "{var_dir / "tracker.db"}"\n')
    kids = [k for k in children(settings, MODEL, str(endpoints), rasa_port=rasa_port,
                                actions_port=actions_port, log_suffix="-fault")
            if k.name in ("actions", "rasa")]
    outputs = []
    for kid in kids:
        kid.env = dict(kid.env, SALAMA_VAR_DIR=str(var_dir))
        if kid.name == "actions":
            kid.argv[kid.argv.index("actions")] = "tests.fault"
        outputs.append(open(var_dir / f"{kid.name}.out", "wb"))  # noqa: SIM115 (closed below)
        kid.proc = subprocess.Popen(kid.argv, env=kid.env, stdout=outputs[-1],
                                    stderr=subprocess.STDOUT, start_new_session=True)
    stack = Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}",
                  settings.rasa_token, var_dir, kids)
    try:
        stack.wait_ready()
        yield stack, var_dir, switch_port
    finally:
        stop(kids)
        for out in outputs:
            out.close()


def _leaks(needles: list[str], *dirs: Path) -> list[str]:
    found = []
    for d in dirs:
        for path in d.rglob("*"):
            if path.is_file() and path.suffix in (".log", ".out"):
                content = path.read_text(errors="replace")
                found += [f"{path.name}: {n}" for n in needles if n in content]
    return found


@pytest.mark.integration
async def test_failures_everywhere_leave_her_words_and_place_in_no_log(
        fault_stack, gateway_factory, var_dir, tmp_path, gateway_logs, monkeypatch):
    stack, fault_dir, switch_port = fault_stack
    switch = Switch(f"{stack.actions_url}/webhook")
    app = web.Application()
    app.router.add_post("/webhook", switch.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", switch_port).start()
    canary, lat = f"zqcanary{secrets.token_hex(4)}", "33.57311"
    try:
        client, settings, gw = await gateway_factory(**stack.gateway_settings())
        phone = Phone(client, settings, NUMBER)
        # 1. an action that raises (every custom action does, with her text and location)
        texts = await phone.send(f"fin kayn markaz f {canary}")
        assert texts, "she still gets an answer"
        await phone.send("", Latitude=lat, Longitude="-7.58981")
        # 2. the action server answers 500 with her whole tracker in the body
        switch.mode = "echo500"
        assert await phone.send(f"salam {canary}")
        await phone.send("", Latitude=lat, Longitude="-7.58981")
        # 3. Rasa answers 500 with her message in the body
        rasa500 = web.Application()

        async def echo(request: web.Request) -> web.Response:
            return web.Response(status=500, body=await request.read())

        rasa500.router.add_post("/webhooks/rest/webhook", echo)
        rasa_runner = web.AppRunner(rasa500)
        await rasa_runner.setup()
        rasa_port = free_port()
        await web.TCPSite(rasa_runner, "127.0.0.1", rasa_port).start()
        c3, s3, gw3 = await gateway_factory(**dict(stack.gateway_settings(),
                                                   rasa_url=f"http://127.0.0.1:{rasa_port}"))
        assert await Phone(c3, s3, NUMBER).send(f"rajli kaydrebni {canary}")
        await rasa_runner.cleanup()
        # 4. an unexpected exception inside the gateway, carrying her text
        async def broken(sender, text, metadata):
            raise RuntimeError(f"unexpected {text} {metadata}")

        monkeypatch.setattr(gw[GATEWAY].rasa, "send", broken)
        assert await phone.send(f"wach kayn chi 7al {canary}")
        for a in (gw, gw3):
            await a[GATEWAY].drain()
    finally:
        await runner.cleanup()
    await asyncio.sleep(1.0)  # let Rasa and the action server flush their logs
    outputs = list(fault_dir.glob("*.out"))
    assert outputs and any(p.stat().st_size for p in outputs)
    logs = [p for p in fault_dir.rglob("*.log")]
    assert any("Failed" in p.read_text() or "exception" in p.read_text().lower() for p in logs + outputs), \
        "the failures must have been logged"
    needles = [canary, lat, NUMBER, NUMBER.removeprefix("whatsapp:")]
    assert _leaks(needles, fault_dir, var_dir, gateway_logs) == []
