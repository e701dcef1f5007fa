"""The counsellor console's JSON API, accounts and live queue, on the real gateway (Rasa down)."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from typing import Any, Optional

import aiohttp
import pytest
import sqlalchemy as sa

from bot.appkeys import GATEWAY, STORE
from bot.console import accounts, cli, login
from bot.console.canned import load_canned
from bot.store import Store, audit, counsellors, sessions
from core.settings import ROOT
from tests.conftest import Phone, empty_postgres_database, sent_to
from tools.run import console_hint

PASSWORD = "correct horse battery staple"
HER = "whatsapp:+212600000001"
COOKIE = "salama_console"
OWASP_N = accounts.SCRYPT_N  # the real cost, checked below
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def cheaper_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests hash at N=2^14 (50 ms) instead of 2^17 (0.5 s) to keep the suite fast; the
    tests about the cost put the real one back (the CLI subprocess test always uses it)."""
    monkeypatch.setattr(accounts, "SCRYPT_N", 2**14)


class Counsellor:
    """A logged-in console user: carries her session cookie and CSRF token by hand."""

    def __init__(self, client: Any, name: str) -> None:
        self.client, self.name = client, name
        self.cookie: Optional[str] = None
        self.csrf: Optional[str] = None

    async def login(self, password: str = PASSWORD, address: Optional[str] = None) -> aiohttp.ClientResponse:
        # The test client is on loopback: X-Forwarded-For stands for a proxy's client address.
        headers = {"X-Forwarded-For": address} if address else {}
        resp = await self.client.post("/console/api/login", json={"username": self.name, "password": password},
                                      headers=headers)
        if resp.status == 200:
            self.cookie = resp.cookies[COOKIE].value
            self.csrf = (await resp.json())["csrf_token"]
        # The jar is shared between the counsellors of a test: keep it out of the way.
        self.client.session.cookie_jar.clear()
        return resp

    def headers(self, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"{COOKIE}={self.cookie}"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return headers

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.client.get(path, headers=self.headers(csrf=False))

    async def post(self, path: str, json: Any = None, **headers: str) -> aiohttp.ClientResponse:
        return await self.client.post(path, json=json, headers={**self.headers(), **headers})

    async def act(self, conv_id: str, action: str, json: Any = None) -> aiohttp.ClientResponse:
        return await self.post(f"/console/api/conversations/{conv_id}/{action}", json)

    async def conversation(self, conv_id: str) -> dict:
        resp = await self.get(f"/console/api/conversations/{conv_id}")
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def queue(self, status: str) -> list[dict]:
        resp = await self.get(f"/console/api/conversations?status={status}")
        assert resp.status == 200, await resp.text()
        return (await resp.json())["conversations"]


async def console(gateway_factory: Any, *names: str, **overrides: Any) -> tuple[Any, Any, Any, list[Counsellor]]:
    """The gateway app with counsellor accounts (made as the CLI makes them), logged in."""
    client, settings, app = await gateway_factory(**overrides)
    store = app[STORE]
    people = []
    for name in names:
        await store.aio.call(cli.run, store, "add-counsellor", name, io.StringIO(PASSWORD + "\n"))
        person = Counsellor(client, name)
        assert (await person.login()).status == 200
        people.append(person)
    return client, settings, app, people


async def waiting(client: Any, settings: Any, app: Any, address: str = HER, text: str = "bonjour",
                  priority: int = 2) -> tuple[Phone, str]:
    """She writes, then the handoff puts her in the queue (what action_handoff tells the gateway)."""
    phone = Phone(client, settings, address)
    await phone.send(text)
    conv_id = app[GATEWAY].vault.pseudonym(address)
    store = app[STORE]
    await store.aio.update_conversation(conv_id, status="waiting", priority=priority,
                    waiting_since=time.time(), timeout_notified=False, counsellor=None)
    return phone, conv_id



def audit_rows(app: Any) -> list[tuple]:
    with app[STORE].engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(audit.c.action, audit.c.counsellor, audit.c.conversation_id).order_by(audit.c.id))]


# -- accounts ------------------------------------------------------------------------------
async def test_cli_stores_a_salted_scrypt_hash_and_refuses_weak_or_duplicate_accounts(gateway_factory, monkeypatch):
    monkeypatch.setattr(accounts, "SCRYPT_N", OWASP_N)
    _, _, app = await gateway_factory()
    store = app[STORE]
    assert cli.run(store, "add-counsellor", "amina", io.StringIO(PASSWORD + "\n")) == "counsellor amina created"
    cli.run(store, "add-counsellor", "salma", io.StringIO(PASSWORD + "\n"))
    with store.engine.connect() as conn:
        hashes = dict(conn.execute(sa.select(counsellors.c.username, counsellors.c.password_hash)).all())
    assert OWASP_N == 2**17 and hashes["amina"].startswith("scrypt$131072$8$1$"), "OWASP's minimum"
    assert PASSWORD not in hashes["amina"]
    assert hashes["amina"] != hashes["salma"], "each hash has its own salt"
    with pytest.raises(accounts.AccountError, match="already exists"):
        cli.run(store, "add-counsellor", "amina", io.StringIO(PASSWORD + "\n"))
    with pytest.raises(accounts.AccountError, match="at least"):
        cli.run(store, "add-counsellor", "nadia", io.StringIO("short\n"))
    with pytest.raises(accounts.AccountError, match="letters"):
        cli.run(store, "add-counsellor", "a b", io.StringIO(PASSWORD + "\n"))


def test_python_m_bot_console_add_counsellor_reads_the_password_from_stdin(var_dir):
    env = dict(os.environ, SALAMA_VAR_DIR=str(var_dir), SALAMA_LOCAL_MODE="1",
               SALAMA_SECRET="a-test-secret-of-enough-length", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "bot.console", "add-counsellor", "amina"], cwd=ROOT, env=env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "amina" in done.stdout and PASSWORD not in done.stdout + done.stderr
    again = subprocess.run([sys.executable, "-m", "bot.console", "add-counsellor", "amina"], cwd=ROOT, env=env,
                           input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "already exists" in again.stderr
    store = Store(f"sqlite:///{var_dir / 'gateway.db'}")
    try:
        stored = accounts.password_hash(store, "amina")
        assert stored.startswith("scrypt$131072$8$1$") and accounts.check_password(PASSWORD, stored)
    finally:
        store.close()


# -o: never rebuild .venv from a test (it is shared; a checkout's newer requirements.txt
# would otherwise make `install` run pip into it).
MAKE = ("-s", "--no-print-directory", "-o", ".venv/.installed")


def make_counsellor(env: dict[str, str], name: str, password: str = PASSWORD,
                    *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *MAKE, "counsellor", f"NAME={name}", *extra],
                          cwd=ROOT, env=env, input=password + "\n", capture_output=True, text=True,
                          timeout=120)


def clean_env(var_dir: Any, **values: str) -> dict[str, str]:
    """The environment of someone who just ran `make run` on a fresh machine: nothing set."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SALAMA_LOCAL_MODE", "TWILIO_AUTH_TOKEN", "DATABASE_URL", "REDIS_URL",
                        "SALAMA_SECRET", "PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return {**env, "SALAMA_VAR_DIR": str(var_dir), **values}


def test_make_counsellor_works_in_local_mode_with_nothing_configured(var_dir):
    bare = subprocess.run([sys.executable, "-m", "bot.console", "add-counsellor", "amina"], cwd=ROOT,
                          env={**clean_env(var_dir), "PYTHONPATH": str(ROOT)}, input=PASSWORD + "\n",
                          capture_output=True, text=True, timeout=120)
    assert bare.returncode == 2 and "TWILIO_AUTH_TOKEN is required" in bare.stderr, "what make fixes"
    done = make_counsellor(clean_env(var_dir), "amina")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "counsellor amina created" and PASSWORD not in done.stdout + done.stderr
    store = Store(f"sqlite:///{var_dir / 'gateway.db'}")  # where `make run` keeps the gateway store
    try:
        assert accounts.check_password(PASSWORD, accounts.password_hash(store, "amina"))
    finally:
        store.close()
    usage = subprocess.run(["make", *MAKE, "counsellor"], cwd=ROOT, env=clean_env(var_dir), capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode != 0 and "make counsellor NAME=" in usage.stderr
    changed = make_counsellor(clean_env(var_dir), "amina", "another long password", "ACTION=set-password")
    assert changed.returncode == 0 and "sessions ended" in changed.stdout


@pytest.mark.postgres
def test_make_counsellor_uses_a_real_configurations_store(tmp_path):
    """With a Twilio token and DATABASE_URL set (a real deployment), the account lands in PostgreSQL."""
    var_dir = tmp_path / "empty-var"  # not the migrated var_dir fixture: nothing local may appear
    with empty_postgres_database() as url:
        env = clean_env(var_dir, TWILIO_AUTH_TOKEN="a-real-looking-token-0123456789", DATABASE_URL=url,
                        SALAMA_SECRET="a-test-secret-of-enough-length")
        done = make_counsellor(env, "salma")
        assert done.returncode == 0, done.stderr
        store = Store(url)
        try:
            assert accounts.check_password(PASSWORD, accounts.password_hash(store, "salma"))
        finally:
            store.close()
        assert not (var_dir / "gateway.db").exists(), "not in the local SQLite store"


def test_make_run_says_where_the_console_is_and_how_to_get_an_account(var_dir):
    from tests.conftest import make_settings

    hint = console_hint(make_settings(var_dir))
    assert "https://salama.example.org/console" in hint and "make counsellor NAME=" in hint
    scaled = make_settings(var_dir, database_url="postgresql://root@127.0.0.1:5432/test")
    assert "make counsellor NAME=yourname DATABASE_URL=postgresql://root@127.0.0.1:5432/test " in \
        console_hint(scaled, scaled=True)
    secret = make_settings(var_dir, database_url="postgresql://salama:s3cret@db.example/salama")
    assert "s3cret" not in console_hint(secret, scaled=True), "a password in DATABASE_URL is never printed"
    run = (ROOT / "tools" / "run.py").read_text()
    assert "print(console_hint(settings" in run, "printed once the gateway is ready"


async def test_login_sets_an_httponly_strict_secure_cookie_and_stores_only_its_hash(gateway_factory):
    client, _, app, (amina,) = await console(gateway_factory, "amina")
    resp = await client.post("/console/api/login", json={"username": "amina", "password": PASSWORD})
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"csrf_token", "username", "role"} and len(body["csrf_token"]) >= 32
    assert body["role"] == "counsellor"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" in cookie, "PUBLIC_BASE_URL is https in the tests: the cookie must be Secure"
    token = resp.cookies[COOKIE].value
    with app[STORE].engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(sa.select(sessions))]
    assert token not in stored and len(stored) == 2  # amina's two sessions, by hash only
    me = await amina.get("/console/api/session")
    assert (await me.json())["username"] == "amina"


async def answers(person: Counsellor, password: str, address: str, count: int) -> list[tuple[int, dict]]:
    return [(r.status, await r.json()) for r in [await person.login(password, address) for _ in range(count)]]


async def test_a_failed_login_answers_the_same_whether_the_name_exists_or_not(gateway_factory):
    client, _, app, _ = await console(gateway_factory, "amina")
    real = await answers(Counsellor(client, "amina"), "not the password", "198.51.100.1", 5)
    unknown = await answers(Counsellor(client, "nobody"), "not the password", "198.51.100.2", 5)
    assert real == unknown, "no name can be told from the answers"
    assert [status for status, _ in real] == [401] * login.PAIR_FREE + [429, 429]
    assert real[0][1] == {"error": "Wrong name or password.", "code": "bad_credentials"}
    assert real[-1][1]["code"] == "too_many_attempts" and real[-1][1]["retry_after"] == 1
    failures = [r for r in audit_rows(app) if r[0] == "login_failed"]
    assert failures == [("login_failed", "amina", None)] * login.PAIR_FREE + [("login_failed", None, None)] * 3, \
        "an unknown name (often a password typed in the wrong box) is not kept"


def test_every_failure_costs_one_hash_at_todays_cost_known_name_or_not(monkeypatch):
    """The time of an answer cannot tell names apart: count the scrypt calls and their cost."""
    monkeypatch.setattr(accounts, "SCRYPT_N", OWASP_N)
    calls: list[int] = []
    real_scrypt = accounts.hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(kwargs["n"])
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(accounts.hashlib, "scrypt", counted)
    current = accounts.hash_password(PASSWORD)
    monkeypatch.setattr(accounts, "SCRYPT_N", 2**14)
    old = accounts.hash_password(PASSWORD)
    monkeypatch.setattr(accounts, "SCRYPT_N", OWASP_N)
    calls.clear()
    for stored in (None, current, old):  # unknown name, today's hash, a hash from before
        assert not accounts.check_password("wrong", stored)
        assert OWASP_N in calls, stored
        calls.clear()
    assert accounts.check_password(PASSWORD, current) and accounts.check_password(PASSWORD, old)


async def test_an_attacker_slows_himself_down_but_does_not_lock_her_out(gateway_factory):
    client, _, _, _ = await console(gateway_factory, "amina")
    amina = Counsellor(client, "amina")
    attacker = "203.0.113.9"
    statuses = [s for s, _ in await answers(amina, "guess", attacker, login.PAIR_FREE + 2)]
    assert statuses == [401] * login.PAIR_FREE + [429, 429]
    assert (await amina.login(PASSWORD, attacker)).status == 429, "he waits, even with the right password"
    assert (await amina.login(PASSWORD, "198.51.100.7")).status == 200, "she, elsewhere, does not wait"
    # From one address, a second's wait (the backoff's first step) and she is in.
    her_office = "198.51.100.8"
    assert [s for s, _ in await answers(amina, "typo", her_office, login.PAIR_FREE + 1)][-1] == 429
    await asyncio.sleep(1.1)
    assert (await amina.login(PASSWORD, her_office)).status == 200
    assert [s for s, _ in await answers(amina, "typo", her_office, login.PAIR_FREE)] == [401] * login.PAIR_FREE, \
        "a success forgets her earlier failures"


def test_the_backoff_doubles_up_to_a_minute():
    assert [login.pair_delay(n) for n in range(8)] == [0, 0, 0, 1, 2, 4, 8, 16]
    assert login.pair_delay(40) == login.PAIR_MAX_DELAY_S == 60


async def test_one_address_gets_a_limited_number_of_password_checks_whatever_the_names(gateway_factory):
    client, _, _, _ = await console(gateway_factory, "amina")
    address = "203.0.113.10"
    for i in range(login.PER_ADDRESS):
        assert (await Counsellor(client, f"guess{i}").login("x", address)).status == 401
    refused = await Counsellor(client, "amina").login(PASSWORD, address)
    assert refused.status == 429 and 0 < (await refused.json())["retry_after"] <= login.WINDOW_S
    assert (await Counsellor(client, "amina").login(PASSWORD, "198.51.100.11")).status == 200


async def test_an_overall_limit_caps_password_checks_from_everywhere(gateway_factory, monkeypatch):
    monkeypatch.setattr(login, "OVERALL", 5)
    client, _, app, _ = await console(gateway_factory, "amina")
    for i in range(4):  # amina's login in `console` was the first check of the window
        assert (await Counsellor(client, f"guess{i}").login("x", f"203.0.113.{20 + i}")).status == 401
    resp = await Counsellor(client, "guess").login("x", "203.0.113.40")
    assert resp.status == 429 and (await resp.json())["code"] == "too_many_attempts"
    counters = app[login.GATE].limiter.counters
    kept = len(counters._items)
    for i in range(30):  # refused tries from ever new addresses leave nothing behind
        assert (await Counsellor(client, "guess").login("x", f"192.0.2.{i}")).status == 429
    assert len(counters._items) == kept


async def test_several_gateways_share_the_limits_through_redis(gateway_factory, monkeypatch):
    monkeypatch.setattr(login, "PER_ADDRESS", 3)
    shared = dict(redis_url=REDIS_URL, salama_secret=secrets.token_urlsafe(24))
    one, _, app = await gateway_factory(**shared)
    two, _, _ = await gateway_factory(**shared)
    other, _, _ = await gateway_factory(redis_url=REDIS_URL)  # another deployment: its own counters
    assert isinstance(app[login.GATE].limiter.counters, login.RedisCounters)
    address = "203.0.113.50"
    for client in (one, two, one):
        assert (await Counsellor(client, "guess").login("x", address)).status == 401
    assert (await Counsellor(two, "guess2").login("x", address)).status == 429
    assert (await Counsellor(one, "guess3").login("x", address)).status == 429
    assert (await Counsellor(other, "guess").login("x", address)).status == 401


async def test_with_redis_unreachable_login_fails_closed_with_a_clear_answer(gateway_factory, caplog):
    from tests.conftest import free_port

    client, _, app = await gateway_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    await app[STORE].aio.call(cli.run, app[STORE], "add-counsellor", "amina", io.StringIO(PASSWORD + "\n"))
    resp = await Counsellor(client, "amina").login(PASSWORD, "198.51.100.90")
    assert resp.status == 503, "no password is checked without its limits"
    assert (await resp.json())["code"] == "unavailable"
    assert "login limits unavailable (ConnectionError)" in caplog.text


async def test_memory_and_redis_counters_behave_alike():
    import redis.asyncio

    prefix = f"salama:test:{secrets.token_hex(4)}:"
    for counters in (login.MemoryCounters(), login.RedisCounters(REDIS_URL)):
        try:
            assert await counters.peek(prefix + "a") == (0, 0.0)
            assert [await counters.hit(prefix + "a", 60, sliding=False) for _ in range(3)] == [1, 2, 3]
            count, left = await counters.peek(prefix + "a")
            assert count == 3 and 59 < left <= 60
            await counters.hit(prefix + "b", 0.2, sliding=True)
            await asyncio.sleep(0.15)
            await counters.hit(prefix + "b", 0.2, sliding=True)  # a sliding hit re-arms the expiry
            await asyncio.sleep(0.15)
            assert (await counters.peek(prefix + "b"))[0] == 2
            await asyncio.sleep(0.2)
            assert await counters.peek(prefix + "b") == (0, 0.0)
            await counters.forget(prefix + "a")
            assert await counters.peek(prefix + "a") == (0, 0.0)
        finally:
            await counters.close()
    client = redis.asyncio.from_url(REDIS_URL)
    try:
        assert not await client.keys(prefix + "*")
    finally:
        await client.close()
        await client.connection_pool.disconnect()


async def test_a_login_storm_waits_for_its_own_thread_not_for_hers(gateway_factory):
    """Password checks run on the console's hashing thread: with that thread busy and its queue
    full, further logins are refused at once and her webhook is answered as usual."""
    client, settings, app, _ = await console(gateway_factory, "amina")
    gate, release = app[login.GATE], threading.Event()
    blocker = asyncio.ensure_future(gate.hasher.run(release.wait, 30))  # the thread is busy
    try:
        queued = [asyncio.ensure_future(Counsellor(client, f"guess{i}").login("x", f"203.0.113.{60 + i}"))
                  for i in range(login.QUEUE)]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in queued), "they wait for the hashing thread"
        busy = await Counsellor(client, "amina").login(PASSWORD, "198.51.100.60")
        assert busy.status == 429 and (await busy.json())["retry_after"] == login.BUSY_RETRY_S
        assert await Phone(client, settings).send("salam") != [], "her webhook does not wait"
        assert not any(t.done() for t in queued)
    finally:
        release.set()
        await blocker
    assert [r.status for r in await asyncio.gather(*queued)] == [401] * login.QUEUE
    assert (await Counsellor(client, "amina").login(PASSWORD, "198.51.100.60")).status == 200


async def test_the_hashing_thread_is_not_a_store_thread_and_runs_at_the_lowest_cpu_priority(gateway_factory):
    _, _, app = await gateway_factory()

    def where() -> tuple[str, int]:
        return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    name, nice = await app[login.GATE].hasher.run(where)
    assert name.startswith("login") and nice == 19
    store_name, store_nice = await app[STORE].aio.call(where)
    assert store_name.startswith("store") and store_nice == os.getpriority(os.PRIO_PROCESS, 0)


async def test_an_old_hash_is_replaced_at_owasps_cost_on_her_next_login(gateway_factory, monkeypatch):
    client, _, app, _ = await console(gateway_factory, "amina")  # made at 2^14, as before
    store = app[STORE]
    old = accounts.password_hash(store, "amina")
    assert old.startswith("scrypt$16384$")
    monkeypatch.setattr(accounts, "SCRYPT_N", OWASP_N)
    amina = Counsellor(client, "amina")
    assert (await amina.login("not the password", "198.51.100.70")).status == 401
    assert accounts.password_hash(store, "amina") == old, "a failure changes nothing"
    assert (await amina.login(PASSWORD, "198.51.100.70")).status == 200
    new = accounts.password_hash(store, "amina")
    assert new.startswith("scrypt$131072$8$1$") and accounts.verify_password(PASSWORD, new)
    assert (await amina.login(PASSWORD, "198.51.100.70")).status == 200


def test_a_rehash_does_not_overwrite_a_password_changed_meanwhile(var_dir):
    store = Store(f"sqlite:///{var_dir / 'gateway.db'}")
    try:
        accounts.add_counsellor(store, "amina", PASSWORD)
        seen = accounts.password_hash(store, "amina")
        accounts.set_password(store, "amina", "a brand new password")
        accounts.replace_hash(store, "amina", seen, accounts.hash_password(PASSWORD))
        assert accounts.check_password("a brand new password", accounts.password_hash(store, "amina"))
    finally:
        store.close()


def test_the_client_address_is_the_peer_or_what_a_local_proxy_appended():
    from aiohttp.test_utils import make_mocked_request

    def address(peer: str, forwarded: Optional[str]) -> str:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        request = make_mocked_request("POST", "/console/api/login", headers=headers)
        return login.client_address(request.clone(remote=peer))

    assert address("192.0.2.1", None) == "192.0.2.1"
    assert address("192.0.2.1", "203.0.113.5") == "192.0.2.1", "a remote client cannot choose its address"
    assert address("127.0.0.1", "203.0.113.5") == "203.0.113.5"
    assert address("127.0.0.1", "198.51.100.1, 203.0.113.5") == "203.0.113.5", "the proxy's entry, not his"
    assert address("::1", "203.0.113.6") == "203.0.113.6"
    assert address("2001:db8:1:2::1", None) == address("2001:db8:1:2:ffff::9", None) == "2001:db8:1:2::/64", \
        "one IPv6 subscriber cannot rotate through the addresses of its /64"
    assert address("::ffff:192.0.2.1", None) == "192.0.2.1"


# -- guard: login, CSRF, Origin ---------------------------------------------------------------
ENDPOINTS = [
    ("GET", "/console/api/session"), ("GET", "/console/api/canned"),
    ("GET", "/console/api/conversations?status=waiting"), ("GET", "/console/api/conversations/u123"),
    ("POST", "/console/api/logout"), ("POST", "/console/api/conversations/u123/claim"),
    ("POST", "/console/api/conversations/u123/messages"), ("POST", "/console/api/conversations/u123/notes"),
    ("POST", "/console/api/conversations/u123/release"), ("POST", "/console/api/conversations/u123/close"),
]


async def test_every_endpoint_refuses_a_visitor_without_a_session(gateway_factory):
    client, _, app, _ = await console(gateway_factory, "amina")
    for method, path in ENDPOINTS:
        resp = await client.request(method, path, json={"text": "x"})
        assert resp.status == 401, (method, path)
        assert (await resp.json())["code"] == "not_logged_in"
        resp = await client.request(method, path, headers={"Cookie": f"{COOKIE}=forged-token"})
        assert resp.status == 401, (method, path)
    store = app[STORE]
    amina = Counsellor(client, "amina")
    await amina.login()
    with store.engine.begin() as conn:  # twelve hours later
        conn.execute(sessions.update().values(expires_at=time.time() - 1))
    assert (await amina.get("/console/api/session")).status == 401


async def test_state_changes_need_the_sessions_csrf_token_and_no_foreign_origin(gateway_factory):
    client, settings, app, (amina, salma) = await console(gateway_factory, "amina", "salma")
    _, conv_id = await waiting(client, settings, app)
    path = f"/console/api/conversations/{conv_id}/claim"
    no_token = await client.post(path, headers=amina.headers(csrf=False))
    assert no_token.status == 403 and (await no_token.json())["code"] == "csrf"
    wrong = await client.post(path, headers={**amina.headers(csrf=False), "X-CSRF-Token": "guess"})
    assert wrong.status == 403
    other = await client.post(path, headers={**amina.headers(csrf=False), "X-CSRF-Token": salma.csrf})
    assert other.status == 403, "one session's token is no good for another session"
    foreign = await amina.post(path, Origin="https://evil.example")
    assert foreign.status == 403 and (await foreign.json())["code"] == "bad_origin"
    cross_login = await client.post("/console/api/login", headers={"Origin": "https://evil.example"},
                                    json={"username": "amina", "password": PASSWORD})
    assert cross_login.status == 403
    form_login = await client.post("/console/api/login", data={"username": "amina", "password": PASSWORD})
    assert form_login.status == 415, "a cross-site form cannot log her in"
    assert app[STORE].get_conversation(conv_id).status == "waiting"
    assert (await amina.post(path, Origin=settings.public_base_url)).status == 200


async def test_logout_ends_the_session_and_clears_the_cookie(gateway_factory):
    _, _, _, (amina,) = await console(gateway_factory, "amina")
    assert (await amina.post("/console/api/logout", Origin="https://evil.example")).status == 403
    resp = await amina.post("/console/api/logout")
    assert resp.status == 200
    assert resp.cookies[COOKIE].value == "" and "Max-Age=0" in resp.headers["Set-Cookie"]
    assert (await amina.get("/console/api/session")).status == 401


# -- the queue and one conversation -----------------------------------------------------------
async def test_queue_lists_waiting_conversations_by_pseudonym_never_by_number(gateway_factory):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    _, urgent = await waiting(client, settings, app, HER, "bonjour", priority=2)
    _, other = await waiting(client, settings, app, "+212600000002", "salam", priority=0)
    await Phone(client, settings, "+212600000003").send("salam")  # with the bot: not listed
    resp = await amina.get("/console/api/conversations?status=waiting")
    raw = await resp.text()
    items = (await resp.json())["conversations"]
    assert [c["id"] for c in items] == [urgent, other], "emergencies first"
    first = items[0]
    for key in ("id", "status", "priority", "language", "region", "channel", "waiting_since", "last_message"):
        assert key in first
    assert first["status"] == "waiting" and first["channel"] == "whatsapp" and first["priority"] == 2
    assert first["last_message"]["from"] == "user" and first["last_message"]["text"] == "bonjour"
    assert items[1]["channel"] == "sms"
    assert "212600" not in raw and "whatsapp:+" not in raw
    assert await amina.queue("active") == [] and await amina.queue("mine") == []
    assert (await amina.get("/console/api/conversations?status=bot")).status == 400
    detail = await amina.conversation(urgent)
    assert detail["messages"] == [{"from": "user", "text": "bonjour", "at": detail["messages"][0]["at"],
                                   "counsellor": None}]
    assert detail["notes"] == [] and "212600" not in str(detail)


async def test_unknown_or_bot_conversations_are_not_readable(gateway_factory):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    await Phone(client, settings).send("salam")
    with_bot = app[GATEWAY].vault.pseudonym(HER)
    for conv_id in ("u000000000000000000000000", with_bot):
        resp = await amina.get(f"/console/api/conversations/{conv_id}")
        assert resp.status == 404 and (await resp.json())["code"] == "not_found"
    assert (await amina.act("u000000000000000000000000", "claim")).status == 404


async def test_one_counsellor_per_conversation_a_second_claim_is_refused(gateway_factory):
    client, settings, app, (amina, salma) = await console(gateway_factory, "amina", "salma")
    _, conv_id = await waiting(client, settings, app)
    resp = await amina.act(conv_id, "claim")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "active" and body["counsellor"] == "amina" and body["mine"]
    second = await salma.act(conv_id, "claim")
    assert second.status == 409
    refusal = await second.json()
    assert refusal["code"] == "claimed_by_other" and "already claimed" in refusal["error"]
    assert (await amina.act(conv_id, "claim")).status == 200, "claiming her own again is harmless"
    assert [c["id"] for c in await amina.queue("mine")] == [conv_id]
    assert await salma.queue("mine") == [] and await salma.queue("waiting") == []
    assert [c["id"] for c in await salma.queue("active")] == [conv_id]
    assert audit_rows(app).count(("claim", "amina", conv_id)) == 1


async def test_claims_racing_for_one_conversation_give_it_to_exactly_one(gateway_factory):
    client, settings, app, people = await console(gateway_factory, "amina", "salma", "nadia")
    _, conv_id = await waiting(client, settings, app)
    results = await asyncio.gather(*(p.act(conv_id, "claim") for p in people))
    assert sorted(r.status for r in results) == [200, 409, 409]


# -- replying -----------------------------------------------------------------------------------
async def test_reply_reaches_her_number_and_her_answer_reaches_the_console_not_the_bot(gateway_factory, twilio):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    phone, conv_id = await waiting(client, settings, app)
    await amina.act(conv_id, "claim")
    text = "Bonjour, je suis Amina. Êtes-vous en sécurité maintenant ?"
    resp = await amina.act(conv_id, "messages", {"text": text})
    assert resp.status == 201, await resp.text()
    (message,) = await sent_to(twilio, HER)
    preview = app[GATEWAY].texts.get("neutral_preview", "fr")
    assert message["body"] == f"{preview}\n{text}", "a neutral first line on her lock screen"
    assert await phone.send("oui, il est sorti") == [], "no automatic answer while a counsellor has her"
    messages = (await amina.conversation(conv_id))["messages"]
    assert [(m["from"], m["text"]) for m in messages] == [
        ("user", "bonjour"), ("counsellor", text), ("user", "oui, il est sorti")]
    assert messages[1]["counsellor"] == "amina"


async def test_reply_is_refused_until_claimed_and_to_someone_elses_conversation(gateway_factory, twilio):
    client, settings, app, (amina, salma) = await console(gateway_factory, "amina", "salma")
    _, conv_id = await waiting(client, settings, app)
    resp = await amina.act(conv_id, "messages", {"text": "bonjour"})
    assert resp.status == 409 and (await resp.json())["code"] == "not_claimed"
    await amina.act(conv_id, "claim")
    resp = await salma.act(conv_id, "messages", {"text": "bonjour"})
    assert resp.status == 409 and (await resp.json())["code"] == "claimed_by_other"
    for bad in ({}, {"text": "   "}, {"text": 3}, {"text": "x" * (settings.max_body_chars + 1)}):
        assert (await amina.act(conv_id, "messages", bad)).status == 400
    await asyncio.sleep(0.3)
    assert twilio.messages == []


async def test_reply_to_a_closed_conversation_is_refused(gateway_factory, twilio):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    _, conv_id = await waiting(client, settings, app)
    await amina.act(conv_id, "claim")
    resp = await amina.act(conv_id, "close")
    assert resp.status == 200 and (await resp.json())["status"] == "bot"
    (message,) = await sent_to(twilio, HER)
    assert app[GATEWAY].texts.get("bot_resumed", "fr") in message["body"]
    resp = await amina.act(conv_id, "messages", {"text": "encore là ?"})
    assert resp.status == 409
    body = await resp.json()
    assert body["code"] == "closed" and body["error"]
    for action in ("claim", "release", "close"):
        assert (await amina.act(conv_id, action)).status == 409
    assert (await amina.get(f"/console/api/conversations/{conv_id}")).status == 404
    assert ("close", "amina", conv_id) in audit_rows(app)


async def test_whatsapp_window_closed_after_24_hours_refuses_free_text_and_names_the_template(
        gateway_factory, twilio):
    client, settings, app, (amina,) = await console(gateway_factory, "amina",
                                                   twilio_whatsapp_template_sid="HX0123456789abcdef")
    _, conv_id = await waiting(client, settings, app)
    _, sms_id = await waiting(client, settings, app, "+212600000002")
    store = app[STORE]
    for cid in (conv_id, sms_id):
        await amina.act(cid, "claim")
        await store.aio.update_conversation(cid, last_inbound_at=time.time() - 25 * 3600)
    detail = await amina.conversation(conv_id)
    assert detail["reply_window"]["applies"] and not detail["reply_window"]["open"]
    assert detail["template_sid"] == "HX0123456789abcdef"
    resp = await amina.act(conv_id, "messages", {"text": "bonjour"})
    assert resp.status == 409
    body = await resp.json()
    assert body["code"] == "whatsapp_window_closed" and "24 hours" in body["error"]
    assert body["template_sid"] == "HX0123456789abcdef"
    assert (await amina.act(sms_id, "messages", {"text": "bonjour"})).status == 201, "SMS has no window"
    await sent_to(twilio, "+212600000002")
    assert not [m for m in twilio.messages if m["to"] == HER]
    # The approved template is what she can still receive; SMS has none.
    assert (await amina.act(conv_id, "template", {})).status == 201
    assert (await amina.act(sms_id, "template", {})).status == 409
    for _ in range(100):
        if [m for m in twilio.messages if m["to"] == HER]:
            break
        await asyncio.sleep(0.05)
    (sent,) = [m for m in twilio.messages if m["to"] == HER]
    assert sent["content_sid"] == "HX0123456789abcdef" and sent["body"] == ""
    assert ("template", "amina", conv_id) in audit_rows(app)


async def test_without_a_template_the_refusal_says_so(gateway_factory):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    _, conv_id = await waiting(client, settings, app)
    await amina.act(conv_id, "claim")
    store = app[STORE]
    await store.aio.update_conversation(conv_id, last_inbound_at=time.time() - 25 * 3600)
    body = await (await amina.act(conv_id, "messages", {"text": "bonjour"})).json()
    assert body["template_sid"] is None


async def test_a_reply_after_her_quick_exit_or_stop_is_refused_not_silently_dropped(gateway_factory):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    phone, conv_id = await waiting(client, settings, app)
    await amina.act(conv_id, "claim")
    await phone.send(settings.quick_exit_word)
    resp = await amina.act(conv_id, "messages", {"text": "bonjour"})
    assert resp.status == 409 and (await resp.json())["code"] == "quiet"
    await phone.send("STOP")
    resp = await amina.act(conv_id, "messages", {"text": "bonjour"})
    assert resp.status == 409 and (await resp.json())["code"] == "opted_out"


# -- notes, release, audit -------------------------------------------------------------------------
async def test_notes_stay_internal_and_only_the_counsellor_who_has_her_adds_them(gateway_factory, twilio):
    client, settings, app, (amina, salma) = await console(gateway_factory, "amina", "salma")
    _, conv_id = await waiting(client, settings, app)
    unclaimed = await salma.act(conv_id, "notes", {"text": "avant de la prendre"})
    assert unclaimed.status == 409 and (await unclaimed.json())["code"] == "not_claimed"
    await amina.act(conv_id, "claim")
    other = await salma.act(conv_id, "notes", {"text": "sur la conversation d'Amina"})
    assert other.status == 409 and (await other.json())["code"] == "claimed_by_other"
    note = "Elle a peur de son beau-frère ; rappeler le 8350."
    resp = await amina.act(conv_id, "notes", {"text": note})
    assert resp.status == 201
    detail = await salma.conversation(conv_id)  # every counsellor reads them
    assert [(n["counsellor"], n["text"]) for n in detail["notes"]] == [("amina", note)]
    assert all(m["text"] != note for m in detail["messages"])
    assert [r for r in audit_rows(app) if r[0] == "note"] == [("note", "amina", conv_id)]
    await asyncio.sleep(0.3)
    assert twilio.messages == []


async def test_release_gives_her_back_to_the_bot_and_tells_her_in_her_language(gateway_factory, twilio):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    phone, conv_id = await waiting(client, settings, app, text="راجلي كيضربني")
    await amina.act(conv_id, "claim")
    resp = await amina.act(conv_id, "release")
    assert resp.status == 200
    conv = app[STORE].get_conversation(conv_id)
    assert conv.status == "bot" and conv.counsellor is None
    (message,) = await sent_to(twilio, HER)
    assert app[GATEWAY].texts.get("bot_resumed", conv.language) in message["body"]
    assert conv.language in ("dar_ar", "ar")
    assert await phone.send("شكرا") != [], "the bot (here its static answer: Rasa is down) answers again"
    assert await amina.queue("mine") == []


async def test_audit_trail_names_who_did_what_and_no_text_reaches_audit_or_logs(gateway_factory, twilio, caplog):
    caplog.set_level(logging.DEBUG)
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    _, conv_id = await waiting(client, settings, app)
    secret_reply, secret_note = "RÉPONSE-SECRÈTE-4242", "NOTE-SECRÈTE-4343"
    await amina.act(conv_id, "claim")
    await amina.act(conv_id, "messages", {"text": secret_reply})
    await amina.act(conv_id, "notes", {"text": secret_note})
    await sent_to(twilio, HER)
    await amina.act(conv_id, "release")
    rows = audit_rows(app)
    assert [r for r in rows if r[2] == conv_id] == [
        ("claim", "amina", conv_id), ("reply", "amina", conv_id), ("note", "amina", conv_id),
        ("release", "amina", conv_id)]
    assert set(audit.c.keys()) == {"id", "at", "counsellor", "action", "conversation_id", "subject"}
    assert secret_reply not in caplog.text and secret_note not in caplog.text
    assert PASSWORD not in caplog.text and "212600000001" not in caplog.text
    assert "console reply counsellor=amina" in caplog.text


# -- the live queue --------------------------------------------------------------------------------
async def test_websocket_checks_origin_and_session_then_tells_which_conversation_changed(gateway_factory):
    client, settings, app, (amina,) = await console(gateway_factory, "amina")
    phone, conv_id = await waiting(client, settings, app)
    for headers in ({"Cookie": f"{COOKIE}={amina.cookie}"},
                    {"Cookie": f"{COOKIE}={amina.cookie}", "Origin": "https://evil.example"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/console/ws", headers=headers)
        assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws", headers={"Origin": settings.public_base_url})
    assert refused.value.status == 401
    ws = await client.ws_connect("/console/ws", headers={
        "Origin": settings.public_base_url, "Cookie": f"{COOKIE}={amina.cookie}"})
    await phone.send("vous êtes là ?")
    assert await ws.receive_json(timeout=5) == {"type": "changed", "id": conv_id}
    await amina.act(conv_id, "claim")
    assert await ws.receive_json(timeout=5) == {"type": "changed", "id": conv_id}
    await app[GATEWAY].forget(conv_id)  # her "erase everything"
    assert await ws.receive_json(timeout=5) == {"type": "erased", "id": conv_id}
    await amina.post("/console/api/logout")
    closed = await ws.receive(timeout=5)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await ws.close()


async def test_open_sockets_are_closed_when_the_gateway_stops(gateway_factory):
    client, settings, _, (amina,) = await console(gateway_factory, "amina")
    ws = await client.ws_connect("/console/ws", headers={
        "Origin": settings.public_base_url, "Cookie": f"{COOKIE}={amina.cookie}"})
    await client.server.runner.shutdown()
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await ws.close()


# -- the page and its data -----------------------------------------------------------------------
async def test_page_is_served_by_the_gateway_with_no_external_asset(gateway_factory):
    client, _, _, _ = await console(gateway_factory)
    resp = await client.get("/console")
    assert resp.status == 200 and resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    html = await resp.text()
    assert 'name="viewport"' in html
    for asset in ("/console/static/console.css", "/console/static/console.js"):
        assert asset in html
        assert (await client.get(asset)).status == 200
    static = ROOT / "bot" / "static" / "console"
    # Our own files; vendor/ holds the pinned chart library, checked by its checksum
    # (tests/test_programme.py): its comments name its website, it loads nothing.
    for path in (p for p in static.iterdir() if p.is_file()):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?:https?:)?//[\w-]+(?:\.[\w-]+)+", text), f"external URL in {path.name}"
        assert "<script>" not in text and " style=" not in text, "CSP forbids inline code and styles"
    js = (static / "console.js").read_text(encoding="utf-8")
    assert 'dir: "auto"' in js, "message bubbles take the direction of their own text"


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                    "Referrer-Policy", "Cache-Control", "Strict-Transport-Security")


async def test_every_console_response_carries_the_security_headers_errors_included(gateway_factory):
    client, settings, _, (amina,) = await console(gateway_factory, "amina")
    answers = {
        "page": await client.get("/console"),
        "redirect": await client.get("/console/", allow_redirects=False),
        "unknown page": await client.get("/console/nothing-here"),
        "unknown asset": await client.get("/console/static/missing.js"),
        "wrong method": await client.put("/console"),
        "api 404": await amina.get("/console/api/nothing"),
        "api 401": await client.get("/console/api/session"),
        "api 405": await client.get("/console/api/login"),
        "login refused": await client.post("/console/api/login", json={"username": "x", "password": "y"}),
    }
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    answers["websocket refused"] = refused.value
    for what, resp in answers.items():
        missing = [h for h in SECURITY_HEADERS if h not in resp.headers]
        assert not missing, (what, resp.status, missing)
        assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert answers["unknown page"].status == 404 and answers["wrong method"].status == 405
    assert "frame-ancestors 'none'" in answers["unknown asset"].headers["Content-Security-Policy"]
    webhook = await client.get("/healthz")
    assert "Content-Security-Policy" not in webhook.headers, "Twilio's side is not a page"
    assert "Strict-Transport-Security" not in (await client.get("/consoled")).headers


async def test_an_unexpected_failure_in_the_console_still_carries_the_headers(aiohttp_client, var_dir):
    from bot.app import init_app
    from tests.conftest import make_settings

    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    app = init_app(make_settings(var_dir))
    app.router.add_get("/console/broken", broken)
    resp = await (await aiohttp_client(app)).get("/console/broken")
    assert resp.status == 500
    assert not [h for h in SECURITY_HEADERS if h not in resp.headers]


async def test_no_hsts_when_the_public_url_is_plain_http(gateway_factory):
    client, _, _, _ = await console(gateway_factory, public_base_url="http://127.0.0.1:8080")
    resp = await client.get("/console")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in resp.headers


ALLOWED_NUMBERS = {"8350", "19", "112", "177", "15", "141", "103", "13", "2018", "24"}


def test_canned_replies_cover_the_four_varieties_with_sourced_numbers_only():
    replies = load_canned()
    keys = {r["key"] for r in replies}
    assert {"emergency_numbers", "nearest_centres", "legal_steps"} <= keys
    for reply in replies:
        assert set(reply["texts"]) == {"dar_ar", "dar_lat", "ar", "fr"}
        assert reply["label"]["fr"] and reply["label"]["ar"]
        for variety, text in reply["texts"].items():
            # Numbers standing alone (Arabizi writes letters with digits: "t9dri", "l3onf").
            numbers = set(re.findall(r"(?<!\w)\d+(?!\w)", text))
            assert numbers <= ALLOWED_NUMBERS, (reply["key"], variety, numbers - ALLOWED_NUMBERS)
            assert "8000" not in text  # the discontinued ministry line
    emergency = next(r for r in replies if r["key"] == "emergency_numbers")
    for text in emergency["texts"].values():
        assert all(n in text for n in ("19", "112", "177", "15", "141", "8350"))
    arabic = next(r for r in replies if r["key"] == "legal_steps")["texts"]["ar"]
    assert "103-13" in arabic and "e-blagh.ma" in arabic


async def test_canned_endpoint(gateway_factory):
    _, _, _, (amina,) = await console(gateway_factory, "amina")
    resp = await amina.get("/console/api/canned")
    assert resp.status == 200
    assert (await resp.json())["canned"] == load_canned()
