"""Several Rasa servers: a conversation always goes to the same one, and one that is down
loses nothing (bot/rasa_client.py)."""
from __future__ import annotations

import subprocess
from collections import Counter

import pytest
import yaml

from bot.rasa_client import ranking, rasa_urls
from bot.texts import TEXTS_PATH
from core.settings import ROOT, SettingsError
from tests.conftest import Phone, Stack, free_port, make_settings
from tools.run import first_port

URLS = ["http://127.0.0.1:5005", "http://127.0.0.1:5006", "http://127.0.0.1:5007"]


def test_a_conversation_always_ranks_the_servers_the_same_way():
    assert all(ranking(f"u{i:024x}", URLS) == ranking(f"u{i:024x}", list(reversed(URLS))) for i in range(50))


def test_conversations_are_spread_evenly():
    first = Counter(ranking(f"u{i:024x}", URLS)[0] for i in range(3000))
    assert set(first) == set(URLS) and all(800 < n < 1200 for n in first.values())


def test_removing_a_server_moves_only_its_conversations():
    senders = [f"u{i:024x}" for i in range(1000)]
    moved = [s for s in senders if ranking(s, URLS)[0] != ranking(s, URLS[:2])[0]]
    assert moved and all(ranking(s, URLS)[0] == URLS[2] for s in moved)


def test_the_setting_lists_one_or_several_servers(tmp_path):
    assert rasa_urls(" http://a:1/ ,http://b:2") == ["http://a:1", "http://b:2"]
    assert first_port("http://127.0.0.1:5007,http://127.0.0.1:5008", 5005) == 5007
    assert make_settings(tmp_path, rasa_url="http://a:1,http://b:2").rasa_url == "http://a:1,http://b:2"
    for bad in ("a:1", "http://a:1,ftp://b"):
        with pytest.raises(SettingsError, match="RASA_URL"):
            make_settings(tmp_path, rasa_url=bad)
    with pytest.raises(SettingsError, match="RASA_PROCESSES"):
        make_settings(tmp_path, rasa_processes=0)


@pytest.fixture
def second_rasa(stack: Stack):
    """Another Rasa server on the stack's tracker store and action server."""
    argv = list(stack.kid("rasa").argv)
    port = free_port()
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--log-file") + 1] = str(stack.var_dir / "logs" / "rasa-second.log")
    proc = subprocess.Popen(argv, cwd=ROOT, env=stack.kid("rasa").env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    other = Stack(f"http://127.0.0.1:{port}", stack.actions_url, stack.token, stack.var_dir, [])
    try:
        other.wait_ready()
        yield other.rasa_url, proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.integration
async def test_her_server_dies_mid_form_and_the_other_one_carries_on(stack, second_rasa, gateway_factory):
    url, proc = second_rasa
    urls = [stack.rasa_url, url]
    client, settings, app = await gateway_factory(**dict(stack.gateway_settings(), rasa_url=",".join(urls)))
    vault = settings.vault()
    # A woman whose conversation goes to the second server.
    address = next(a for a in (f"+2126001{i:05d}" for i in range(200))
                   if ranking(vault.pseudonym(a), urls)[0] == url)
    phone = Phone(client, settings, address)
    await phone.send("salam")
    asked = "\n".join(await phone.send("fin n9der nbat lyouma"))  # the form asks for her town
    proc.kill()
    proc.wait()
    texts = "\n".join(await phone.send("casa"))
    # The first server answered from the shared tracker: the form's question was remembered,
    # and she did not get the static answer.
    fallbacks = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8"))["static_fallback"].values()
    assert not any(f.strip() in texts for f in fallbacks), (asked, texts)
    assert "Casablanca" in texts or "casa" in texts.lower(), (asked, texts)
