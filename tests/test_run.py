"""`make run`'s supervisor: the slice works, one signal stops all, a dead child stops all."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen
from xml.etree import ElementTree

import pytest
from twilio.request_validator import RequestValidator

from bot.rasa_client import ranking
from core.settings import ROOT, Settings
from tests.conftest import MODEL, free_port
from tools.run import first_port

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def _start(tmp_path: Path) -> tuple[subprocess.Popen, dict[str, str], Path]:
    if not MODEL.exists():
        pytest.fail("needs the trained model: run `make train`")
    gateway = free_port()
    env = dict(os.environ, SALAMA_LOCAL_MODE="1", SALAMA_VAR_DIR=str(tmp_path),
               GATEWAY_PORT=str(gateway), PUBLIC_BASE_URL=f"http://127.0.0.1:{gateway}",
               RASA_URL=f"http://127.0.0.1:{free_port()}", ACTIONS_URL=f"http://127.0.0.1:{free_port()}",
               TWILIO_API_BASE_URL=f"http://127.0.0.1:{free_port()}", PYTHONPATH=str(ROOT),
               RASA_PROCESSES="2")
    env.pop("SALAMA_SECRET", None)
    log = tmp_path / "run.out"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tools.run"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urlopen(f"http://127.0.0.1:{gateway}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, env, log
        except (URLError, OSError):
            pass
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(1)
    proc.send_signal(signal.SIGINT)  # it stops its children (each in its own session) first
    proc.wait(timeout=60)
    raise AssertionError("make run did not become healthy: " + log.read_text()[-3000:])


def _pids(log: Path) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+)\)", log.read_text())}


def _wait_up(url: str, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urlopen(url, timeout=2):
                return
        except (URLError, OSError):
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


def _post(env: dict[str, str], params: dict[str, str], signed: bool = True) -> tuple[int, str]:
    url = env["PUBLIC_BASE_URL"] + "/twilio/messages"
    headers = {}
    if signed:
        token = Settings.from_env(env).twilio_auth_token
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
    req = Request(url, data=urlencode(params).encode(), headers=headers, method="POST")
    try:
        with urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except HTTPError as err:
        return err.code, ""


def test_the_slice_then_one_signal_stops_everything(tmp_path):
    proc, env, log = _start(tmp_path)
    pids = _pids(log)
    try:
        params = {"From": "whatsapp:+212600000001", "Body": "salam", "MessageSid": "SM" + "1" * 32}
        status, _ = _post(env, params, signed=False)
        assert status == 403
        status, xml = _post(env, params)
        assert status == 200
        texts = [m.text for m in ElementTree.fromstring(xml).iter("Message")]
        assert len(texts) >= 2 and "1. " in texts[-1]  # first contact, then greeting and menu
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert set(pids) == {"twilio-local", "actions", "rasa-1", "rasa-2", "gateway"}
    time.sleep(0.5)
    assert not [name for name, pid in pids.items() if _alive(pid)]


def test_a_rasa_server_that_dies_is_restarted_and_her_conversation_goes_on(tmp_path):
    proc, env, log = _start(tmp_path)
    try:
        settings = Settings.from_env(env)
        urls = [f"http://127.0.0.1:{first_port(settings.rasa_url, 0) + k}" for k in range(2)]
        for n, rasa in enumerate(("rasa-1", "rasa-2")):
            for url in urls:  # both up (the first one restarted) before the next is killed
                _wait_up(url + "/")
            os.kill(_pids(log)[rasa], signal.SIGKILL)
            # A woman whose conversation goes to that server is answered by the other one
            # while it restarts.
            address = next(a for a in (f"whatsapp:+2126000{i:05d}" for i in range(100))
                           if ranking(settings.vault().pseudonym(a), urls)[0] == urls[n])
            params = {"From": address, "Body": "salam", "MessageSid": f"SM{n}" + "2" * 31}
            status, xml = _post(env, params)
            assert status == 200 and "1. " in [m.text for m in ElementTree.fromstring(xml).iter("Message")][-1]
            deadline = time.time() + 20
            while f"{rasa} exited" not in log.read_text() and time.time() < deadline:
                time.sleep(0.2)
            assert f"{rasa} exited with status -9; restarting it" in log.read_text()
            assert "rasa unavailable" not in log.read_text()
        assert proc.poll() is None  # nothing else stopped
        assert len(re.findall(r"started rasa-1 ", log.read_text())) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_a_child_that_dies_is_reported_and_the_others_stop(tmp_path):
    proc, _, log = _start(tmp_path)
    pids = _pids(log)
    os.kill(pids["actions"], signal.SIGKILL)
    assert proc.wait(timeout=60) == 1
    assert "actions exited" in log.read_text()
    time.sleep(0.5)
    assert not [name for name, pid in pids.items() if _alive(pid)]
