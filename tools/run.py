"""`make run`: migrate the schema, then start the action server, RASA_PROCESSES Rasa servers and
the gateway (and, in local mode, the Twilio stand-in); one Ctrl-C stops them all. A Rasa server
that dies, when there are several, is restarted (its conversations go to the others meanwhile);
any other child that dies is reported and the others stop."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

from bot.console.accounts import MIN_PASSWORD
from core.settings import ROOT, Settings

PY = sys.executable
FAKE_TWILIO_PORT = 8099
SCALED_DATABASE_URL = "postgresql://root@127.0.0.1:5432/test"
SCALED_REDIS_URL = "redis://127.0.0.1:6379/0"
MAX_RASA_RESTARTS = 5


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: Optional[subprocess.Popen] = None
    restarts: int = 0


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment shared by Rasa processes: no telemetry (no network here), quiet TF."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        LOG_LEVEL="INFO",
        LOG_LEVEL_LIBRARIES="WARNING",
        SANIC_HOST="127.0.0.1",
        PYTHONPATH=str(ROOT),
    )
    return env


def children(settings: Settings, model: Path, endpoints: str, rasa_port: int = 5005,
             actions_port: int = 5055, gateway_port: Optional[int] = None,
             log_suffix: str = "", rasa_processes: int = 1,
             gateway_rasa_url: Optional[str] = None) -> list[Child]:
    """The processes of one stack; `rasa_processes` Rasa servers on `rasa_port` and the next
    ports, all of which the gateway uses (or those of `gateway_rasa_url`)."""
    env = rasa_env(settings)
    env.update(ACTIONS_HOST="127.0.0.1", ACTIONS_PORT=str(actions_port))  # for endpoints.scaled.yml
    logs = settings.var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    gateway_env = dict(env)
    rasa_ports = [rasa_port + k for k in range(rasa_processes)]
    gateway_env.update(
        RASA_URL=gateway_rasa_url or ",".join(f"http://127.0.0.1:{p}" for p in rasa_ports),
        ACTIONS_URL=f"http://127.0.0.1:{actions_port}",
        GATEWAY_PORT=str(gateway_port or settings.gateway_port),
        SALAMA_SECRET=settings.salama_secret,
    )
    result = [
        Child("actions", [PY, "-m", "actions.server", "--actions", "actions",
                          "--port", str(actions_port),
                          "--log-file", str(logs / f"actions{log_suffix}.log")], env),
    ]
    for k, port in enumerate(rasa_ports):
        suffix = log_suffix + (f"-{k + 1}" if rasa_processes > 1 else "")
        result.append(Child(f"rasa{suffix}" if rasa_processes > 1 else "rasa", [
            PY, "-m", "rasa_ext.rasa_server", "run", "--model", str(model), "--enable-api",
            "--auth-token", settings.rasa_token, "--interface", "127.0.0.1",
            "--port", str(port), "--endpoints", endpoints, "--credentials", "credentials.yml",
            "--log-file", str(logs / f"rasa{suffix}.log")], env))
    result.append(Child("gateway", [PY, "-m", "bot.app"], gateway_env))
    if settings.local_mode:
        gateway_env.setdefault("TWILIO_API_BASE_URL", f"http://127.0.0.1:{FAKE_TWILIO_PORT}")
    return result


def first_port(url_setting: str, default: int) -> int:
    """The port of the first URL of a setting that may list several."""
    return urlsplit(url_setting.split(",")[0].strip()).port or default


def scaled_env(settings: Settings) -> dict[str, str]:
    """PostgreSQL and Redis coordinates for endpoints.scaled.yml, from DATABASE_URL/REDIS_URL."""
    db = urlsplit(settings.database_url or SCALED_DATABASE_URL)
    redis = urlsplit(settings.redis_url or SCALED_REDIS_URL)
    return {
        "DATABASE_URL": settings.database_url or SCALED_DATABASE_URL,
        "REDIS_URL": settings.redis_url or SCALED_REDIS_URL,
        "PGHOST": db.hostname or "127.0.0.1", "PGPORT": str(db.port or 5432),
        "PGDATABASE": db.path.lstrip("/") or "test", "PGUSER": db.username or "root",
        "PGPASSWORD": db.password or "",
        "REDIS_HOST": redis.hostname or "127.0.0.1", "REDIS_PORT": str(redis.port or 6379),
        "REDIS_DB": redis.path.lstrip("/") or "0",
    }


def migrate(env: dict[str, str], endpoints: str) -> bool:
    """Create or upgrade the schema (gateway store, Rasa's tracker table) before anything that
    uses it starts: processes started together would otherwise race to create it."""
    done = subprocess.run([PY, "-m", "bot.migrate", "--endpoints", endpoints], cwd=ROOT, env=env)
    if done.returncode:
        print("salama: the schema migration failed (above); nothing started", file=sys.stderr, flush=True)
    return done.returncode == 0


def start(kids: list[Child]) -> None:
    for kid in kids:
        # Each child leads its own process group so Ctrl-C reaches us once and we stop
        # them in order, instead of the terminal signalling all of them at once.
        kid.proc = subprocess.Popen(kid.argv, cwd=ROOT, env=kid.env, start_new_session=True)
        print(f"salama: started {kid.name} (pid {kid.proc.pid})", flush=True)


def restartable(kid: Child, kids: list[Child]) -> bool:
    """A Rasa server that has siblings: restart it (its conversations go to the others
    meanwhile), a few times; one that keeps dying (bad model, port taken) stops everything."""
    rasas = [k for k in kids if k.name.startswith("rasa")]
    return kid in rasas and len(rasas) > 1 and kid.restarts < MAX_RASA_RESTARTS


def stop(kids: list[Child], timeout: float = 15.0) -> None:
    for kid in reversed(kids):
        if kid.proc and kid.proc.poll() is None:
            kid.proc.send_signal(signal.SIGINT)
    deadline = time.time() + timeout
    for kid in kids:
        if kid.proc is None:
            continue
        try:
            kid.proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            kid.proc.kill()
            kid.proc.wait()
    print("salama: all stopped", flush=True)


def console_hint(settings: Settings, scaled: bool = False) -> str:
    """How to reach the console and get an account, printed once the gateway is up."""
    make = "make counsellor NAME=yourname"
    if scaled and settings.database_url == SCALED_DATABASE_URL:
        make += f" DATABASE_URL={SCALED_DATABASE_URL}"  # what run-scaled chose (no password in it)
    return (f"salama: counsellor console: {settings.public_base_url}/console (open exactly this "
            f"address). No account yet? In another terminal, with the same settings: {make} "
            f"(asks for a password, {MIN_PASSWORD} characters or more), then log in with it.")


def wait_healthy(url: str, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback only)
                if resp.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(1)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "salama.tar.gz"))
    parser.add_argument("--endpoints", default="endpoints.yml")
    parser.add_argument("--scaled", type=int, default=0, metavar="N",
                        help="N gateways, Rasa servers and action servers on PostgreSQL + Redis")
    args = parser.parse_args()
    settings = Settings.from_env()
    if args.scaled:
        os.environ.update(scaled_env(settings))
        settings = Settings.from_env()
        kids = []
        endpoints = "endpoints.scaled.yml"
        rasa_port = first_port(settings.rasa_url, 5005)
        actions_port = urlsplit(settings.actions_url).port or 5055
        # Every gateway knows every Rasa server: a conversation goes to the same one whichever
        # gateway Twilio calls.
        all_rasa = ",".join(f"http://127.0.0.1:{rasa_port + i}" for i in range(args.scaled))
        for i in range(args.scaled):
            group = children(settings, Path(args.model), endpoints, rasa_port=rasa_port + i,
                             actions_port=actions_port + i, gateway_port=settings.gateway_port + i,
                             log_suffix=f"-{i + 1}", gateway_rasa_url=all_rasa)
            for kid in group:
                kid.name += f"-{i + 1}"
            kids.extend(group)
    else:
        endpoints = args.endpoints
        kids = children(settings, Path(args.model), endpoints,
                        rasa_port=first_port(settings.rasa_url, 5005),
                        actions_port=urlsplit(settings.actions_url).port or 5055,
                        rasa_processes=settings.rasa_processes)
    if settings.local_mode:
        env = dict(kids[-1].env)
        port = urlsplit(env["TWILIO_API_BASE_URL"]).port or FAKE_TWILIO_PORT
        kids.insert(0, Child("twilio-local", [PY, "-m", "tools.fake_twilio", "--echo",
                                              "--port", str(port)], env))
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    if not migrate(next(k for k in kids if k.name.startswith("rasa")).env, endpoints):
        return 1
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    start(kids)
    health = f"http://127.0.0.1:{settings.gateway_port}/healthz"
    announced = False
    status = 0
    while not stopping:
        dead = [k for k in kids if k.proc and k.proc.poll() is not None]
        for kid in [k for k in dead if restartable(k, kids)]:
            code = kid.proc.returncode if kid.proc else None
            print(f"salama: {kid.name} exited with status {code}; restarting it "
                  "(its conversations go to the other Rasa servers meanwhile)", file=sys.stderr, flush=True)
            kid.restarts += 1
            start([kid])
            dead.remove(kid)
        if dead:
            for kid in dead:
                code = kid.proc.returncode if kid.proc else None
                print(f"salama: {kid.name} exited with status {code}; stopping the others",
                      file=sys.stderr, flush=True)
            status = 1
            break
        if not announced and wait_healthy(health, 0.5):
            announced = True
            print(f"salama: ready. Webhook: {settings.public_base_url}/twilio/messages  "
                  f"Health: {health}  Chat: make shell", flush=True)
            print(console_hint(settings, scaled=bool(args.scaled)), flush=True)
        time.sleep(0.5)
    stop(kids)
    return status


if __name__ == "__main__":
    sys.exit(main())
