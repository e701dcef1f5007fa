"""End to end in headless Chromium: she asks for a person over the signed webhook; a counsellor
logs in, claims, replies (the local Twilio API receives it for her number), sees her answer
live, and releases her to the bot, which answers again. Takes screenshots: into a temporary
folder, or, with SALAMA_SCREENSHOTS=docs/screenshots, the README's."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.app import init_app
from bot.appkeys import GATEWAY, STORE
from bot.console import cli
from tests.conftest import Phone, free_port, make_settings, sent_to

pytestmark = [pytest.mark.browser, pytest.mark.integration]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS_DIR = os.environ.get("SALAMA_SCREENSHOTS")
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def served(stack: Any, aiohttp_server: Any, aiohttp_client: Any, var_dir: Path, twilio: Any) -> Any:
    """The gateway on a real TCP port (the browser needs a URL), wired to the real Rasa stack;
    PUBLIC_BASE_URL is that URL, so webhook signatures and the WebSocket Origin check match."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(var_dir, **stack.gateway_settings(), public_base_url=base,
                             twilio_api_base_url=str(twilio.make_url("")).rstrip("/"))
    app = init_app(settings)
    server = await aiohttp_server(app, port=port)
    client = await aiohttp_client(server)
    return client, settings, app, base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's chromium: run `make services` (make test does)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()



async def accept_dialogs(page: Page) -> None:
    async def accept(dialog: Any) -> None:
        await dialog.accept()

    page.on("dialog", accept)


async def test_a_counsellor_helps_her_from_the_console(served: Any, twilio: Any, browser: Browser,
                                                       tmp_path: Path) -> None:
    shots = Path(SHOTS_DIR) if SHOTS_DIR else tmp_path
    client, settings, app, base = served
    store, gateway = app[STORE], app[GATEWAY]

    # She asks for a person; a second woman (by SMS) is waiting too.
    her = Phone(client, settings, "whatsapp:+212600000123")
    await her.send("bonjour")
    assert await her.send("je veux parler à une conseillère")
    conv_id = gateway.vault.pseudonym(her.address)
    assert store.get_conversation(conv_id).status == "waiting"
    other = Phone(client, settings, "+212600000456")
    await other.send("salam")
    await other.send("bghit nhdar m3a chi mostachara")
    await store.aio.call(cli.run, store, "add-counsellor", "amina", io.StringIO(PASSWORD + "\n"))

    # A counsellor logs in on a desktop screen and sees her in the queue, by pseudonym.
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = await context.new_page()
    await accept_dialogs(page)
    await page.goto(f"{base}/console")
    await page.fill("#username", "amina")
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    item = page.locator(f'#queue [data-id="{conv_id}"]')
    await item.wait_for()
    assert "212600000123" not in await page.content()
    assert await page.locator("#queue .item").count() >= 1
    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / "console-queue-desktop.png"))

    # She is claimed and answered; Twilio's API receives the reply for her number.
    await item.click()
    await page.click("#claim")
    await page.locator("#reply-form").wait_for(state="visible")
    reply = "Bonjour, je suis Amina, conseillère. Êtes-vous en sécurité maintenant ?"
    await page.fill("#reply-text", reply)
    await page.click("#send")
    (message,) = await sent_to(twilio, her.address, 1)
    assert message["body"].endswith(reply)
    assert store.get_conversation(conv_id).counsellor == "amina"

    # Her next message reaches the console (live) and the bot stays silent.
    assert await her.send("شكرا، راه خرج من الدار ومابقيتش خايفة دابا") == []
    await page.locator("#messages .from-user", has_text="راه خرج").wait_for(timeout=10000)
    direction = await page.locator("#messages .from-user .text").last.evaluate(
        "node => getComputedStyle(node).direction")
    assert direction == "rtl", "her Arabic message reads right to left"

    # On a phone screen, in Arabic: a canned reply in her variety.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.click("#lang")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.locator("#queue-pane").is_hidden(), "one pane at a time on a phone"
    # Her language is written with the rest of her turn, after her message line: a refresh
    # between the two shows her message first, the next one her variety.
    # (expect() retries without evaluating a string: the console's CSP forbids eval, so
    # wait_for_function failed whenever its first look did not already see the variety)
    await expect(page.locator("#canned-variety")).to_have_value("dar_ar", timeout=10000)
    await page.locator("#canned-buttons button").nth(1).click()  # the emergency numbers
    await page.click("#send")
    second = (await sent_to(twilio, her.address, 2))[1]
    assert "8350" in second["body"] and "177" in second["body"]
    await page.locator("#messages .from-counsellor").nth(1).wait_for()
    await page.screenshot(path=str(shots / "console-conversation-phone-ar.png"))

    # Released to the bot: she is told so, and the bot answers again.
    await page.click("#release")
    await page.locator("#conv").wait_for(state="hidden")
    third = (await sent_to(twilio, her.address, 3))[2]
    assert gateway.texts.get("bot_resumed", "dar_ar") in third["body"]
    assert store.get_conversation(conv_id).status == "bot"
    texts = await her.send("salam")
    assert texts and "\n1. " in "\n".join(texts)
    await context.close()
