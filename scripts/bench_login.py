"""Login storm benchmark: her webhook's latency while counsellor logins fail, and the time of
each kind of failed login.

    .venv/bin/python scripts/bench_login.py                    # this tree
    .venv/bin/python scripts/bench_login.py --tree /tmp/before # another checkout (before/after)
    .venv/bin/python scripts/bench_login.py --addresses 80     # the storm from 80 addresses
    .venv/bin/python scripts/bench_login.py --rasa --rate 10   # with Rasa and the action server

Starts the gateway of --tree (`python -m bot.app`, local mode, SQLite in a temporary var dir,
Rasa down so that every webhook gets the static reply without waiting for a model), creates a
counsellor with that tree's `python -m bot.console add-counsellor`; with --rasa, the gateway
talks to this tree's Rasa server (models/salama.tar.gz) and action server instead; then:
1. her webhook alone: signed webhooks at --rate a second (one new sender each) for 5 s;
2. the same, with --logins failed logins (a guessed name each, as when names are enumerated)
   sent in the first 2 s, from --addresses addresses (X-Forwarded-For; a tree that ignores it
   sees one address);
3. the answer and time of failed logins of each kind: an unknown name and a wrong password
   (each from a fresh address), then the real name and an unknown name after six failures
   from one address (what the old code answered "locked" for real names only).
Prints latency p50/p95/max of the webhook in each phase and the logins' answers by status.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import Request, urlopen

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from core.settings import Settings  # noqa: E402
from tools.run import Child, children, start, stop  # noqa: E402

MODEL = ROOT / "models" / "salama.tar.gz"

PASSWORD = "bench password 0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"n={len(ms)} p50 {percentile(ms, 0.5):.1f} ms  p95 {percentile(ms, 0.95):.1f} ms  "
            f"max {max(ms):.1f} ms")


class Webhooks:
    """Signed webhooks, one new sender each (no per-sender rate limit, no shared lock)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session, self.base, self.validator = session, base, RequestValidator(token)
        self.n = 0

    async def one(self) -> float:
        self.n += 1
        params = {"From": f"+2126{self.n:08d}", "To": "+212500000000", "Body": "salam",
                  "MessageSid": f"SM{secrets.token_hex(16)}", "NumMedia": "0"}
        url = self.base + "/twilio/messages"
        sig = self.validator.compute_signature(url, params)
        start = time.perf_counter()
        async with self.session.post(url, data=params, headers={"X-Twilio-Signature": sig}) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        return time.perf_counter() - start

    async def stream(self, rate: float, seconds: float) -> list[float]:
        tasks, start = [], time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(self.one()))
        return list(await asyncio.gather(*tasks))


async def login(session: aiohttp.ClientSession, base: str, name: str, password: str,
                address: str) -> tuple[int, float]:
    start = time.perf_counter()
    async with session.post(base + "/console/api/login", json={"username": name, "password": password},
                            headers={"X-Forwarded-For": address}) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - start


async def storm(session: aiohttp.ClientSession, base: str, count: int, addresses: int) -> list[tuple[int, float]]:
    tasks = []
    for i in range(count):
        await asyncio.sleep(2.0 / count)
        tasks.append(asyncio.create_task(
            login(session, base, f"guess{i}", "wrong password", f"198.51.100.{i % addresses + 1}")))
    return list(await asyncio.gather(*tasks))


async def bench(base: str, token: str, args: argparse.Namespace) -> None:
    async with aiohttp.ClientSession() as session:
        hooks = Webhooks(session, base, token)
        await hooks.stream(args.rate, 1)  # warm up
        print("webhook alone:        ", summary(await hooks.stream(args.rate, 5)))
        during, logins = await asyncio.gather(hooks.stream(args.rate, 5), storm(session, base, args.logins,
                                                                                args.addresses))
        print(f"webhook, {args.logins} failed logins in 2 s from {args.addresses} address(es):", summary(during))
        statuses: dict[int, list[float]] = {}
        for status, took in logins:
            statuses.setdefault(status, []).append(took)
        for status, times in sorted(statuses.items()):
            print(f"  login answers {status}: {summary(times)}")
        await asyncio.sleep(3)
        kinds: dict[str, list[tuple[int, float]]] = {
            "unknown name": [], "wrong password": [],
            "real name after 6 failures": [], "unknown name after 6 failures": []}
        for i in range(5):
            kinds["unknown name"].append(await login(session, base, f"nobody{i}", "x", f"203.0.113.{i}"))
            kinds["wrong password"].append(await login(session, base, "bench", "x", f"203.0.113.{50 + i}"))
        for kind, name, address in (("real name after 6 failures", "bench", "203.0.113.200"),
                                    ("unknown name after 6 failures", "nobody", "203.0.113.201")):
            for _ in range(6):
                await login(session, base, name, "x", address)
            for _ in range(3):
                kinds[kind].append(await login(session, base, name, "x", address))
        for kind, answers in kinds.items():
            print(f"failed login, {kind}: status {sorted({s for s, _ in answers})}, "
                  f"median {statistics.median(t for _, t in answers) * 1000:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose gateway runs")
    parser.add_argument("--rate", type=float, default=20.0, help="webhooks a second")
    parser.add_argument("--logins", type=int, default=80)
    parser.add_argument("--addresses", type=int, default=1)
    parser.add_argument("--rasa", action="store_true", help="real Rasa and action server (needs make train)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        port = free_port()
        rasa_port, actions_port = free_port(), free_port()  # nothing listens unless --rasa
        env = dict(os.environ, SALAMA_LOCAL_MODE="1", SALAMA_VAR_DIR=var, GATEWAY_PORT=str(port),
                   PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(args.tree),
                   SALAMA_SECRET=secrets.token_urlsafe(24), RATE_LIMIT_PER_MINUTE="1000",
                   RASA_URL=f"http://127.0.0.1:{rasa_port}", ACTIONS_URL=f"http://127.0.0.1:{actions_port}",
                   TWILIO_API_BASE_URL=f"http://127.0.0.1:{free_port()}",
                   RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1")
        for name in ("DATABASE_URL", "REDIS_URL", "TWILIO_AUTH_TOKEN"):
            env.pop(name, None)
        endpoints = Path(var) / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
            f'tracker_store:\n  type: rasa_ext.tracker_store.EncryptedSQLTrackerStore\n  dialect: "sqlite"\n'
            f'  db: "{Path(var) / "tracker.db"}"\nlock_store:\n  type: in_memory\n')
        if (args.tree / "bot" / "migrate.py").exists():  # trees with migrations make the schema first
            subprocess.run([sys.executable, "-m", "bot.migrate", "--endpoints", str(endpoints)], cwd=args.tree,
                           env=env, check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "bot.console", "add-counsellor", "bench"], cwd=args.tree, env=env,
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        kids = rasa_stack(env, Path(var), endpoints, rasa_port, actions_port) if args.rasa else []
        gateway = subprocess.Popen([sys.executable, "-m", "bot.app"], cwd=args.tree, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    with urlopen(base + "/console", timeout=2):  # noqa: S310 (loopback)
                        break
                except (URLError, OSError):
                    time.sleep(0.5)
            asyncio.run(bench(base, Settings.from_env(env).twilio_auth_token, args))
        finally:
            gateway.terminate()
            gateway.wait(30)
            stop(kids)
    return 0


def rasa_stack(env: dict[str, str], var: Path, endpoints: Path, rasa_port: int, actions_port: int) -> list[Child]:
    """This tree's action server and Rasa (the tracker store of `endpoints`, in `var`) on the
    ports the gateway's RASA_URL and ACTIONS_URL name, once Rasa answers with a model."""
    if not MODEL.exists():
        raise SystemExit("--rasa needs the trained model: make train")
    kids = [k for k in children(Settings.from_env(env), MODEL, str(endpoints), rasa_port=rasa_port,
                                actions_port=actions_port, log_suffix="-bench") if k.name in ("actions", "rasa")]
    for kid in kids:
        kid.env = dict(kid.env, SALAMA_VAR_DIR=str(var), SALAMA_SECRET=env["SALAMA_SECRET"], PYTHONPATH=str(ROOT))
    start(kids)
    req = Request(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", method="POST",
                  data=b'{"sender": "warmup", "message": "salam"}', headers={"Content-Type": "application/json"})
    for _ in range(300):  # the server answers before its model is loaded: wait for a real answer
        try:
            with urlopen(req, timeout=30) as resp:  # noqa: S310 (loopback)
                if json.loads(resp.read()):
                    return kids
        except (URLError, OSError):
            pass
        time.sleep(1)
    stop(kids)
    raise SystemExit("Rasa did not answer with a model")


if __name__ == "__main__":
    sys.exit(main())
