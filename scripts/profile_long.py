"""Rasa's CPU per turn over long conversations, in process (docs/CAPACITY.md, issue 17).

The trained model in an `Agent` with the encrypted SQLite tracker store and the real action
server (started here), Rasa's patches applied as `make run` applies them; bench_load.py's long
conversation (LONG_SCRIPT), one or several at once. CPU time of this process per turn (valid
on a busy machine), turns 1-10 against the last 10, median of the runs; `--profile` writes
cProfile files for both windows; `--dump` the events and answers, to compare two trees.

    .venv/bin/python scripts/profile_long.py --runs 3 [--parallel 5] [--profile /tmp/p] [--dump x.json]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from core import language  # noqa: E402
from core.crypto import Vault  # noqa: E402
from core.settings import ROOT  # noqa: E402
from scripts.bench_load import LONG_SCRIPT  # noqa: E402

MODEL = ROOT / "models" / "salama.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in ("timestamp", "message_id")}
    return [_comparable(v) for v in value] if isinstance(value, list) else value


async def _wait_for(port: int) -> None:
    for _ in range(300):  # bounded: 60 s
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the action server did not start")


async def _turn(agent: Any, sender: str, text: str, languages: dict, answers: dict) -> None:
    """Her message as the gateway sends it (her language detected, no number)."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    languages[sender] = language.detect(text, languages.get(sender))
    out = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, out, sender,
                                           metadata={"channel": "whatsapp", "language": languages[sender]}))
    answers.setdefault(sender, []).append([m.get("text") for m in out.messages])


async def run(args: argparse.Namespace, var: str, port: int) -> None:
    import warnings

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    from rasa_ext import rasa_patches
    from rasa_ext.tracker_store import EncryptedSQLTrackerStore

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # (debug lines carry the text)
    rasa_patches.apply()
    await _wait_for(port)
    store = EncryptedSQLTrackerStore(None, db=str(Path(var) / "tracker.db"),
                                     vault=Vault(secrets.token_urlsafe(24)), retention_days=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = Agent.load(str(MODEL), tracker_store=store,
                           action_endpoint=EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    store.domain = agent.domain
    for text in LONG_SCRIPT:  # warm-up, not measured (the first turns load and compile)
        await _turn(agent, "warm-up", text, {}, {})
    firsts, lasts, dumps = [], [], {}
    for r in range(args.runs):
        cpu: list[float] = []
        answers: dict[str, list] = {}
        languages: dict[str, Optional[str]] = {}

        profile: Optional[cProfile.Profile] = None
        senders = [f"run{r}-{c}" for c in range(args.parallel)]
        for t in range(args.turns):
            if args.profile and t in (0, args.turns - 10):
                profile = cProfile.Profile()
                profile.enable()
            before = time.process_time()
            await asyncio.gather(*(_turn(agent, s, LONG_SCRIPT[t % len(LONG_SCRIPT)], languages, answers)
                                   for s in senders))
            cpu.append((time.process_time() - before) * 1000 / args.parallel)
            if profile is not None and t in (9, args.turns - 1):
                profile.disable()
                profile.dump_stats(f"{args.profile}.{'first' if t == 9 else 'last'}.run{r}")
                profile = None
        firsts.append(statistics.median(cpu[:10]))
        lasts.append(statistics.median(cpu[-10:]))
        print(f"run {r}: Rasa CPU ms/turn p50 {firsts[-1]:.1f} -> {lasts[-1]:.1f} (x{lasts[-1] / firsts[-1]:.2f}); "
              f"mean {statistics.mean(cpu[:10]):.1f} -> {statistics.mean(cpu[-10:]):.1f}", flush=True)
        for sender in senders:
            tracker = await store.retrieve(sender)
            dumps[sender] = {"answers": answers[sender], "events": [_comparable(e.as_dict()) for e in tracker.events]}
    first, last = statistics.median(firsts), statistics.median(lasts)
    print(f"median of {args.runs} runs: p50 {first:.1f} -> {last:.1f} ms (x{last / first:.2f})")
    if args.dump:
        Path(args.dump).write_text(json.dumps(dumps, default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=1, help="conversations at once")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile files PREFIX.first.runN, PREFIX.last.runN")
    parser.add_argument("--dump", metavar="JSON", help="her events (no timestamps or ids) and the answers")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20 or not 20 <= args.turns <= 1000 or not 1 <= args.parallel <= 20:
        parser.error("--runs 1..20, --turns 20..1000, --parallel 1..20")
    with tempfile.TemporaryDirectory() as var:
        port = free_port()
        actions = subprocess.Popen(
            [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)],
            cwd=ROOT, env=dict(os.environ, SALAMA_VAR_DIR=var),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            asyncio.run(run(args, var, port))
        finally:
            actions.terminate()
            actions.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
