"""Hung and stopped nodes under a loop of real traffic through HAProxy (issue: high
availability). Hung is the common failure: a frozen process (SIGSTOP) accepts connections and
answers nothing. Each scenario runs readers (signed-in people reading pages that hit the
database) and, where it matters, a writer that retries with the note form's idempotency key."""

from __future__ import annotations

import pytest
from django.conf import settings

from pownce.router import health, primary_breaker
from tests.pownce.availability import (
    DB_TIMEOUT,
    assert_every_acknowledged_post_once,
    browsers,
    figures,
    frozen,
    hold,
    people,
    reader_paths,
    report,
)
from tests.pownce.metrics_helpers import scrape_sql_by_alias
from tests.pownce.traffic import Browser, Readers, Writer
from tests.stack import stack, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.fixture
def world(web_stack):
    users = people(10)
    primary_breaker.reset()
    yield users
    primary_breaker.reset()


def test_frozen_replica_costs_no_request(world):
    """15 s of a frozen replica: every read is answered 200, none waits longer than the replica's
    read timeout plus the retry on the primary; the writer's posts keep succeeding."""
    replica_reads_before = scrape_sql_by_alias().get("replica1", 0)
    with Readers(browsers(world[:4]), reader_paths(world)) as readers, Writer(browsers(world[4:8]), "rf") as writer:
        wait_until(lambda: readers.count() >= 50, timeout=30, message="readers warmed up")
        assert scrape_sql_by_alias().get("replica1", 0) > replica_reads_before, "readers must read the replica"
        with frozen("replica"):
            hold(15, readers, at_least=50)
        wait_until(lambda: health.state("replica1", refresh=True).healthy, timeout=30, message="replica back")
    report("replica frozen 15 s", **figures(readers, writer))
    assert readers.failures() == []
    assert readers.slowest() < settings.REPLICA_READ_TIMEOUT + 2
    assert [o.status for o in writer.attempts if o.status != 302] == []
    assert_every_acknowledged_post_once(writer)


def test_frozen_primary_fails_writes_quickly_and_loses_none(world):
    """10 s of a frozen primary: readers who are not pinned are all answered from the replica;
    a post fails with 503 + Retry-After within the primary's timeout, and once the primary is
    back every acknowledged post exists exactly once."""
    with Readers(browsers(world[:4]), reader_paths(world)) as readers, Writer(browsers(world[4:8]), "pf") as writer:
        wait_until(lambda: len(writer.acknowledged) >= 3, timeout=30, message="posts before the fault")
        with frozen("primary"):
            hold(10, readers, at_least=30)
            # The fault lasts until the writer has been answered at least once (on a loaded
            # machine its first try may still be waiting for a worker at the 10 s mark).
            wait_until(lambda: refusals(writer), timeout=20, message="a post refused while the primary is frozen")
            refused = refusals(writer)
        acknowledged = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) >= acknowledged + 3, timeout=60, message="posts after the fault")
    report("primary frozen 10 s", **figures(readers, writer))
    assert readers.failures() == []
    assert {o.status for o in refused} == {503}
    assert {o.headers.get("retry-after") for o in refused} == {"5"}
    # Never a hang: its own wait for the primary at most, plus at most one other request's
    # ahead of it in the app server's queue (a reader's first read of a just-written key).
    assert max(o.seconds for o in refused) < 2 * DB_TIMEOUT + 2
    assert_every_acknowledged_post_once(writer)


def refusals(writer: Writer) -> list:
    return [o for o in writer.attempts if o.status != 302]


def login(browser: Browser, username: str):
    browser.request("/login/")
    return browser.request(
        "/login/", {"csrfmiddlewaretoken": browser.csrf, "username": username, "password": "correct-horse-9"}
    )


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_redis_outage_keeps_people_signed_in_and_pauses_log_in(world, fault):
    """Redis holds the sessions' cache and the rate limits. While it is stopped (or frozen) for
    10 s: every page is answered 200 and signed-in people still see their own navigation
    (sessions come from the database); posting works (its limit fails open); log-in answers a
    clear 503 with Retry-After (its limit fails closed), never a 500. After a restart that
    emptied Redis, people are still signed in."""
    with Readers(browsers(world[:4]), reader_paths(world)) as readers, Writer(browsers(world[4:8]), "rd") as writer:
        wait_until(lambda: readers.count() >= 50, timeout=30, message="readers warmed up")
        if fault == "stopped":
            stack("down", "redis")
            try:
                hold(5, readers, at_least=20)
                during = login(Browser(), world[9].username)
                hold(5, readers, at_least=20)
            finally:
                stack("up", "redis")
        else:
            with frozen("redis"):
                hold(5, readers, at_least=10)
                during = login(Browser(), world[9].username)
                hold(5, readers, at_least=10)
        # Each process tries Redis again REDIS_RETRY_AFTER after its last failure.
        wait_until(
            lambda: login(Browser(), world[9].username).status == 302,
            timeout=20,
            interval=0.5,
            message="log-in working again",
        )
        count = readers.count()
        wait_until(lambda: readers.count() >= count + 50, timeout=30, message="reads after the outage")
    report(f"Redis {fault} 10 s", **figures(readers, writer), log_in_during=during.status)
    assert readers.failures() == []
    assert [o for o in readers.outcomes if not o.signed_in] == [], "every page shows its reader signed in"
    assert (during.status, during.headers.get("retry-after")) == (503, "5")
    assert [o.status for o in writer.attempts if o.status != 302] == []
    assert_every_acknowledged_post_once(writer)
