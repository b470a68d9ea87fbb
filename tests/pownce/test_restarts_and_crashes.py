"""Starting, restarting and crashing under real traffic through HAProxy (issue: high
availability): the stack is ready when `up` returns, a rolling restart costs no request, and a
kill -9 of an app server or of the primary loses no acknowledged post and doubles none."""

from __future__ import annotations

import pytest
from django.db import connections

from pownce.router import primary_breaker
from tests.pownce.availability import (
    assert_every_acknowledged_post_once,
    browsers,
    figures,
    kill_9,
    kill_app_server,
    people,
    reader_paths,
    report,
)
from tests.pownce.traffic import Browser, Readers, Writer
from tests.stack import stack, wait_for_replica, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


def test_the_site_answers_as_soon_as_up_returns(web_stack):
    """`stack.sh up` returns once HAProxy has every app server UP: 100 GETs right after it,
    none answered 503."""
    stack("down", "web")
    stack("up", "web")
    visitor = Browser()
    statuses = [visitor.request("/public/").status for _ in range(100)]
    report("make stack, then 100 GETs at once", requests=100, failed=sum(1 for s in statuses if s != 200))
    assert statuses == [200] * 100


def test_rolling_restart_under_reads_and_writes_costs_nothing(web_stack):
    """`stack.sh restart app` drains and restarts each app server in turn: 0 failed reads, 0
    failed posts, every acknowledged post there once."""
    users = people(8)
    with Readers(browsers(users[:4]), reader_paths(users)) as readers, Writer(browsers(users[4:]), "rr") as writer:
        wait_until(lambda: len(writer.acknowledged) >= 2, timeout=30, message="posts before the restart")
        stack("restart", "app")
        count = readers.count()
        wait_until(lambda: readers.count() >= count + 50, timeout=30, message="reads after the restart")
    report("rolling restart of both app servers", **figures(readers, writer))
    assert readers.failures() == []
    assert [o.status for o in writer.attempts if o.status != 302] == []
    assert_every_acknowledged_post_once(writer)


def test_kill_9_of_an_app_server_then_of_the_primary_loses_no_acknowledged_post(web_stack):
    """A post loop gets kill -9 of an app server, then of the primary (restarted by `stack.sh up
    primary`). Posts that failed are sent again with their key: every acknowledged post exists
    once, with its deliveries, and none exists twice."""
    users = people(6)
    primary_breaker.reset()
    with Writer(browsers(users[1:5]), "k9", pause=0.1) as writer:
        wait_until(lambda: len(writer.acknowledged) >= 5, timeout=30, message="posts before the kills")
        kill_app_server("app1")
        acknowledged = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) >= acknowledged + 5, timeout=30, message="posts on app2")
        refused = len(failed(writer))
        kill_9("primary")
        wait_until(lambda: len(failed(writer)) > refused, timeout=30, message="posts refused without a primary")
        stack("up", "primary")
        connections["default"].close()  # this test's own connection died with the old primary
        acknowledged = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) >= acknowledged + 5, timeout=60, message="posts after the restart")
    stack("up", "app")  # app1 again, for the tests after this one
    wait_for_replica()
    report("kill -9 of an app server, then of the primary, under a post loop", **figures(writer=writer))
    assert_every_acknowledged_post_once(writer)


def failed(writer: Writer) -> list:
    return [o for o in writer.attempts if o.status != 302]
