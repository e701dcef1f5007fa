"""Scale-out: two gateways and two Rasa servers (each with its action server) sharing
PostgreSQL (gateway store, Rasa tracker store) and Redis (ordering, Rasa lock store)."""
from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from bot.appkeys import GATEWAY, STORE
from bot.run import children, scaled_env, start, stop
from bot.store import inbound
from tests.conftest import MODEL, Phone, Stack, free_port, make_settings, twiml_messages

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
SERVER_URL = "postgresql://root@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped afterwards: no state is
    shared with earlier runs or other tests."""
    name = f"salama_{secrets.token_hex(6)}"
    admin = sa.create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True, future=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def shared_secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def rasa_pair(tmp_path_factory: pytest.TempPathFactory, shared_secret: str,
              database_url: str) -> Iterator[list[Stack]]:
    var_dir = tmp_path_factory.mktemp("scaled-var")
    settings = make_settings(var_dir, salama_secret=shared_secret, database_url=database_url,
                             redis_url=REDIS_URL)
    stacks, kids_all = [], []
    for i in range(2):
        rasa_port, actions_port = free_port(), free_port()
        kids = [k for k in children(settings, MODEL, "endpoints.scaled.yml", rasa_port=rasa_port,
                                    actions_port=actions_port, log_suffix=f"-scaled-{i}")
                if k.name in ("actions", "rasa")]
        for kid in kids:
            kid.env = dict(kid.env, **scaled_env(settings), SALAMA_SECRET=shared_secret,
                           SALAMA_VAR_DIR=str(var_dir))
        kids_all.extend(kids)
        stacks.append(Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}",
                            settings.rasa_token, var_dir, kids))
    start(kids_all)
    try:
        for s in stacks:
            s.wait_ready()
        yield stacks
    finally:
        stop(kids_all)


@pytest.fixture
async def gateways(rasa_pair: list[Stack], gateway_factory: Any, shared_secret: str,
                   database_url: str) -> list[tuple]:
    """Two gateway apps, one per Rasa server, same store, same Redis, same secret."""
    out = []
    for stack in rasa_pair:
        client, settings, app = await gateway_factory(**stack.gateway_settings(), salama_secret=shared_secret,
                                                      database_url=database_url, redis_url=REDIS_URL)
        out.append((client, settings, app))
    return out


async def test_alternating_gateways_answer_each_message_once_in_order(gateways):
    (client_a, settings, app_a), (client_b, _, app_b) = gateways
    script = ["salam", "rajli kaydrebni", "la", "3afak fin nmchi", "ana f casa", "chokran"]
    numbers = [f"whatsapp:+2126{secrets.randbelow(10**8):08d}" for _ in range(4)]
    sent: dict[str, list[tuple[dict, Any]]] = {n: [] for n in numbers}
    results: dict[str, list[list[str]]] = {n: [] for n in numbers}

    async def conversation(number: str) -> None:
        phones = [Phone(client_a, settings, number), Phone(client_b, settings, number)]
        tasks = []
        for i, body in enumerate(script):
            phone = phones[i % 2]
            params = phone.params(body)
            tasks.append(asyncio.create_task(phone.post(params)))
            sent[number].append((params, phones[(i + 1) % 2]))
            await asyncio.sleep(0.05)
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
        for round_ in range(8):
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
