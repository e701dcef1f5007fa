"""Scale-out: `make run-scaled` started on an empty PostgreSQL database and a Redis database
without Salama's keys (two gateways, Rasa servers and action servers, all at once), then
in-process gateways on the same Rasa servers, PostgreSQL store and Redis."""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
import redis
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bot.appkeys import GATEWAY, METRICS, STORE
from bot.store import inbound, schema_head
from core.settings import ROOT, Settings
from tests.conftest import MODEL, Phone, empty_postgres_database, free_port, twiml_messages
from tools.run import wait_healthy

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
REDIS_SERVER = "redis://127.0.0.1:6379"


def _free_pair() -> int:
    """A port p with p and p + 1 free (`run --scaled 2` numbers its servers from a base port)."""
    while True:
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


def _empty_redis_db() -> int:
    """A Redis database number with no key at all, so none of Salama's."""
    for number in secrets.SystemRandom().sample(range(2, 16), 14):
        if redis.Redis.from_url(f"{REDIS_SERVER}/{number}").dbsize() == 0:
            return number
    pytest.skip("no empty Redis database on this server")


class ScaledRun:
    """`python -m tools.run --scaled 2` (what `make run-scaled` runs), on ports of its own."""

    def __init__(self, var_dir: Path, database_url: str, redis_url: str) -> None:
        self.gateway, rasa, actions, twilio = _free_pair(), _free_pair(), _free_pair(), free_port()
        self.secret = secrets.token_urlsafe(24)
        self.database_url, self.redis_url = database_url, redis_url
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), SALAMA_LOCAL_MODE="1", SALAMA_SECRET=self.secret,
                        SALAMA_VAR_DIR=str(var_dir), DATABASE_URL=database_url, REDIS_URL=redis_url,
                        GATEWAY_PORT=str(self.gateway), PUBLIC_BASE_URL=f"http://127.0.0.1:{self.gateway}",
                        RASA_URL=f"http://127.0.0.1:{rasa}", ACTIONS_URL=f"http://127.0.0.1:{actions}",
                        TWILIO_API_BASE_URL=f"http://127.0.0.1:{twilio}")
        self.settings = Settings.from_env(self.env)
        self.rasa_urls = [f"http://127.0.0.1:{rasa + i}" for i in range(2)]
        self.actions_urls = [f"http://127.0.0.1:{actions + i}" for i in range(2)]
        self.gateway_urls = [f"http://127.0.0.1:{self.gateway + i}" for i in range(2)]
        self.log = var_dir / "run-scaled.out"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tools.run", "--scaled", "2", "--model", str(MODEL)],
                                         cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def output(self) -> str:
        return self.log.read_text()

    def wait_healthy(self, timeout: float = 300) -> bool:
        """True once every gateway answers; False when the stack stopped because a port it
        was given got taken in the meantime (free ports are only free when chosen)."""
        deadline = time.time() + timeout
        for url in self.gateway_urls:
            while not wait_healthy(f"{url}/healthz", 2):
                if self.proc.poll() is not None:
                    if "address already in use" in self.output():
                        return False
                    raise AssertionError(f"the stack stopped:\n{self.output()[-4000:]}")
                if time.time() > deadline:
                    raise AssertionError(f"{url} never healthy:\n{self.output()[-4000:]}")
            assert self.proc.poll() is None, self.output()[-4000:]
        return True

    def send(self, gateway_url: str, address: str, body: str) -> list[str]:
        """A signed webhook to one gateway, as Twilio sends it; the TwiML's messages."""
        params = {"From": address, "To": "whatsapp:+212500000000", "Body": body, "NumMedia": "0",
                  "MessageSid": f"SM{secrets.token_hex(16)}"}
        signature = RequestValidator(self.settings.twilio_auth_token).compute_signature(
            self.settings.public_base_url + "/twilio/messages", params)
        request = Request(f"{gateway_url}/twilio/messages", data=urlencode(params).encode(),
                          headers={"X-Twilio-Signature": signature})
        with urlopen(request, timeout=30) as resp:  # noqa: S310 (loopback)
            return twiml_messages(resp.read().decode())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # the supervisor stops its children
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledRun]:
    if not MODEL.exists():
        pytest.fail("needs the trained model: run `make train`")
    number = _empty_redis_db()
    redis_url = f"{REDIS_SERVER}/{number}"
    with empty_postgres_database() as database_url:
        for _ in range(3):  # new ports when one was taken between choosing and binding
            run = ScaledRun(tmp_path_factory.mktemp("scaled-var"), database_url, redis_url)
            if run.wait_healthy():
                break
            run.stop()
        else:
            pytest.fail("the scaled stack found a port taken three times")
        try:
            yield run
        finally:
            run.stop()
            redis.Redis.from_url(redis_url).flushdb()  # the database was empty: only our keys


def test_run_scaled_on_an_empty_database_and_redis_starts_everything_on_the_first_try(scaled):
    out = scaled.output()
    assert out.count("salama: started ") == 7, out  # twilio-local + 2 x (actions, rasa, gateway)
    assert "exited with status" not in out
    # The schema was made once, before the servers started.
    assert out.count("(migrated from empty)") == 1 and out.count("events table created") == 1
    assert out.index("migrate: gateway store") < out.index("salama: started ")
    engine = sa.create_engine(scaled.database_url, future=True)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == schema_head()
    engine.dispose()
    for i, url in enumerate(scaled.gateway_urls):
        texts = scaled.send(url, f"whatsapp:+2126{secrets.randbelow(10**8):08d}", "salam")
        assert "\n1. " in "\n".join(texts), f"gateway {i + 1} answered with the menu"
    keys = redis.Redis.from_url(scaled.redis_url).keys("salama:order:*")
    assert keys, "the gateways ordered her messages through this Redis database"


@pytest.fixture
async def gateways(scaled: ScaledRun, gateway_factory: Any) -> list[tuple]:
    """Two gateway apps, one per Rasa server of the scaled run, same store, Redis and secret."""
    out = []
    for rasa_url, actions_url in zip(scaled.rasa_urls, scaled.actions_urls):
        client, settings, app = await gateway_factory(
            rasa_url=rasa_url, actions_url=actions_url, salama_secret=scaled.secret,
            database_url=scaled.database_url, redis_url=scaled.redis_url)
        out.append((client, settings, app))
    return out


async def test_alternating_gateways_answer_each_message_once_in_order(gateways):
    (client_a, settings, app_a), (client_b, _, app_b) = gateways
    script = ["salam", "rajli kaydrebni", "la", "3afak fin nmchi", "ana f casa", "chokran"]
    numbers = [f"whatsapp:+2126{secrets.randbelow(10**8):08d}" for _ in range(4)]
    sent: dict[str, list[tuple[dict, Any]]] = {n: [] for n in numbers}
    results: dict[str, list[list[str]]] = {n: [] for n in numbers}

    sending = asyncio.Lock()

    def arrived() -> float:
        """Messages that have reached either gateway (HTTP alone does not keep two concurrent
        requests to two servers in order on a loaded machine)."""
        return sum(app[METRICS].registry.get_sample_value("salama_messages_in_total", {"channel": "whatsapp"}) or 0
                   for app in (app_a, app_b))

    async def conversation(number: str) -> None:
        phones = [Phone(client_a, settings, number), Phone(client_b, settings, number)]
        tasks = []
        for i, body in enumerate(script):
            phone = phones[i % 2]
            params = phone.params(body)
            async with sending:  # one send at a time, so the count that rises is this one's
                before = arrived()
                tasks.append(asyncio.create_task(phone.post(params)))
                sent[number].append((params, phones[(i + 1) % 2]))
                # The next one leaves once this one has reached a gateway, while it is in flight.
                while arrived() <= before:
                    await asyncio.sleep(0.002)
        for task in tasks:
            resp = await task
            assert resp.status == 200
            results[number].append(twiml_messages(await resp.text()))

    await asyncio.gather(*(conversation(n) for n in numbers))
    # Twilio retries some webhooks through the other gateway: same answer, nothing redone.
    for number in numbers:
        params, other = sent[number][1]
        again = twiml_messages(await (await other.post(params)).text())
        assert again == results[number][1]

    vault = app_a[GATEWAY].vault
    for number in numbers:
        conv_id = vault.pseudonym(number)
        rows = app_a[STORE].get_transcript(conv_id)
        said = [vault.decrypt(r["text_enc"]) for r in rows if r["sender"] == "user"]
        assert said == script, "every message once, in order"
        assert all(results[number]), "every message answered"
        # The disclosure was acknowledged and "la" (not safe) got the numbers.
        assert "19" in "\n".join(results[number][2])
    with app_a[STORE].engine.connect() as conn:
        claimed = conn.execute(sa.select(sa.func.count()).select_from(inbound).where(
            inbound.c.conversation_id.in_([vault.pseudonym(n) for n in numbers]))).scalar()
    assert claimed == len(numbers) * len(script)


async def test_handoff_through_one_gateway_is_seen_by_the_other(gateways):
    (client_a, settings, app_a), (client_b, _, app_b) = gateways
    number = f"+2126{secrets.randbelow(10**8):08d}"
    phone_a, phone_b = Phone(client_a, settings, number), Phone(client_b, settings, number)
    await phone_a.send("bonjour")
    assert await phone_a.send("je veux parler à une conseillère")
    conv_id = app_b[GATEWAY].vault.pseudonym(number)
    assert app_b[STORE].get_conversation(conv_id).status == "waiting"
    assert await phone_b.send("allo ?") == []  # gateway B routes her to the counsellor
    assert await phone_b.send("robot") == [app_b[GATEWAY].texts.get("bot_resumed", "fr")]
    texts = await phone_a.send("bonjour")
    assert "\n1. " in "\n".join(texts)


def _pg_ctl(action: str, check: bool = True) -> None:
    version = sorted(Path("/etc/postgresql").iterdir())[-1].name
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                   check=check, capture_output=True)


@pytest.mark.skipif(not Path("/etc/postgresql").exists() or os.geteuid() != 0,
                    reason="restarting PostgreSQL needs this machine's cluster and root")
async def test_postgres_restart_is_visible_and_no_message_goes_unanswered(gateways):
    (client_a, settings, app_a), (client_b, _, _) = gateways
    phones = [Phone(client, settings, f"+2126{secrets.randbelow(10**8):08d}")
              for client in (client_a, client_b) for _ in range(3)]
    for phone in phones:
        await phone.send("bonjour")
    answers: list[list[str]] = []
    health: list[int] = []

    async def traffic() -> None:
        for _ in range(8):
            replies = await asyncio.gather(*(p.send("salam") for p in phones))
            answers.extend(replies)
            health.append((await client_a.get("/healthz")).status)
            await asyncio.sleep(0.5)

    async def outage() -> None:
        await asyncio.sleep(0.7)
        await asyncio.to_thread(_pg_ctl, "stop")
        await asyncio.sleep(2.5)
        await asyncio.to_thread(_pg_ctl, "start")

    try:
        await asyncio.gather(traffic(), outage())
    finally:
        await asyncio.to_thread(_pg_ctl, "start", False)  # the cluster is up for what follows
    assert all(a for a in answers), "every message got an answer (the static one during the outage)"
    assert 503 in health, "the health endpoint showed the outage"
    for _ in range(40):  # connections come back
        if (await client_a.get("/healthz")).status == 200:
            break
        await asyncio.sleep(0.5)
    assert (await client_a.get("/healthz")).status == 200
    texts: list[str] = []
    for _ in range(10):  # Rasa's own pool may hold a dead connection once
        texts = await phones[0].send("bonjour")
        if "\n1. " in "\n".join(texts):
            break
        await asyncio.sleep(1)
    assert "\n1. " in "\n".join(texts)
