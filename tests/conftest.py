"""Shared fixtures: settings in a temporary var/, the real gateway app, the local Twilio
stand-in, and (for integration tests) the real Rasa server and action server."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.error import URLError
from urllib.request import Request, urlopen
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bot.app import init_app
from bot.migrate import upgrade
from core.logsafe import configure_logging
from core.settings import ROOT, Settings
from tools import fake_twilio
from tools.run import Child, children, start, stop

MODEL = ROOT / "models" / "salama.tar.gz"
POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(var_dir: Path, **overrides: Any) -> Settings:
    env = {
        "SALAMA_SECRET": secrets.token_urlsafe(24),
        "SALAMA_VAR_DIR": str(var_dir),
        "TWILIO_AUTH_TOKEN": "test-auth-token-0123456789",
        "TWILIO_ACCOUNT_SID": "ACtest0000000000000000000000000000",
        "PUBLIC_BASE_URL": "https://salama.example.org",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: Rasa is down
        "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
    }
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return Settings.from_env(env)


@contextmanager
def empty_postgres_database() -> Iterator[str]:
    """A new, empty database on the local PostgreSQL server (its URL), dropped afterwards:
    no state is shared with earlier runs or other tests."""
    name = f"salama_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True, future=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


class Phone:
    """Signs and posts webhooks as Twilio would, and parses the TwiML answer."""

    def __init__(self, client: Any, settings: Settings, address: str = "whatsapp:+212600000001") -> None:
        self.client = client
        self.settings = settings
        self.address = address
        self._n = 0

    def params(self, body: str = "", **extra: str) -> dict[str, str]:
        self._n += 1
        params = {"From": self.address, "To": "whatsapp:+212500000000", "Body": body,
                  "MessageSid": f"SM{secrets.token_hex(15)}{self._n:02d}", "NumMedia": "0"}
        params.update(extra)
        return params

    def signature(self, params: dict[str, str], path: str = "/twilio/messages") -> str:
        url = self.settings.public_base_url + path
        return RequestValidator(self.settings.twilio_auth_token).compute_signature(url, params)

    async def post(self, params: dict[str, str], signature: str | None = None) -> Any:
        sig = self.signature(params) if signature is None else signature
        return await self.client.post("/twilio/messages", data=params, headers={"X-Twilio-Signature": sig})

    async def send(self, body: str = "", **extra: str) -> list[str]:
        resp = await self.post(self.params(body, **extra))
        assert resp.status == 200, await resp.text()
        return twiml_messages(await resp.text())


async def sent_to(twilio: Any, address: str, count: int = 1) -> list[dict]:
    """The messages the Twilio stand-in received for `address`, once there are `count`."""
    for _ in range(200):
        found = [m for m in twilio.messages if m["to"] == address]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"Twilio received {len(found)} message(s) for her, expected {count}")


def twiml_messages(xml: str) -> list[str]:
    root = ElementTree.fromstring(xml)
    assert root.tag == "Response"
    return [(m.text or "") for m in root.iter("Message")]


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gateway store file at the newest revision, made once by `bot.migrate` for copying."""
    path = tmp_path_factory.mktemp("migrated") / "gateway.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def var_dir(tmp_path: Path, migrated_store: Path) -> Path:
    """A fresh var/ whose gateway store is migrated, as `make run` leaves it."""
    path = tmp_path / "var"
    path.mkdir()
    shutil.copyfile(migrated_store, path / "gateway.db")
    return path


@pytest.fixture
async def twilio(aiohttp_server: Any) -> Any:
    """The local Twilio stand-in (signs its status callbacks with the test token)."""
    app = fake_twilio.make_app("test-auth-token-0123456789")
    server = await aiohttp_server(app)
    server.messages = app[fake_twilio.MESSAGES]
    server.failures = app[fake_twilio.FAILURES]
    server.redacted = app[fake_twilio.REDACTED]
    return server


@pytest.fixture
async def gateway_factory(aiohttp_client: Any, var_dir: Path, twilio: Any) -> Any:
    """Builds the real gateway app with test settings; returns (client, settings, app)."""

    async def build(**overrides: Any) -> tuple[Any, Settings, Any]:
        overrides.setdefault("twilio_api_base_url", str(twilio.make_url("")).rstrip("/"))
        settings = make_settings(var_dir, **overrides)
        app = init_app(settings)
        client = await aiohttp_client(app)
        return client, settings, app

    return build


@pytest.fixture
def gateway_logs(var_dir: Path) -> Iterator[Path]:
    """The gateway's own logging, as `bot.app.main` configures it, into var_dir/logs."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    configure_logging(None, log_dir=var_dir / "logs")
    yield var_dir / "logs"
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


# -- the real Rasa stack, once per test session ------------------------------------
class Stack:
    def __init__(self, rasa_url: str, actions_url: str, token: str, var_dir: Path, kids: list[Child]) -> None:
        self.rasa_url, self.actions_url, self.token = rasa_url, actions_url, token
        self.var_dir, self.kids = var_dir, kids

    def gateway_settings(self) -> dict[str, str]:
        """Overrides that wire a test gateway to this stack."""
        return {"rasa_url": self.rasa_url, "actions_url": self.actions_url, "rasa_token": self.token}

    def kid(self, name: str) -> Child:
        return next(k for k in self.kids if k.name == name)

    def kill(self, name: str) -> None:
        kid = self.kid(name)
        kid.proc.kill()
        kid.proc.wait()

    def restart(self, name: str) -> None:
        kid = self.kid(name)
        if kid.proc and kid.proc.poll() is None:
            kid.proc.kill()
            kid.proc.wait()
        kid.proc = subprocess.Popen(kid.argv, cwd=ROOT, env=kid.env, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.time() + timeout
        for url in (f"{self.actions_url}/health", f"{self.rasa_url}/"):
            while True:
                try:
                    with urlopen(url, timeout=2):
                        break
                except (URLError, OSError):
                    if time.time() > deadline:
                        raise RuntimeError(f"{url} did not come up") from None
                    time.sleep(0.5)
        # The server answers before the model is loaded: wait for a real parse.
        while time.time() < deadline:
            try:
                req = Request(f"{self.rasa_url}/webhooks/rest/webhook", method="POST",
                              data=json.dumps({"sender": "warmup", "message": "/greet"}).encode(),
                              headers={"Content-Type": "application/json"})
                with urlopen(req, timeout=30) as resp:
                    if json.loads(resp.read()):
                        return
            except (URLError, OSError):
                pass
            time.sleep(0.5)
        raise RuntimeError("Rasa did not answer with a model")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail("integration tests need the trained model: run `make train` (make test does)")
    var_dir = tmp_path_factory.mktemp("stack-var")
    settings = make_settings(var_dir)
    rasa_port, actions_port = free_port(), free_port()
    endpoints = var_dir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f'tracker_store:\n  type: rasa_ext.tracker_store.EncryptedSQLTrackerStore\n  dialect: "sqlite"\n'
        f'  db: "{var_dir / "tracker.db"}"\n'
        "lock_store:\n  type: in_memory\n"
    )
    kids = [k for k in children(settings, MODEL, str(endpoints), rasa_port=rasa_port,
                                actions_port=actions_port, log_suffix="-test")
            if k.name in ("actions", "rasa")]
    for kid in kids:
        kid.env = dict(kid.env, SALAMA_VAR_DIR=str(var_dir))
    start(kids)
    s = Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", settings.rasa_token,
              var_dir, kids)
    try:
        s.wait_ready()
        yield s
    finally:
        stop(kids)


@pytest.fixture
async def live(stack: Stack, gateway_factory: Any) -> Any:
    """A gateway wired to the real Rasa stack; returns (phone, settings, app)."""
    client, settings, app = await gateway_factory(**stack.gateway_settings())
    return Phone(client, settings), settings, app


os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
