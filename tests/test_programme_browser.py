"""End to end in headless Chromium: a scripted day of traffic through the signed webhook and
the real Rasa stack, then a supervisor logs in and reads the programme view: the charts and
their tables show the day's totals, and no count below 5 appears on the page. Screenshots
(desktop in French, phone in Arabic) go to a temporary folder, or, with
SALAMA_SCREENSHOTS=docs/screenshots, to docs/CONSOLE.md's."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page

from bot.appkeys import GATEWAY, STORE
from bot.console import accounts, cli
from bot.store import audit
from tests.conftest import Phone
from tests.test_console_browser import PASSWORD, browser, served  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.integration]
SHOTS_DIR = os.environ.get("SALAMA_SCREENSHOTS")

# The day: who writes (WhatsApp or SMS) and what, message by message.
DAY = [
    ("whatsapp:+212600000301", ["salam", "bghit nhdar m3a chi mostachara"]),
    ("whatsapp:+212600000302", ["bonjour", "je veux parler à une conseillère"]),
    ("whatsapp:+212600000303", ["السلام عليكم", "شنو كديرو؟"]),
    ("whatsapp:+212600000304", ["مرحبا، أريد أن أسأل عن حقوقي"]),
    ("whatsapp:+212600000305", ["rajli kaydrebni, fin nmchi?"]),
    ("whatsapp:+212600000306", ["bonjour", "ananas"]),
    ("+212600000307", ["ghadi y9telni"]),
    ("+212600000308", ["غادي يقتلني"]),
    ("+212600000309", ["زوجي سيقتلني الآن"]),
    ("+212600000310", ["il va me tuer"]),
    ("+212600000311", ["au secours"]),
    ("+212600000312", ["salam", "STOP"]),
]


def _audit(store: Any) -> list:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(audit).where(audit.c.action.like("account_%")).order_by(audit.c.id)))


async def totals_on_page(page: Page) -> dict[str, str]:
    return await page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('td[data-total]')]"
        ".map(n => [n.dataset.total, n.textContent]))")


async def chart_data(page: Page, chart_id: str) -> list:
    """What Chart.js draws for one chart (null: a hidden cell, no bar)."""
    return await page.evaluate(
        "id => Chart.getChart(document.querySelector(`#chart-${id} canvas`)).data.datasets[0].data", chart_id)


async def test_a_supervisor_reads_a_days_traffic_in_the_programme_view(served: Any, browser: Browser,  # noqa: F811
                                                                       tmp_path: Path) -> None:
    shots = Path(SHOTS_DIR) if SHOTS_DIR else tmp_path
    client, settings, app, base = served
    store = app[STORE]
    for address, messages in DAY:
        phone = Phone(client, settings, address)
        for text in messages:
            await phone.send(text)
    await app[GATEWAY].drain()
    sent = sum(len(messages) for _, messages in DAY)
    await store.aio.call(cli.run, store, "add-supervisor", "salma", io.StringIO(PASSWORD + "\n"))

    # The supervisor logs in where counsellors do and lands on the programme view.
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = await context.new_page()
    errors: list[str] = []  # the console's CSP (no inline code or style) must hold for Chart.js
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{base}/console")
    await page.fill("#username", "salma")
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(f"{base}/console/programme")
    await page.locator("body[data-loaded=yes]").wait_for()

    totals = await totals_on_page(page)
    assert totals["conversations_per_day"] == "12" and totals["channels"] == "12"
    assert totals["messages_in"] == str(sent) and totals["emergencies"] == "5"
    assert await chart_data(page, "channels") == [6, 6]
    per_day = await chart_data(page, "conversations_per_day")
    assert len(per_day) == 30 and per_day[-1] == 12 and set(per_day[:-1]) == {None}
    assert sum(v for v in await chart_data(page, "messages_in") if v) == sent
    # The CSV link exports the same cells.
    exported = await page.request.get(await page.locator("#csv").evaluate("a => a.href"))
    assert exported.ok and exported.headers["content-type"].startswith("text/csv")
    lines = (await exported.text()).splitlines()
    assert any(line.endswith(",channels,whatsapp,6") for line in lines), lines[:5]
    figures = await page.locator("#totals").inner_text()
    assert "Nouvelles conversations\n12" in figures

    # No count below 5 anywhere on the page: every cell is "< 5" or at least 5.
    cells = await page.locator("table.data td.num").all_inner_texts()
    assert cells and all(c == "< 5" or int(c) >= 5 for c in cells), cells
    for number in re.findall(r"\d+", await page.locator("#totals").inner_text()):
        assert int(number) >= 5
    for chart in ("regions", "varieties", "emergencies", "handoffs_asked", "handoff_wait", "fallbacks"):
        assert all(v is None or v >= 5 for v in await chart_data(page, chart)), chart
    assert "212600000" not in await page.content()

    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / "programme-desktop-fr.png"), full_page=True)

    # On a phone, in Arabic, right to left.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.click("#lang")
    assert await page.get_attribute("html", "dir") == "rtl"
    await page.locator("#chart-conversations_per_day h2", has_text="المحادثات الجديدة").wait_for()
    assert (await totals_on_page(page))["channels"] == "12"
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, "nothing wider than the phone's screen"
    await page.screenshot(path=str(shots / "programme-phone-ar.png"))

    # She makes a counsellor's account from the page, then gives it a new password.
    await page.fill("#new-name", "nadia")
    await page.fill("#new-password", "a long enough password")
    await page.click("#account-form button[type=submit]")
    row = page.locator("#account-rows tr", has_text="nadia")
    await row.wait_for()
    await row.locator("button").first.click()
    await row.locator("input[type=password]").fill("another long password")
    await row.locator("button[type=submit]").click()
    await row.locator("input[type=password]").wait_for(state="detached")  # done: the row is drawn again
    assert await store.aio.call(accounts.password_hash, store, "nadia") is not None
    audited = [(r.action, r.counsellor, r.subject) for r in await store.aio.call(_audit, store)]
    assert audited == [("account_create", "salma", "nadia"), ("account_password", "salma", "nadia")]
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    await context.close()
