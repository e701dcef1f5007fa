"""Outbox delivery: a lease is a compare-and-set token (a sender that lost it writes nothing
and sends nothing), Retry-After in seconds or as an HTTP date, backoff with jitter."""
from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from bot.appkeys import GATEWAY, STORE
from bot.outbox import backoff_s
from bot.store import Store, outbox
from bot.twilio_api import retry_after_s
from tests.conftest import Phone
from tests.test_faults import wait_for


def test_retry_after_in_seconds_as_a_date_or_unreadable():
    now = time.time()
    assert retry_after_s("7", now) == 7.0
    in_20s = email.utils.formatdate(now + 20, usegmt=True)
    assert 18.0 <= retry_after_s(in_20s, now) <= 21.0
    assert retry_after_s(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    assert retry_after_s("99999999", now) == 3600.0
    for bad in ("", None, "soon", "nan", "inf", "Mon, 99 Foo 2026"):
        assert retry_after_s(bad, now) is None


def test_backoff_has_jitter_and_a_ceiling():
    samples = {backoff_s(4) for _ in range(50)}
    assert len(samples) > 40 and all(4.0 <= s <= 8.0 for s in samples)
    assert max(backoff_s(30) for _ in range(20)) <= 300.0


def _sent(app) -> bool:
    """The outbox row is recorded as sent (a moment after Twilio's stand-in has it)."""
    with app[STORE].engine.connect() as conn:
        return conn.execute(outbox.select()).one().status == "sent"


def _queue(store: Store, n: int) -> None:
    for i in range(n):
        store.enqueue("u-lease", f"part {i}".encode())


def test_a_sender_that_lost_its_lease_cannot_send_or_record(var_dir):
    store = Store(f"sqlite:///{var_dir / 'gateway.db'}")
    _queue(store, 1)
    first = store.lease_due(20, 0.05)
    assert len(first) == 1
    time.sleep(0.1)  # the first sender is slow: its lease runs out
    second = store.lease_due(20, 30)
    assert [r["id"] for r in second] == [first[0]["id"]]
    assert store.renew_lease(first[0]["id"], first[0]["lease_until"], 30) is None
    assert store.mark_sent(first[0]["id"], first[0]["lease_until"], "SMlate") is False
    assert store.mark_sent(second[0]["id"], second[0]["lease_until"], "SMright") is True
    with store.engine.connect() as conn:
        row = conn.execute(outbox.select()).one()
    assert row.status == "sent" and row.twilio_sid == "SMright" and row.attempts == 1
    store.close()


def test_renewing_keeps_a_long_batch_to_its_sender(var_dir):
    store = Store(f"sqlite:///{var_dir / 'gateway.db'}")
    _queue(store, 3)
    rows = store.lease_due(20, 0.05)
    lease = store.renew_lease(rows[0]["id"], rows[0]["lease_until"], 30)
    assert lease is not None
    time.sleep(0.1)  # the other rows' leases run out; the renewed one does not
    taken = store.lease_due(20, 30)
    assert rows[0]["id"] not in [r["id"] for r in taken]
    # The conversation's order holds: the renewed first row blocks the later ones.
    assert taken == []
    store.close()


async def test_retry_after_as_an_http_date_is_honoured_and_counted(gateway_factory, twilio):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "+212600000312")
    await phone.send("bonjour")
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    twilio.failures.append({"status": 429, "retry_after": email.utils.formatdate(time.time() + 3, usegmt=True)})
    started = time.monotonic()
    await app[GATEWAY].send_later(conv_id, "Une conseillère vous répond.")
    await wait_for(lambda: len(twilio.messages) >= 1 and _sent(app), timeout=15)
    assert time.monotonic() - started >= 1.0  # it waited as told (the date has 1 s resolution)
    await asyncio.sleep(0.5)
    assert len(twilio.messages) == 1
    with app[STORE].engine.connect() as conn:
        row = conn.execute(outbox.select()).one()
    assert row.status == "sent" and row.attempts == 2


@pytest.mark.parametrize("header", ["garbage", "Mon, 99 Foo 2026 00:00:00 GMT"])
async def test_an_unreadable_retry_after_still_counts_the_attempt(gateway_factory, twilio, header):
    client, settings, app = await gateway_factory()
    phone = Phone(client, settings, "+212600000313")
    await phone.send("bonjour")
    conv_id = app[GATEWAY].vault.pseudonym(phone.address)
    twilio.failures.append({"status": 503, "retry_after": header})
    await app[GATEWAY].send_later(conv_id, "Bonjour")
    await wait_for(lambda: len(twilio.messages) >= 1 and _sent(app), timeout=15)
    with app[STORE].engine.connect() as conn:
        row = conn.execute(outbox.select()).one()
    assert row.status == "sent" and row.attempts == 2
