"""memcached servers dying and coming back, on the real servers (real processes killed and
frozen). The same behaviour with sockets that fail, without memcached:
test_cluster_failures.py; leases on hot keys: test_protocol.py (rule 5)."""

import os
import signal

import pytest

from accounts.models import User
from cache import objects, protocol
from cache.stats import stats
from tests.stack import MEMCACHED_PORTS, run_dir, stack

pytestmark = pytest.mark.stack


def memcached_pid(port: int) -> int:
    return int((run_dir() / f"memcached-{port}.pid").read_text())


def owned_by(port: int, model, ids) -> list:
    return [pk for pk in ids if protocol.cluster().node_for(objects.key_for(model, pk)).address.endswith(f":{port}")]


@pytest.fixture
def many_people(db):
    stack("up", "memcached")  # both servers running before a test stops one
    objects.register(User)
    return [User.objects.create_user(f"crowd{i}", password="a-long-password", display_name="before") for i in range(40)]


def test_killed_memcached_means_misses_and_a_restarted_one_serves_nothing_stale(many_people, settings):
    ids = [person.pk for person in many_people]
    port = MEMCACHED_PORTS[1]
    victims = owned_by(port, User, ids)
    assert victims, "some keys must live on the server we kill"
    objects.get_many(User, ids)

    os.kill(memcached_pid(port), signal.SIGKILL)
    try:
        for round_ in range(20):
            if round_ == 5:
                # Written while the server is dead: its tombstones cannot be delivered there.
                objects.CachedQuerySet(User).filter(pk__in=ids).update(display_name="after")
            found = objects.get_many(User, ids)
            assert set(found) == set(ids)  # 0 errors, every object served (from the database)
        assert stats.snapshot().get("node_failures", 0) > 0
    finally:
        stack("up", "memcached")
    protocol.cluster().nodes[1].retry_at = 0  # this process notices the return at its next read
    found = objects.get_many(User, ids)
    assert {user.display_name for user in found.values()} == {"after"}


def test_a_server_cut_off_and_back_with_old_values_is_flushed_before_use(many_people):
    """SIGSTOP freezes memcached with its data (a partition, not a restart)."""
    ids = [person.pk for person in many_people]
    port = MEMCACHED_PORTS[1]
    victims = owned_by(port, User, ids)
    objects.get_many(User, ids)  # "before" cached on both servers
    pid = memcached_pid(port)
    os.kill(pid, signal.SIGSTOP)
    try:
        objects.CachedQuerySet(User).filter(pk__in=ids).update(display_name="after")  # tombstones lost there
        found = objects.get_many(User, ids)
        assert {user.display_name for user in found.values()} == {"after"}
    finally:
        os.kill(pid, signal.SIGCONT)
    protocol.cluster().nodes[1].retry_at = 0
    found = objects.get_many(User, ids)
    assert {found[pk].display_name for pk in victims} == {"after"}
    # And the flushed server then refills normally.
    assert {user.display_name for user in objects.get_many(User, ids).values()} == {"after"}
