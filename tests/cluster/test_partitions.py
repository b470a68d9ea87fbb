"""Partitions, not just crashes: a host of the cluster taken off the bridge (its link down:
its packets go nowhere and nobody's reach it, so every wait on it is a timeout, not a refusal)
or slowed (tc netem), under signed-in readers and a writer through lb1. Each scenario's figures
go to var/<profile>/cluster.json and the README ("Running on many machines")."""

from __future__ import annotations

import re
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.cluster import cluster as lib
from tests.pownce.traffic import Browser, Readers, Writer
from tests.stack import wait_until

pytestmark = [pytest.mark.cluster]

# The app servers' settings (pownce/settings.py defaults, not overridden by the cluster).
REPLICA_HEALTH_TTL = 2
DB_CONNECT_TIMEOUT = 2
REPLICA_READ_TIMEOUT = 2
DB_TIMEOUT = 5
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="module")
def world(running_cluster):
    return lib.people(12)


def browsers(people: list[dict]) -> list[Browser]:
    return [Browser(cookies=person["cookies"], base=lib.LB) for person in people]


def paths(people: list[dict]) -> list[str]:
    return [f"/{person['username']}/" for person in people] + ["/public/", "/"]


@contextmanager
def partitioned(host: str):
    lib.cluster("partition", host)
    try:
        yield time.monotonic()
    finally:
        lib.cluster("heal", host)


@contextmanager
def slowed(host: str, delay: str):
    lib.cluster("slow", host, delay)
    try:
        yield
    finally:
        lib.cluster("heal", host)


def hold(seconds: float, readers: Readers, *, at_least: int) -> None:
    """Keep a fault in place for ``seconds`` (the scenario's length, not a wait for a state) and
    check the readers really ran meanwhile."""
    before = readers.count()
    time.sleep(seconds)
    assert readers.count() - before >= at_least, f"only {readers.count() - before} reads during the fault"


def everything_back() -> None:
    wait_until(lib.all_up, timeout=60, interval=0.5, message="every app server UP in HAProxy again")


def figures(readers: Readers, writer: Writer | None = None) -> dict:
    out = {
        "reads": len(readers.outcomes),
        "failed_reads": len(readers.failures()),
        "slowest_read_s": round(readers.slowest(), 2),
    }
    if writer is not None:
        out.update(
            post_attempts=len(writer.attempts),
            posts_acknowledged=len(writer.acknowledged),
            failed_post_attempts=sum(1 for o in writer.attempts if o.status != 302),
            slowest_post_s=round(max((o.seconds for o in writer.attempts), default=0), 2),
        )
    return out


def server_errors(*outcomes) -> list[int]:
    return [o.status for o in outcomes if o.status >= 500 or o.status == 0]


def test_app_host_partitioned(world):
    """app1 off the network for as long as HAProxy takes to mark it DOWN, and 3 s more: no read
    and no post fails (a request that cannot connect goes to another app server), and app1 is
    back in rotation once healed."""
    victim = lib.with_role("app")[0]
    with Readers(browsers(world[:4]), paths(world)) as readers, Writer(browsers(world[4:8]), f"pa{lib.RUN}") as writer:
        wait_until(lambda: readers.count() >= 50 and writer.acknowledged, timeout=60, message="warm")
        with partitioned(victim) as since:
            wait_until(
                lambda: lib.haproxy_states()[victim]["status"].startswith("DOWN"),
                timeout=60,
                interval=0.2,
                message=f"HAProxy marks {victim} DOWN",
            )
            marked_down_s = time.monotonic() - since
            # Readers whose GET was in flight on it wait for the retry (20 s): few reads meanwhile.
            hold(3, readers, at_least=3)
        everything_back()
        count = readers.count()
        wait_until(lambda: readers.count() >= count + 30, timeout=30, message="reads after healing")
    lib.report(
        f"app host ({victim}) partitioned", **figures(readers, writer), marked_down_after_s=round(marked_down_s, 1)
    )
    assert readers.failures() == []
    assert [o.status for o in writer.attempts if o.status != 302] == []
    lib.assert_every_acknowledged_post_once(writer)


def test_replica_host_partitioned(world):
    """db2 off the network for 12 s: every read answered 200; each app process waits on it once
    (its timeout) and then skips it: no read that starts later than the health interval plus one
    timeout after the partition waits on it."""
    victim = lib.with_role("replica")[0]
    others = [host for host in lib.with_role("replica") if host != victim]
    with Readers(browsers(world[:4]), paths(world)) as readers, Writer(browsers(world[4:8]), f"pr{lib.RUN}") as writer:
        wait_until(lambda: readers.count() >= 50, timeout=60, message="warm")
        with partitioned(victim) as since:
            before = {host: lib.selects(host) for host in others}
            hold(12, readers, at_least=50)
            after = {host: lib.selects(host) for host in others}
        slow = [o for o in readers.outcomes if o.started >= since and o.seconds > 1]
        last_slow_s = max((o.started - since for o in slow), default=0.0)
        # Healed: its replication resumes and the app servers put it back in rotation.
        wait_until(lambda: lib.sql(victim, "SELECT 1", "REPLICA_PORT") == [(1,)], timeout=30, message="db2 back")
    lib.report(
        f"replica host ({victim}) partitioned 12 s",
        **figures(readers, writer),
        slow_reads_during=len(slow),
        last_slow_read_started_after_s=round(last_slow_s, 1),
    )
    assert readers.failures() == []
    assert [o.status for o in writer.attempts if o.status != 302] == []
    assert all(after[host] > before[host] for host in others), "the other replicas carried the reads"
    # Skipped within the health interval: a process learns within its TTL plus one connect or
    # read timeout; a request ahead of it in the same worker's queue adds one more, and a process
    # whose pages all came whole from the page cache meets the replica first only later (one
    # more read timeout).
    assert last_slow_s < REPLICA_HEALTH_TTL + DB_CONNECT_TIMEOUT + 2 * REPLICA_READ_TIMEOUT + 2
    assert readers.slowest() < REPLICA_READ_TIMEOUT * 2 + 3
    lib.assert_every_acknowledged_post_once(writer)


def latest_by_path(writer: Writer, authors: list[dict]) -> dict[str, str]:
    """For each author's profile page and the public stream, the newest post acknowledged
    (post number n is sent by author n % len(authors): tests.pownce.traffic.Writer)."""
    out: dict[str, str] = {}
    for body in writer.acknowledged:
        author = authors[int(body.rsplit(" ", 1)[1]) % len(authors)]
        out[f"/{author['username']}/"] = body
    out["/public/"] = writer.acknowledged[-1]
    return out


def stale_reads(readers: list[Browser], expected: dict[str, str], rounds: int = 6) -> tuple[int, int]:
    """Once each page has shown its newest post (replication has caught up), read every page
    ``rounds`` times from every reader (spread over every app server): how many reads then
    miss the newest post (stale), out of how many."""

    def shows(path: str, body: str, browser: Browser = readers[0]) -> bool:
        # "pm 1" must not match "pm 12".
        return browser.request(path).status == 200 and re.search(rf"{re.escape(body)}(?!\d)", browser.last_text)

    for path, body in expected.items():
        wait_until(lambda p=path, b=body: shows(p, b), timeout=30, interval=0.2, message=f"{body} on {path}")
    stale = total = 0
    for _ in range(rounds):
        for browser in readers:
            for path, body in expected.items():
                total += 1
                if not shows(path, body, browser):
                    stale += 1
    return stale, total


def test_memcached_host_partitioned_serves_no_stale_value_after_healing(world):
    """app3 (an app server and a memcached node) off the network for 10 s while notes are
    posted (their invalidations miss app3's memcached): no 5xx; once healed, the node is treated
    as one that missed invalidations (flushed before use) and no page shows an old list."""
    victim = lib.with_role("memcached")[-1]
    authors = world[4:8]
    with Readers(browsers(world[:4]), paths(world)) as readers, Writer(browsers(authors), f"pm{lib.RUN}") as writer:
        wait_until(lambda: readers.count() >= 50 and len(writer.acknowledged) >= 4, timeout=60, message="warm")
        with partitioned(victim):
            acknowledged = len(writer.acknowledged)
            hold(10, readers, at_least=30)
            wait_until(
                lambda: len(writer.acknowledged) >= acknowledged + 3,
                timeout=30,
                message="posts while the memcached host is away",
            )
        everything_back()
        count = readers.count()
        wait_until(lambda: readers.count() >= count + 30, timeout=30, message="reads after healing")
    expected = latest_by_path(writer, authors)
    stale, checked = stale_reads(browsers(world[8:12]), expected)
    lib.report(
        f"memcached host ({victim}) partitioned 10 s",
        **figures(readers, writer),
        stale_reads=stale,
        reads_checked_for_staleness=checked,
    )
    assert server_errors(*readers.outcomes, *writer.attempts) == []
    assert stale == 0
    lib.assert_every_acknowledged_post_once(writer)


def login(username: str):
    browser = Browser(base=lib.LB)
    browser.request("/login/")
    return browser.request("/login/", {"csrfmiddlewaretoken": browser.csrf, "username": username, "password": PASSWORD})


def test_redis_host_partitioned(world):
    """redis1 off the network for 10 s: what "What survives what" says of a Redis outage —
    every page answered and signed in (sessions live in the database), posting works (its limit
    fails open), log-in answers 503 with Retry-After (its limit fails closed)."""
    victim = lib.with_role("redis")[0]
    with Readers(browsers(world[:4]), paths(world)) as readers, Writer(browsers(world[4:8]), f"pd{lib.RUN}") as writer:
        wait_until(lambda: readers.count() >= 50, timeout=60, message="warm")
        with partitioned(victim):
            hold(5, readers, at_least=10)
            during = login(world[9]["username"])
            hold(5, readers, at_least=10)
        wait_until(
            lambda: login(world[9]["username"]).status == 302, timeout=30, interval=0.5, message="log-in working again"
        )
    lib.report(f"Redis host ({victim}) partitioned 10 s", **figures(readers, writer), log_in_during=during.status)
    assert readers.failures() == []
    assert [o for o in readers.outcomes if not o.signed_in] == [], "every page shows its reader signed in"
    assert (during.status, during.headers.get("retry-after")) == (503, "5")
    assert [o.status for o in writer.attempts if o.status != 302] == []
    lib.assert_every_acknowledged_post_once(writer)
    assert lib.down_components() == [], "the status samplers outlive Redis' absence"


def test_primary_host_partitioned(world):
    """db1 off the network for 10 s: reads go on from the replicas; a post fails fast and
    clearly (503 + Retry-After); once healed the writer's posts succeed again and every
    acknowledged post is on the primary exactly once."""
    victim = lib.with_role("primary")[0]
    with Readers(browsers(world[:4]), paths(world)) as readers, Writer(browsers(world[4:8]), f"pp{lib.RUN}") as writer:
        wait_until(lambda: len(writer.acknowledged) >= 3, timeout=60, message="posts before the fault")
        with partitioned(victim):
            hold(10, readers, at_least=30)
            wait_until(lambda: refusals(writer), timeout=30, message="a post refused while the primary is away")
            refused = refusals(writer)
        acknowledged = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) >= acknowledged + 3, timeout=60, message="posts after healing")
    lib.report(
        f"primary host ({victim}) partitioned 10 s",
        **figures(readers, writer),
        refused_posts=len(refused),
        slowest_refusal_s=round(max(o.seconds for o in refused), 2),
    )
    assert readers.failures() == []
    assert {o.status for o in refused} == {503}
    assert {o.headers.get("retry-after") for o in refused} == {"5"}
    assert max(o.seconds for o in refused) < 2 * DB_TIMEOUT + 2
    lib.assert_every_acknowledged_post_once(writer)
    assert lib.down_components() == [], "the task worker outlives the primary's absence"


def refusals(writer: Writer) -> list:
    return [o for o in writer.attempts if o.status != 302]


def replica_root(host: str, *statements: str) -> None:
    """Root on a replica host, over its own socket (changing replication needs it)."""
    socket = lib.ROOT / "var" / f"cluster-{host}" / "run" / "replica.sock"
    for statement in statements:
        subprocess.run(
            ["mariadb", "--no-defaults", "--user=root", f"--socket={socket}", "-e", statement],
            check=True,
            capture_output=True,
            timeout=30,
        )


def test_slow_replica_host(world):
    """200 ms added to everything db2 sends: pages still answer. Then db2 also falls behind the
    lag threshold (MASTER_DELAY): the router reads from the faster path (the other replica) and
    db2 runs no more SELECTs."""
    if reason := lib.no_latency():
        pytest.skip(reason)
    victim = lib.with_role("replica")[0]
    others = [host for host in lib.with_role("replica") if host != victim]
    with Readers(browsers(world[:4]), paths(world)) as readers, Writer(browsers(world[4:8]), f"ps{lib.RUN}") as writer:
        wait_until(lambda: readers.count() >= 50, timeout=60, message="warm")
        slowed_at = time.monotonic()
        with slowed(victim, "200ms"):
            hold(6, readers, at_least=20)
            replica_root(victim, "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=5", "START SLAVE")
            try:
                # Out of rotation once it lags more than the threshold and each process looked again.
                wait_until(lambda: lagging(victim), timeout=30, interval=0.5, message=f"{victim} lagging")
                wait_until(lambda: no_selects_for_a_second(victim), timeout=30, message=f"reads leave {victim}")
                before = {host: lib.selects(host) for host in [victim, *others]}
                hold(4, readers, at_least=10)
                after = {host: lib.selects(host) for host in [victim, *others]}
            finally:
                replica_root(victim, "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=0", "START SLAVE")
        healed_at = time.monotonic()
    lagging_selects = after[victim] - before[victim]
    lib.report(
        f"replica host ({victim}) +200 ms",
        **figures(readers, writer),
        selects_on_lagging_slow_replica=lagging_selects,
        selects_on_other_replicas=sum(after[h] - before[h] for h in others),
        healed_after_s=round(healed_at - slowed_at, 1),
        failed_reads_started_after_s=[round(o.started - slowed_at, 1) for o in readers.failures()],
    )
    assert readers.failures() == []
    assert [o.status for o in writer.attempts if o.status != 302] == []
    # The status query itself is not a SELECT; nothing else reads from it.
    assert lagging_selects == 0
    assert all(after[h] > before[h] for h in others)


def lagging(host: str) -> bool:
    """Whether the replica on ``host`` is more than the router's threshold (1 s) behind."""
    socket = lib.ROOT / "var" / f"cluster-{host}" / "run" / "replica.sock"
    out = subprocess.run(
        ["mariadb", "--no-defaults", "--user=root", f"--socket={socket}", "-e", "SHOW SLAVE STATUS\\G"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    for line in out.splitlines():
        if "Seconds_Behind_Master:" in line:
            value = line.split(":", 1)[1].strip()
            return value != "NULL" and int(value) > 1
    return False


def no_selects_for_a_second(host: str) -> bool:
    before = lib.selects(host)
    time.sleep(1)  # the window measured, not a wait for a state
    return lib.selects(host) == before
