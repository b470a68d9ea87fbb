"""An inbox shard's primary that hangs (issue: write scaling). Each primary has a breaker of its
own (pownce/router.py, ``breaker_for``): once a write to a frozen shard primary has timed out,
the next writes to that shard fail at once, while the other shard and the main primary go on;
/readyz and /metrics report it, and the shard takes writes again once it answers."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.test import Client

from notes import partitioning
from pownce.router import PRIMARY, breaker_for
from tests.inbox import delivery_rows
from tests.pownce.availability import DB_TIMEOUT, frozen
from tests.stack import wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.fixture
def breakers():
    if not settings.INBOX_PARTITIONED:
        pytest.skip("needs the inbox on shards of its own (the test profile's INBOX_SHARDS=2)")
    for alias in (PRIMARY, *settings.INBOX_PRIMARY_ALIASES):
        breaker_for(alias).reset()
    yield
    for alias in (PRIMARY, *settings.INBOX_PRIMARY_ALIASES):
        breaker_for(alias).reset()


def recipient_on(physical: int, start: int = 1000) -> int:
    return next(pk for pk in range(start, start + 10_000) if partitioning.physical_shard(pk) == physical)


def timed_write(note_id: int, recipient: int) -> tuple[float, Exception | None]:
    started = time.monotonic()
    try:
        partitioning.deliveries_write(note_id, [recipient])
    except OperationalError as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_frozen_shard_primary_fails_its_writes_fast_and_spares_the_other_shard(breakers):
    on_1, on_2 = recipient_on(1), recipient_on(2)
    connections["inbox1"].close()  # the frozen server must be met by a new connection
    with frozen("inbox1"):
        first, first_error = timed_write(1, on_1)
        second, second_error = timed_write(2, on_1)
        other, other_error = timed_write(3, on_2)
        readiness = Client(REMOTE_ADDR="127.0.0.1").get("/readyz").json()
        scraped = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert first_error is not None and first < DB_TIMEOUT * 2 + 2, "the first write waits its timeout once"
    assert second_error is not None and second < 0.5, f"the second write fails at once, took {second:.2f}s"
    assert "inbox1 unreachable" in str(second_error)
    assert other_error is None, "shard 2 takes its writes"
    assert not breaker_for("inbox2").is_open() and not breaker_for(PRIMARY).is_open()
    # Reported, not required: the site stays in the load balancer.
    assert readiness["ready"] is True
    assert readiness["inbox_primaries"]["inbox1"]["ok"] is False
    assert readiness["inbox_primaries"]["inbox2"]["ok"] is True
    assert 'pownce_db_primary_unreachable{alias="inbox1"} 1.0' in scraped
    assert 'pownce_db_primary_unreachable{alias="inbox2"} 0.0' in scraped

    # Back: the breaker's probe closes it, and the shard takes writes again.
    wait_until(lambda: not breaker_for("inbox1").is_open(), timeout=30, message="inbox1's breaker closed")
    _, error = timed_write(4, on_1)
    assert error is None
    assert {(row.recipient_id, row.note_id) for row in delivery_rows(recipient_id=on_1)} == {(on_1, 4)}


def test_status_reads_inbox_replicas_as_replicas_and_inbox_primaries_as_primaries(breakers):
    from pownce import status

    figures = status.read_databases()
    for alias in settings.INBOX_PRIMARY_ALIASES:
        assert "healthy" not in figures[alias], f"{alias} is a primary: it has no replication to report"
        assert figures[alias]["threads"] >= 1
    for alias in settings.INBOX_REPLICA_ALIASES:
        assert figures[alias]["healthy"] is True, figures[alias]
