"""Load benchmark: Twilio-signed webhooks through the gateway, then Rasa's REST channel directly.

    .venv/bin/python scripts/bench_load.py                 # rates 5,10,20,30 msg/s, 20 s each
    .venv/bin/python scripts/bench_load.py --quick         # rates 5,20, 5 s each
    .venv/bin/python scripts/bench_load.py --soak 600      # 10 minutes at --rate (default 10)
    .venv/bin/python scripts/bench_load.py --scaled        # then the scaled configuration too

Starts its own stack on free loopback ports in a temporary var dir (action server,
RASA_PROCESSES Rasa servers (--rasa N) with an encrypted SQLite tracker store and the in-memory
lock store, the gateway in local mode with REPLY_BUDGET_S=8, and the local Twilio stand-in for
late answers), waits until every Rasa server answers with a model, and stops everything at the
end, also on Ctrl-C or an error. With --scaled it then does the same with the scaled
configuration (`make run-scaled`: two gateways, two Rasa servers, two action servers, a new
PostgreSQL database dropped at the end, Redis) and prints both stacks side by side.

The load comes from a separate process (this script with --client-config), one per phase:
open loop (request i is sent at start + i/rate whatever the answers, unless the in-flight cap
is reached, in which case it is skipped and counted), aiohttp with one connection pool,
realistic conversations of 3-4 messages in the four varieties, from up to --senders senders at
a time (fewer in a short phase, so that conversations play to their end; a sender who finishes
hers comes back as a new number), every MessageSid unique.

Each rate runs through the gateway and then, at once, against Rasa's REST channel directly
(POST /webhooks/rest/webhook with sender, message and the metadata the gateway would pass),
so the gateway's overhead is a ratio measured under the same conditions.

Printed per rate: target, sent and answered messages/s, latency p50/p95/p99/max from request
to the whole answer (TwiML or JSON), the errors by kind (HTTP status other than 200, client
errors and timeouts, the gateway's static fallback, rate-limited answers, skipped sends), the
peak RSS of gateway, Rasa and action server (VmRSS of each process tree, sampled every
second), their CPU use and the machine's other load. Then the ratio gateway / direct for
p50 and p95 at each rate, and (--serial N, default 300) the same comparison one request at a
time, without queueing; and (--long TURNS, default 100) long conversations through the gateway,
one alone then --long-parallel at once: latency and CPU per turn of turns 1-10 against the last
10. With --soak: RSS each minute and its growth over the soak.
Percentiles are interpolated between ranks; no means are reported.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional
from urllib.error import URLError
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL = ROOT / "models" / "salama.tar.gz"
REPLY_BUDGET_S = "8"  # the gateway's default budget, set explicitly so no shell setting leaks in
SERVER_NAMES = ("gateway", "rasa", "actions")
START_TIMEOUT_S = 300

# -- the messages ------------------------------------------------------------------------
# Varieties: Darija in Latin script, Darija in Arabic script, Arabic (MSA), French.
MESSAGES: dict[str, dict[str, list[str]]] = {
    "dar_lat": {
        "greet": ["salam", "salam 3alikom", "slm labas", "salam khti"],
        "disclose": ["rajli kaydrebni", "zawji kaydrebni w kaysebni", "rajli kay3ayerni kol nhar",
                     "rajel dyali kaydrebni mli kaykon sakran"],
        "shelter_town": ["fin n9der nbat lyouma f casa", "ma3ndich fin nmchi, ana f rbat",
                         "kayn chi markaz dyal nsa f fes?", "bghit blasa nbat fiha f marrakech"],
        "shelter": ["fin n9der nmchi", "ma3ndich fin nbat", "tlo7ni mn dar, fin nmchi"],
        "town": ["casa", "ana f tanja", "f agadir", "meknes"],
        "rights": ["kifach ndir chikaya 3la rajli", "chno kay9ol 9anon 103-13",
                   "wach n9der nmchi l bolis ola l m7kama"],
        "thanks": ["chokran bzaf", "merci 3la lmosa3ada", "chokran khti"],
    },
    "dar_ar": {
        "greet": ["السلام عليكم", "سلام لالة", "سلام عليكوم"],
        "disclose": ["راجلي كيضربني", "راجلي كيسبني قدام الولاد", "الراجل ديالي كيعنفني ديما"],
        "shelter_town": ["فين نقدر نبات الليلة فكازا", "ماعنديش فين نمشي، انا فمراكش",
                         "واش كاين شي مركز ديال النسا فطنجة"],
        "shelter": ["فين نمشي", "ماعنديش فين نبات", "طردني من الدار، فين نمشي"],
        "town": ["فاس", "انا فالرباط", "كازا"],
        "rights": ["كيفاش ندير شكاية على راجلي", "شنو كيقول القانون 103.13",
                   "واش نمشي للبوليس ولا للمحكمة"],
        "thanks": ["شكرا بزاف", "الله يجازيك بخير", "شكرا ليك"],
    },
    "ar": {
        "greet": ["السلام عليكم ورحمة الله", "مرحبا", "السلام عليكم"],
        "disclose": ["زوجي يضربني منذ سنوات", "زوجي يهينني أمام أطفالي", "زوجي يضربني كل يوم"],
        "shelter_town": ["أين يمكنني أن أبيت الليلة في الدار البيضاء",
                         "ليس لدي مكان أذهب إليه، أنا في طنجة", "هل يوجد مركز لإيواء النساء في مكناس"],
        "shelter": ["أين يمكنني أن أذهب", "ليس لدي مكان أبيت فيه", "طردني زوجي من البيت"],
        "town": ["مكناس", "أنا في أكادير", "الرباط"],
        "rights": ["كيف أقدم شكاية ضد زوجي", "ماذا يقول القانون 103.13", "ما هي حقوقي إذا طلبت الطلاق"],
        "thanks": ["شكرا جزيلا", "شكرا لك", "شكرا على المساعدة"],
    },
    "fr": {
        "greet": ["bonjour", "salut", "bonsoir madame"],
        "disclose": ["mon mari me frappe", "mon mari m'insulte devant les enfants",
                     "il me bat depuis des années"],
        "shelter_town": ["où je peux dormir ce soir à Casablanca", "je n'ai nulle part où aller, je suis à Rabat",
                         "il y a un centre d'accueil pour femmes à Oujda ?"],
        "shelter": ["où est-ce que je peux aller", "je n'ai nulle part où dormir", "il m'a mise dehors"],
        "town": ["Marrakech", "je suis à Fès", "Tanger"],
        "rights": ["comment porter plainte contre mon mari", "que dit la loi 103-13",
                   "est-ce que je dois aller à la police ou au tribunal"],
        "thanks": ["merci beaucoup", "merci pour votre aide", "merci"],
    },
}
# Conversations: a few messages each; none says "yes" to a counsellor (a handoff would stop
# the bot answering, and so change the work per message).
SCRIPTS = [
    ["greet", "disclose", "shelter_town", "thanks"],
    ["greet", "rights", "thanks"],
    ["disclose", "shelter", "town", "thanks"],
    ["greet", "shelter_town", "rights", "thanks"],
    ["disclose", "rights", "thanks"],
]
# One long conversation: these messages over and over (none asks for a counsellor or to erase).
# Ten of them, so that turns 1-10 and 91-100 hold the same messages (with eight, the last
# window asked for a shelter three times and the first twice).
LONG_SCRIPT = ["salam", "rajli kaydrebni", "fin n9der nbat lyouma f casa", "kifach ndir chikaya 3la rajli",
               "chokran bzaf", "mon mari me frappe", "où je peux dormir ce soir à Casablanca", "merci",
               "wach had lmessagat kay9rahom chi 7ed?", "شنو هو العنف الاقتصادي"]
VARIETY_WEIGHTS = {"dar_lat": 0.4, "dar_ar": 0.3, "ar": 0.15, "fr": 0.15}


def plan_messages(n: int, senders: int, phase: int, seed: int) -> list[dict[str, str]]:
    """n messages, message i from sender slot i % senders; each slot plays one conversation
    after another, each with a new number. Deterministic for a given seed and phase."""
    rng = random.Random(seed * 1000 + phase)
    slots: list[dict[str, Any]] = [{"gen": 0, "pos": 0, "script": None, "variety": None} for _ in range(senders)]
    out = []
    for i in range(n):
        s = i % senders
        slot = slots[s]
        if slot["script"] is None or slot["pos"] >= len(slot["script"]):
            if slot["script"] is not None:
                slot["gen"] += 1
            slot["script"] = rng.choice(SCRIPTS)
            slot["variety"] = rng.choices(list(VARIETY_WEIGHTS), weights=list(VARIETY_WEIGHTS.values()))[0]
            slot["pos"] = 0
        kind = slot["script"][slot["pos"]]
        slot["pos"] += 1
        number = f"+2126{phase % 100:02d}{s % 1000:03d}{slot['gen'] % 1000:03d}"
        channel = "sms" if s % 4 == 3 else "whatsapp"
        out.append({
            "address": number if channel == "sms" else f"whatsapp:{number}",
            "channel": channel,
            "variety": slot["variety"],
            "body": rng.choice(MESSAGES[slot["variety"]][kind]),
            "direct_sender": f"bench-p{phase}-s{s}-g{slot['gen']}",
        })
    return out


# -- small helpers -------------------------------------------------------------------------
def pct(values: list[float], p: float) -> Optional[float]:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    f = math.floor(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fmt(v: Optional[float], digits: int = 0) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


# ====================================================================================
# The client (a separate process, one per phase)
# ====================================================================================
def client_main(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text())
    try:
        result = asyncio.run(run_phase(cfg))
    except KeyboardInterrupt:
        return 130
    ru = resource.getrusage(resource.RUSAGE_SELF)
    result["client_cpu_s"] = ru.ru_utime + ru.ru_stime
    Path(cfg["result_path"]).write_text(json.dumps(result))
    return 0


async def run_phase(cfg: dict[str, Any]) -> dict[str, Any]:
    from xml.etree import ElementTree

    import aiohttp
    import yaml
    from twilio.request_validator import RequestValidator

    from core.language import detect

    kind, rate, duration = cfg["kind"], float(cfg["rate"]), float(cfg["duration"])
    n_total = max(1, int(round(rate * duration)))
    # As many senders as let each play whole conversations (about 4 messages) within the
    # phase, but enough that none sends more than 15 messages a minute (the gateway's limit
    # is 20), and at most --senders at a time.
    senders = max(1, min(cfg["senders"], max(math.ceil(rate * 60 / 15), n_total // 4)))
    plan = plan_messages(n_total, senders, cfg["phase"], cfg["seed"])
    texts = yaml.safe_load((ROOT / "data" / "texts" / "gateway.yml").read_text(encoding="utf-8"))
    fallbacks = {t.strip() for t in texts["static_fallback"].values()}
    rate_limited = {t.strip() for t in texts["rate_limited"].values()}

    # Everything is prepared before the clock starts: bodies, signatures, JSON.
    requests: list[tuple[str, Any, dict[str, str]]] = []
    if kind == "gateway":
        validator = RequestValidator(cfg["auth_token"])
        signed_url = cfg["public_base_url"].rstrip("/") + "/twilio/messages"
        urls = [u + "/twilio/messages" for u in cfg["gateway_urls"]]
        for i, m in enumerate(plan):
            url = urls[i % len(urls)]  # several gateways: taken in turn, as a load balancer would
            params = {"From": m["address"], "To": "whatsapp:+212500000000" if m["channel"] == "whatsapp"
                      else "+212500000000", "Body": m["body"], "NumMedia": "0",
                      "MessageSid": f"SM{cfg['phase']:04d}{i:06d}{secrets.token_hex(11)}"}
            headers = {"X-Twilio-Signature": validator.compute_signature(signed_url, params)}
            requests.append((url, params, headers))
    else:
        url = cfg["rasa_url"] + "/webhooks/rest/webhook"
        for m in plan:
            # The same metadata the gateway passes (channel, detected variety): same work in Rasa.
            body = {"sender": m["direct_sender"], "message": m["body"],
                    "metadata": {"channel": m["channel"], "language": detect(m["body"])}}
            requests.append((url, body, {}))

    res: dict[str, Any] = {"kind": kind, "rate": rate, "duration": duration, "planned": n_total,
                           "senders": senders, "numbers": len({m["address"] for m in plan}),
                           "sent": 0, "skipped": 0, "ok": 0, "non200": 0, "client_errors": 0,
                           "fallback": 0, "rate_limited": 0, "empty": 0, "latencies_ms": [],
                           "ok_latencies_ms": [], "max_send_lag_ms": 0.0, "error_kinds": {}}
    inflight = 0
    timeout = aiohttp.ClientTimeout(total=cfg["timeout"])
    connector = aiohttp.TCPConnector(limit=cfg["max_inflight"], limit_per_host=cfg["max_inflight"])
    last_done = [0.0]

    async def one(session: aiohttp.ClientSession, req: tuple[str, Any, dict[str, str]]) -> None:
        nonlocal inflight
        url_, payload, headers = req
        t0 = time.perf_counter()
        try:
            if kind == "gateway":
                ctx = session.post(url_, data=payload, headers=headers)
            else:
                ctx = session.post(url_, json=payload)
            async with ctx as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            res["client_errors"] += 1
            name = type(exc).__name__
            res["error_kinds"][name] = res["error_kinds"].get(name, 0) + 1
            return
        finally:
            inflight -= 1
            last_done[0] = time.perf_counter()
        ms = (time.perf_counter() - t0) * 1000
        res["latencies_ms"].append(ms)
        if status != 200:
            res["non200"] += 1
            key = f"HTTP {status}"
            res["error_kinds"][key] = res["error_kinds"].get(key, 0) + 1
            return
        if kind == "gateway":
            try:
                answers = [(m.text or "").strip() for m in ElementTree.fromstring(text).iter("Message")]
            except ElementTree.ParseError:
                res["non200"] += 1
                res["error_kinds"]["bad TwiML"] = res["error_kinds"].get("bad TwiML", 0) + 1
                return
            if any("8350" in a and a in fallbacks for a in answers):
                res["fallback"] += 1
                return
            if any(a in rate_limited for a in answers):
                res["rate_limited"] += 1
                return
        else:
            try:
                answers = json.loads(text)
            except ValueError:
                answers = []
        if not answers:
            res["empty"] += 1
            return
        res["ok"] += 1
        res["ok_latencies_ms"].append(ms)

    tasks: set[asyncio.Task] = set()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        first_send = time.perf_counter() + 0.2
        hard_stop = start + duration + 5  # the schedule never runs past this
        for i, req in enumerate(requests):  # bounded by count...
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            if now > hard_stop:  # ...and by time
                res["skipped"] += len(requests) - i
                break
            if inflight >= cfg["max_inflight"]:
                res["skipped"] += 1
                continue
            res["max_send_lag_ms"] = max(res["max_send_lag_ms"], (now - due) * 1000)
            inflight += 1
            res["sent"] += 1
            task = asyncio.create_task(one(session, req))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        schedule_end = time.perf_counter()
        if tasks:
            _done, pending = await asyncio.wait(set(tasks), timeout=cfg["timeout"] + 5)
            for task in pending:
                task.cancel()
                res["client_errors"] += 1
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
    res["first_send"] = first_send
    res["schedule_s"] = schedule_end - first_send
    res["wall_s"] = max(duration, (last_done[0] or schedule_end) - first_send)
    return res


# ====================================================================================
# The stack and the measurements (the main process)
# ====================================================================================
def _proc_children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo and len(out) < 1000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def cpu_ns(pids: list[int]) -> int:
    """CPU time (ns) of every thread of these processes and their children (schedstat: exact,
    where /proc/PID/stat counts 10 ms ticks, too coarse for one turn)."""
    kids = _proc_children()
    total = 0
    for pid in (p for root in pids for p in _tree(root, kids)):
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def _machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts[:8]), idle


TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


class Sampler(threading.Thread):
    """Every second: VmRSS of each server's process tree, tagged with the current phase."""

    def __init__(self, pids: dict[str, list[int]], max_seconds: float) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.phase = "start"
        self.samples: list[tuple[float, str, dict[str, int]]] = []
        self._stop = threading.Event()
        self._deadline = time.time() + max_seconds

    def sample(self) -> dict[str, int]:
        kids = _proc_children()
        return {name: sum(_rss_kb(p) for pid in pids for p in _tree(pid, kids))
                for name, pids in self.pids.items()}

    def run(self) -> None:
        while not self._stop.is_set() and time.time() < self._deadline:
            self.samples.append((time.time(), self.phase, self.sample()))
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()

    def peak_mb(self, phase: str) -> dict[str, float]:
        rows = [s for _, ph, s in self.samples if ph == phase]
        return {n: max((r.get(n, 0) for r in rows), default=0) / 1024 for n in self.pids}


def cpu_snapshot(pids: dict[str, list[int]]) -> dict[str, Any]:
    kids = _proc_children()
    total, idle = _machine_ticks()
    return {"t": time.time(), "machine": (total, idle),
            "procs": {n: sum(_cpu_ticks(p) for pid in ps for p in _tree(pid, kids)) for n, ps in pids.items()},
            "load": open("/proc/loadavg").read().split()[0]}


def cpu_usage(a: dict[str, Any], b: dict[str, Any], client_cpu_s: float) -> dict[str, float]:
    wall = max(1e-6, b["t"] - a["t"])
    out = {n: 100 * (b["procs"][n] - a["procs"][n]) / TICK / wall for n in a["procs"]}
    dt, di = b["machine"][0] - a["machine"][0], b["machine"][1] - a["machine"][1]
    machine = 100 * NCPU * (dt - di) / dt if dt else 0.0
    client = 100 * client_cpu_s / wall
    out["client"] = client
    out["machine"] = machine
    out["others"] = max(0.0, machine - sum(out[n] for n in a["procs"]) - client)
    out["wall_s"] = wall
    return out


def cpu_ms_per_message(res: dict[str, Any], name: str) -> Optional[float]:
    """CPU time of one process per message sent in the phase (meaningful when the phase
    answered everything it sent: no backlog carried into the next phase)."""
    if not res["sent"]:
        return None
    return res["cpu"][name] / 100 * res["cpu"]["wall_s"] * 1000 / res["sent"]


SCALED = 2  # `make run-scaled`: two of each process
SCALED_ADMIN_URL = "postgresql://root@127.0.0.1:5432/test"
SCALED_REDIS = "redis://127.0.0.1:6379/0"


def new_postgres_database() -> str:
    """An empty database on the local PostgreSQL server (as `make run-scaled` expects)."""
    import sqlalchemy as sa

    name = f"salama_bench_{secrets.token_hex(6)}"
    admin = sa.create_engine(SCALED_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return SCALED_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(SCALED_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


class Bench:
    def __init__(self, args: argparse.Namespace, scaled: bool = False) -> None:
        self.args = args
        # Scaled: two gateways, two Rasa servers and two action servers (`make run-scaled`),
        # on a new PostgreSQL database (dropped at the end) and Redis.
        self.scaled = scaled
        self.database_url = ""
        self.var_dir = Path(tempfile.mkdtemp(prefix="salama-bench-"))
        self.kids: list[Any] = []
        self.client: Optional[subprocess.Popen] = None
        self.sampler: Optional[Sampler] = None
        self.phase_no = 0
        self.ports = {n: free_port() for n in ("rasa", "actions", "gateway", "twilio")}
        # Rasa servers on consecutive ports (as `make run` starts them); the first one is the
        # "single Rasa" of the direct runs.
        n = SCALED if scaled else args.rasa
        for name in ("rasa", "actions", "gateway") if scaled else ("rasa",):
            while n > 1 and not all(port_free(self.ports[name] + k) for k in range(n)):
                self.ports[name] = free_port()
        self.rasa_urls = [f"http://127.0.0.1:{self.ports['rasa'] + k}" for k in range(n)]
        self.gateway_urls = [f"http://127.0.0.1:{self.ports['gateway'] + k}"
                             for k in range(SCALED if scaled else 1)]
        self.gateway_url = self.gateway_urls[0]
        self.rasa_url = f"http://127.0.0.1:{self.ports['rasa']}"
        self.actions_url = f"http://127.0.0.1:{self.ports['actions']}"
        self.twilio_url = f"http://127.0.0.1:{self.ports['twilio']}"

    # -- the stack ---------------------------------------------------------------------
    def start_stack(self) -> None:
        from dataclasses import fields

        from core.settings import Settings
        from tools.run import Child, children

        env = dict(os.environ)
        # Nothing of the caller's configuration may point the stack at real services.
        for f in fields(Settings):
            env.pop(f.name.upper(), None)
        for name in ("SALAMA_OLD_SECRETS", "DATABASE_URL", "REDIS_URL", "TWILIO_AUTH_TOKEN"):
            env.pop(name, None)
        env.update(
            SALAMA_SECRET=secrets.token_urlsafe(32),
            SALAMA_VAR_DIR=str(self.var_dir),
            SALAMA_LOCAL_MODE="1",
            PUBLIC_BASE_URL=self.gateway_url,
            TWILIO_API_BASE_URL=self.twilio_url,
            REPLY_BUDGET_S=REPLY_BUDGET_S,
            # The long conversations write faster than a person (the gateway's limit is 20 a
            # minute); the other phases stay under 15 a minute per sender anyway.
            RATE_LIMIT_PER_MINUTE="100000",
            RASA_TELEMETRY_ENABLED="false",
            PYTHONPATH=str(ROOT),
        )
        if self.scaled:
            from tools.run import scaled_env
            self.database_url = new_postgres_database()
            env.update(DATABASE_URL=self.database_url, REDIS_URL=SCALED_REDIS)
            env.update(scaled_env(Settings.from_env(env)))
        self.settings = Settings.from_env(env)
        endpoints = ROOT / "endpoints.scaled.yml" if self.scaled else self.var_dir / "endpoints.yml"
        if not self.scaled:
            endpoints.write_text(
                f'action_endpoint:\n  url: "{self.actions_url}/webhook"\n'
                "tracker_store:\n  type: rasa_ext.tracker_store.EncryptedSQLTrackerStore\n  dialect: \"sqlite\"\n"
                f'  db: "{self.var_dir / "tracker.db"}"\n'
                "lock_store:\n  type: in_memory\n"
            )
        saved = dict(os.environ)
        try:  # children() copies os.environ into each child's environment
            os.environ.clear()
            os.environ.update(env)
            if self.scaled:
                kids = []
                for i in range(SCALED):
                    group = children(self.settings, self.args.model, str(endpoints),
                                     rasa_port=self.ports["rasa"] + i, actions_port=self.ports["actions"] + i,
                                     gateway_port=self.ports["gateway"] + i, log_suffix=f"-bench-{i + 1}",
                                     gateway_rasa_url=",".join(self.rasa_urls))
                    for kid in group:
                        kid.name += f"-{i + 1}"
                    kids.extend(group)
            else:
                kids = children(self.settings, self.args.model, str(endpoints), rasa_port=self.ports["rasa"],
                                actions_port=self.ports["actions"], gateway_port=self.ports["gateway"],
                                log_suffix="-bench", rasa_processes=self.args.rasa,
                                gateway_rasa_url=",".join(self.rasa_urls))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        kids = [k for k in kids if k.name.split("-")[0] in SERVER_NAMES]
        for kid in kids:
            kid.env = dict(kid.env, **{k: env[k] for k in ("SALAMA_SECRET", "SALAMA_VAR_DIR",
                                                          "SALAMA_LOCAL_MODE", "PUBLIC_BASE_URL",
                                                          "TWILIO_API_BASE_URL", "REPLY_BUDGET_S",
                                                          "RATE_LIMIT_PER_MINUTE")
                                   if k in env})
        kids.insert(0, Child("twilio-local", [sys.executable, "-m", "tools.fake_twilio",
                                              "--port", str(self.ports["twilio"])], dict(env)))
        self.kids = kids
        from tools.run import migrate
        if not migrate(dict(next(k for k in kids if k.name.startswith("rasa")).env,
                            **({"DATABASE_URL": self.database_url} if self.scaled else {})), str(endpoints)):
            raise RuntimeError("the schema migration failed")
        logs = self.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for kid in kids:
            out = open(logs / f"{kid.name}.out", "wb")
            kid.proc = subprocess.Popen(kid.argv, cwd=ROOT, env=kid.env, start_new_session=True,
                                        stdout=out, stderr=subprocess.STDOUT)
            out.close()
        print(f"stack: var dir {self.var_dir}; " + ", ".join(
            f"{k.name} pid {k.proc.pid}" for k in kids), flush=True)

    def server_pids(self) -> dict[str, list[int]]:
        """The servers' pids by role; "rasa" is every Rasa server."""
        out: dict[str, list[int]] = {n: [] for n in SERVER_NAMES}
        for kid in self.kids:
            role = kid.name.split("-")[0]
            if role in out:
                out[role].append(kid.proc.pid)
        return out

    def check_alive(self) -> None:
        for kid in self.kids:
            if kid.proc and kid.proc.poll() is not None:
                raise RuntimeError(f"{kid.name} exited with status {kid.proc.returncode}; "
                                   f"see {self.var_dir / 'logs'}")

    def wait_ready(self) -> float:
        started = time.time()
        deadline = started + START_TIMEOUT_S
        for url in (f"{self.twilio_url}/_fake/messages", f"{self.actions_url}/health",
                    *(f"{u}/" for u in self.rasa_urls)):  # (the first action server stands for all)
            while True:
                self.check_alive()
                try:
                    with urlopen(url, timeout=2):  # noqa: S310 (loopback)
                        break
                except (URLError, OSError):
                    if time.time() > deadline:
                        raise RuntimeError(f"{url} did not come up in {START_TIMEOUT_S} s")
                    time.sleep(0.5)
        # Rasa answers before its model is loaded: wait for a real answer from each server.
        for url in self.rasa_urls:
            while True:
                self.check_alive()
                if self.probe_rasa("bench-warmup", url) is not None:
                    break
                if time.time() > deadline:
                    raise RuntimeError("Rasa did not answer with a model")
                time.sleep(0.5)
        for gateway in self.gateway_urls:
            while True:
                self.check_alive()
                try:
                    with urlopen(f"{gateway}/healthz", timeout=5) as resp:  # noqa: S310
                        if resp.status == 200:
                            break
                except (URLError, OSError):
                    pass
                if time.time() > deadline:
                    raise RuntimeError("the gateway did not become healthy")
                time.sleep(0.5)
        return time.time() - started

    def probe_rasa(self, sender: str, url: Optional[str] = None) -> Optional[float]:
        """Latency (s) of one message to Rasa's REST channel, None if no answer."""
        req = Request(f"{url or self.rasa_url}/webhooks/rest/webhook", method="POST",
                      data=json.dumps({"sender": sender, "message": "salam"}).encode(),
                      headers={"Content-Type": "application/json"})
        t0 = time.perf_counter()
        try:
            with urlopen(req, timeout=30) as resp:  # noqa: S310
                if json.loads(resp.read()):
                    return time.perf_counter() - t0
        except (URLError, OSError, ValueError):
            pass
        return None

    def settle(self, max_s: float = 90) -> None:
        """Before a phase: wait until Rasa has worked off the previous phase's backlog, then
        (up to --quiet-wait seconds) until other processes leave the CPU mostly idle."""
        time.sleep(self.args.pause)
        deadline = time.time() + max_s
        good = 0
        for i in range(int(max_s * 2)):
            self.check_alive()
            latency = self.probe_rasa(f"bench-probe-{self.phase_no}-{i}")
            good = good + 1 if latency is not None and latency < 0.3 else 0
            if good >= 2 or time.time() > deadline:
                break
            time.sleep(0.5)
        if self.args.quiet_wait <= 0:
            return
        pids = {k.name: [k.proc.pid] for k in self.kids}
        deadline = time.time() + self.args.quiet_wait
        others = 0.0
        for _ in range(int(self.args.quiet_wait) + 1):
            a = cpu_snapshot(pids)
            time.sleep(1.0)
            others = cpu_usage(a, cpu_snapshot(pids), 0.0)["others"]
            if others <= self.args.quiet_cpu or time.time() > deadline:
                break
        if others > self.args.quiet_cpu:
            print(f"note: other processes still use {others:.0f}% of a core; measuring anyway", flush=True)

    def stop_stack(self) -> None:
        from tools.run import stop

        if self.client and self.client.poll() is None:
            self.client.terminate()
            try:
                self.client.wait(5)
            except subprocess.TimeoutExpired:
                self.client.kill()
                self.client.wait()
        if self.sampler:
            self.sampler.stop()
        if self.kids:
            with open(os.devnull, "w") as devnull:
                saved = sys.stdout
                sys.stdout = devnull  # stop() prints "all stopped"; we say it ourselves
                try:
                    stop(self.kids, timeout=20)
                finally:
                    sys.stdout = saved
            print("stack: stopped", flush=True)
        if self.database_url:
            drop_postgres_database(self.database_url)
            self.database_url = ""

    # -- one phase -----------------------------------------------------------------------
    def phase(self, kind: str, rate: float, duration: float, label: str) -> dict[str, Any]:
        self.settle()
        self.phase_no += 1
        cfg = {
            "kind": kind, "rate": rate, "duration": duration, "phase": self.phase_no,
            "seed": self.args.seed, "senders": self.args.senders, "max_inflight": self.args.max_inflight,
            "timeout": self.args.timeout, "gateway_urls": self.gateway_urls, "rasa_url": self.rasa_url,
            "public_base_url": self.settings.public_base_url,
            "auth_token": self.settings.twilio_auth_token,
            "result_path": str(self.var_dir / f"phase{self.phase_no}.json"),
        }
        cfg_path = self.var_dir / f"phase{self.phase_no}.config.json"
        cfg_path.write_text(json.dumps(cfg))
        os.chmod(cfg_path, 0o600)
        pids = self.server_pids()
        assert self.sampler is not None
        self.sampler.phase = label
        before = cpu_snapshot(pids)
        self.client = subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                                        "--client-config", str(cfg_path)], cwd=ROOT)
        limit = duration + self.args.timeout + 60
        try:
            code = self.client.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.client.kill()
            self.client.wait()
            raise RuntimeError(f"the load client of {label} ran past {limit:.0f} s")
        after = cpu_snapshot(pids)
        self.sampler.phase = "between"
        self.check_alive()
        if code != 0:
            raise RuntimeError(f"the load client of {label} failed (status {code})")
        res = json.loads(Path(cfg["result_path"]).read_text())
        res["label"] = label
        res["peak_rss_mb"] = self.sampler.peak_mb(label)
        res["cpu"] = cpu_usage(before, after, res["client_cpu_s"])
        res["loadavg"] = after["load"]
        print_phase(res)
        return res

    def serial(self, n: int) -> dict[str, list[float]]:
        """Closed loop, one request at a time: each message through the gateway, then the same
        message to Rasa directly (another sender). Without queueing or contention, the p50
        difference is what the gateway adds to one answer."""
        self.settle()
        return asyncio.run(self._serial(n))

    async def _serial(self, n: int) -> dict[str, list[float]]:
        import aiohttp
        from twilio.request_validator import RequestValidator

        from core.language import detect

        self.phase_no += 1
        warm = 20
        plan = plan_messages(n + warm, 20, self.phase_no, self.args.seed)
        validator = RequestValidator(self.settings.twilio_auth_token)
        signed_url = self.settings.public_base_url.rstrip("/") + "/twilio/messages"
        out: dict[str, list[float]] = {"gateway": [], "direct": []}
        timeout = aiohttp.ClientTimeout(total=self.args.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for i, m in enumerate(plan):  # bounded by count, and each request by the timeout
                sid = f"SMs{self.phase_no:03d}{i:06d}{secrets.token_hex(11)}"
                params = {"From": m["address"], "To": "+212500000000", "Body": m["body"],
                          "NumMedia": "0", "MessageSid": sid}
                headers = {"X-Twilio-Signature": validator.compute_signature(signed_url, params)}
                body = {"sender": m["direct_sender"], "message": m["body"],
                        "metadata": {"channel": m["channel"], "language": detect(m["body"])}}
                gateway = {"data": params, "headers": headers}
                for kind, url, kwargs in (("gateway", self.gateway_url + "/twilio/messages", gateway),
                                          ("direct", self.rasa_url + "/webhooks/rest/webhook", {"json": body})):
                    t0 = time.perf_counter()
                    async with session.post(url, **kwargs) as resp:
                        await resp.read()
                        if resp.status != 200:
                            raise RuntimeError(f"serial {kind}: HTTP {resp.status}")
                    if i >= warm:
                        out[kind].append((time.perf_counter() - t0) * 1000)
        return out

    def long(self, turns: int, parallel: int) -> dict[str, Any]:
        """`parallel` conversations of `turns` turns through the gateway, in step (turn t of
        each at once, then turn t+1): latency of each turn, and the servers' CPU over turns
        1-10 and over the last 10."""
        self.settle()
        return asyncio.run(self._long(turns, parallel))

    async def _long(self, turns: int, parallel: int) -> dict[str, Any]:
        import aiohttp
        from twilio.request_validator import RequestValidator

        self.phase_no += 1
        validator = RequestValidator(self.settings.twilio_auth_token)
        signed_url = self.settings.public_base_url.rstrip("/") + "/twilio/messages"
        url = self.gateway_url + "/twilio/messages"
        pids = self.server_pids()
        lat: list[list[float]] = [[] for _ in range(turns)]
        rasa_ms: list[float] = []  # Rasa's CPU for each step (all conversations' turn t)
        cpu: dict[int, dict[str, Any]] = {}
        bad = 0

        async def turn(session: aiohttp.ClientSession, conv: int, t: int) -> None:
            nonlocal bad
            params = {"From": f"whatsapp:+2126{self.phase_no % 100:02d}{parallel:02d}{conv:04d}",
                      "To": "whatsapp:+212500000000", "Body": LONG_SCRIPT[t % len(LONG_SCRIPT)],
                      "NumMedia": "0", "MessageSid": f"SMl{self.phase_no:03d}{conv:04d}{t:05d}{secrets.token_hex(9)}"}
            headers = {"X-Twilio-Signature": validator.compute_signature(signed_url, params)}
            t0 = time.perf_counter()
            async with session.post(url, data=params, headers=headers) as resp:
                text = await resp.text()
                if resp.status != 200 or "<Message" not in text or "8350" in text and "Sm7i liya" in text:
                    bad += 1
            lat[t].append((time.perf_counter() - t0) * 1000)

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.args.timeout)) as session:
            for t in range(turns):  # bounded by count, each request by the timeout
                if t in (0, turns - 10):
                    cpu[t] = cpu_snapshot(pids)
                before = cpu_ns(pids["rasa"])
                await asyncio.gather(*(turn(session, c, t) for c in range(parallel)))
                rasa_ms.append((cpu_ns(pids["rasa"]) - before) / 1e6 / parallel)
                if t in (9, turns - 1):
                    cpu[t] = cpu_snapshot(pids)
        windows = {"first": (0, 9), "last": (turns - 10, turns - 1)}
        out: dict[str, Any] = {"turns": turns, "parallel": parallel, "bad": bad}
        for name, (a, b) in windows.items():
            used = cpu_usage(cpu[a], cpu[b], 0.0)
            n = 10 * parallel
            out[name] = {"p50": pct([x for t in range(a, b + 1) for x in lat[t]], 50),
                         "cpu_rasa_p50": pct(rasa_ms[a:b + 1], 50),
                         **{f"cpu_{k}": used[k] / 100 * used["wall_s"] * 1000 / n for k in SERVER_NAMES}}
        return out

    # -- the runs ----------------------------------------------------------------------
    def run(self) -> int:
        a = self.args
        self.start_stack()
        pids = self.server_pids()
        planned = (len(a.rates) * (2 if a.direct else 1) * (a.duration + a.timeout + 100)
                   + (a.soak or 0) + a.serial + START_TIMEOUT_S + 600)
        self.sampler = Sampler(pids, planned)
        self.sampler.start()
        took = self.wait_ready()
        digest = hashlib.sha256(a.model.read_bytes()).hexdigest()[:12]
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.model.stat().st_mtime))
        print(f"stack: ready in {took:.0f} s (Rasa answers with the model {a.model.name}, sha256 {digest}, "
              f"built {stamp}); REPLY_BUDGET_S={self.settings.reply_budget_s:g}", flush=True)
        print(f"machine: {NCPU} cores, load average {open('/proc/loadavg').read().split()[0]} before the run",
              flush=True)
        self.phase("gateway", 5, a.warmup, "warm-up")  # not in the tables
        results: dict[str, list[dict[str, Any]]] = {"gateway": [], "direct": []}
        self.results = results
        if self.scaled:
            print(f"\n# Scaled configuration: {SCALED} gateways (taken in turn), {SCALED} Rasa servers, "
                  f"{SCALED} action servers, PostgreSQL and Redis; direct runs to one Rasa server\n", flush=True)
        else:
            print(f"\n# Single stack: one gateway, {len(self.rasa_urls)} Rasa server(s), one action server, "
                  "SQLite; direct runs to one Rasa server\n", flush=True)
        if a.soak:
            soak = self.phase("gateway", a.rate, a.soak, "soak")
            print_soak(soak, self.sampler)
            results["gateway"].append(soak)
        else:
            # Each rate through the gateway, then at once directly: the pair shares the same
            # machine conditions (other processes on a shared machine come and go).
            for rate in a.rates:
                results["gateway"].append(self.phase("gateway", rate, a.duration, f"gateway {rate:g}/s"))
                if a.direct:
                    results["direct"].append(self.phase("rasa", rate, a.duration, f"direct {rate:g}/s"))
            print_summary(results)
        if a.serial and not self.scaled:
            serial = self.serial(a.serial)
            print_serial(serial)
            results["serial"] = [{"gateway_ms": serial["gateway"], "direct_ms": serial["direct"]}]
        if a.long and not self.scaled:
            results["long"] = [self.long(a.long, 1), self.long(a.long, a.long_parallel)]
            print_long(results["long"])
        if a.json:
            slim = {k: [{kk: vv for kk, vv in r.items() if not kk.endswith("latencies_ms")} for r in v]
                    for k, v in results.items()}
            if a.soak:
                slim["rss_samples"] = [(t, ph, s) for t, ph, s in self.sampler.samples]
            path = Path(a.json)
            if self.scaled:
                path = path.with_name(path.stem + "-scaled" + path.suffix)
            path.write_text(json.dumps(slim, indent=1))
        return 0


# -- printing ---------------------------------------------------------------------------------
def summary(res: dict[str, Any]) -> dict[str, Any]:
    lat = res["latencies_ms"]
    return {
        "target": res["rate"], "sent_rate": res["sent"] / res["duration"],
        "answered_rate": res["ok"] / res["wall_s"],
        "p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99), "max": max(lat) if lat else None,
        "n": len(lat),
    }


def print_phase(res: dict[str, Any]) -> None:
    s = summary(res)
    errs = ", ".join(f"{k} x{v}" for k, v in res["error_kinds"].items())
    rss = " ".join(f"{n} {res['peak_rss_mb'].get(n, 0):.0f}" for n in SERVER_NAMES)
    cpu = res["cpu"]
    print(f"[{res['label']}] {res['senders']} senders at a time, {res['numbers']} numbers | "
          f"target {s['target']:g}/s sent {s['sent_rate']:.1f}/s answered "
          f"{s['answered_rate']:.1f}/s | ms p50 {fmt(s['p50'])} p95 {fmt(s['p95'])} p99 {fmt(s['p99'])} "
          f"max {fmt(s['max'])} | non-200 {res['non200']} client-err {res['client_errors']} "
          f"fallback {res['fallback']} rate-limited {res['rate_limited']} empty {res['empty']} "
          f"skipped {res['skipped']}{' (' + errs + ')' if errs else ''} | peak RSS MB {rss} | CPU% "
          + " ".join(f"{n} {cpu[n]:.0f}" for n in (*SERVER_NAMES, "client", "others"))
          + " | CPU ms/msg " + " ".join(f"{n} {fmt(cpu_ms_per_message(res, n))}" for n in SERVER_NAMES)
          + f" | loadavg {res['loadavg']}", flush=True)


def print_summary(results: dict[str, list[dict[str, Any]]]) -> None:
    print("\n## Through the gateway (Twilio-signed webhook -> TwiML)\n")
    print("| target msg/s | sent msg/s | answered msg/s | p50 ms | p95 ms | p99 ms | max ms | non-200 "
          "| client errors | static fallback | rate-limited | skipped (cap) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["gateway"]:
        s = summary(r)
        print(f"| {s['target']:g} | {s['sent_rate']:.1f} | {s['answered_rate']:.1f} | {fmt(s['p50'])} | "
              f"{fmt(s['p95'])} | {fmt(s['p99'])} | {fmt(s['max'])} | {r['non200']} | {r['client_errors']} | "
              f"{r['fallback']} | {r['rate_limited']} | {r['skipped']} |")
    print("\n## Resources through the gateway (peak VmRSS MB; CPU % of one core over the phase)\n")
    print("| target msg/s | RSS gateway | RSS Rasa | RSS actions | CPU gateway | CPU Rasa | CPU actions "
          "| CPU client | CPU other processes | CPU ms/msg gateway | CPU ms/msg Rasa | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["gateway"]:
        m, c = r["peak_rss_mb"], r["cpu"]
        print(f"| {r['rate']:g} | {m['gateway']:.0f} | {m['rasa']:.0f} | {m['actions']:.0f} | "
              f"{c['gateway']:.0f} | {c['rasa']:.0f} | {c['actions']:.0f} | {c['client']:.0f} | "
              f"{c['others']:.0f} | {fmt(cpu_ms_per_message(r, 'gateway'))} | "
              f"{fmt(cpu_ms_per_message(r, 'rasa'))} | {r['loadavg']} |")
    if not results["direct"]:
        return
    print("\n## Rasa's REST channel directly\n")
    print("| target msg/s | sent msg/s | answered msg/s | p50 ms | p95 ms | p99 ms | max ms | non-200 "
          "| client errors | empty | skipped (cap) | RSS Rasa | RSS actions | CPU Rasa | CPU other "
          "| CPU ms/msg Rasa |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["direct"]:
        s, m, c = summary(r), r["peak_rss_mb"], r["cpu"]
        print(f"| {s['target']:g} | {s['sent_rate']:.1f} | {s['answered_rate']:.1f} | {fmt(s['p50'])} | "
              f"{fmt(s['p95'])} | {fmt(s['p99'])} | {fmt(s['max'])} | {r['non200']} | {r['client_errors']} | "
              f"{r['empty']} | {r['skipped']} | {m['rasa']:.0f} | {m['actions']:.0f} | {c['rasa']:.0f} | "
              f"{c['others']:.0f} | {fmt(cpu_ms_per_message(r, 'rasa'))} |")
    print("\n## Gateway overhead (gateway / direct, same run)\n")
    print("| target msg/s | p50 gateway | p50 direct | p50 ratio | p95 gateway | p95 direct | p95 ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for g, d in zip(results["gateway"], results["direct"]):
        sg, sd = summary(g), summary(d)
        r50 = sg["p50"] / sd["p50"] if sg["p50"] and sd["p50"] else None
        r95 = sg["p95"] / sd["p95"] if sg["p95"] and sd["p95"] else None
        print(f"| {g['rate']:g} | {fmt(sg['p50'])} | {fmt(sd['p50'])} | {fmt(r50, 2)} | {fmt(sg['p95'])} | "
              f"{fmt(sd['p95'])} | {fmt(r95, 2)} |")


def print_serial(res: dict[str, list[float]]) -> None:
    g, d = res["gateway"], res["direct"]
    print(f"\n## One request at a time ({len(g)} messages, each through the gateway then directly)\n")
    print("| path | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, v in (("gateway", g), ("direct", d)):
        print(f"| {name} | {fmt(pct(v, 50), 1)} | {fmt(pct(v, 95), 1)} | {fmt(pct(v, 99), 1)} |")
    g50, d50 = pct(g, 50), pct(d, 50)
    if g50 and d50:
        print(f"\np50: the gateway adds {g50 - d50:+.1f} ms (x{g50 / d50:.2f})")
    if g and len(g) == len(d):
        # Each message went both ways in turn: the median of its two latencies' difference is
        # not moved by the mix of messages (a shelter question costs Rasa more than a greeting).
        print(f"paired: the median of each message's difference is {pct([a - b for a, b in zip(g, d)], 50):+.1f} ms")


def print_long(results: list[dict[str, Any]]) -> None:
    print(f"\n## Long conversations ({results[0]['turns']} turns each, through the gateway, "
          "conversations in step)\n")
    print("| conversations at once | p50 ms turns 1-10 | p50 ms last 10 | ratio | Rasa CPU ms/turn p50 1-10 "
          "| last 10 | ratio | Rasa CPU ms/turn mean 1-10 | last 10 | ratio | gateway CPU ms/turn 1-10 | last 10 "
          "| actions CPU ms/turn 1-10 | last 10 | static fallback or error |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        f, l = r["first"], r["last"]
        ratio = lambda a, b: fmt(b / a, 2) if a and b else "-"  # noqa: E731
        print(f"| {r['parallel']} | {fmt(f['p50'], 1)} | {fmt(l['p50'], 1)} | {ratio(f['p50'], l['p50'])} | "
              f"{fmt(f['cpu_rasa_p50'], 1)} | {fmt(l['cpu_rasa_p50'], 1)} | "
              f"{ratio(f['cpu_rasa_p50'], l['cpu_rasa_p50'])} | "
              f"{fmt(f['cpu_rasa'], 1)} | {fmt(l['cpu_rasa'], 1)} | {ratio(f['cpu_rasa'], l['cpu_rasa'])} | "
              f"{fmt(f['cpu_gateway'], 1)} | {fmt(l['cpu_gateway'], 1)} | {fmt(f['cpu_actions'], 1)} | "
              f"{fmt(l['cpu_actions'], 1)} | {r['bad']} |")


def print_soak(res: dict[str, Any], sampler: Sampler) -> None:
    rows = [(t, s) for t, ph, s in sampler.samples if ph == "soak"]
    if not rows:
        print("soak: no RSS samples")
        return
    t0 = rows[0][0]
    print("\n## Soak: VmRSS (MB) each minute\n")
    print("| minute | " + " | ".join(SERVER_NAMES) + " |")
    print("|---:|" + "---:|" * len(SERVER_NAMES))
    next_mark = 0.0
    for t, s in rows:
        if t - t0 >= next_mark:
            print(f"| {(t - t0) / 60:.0f} | " + " | ".join(f"{s[n] / 1024:.1f}" for n in SERVER_NAMES) + " |")
            next_mark += 60
    t_end, last = rows[-1]
    print(f"| {(t_end - t0) / 60:.1f} (end) | " + " | ".join(f"{last[n] / 1024:.1f}" for n in SERVER_NAMES) + " |")
    after1 = next((s for t, s in rows if t - t0 >= 60), rows[0][1])
    # The second half's slope says whether a process is still growing at the end.
    t_mid = t0 + (t_end - t0) / 2
    mid_t, mid = next(((t, s) for t, s in rows if t >= t_mid), rows[-1])
    half_min = max((t_end - mid_t) / 60, 1e-9)
    print("\n| process | RSS start MB | RSS end MB | growth MB | growth % | growth after minute 1 MB "
          "| second half MB/min | peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in SERVER_NAMES:
        a, b, m1 = rows[0][1][n] / 1024, last[n] / 1024, after1[n] / 1024
        peak = max(s[n] for _, s in rows) / 1024
        slope = (b - mid[n] / 1024) / half_min
        print(f"| {n} | {a:.1f} | {b:.1f} | {b - a:+.1f} | {100 * (b - a) / a if a else 0:+.1f} | "
              f"{b - m1:+.1f} | {slope:+.2f} | {peak:.1f} |")


# -- entry point ------------------------------------------------------------------------------
def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-config", help=argparse.SUPPRESS)
    parser.add_argument("--rates", default="5,10,20,30", help="target messages/s, comma-separated")
    parser.add_argument("--duration", type=float, default=20, help="seconds at each rate")
    parser.add_argument("--quick", action="store_true", help="rates 5,20 for 5 s each")
    parser.add_argument("--soak", type=float, default=0, metavar="SECONDS",
                        help="instead of the ramp: SECONDS at --rate through the gateway, RSS each minute")
    parser.add_argument("--rate", type=float, default=10, help="the soak's rate (messages/s)")
    parser.add_argument("--senders", type=int, default=200, help="most senders at a time (max 999)")
    parser.add_argument("--max-inflight", type=int, default=256, help="cap on requests in flight")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request (s)")
    parser.add_argument("--warmup", type=float, default=6, help="seconds at 5 msg/s before measuring")
    parser.add_argument("--pause", type=float, default=3, help="seconds of rest before each phase")
    parser.add_argument("--quiet-wait", type=float, default=60,
                        help="before each phase, wait up to this many seconds for other processes "
                             "to use less than --quiet-cpu (a shared machine); 0: do not wait")
    parser.add_argument("--quiet-cpu", type=float, default=25, help="percent of one core, see --quiet-wait")
    parser.add_argument("--no-direct", dest="direct", action="store_false", help="skip the direct Rasa runs")
    parser.add_argument("--serial", type=int, default=300, metavar="N",
                        help="then N messages one at a time, gateway and direct (0: skip)")
    parser.add_argument("--rasa", type=int, default=None, metavar="N",
                        help="Rasa servers behind the gateway (default: RASA_PROCESSES's default); "
                             "the direct runs go to the first one alone")
    parser.add_argument("--long", type=int, default=100, metavar="TURNS",
                        help="then one conversation of TURNS turns one at a time, and --long-parallel "
                             "at once, through the gateway: turns 1-10 against the last 10 (0: skip)")
    parser.add_argument("--long-parallel", type=int, default=5, metavar="N")
    parser.add_argument("--scaled", action="store_true",
                        help="then the same rates on the scaled configuration (make run-scaled: two of "
                             "each process, PostgreSQL and Redis), and both side by side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--json", help="also write the figures (without raw latencies) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs, databases)")
    args = parser.parse_args(argv)
    if args.client_config:
        return client_main(args.client_config)

    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.rasa is None:
        from core.settings import Settings
        args.rasa = Settings.rasa_processes
    if not 1 <= args.rasa <= 16 or not 0 <= args.long <= 1000 or not 1 <= args.long_parallel <= 50:
        parser.error("--rasa takes 1..16, --long 0..1000 turns, --long-parallel 1..50")
    if args.long and args.long < 20:
        parser.error("--long needs at least 20 turns (the first 10 against the last 10)")
    if args.quick:
        args.rates, args.duration, args.warmup, args.serial = [5.0, 20.0], 5.0, 3.0, min(args.serial, 50)
    if not 1 <= args.senders <= 999 or not args.rates or min(args.rates) <= 0 or args.duration <= 0:
        parser.error("need 1..999 senders, positive rates and a positive duration")
    if args.soak or not args.direct:
        args.serial = 0
    if not 0 <= args.serial <= 5000:
        parser.error("--serial takes 0..5000 messages")
    if args.soak and args.soak > 6 * 3600:
        parser.error("--soak is limited to 6 hours")
    if not args.model.exists():
        print(f"no model at {args.model}: run `make train`", file=sys.stderr)
        return 2

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    code = run_one(Bench(args), args)
    if code == 0 and args.scaled:
        single = LAST_RESULTS[-1]
        code = run_one(Bench(args, scaled=True), args)
        if code == 0:
            print_side_by_side(single, LAST_RESULTS[-1])
    return code


LAST_RESULTS: list[dict[str, Any]] = []


def print_side_by_side(single: dict[str, Any], scaled: dict[str, Any]) -> None:
    print("\n## Single stack and scaled configuration, same run\n")
    print("| target msg/s | single: answered/s | p50 | p95 | fallback + errors | scaled: answered/s | p50 | p95 "
          "| fallback + errors | direct to one Rasa (single run): answered/s | p95 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    direct = {r["rate"]: r for r in single.get("direct", [])}
    for a, b in zip(single["gateway"], scaled["gateway"]):
        sa_, sb = summary(a), summary(b)
        d = direct.get(a["rate"])
        sd = summary(d) if d else None
        bad = lambda r: r["fallback"] + r["non200"] + r["client_errors"]  # noqa: E731
        print(f"| {a['rate']:g} | {sa_['answered_rate']:.1f} | {fmt(sa_['p50'])} | {fmt(sa_['p95'])} | {bad(a)} | "
              f"{sb['answered_rate']:.1f} | {fmt(sb['p50'])} | {fmt(sb['p95'])} | {bad(b)} | "
              f"{fmt(sd and sd['answered_rate'], 1)} | {fmt(sd and sd['p95'])} |")


def run_one(bench: Bench, args: argparse.Namespace) -> int:
    """One stack's phases; the stack is stopped (and its var dir removed) whatever happens."""
    keep = args.keep
    try:
        code = bench.run()
        LAST_RESULTS.append(bench.results)
        return code
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the stack", file=sys.stderr, flush=True)
        return 130
    except RuntimeError as exc:
        print(f"bench_load: {exc}", file=sys.stderr, flush=True)
        keep = True  # the logs say why
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        try:
            bench.stop_stack()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if not keep:
            shutil.rmtree(bench.var_dir, ignore_errors=True)
        else:
            print(f"bench_load: kept {bench.var_dir} (logs in logs/)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
