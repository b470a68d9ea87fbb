"""The cluster's failure behaviour (cache/cluster.py) with sockets that fail, no memcached needed.

Servers are real closed ports and real listeners that never answer, or scripted sockets
(tests/cache/wire.py) that refuse, reset, hang, close or answer with canned replies. The same
behaviour on real memcached processes, killed and frozen: test_hot_keys_and_failures.py.
"""

import socket
import time

import pytest
from django.core.cache.backends.base import InvalidCacheKey
from pymemcache.exceptions import MemcacheServerError

from cache import protocol
from cache.cluster import RECOVERY_MARKER, MemcachedCluster
from cache.stats import stats
from tests.cache.wire import Wire, closed_port

LIVE = "127.0.0.1:1"
KEYS = [f"o:1:test.thing:ab:{n}" for n in range(40)]


def make_cluster(wire: Wire, *servers: str, **options) -> MemcachedCluster:
    options = {"connect_timeout": 0.5, "timeout": 0.5, "retry_after": 60, **options}
    return MemcachedCluster(servers, socket_module=wire, **options)


def owned(cluster: MemcachedCluster, address: str) -> list[str]:
    return [key for key in KEYS if cluster.node_for(key).address == address]


def sent_keys(server, verb: bytes) -> set[bytes]:
    return {key for command, keys in server.commands if command == verb for key in keys}


@pytest.fixture
def wire():
    return Wire()


def test_a_refused_server_gives_misses_not_errors_and_its_keys_stay_home(wire):
    dead = closed_port()
    live = wire.script(LIVE)
    cluster = make_cluster(wire, LIVE, dead)
    home = {key: cluster.node_for(key).address for key in KEYS}
    lost = owned(cluster, dead)
    assert lost and len(lost) < len(KEYS)

    for _ in range(2):  # when the failure is found, and while the server is known to be down
        fetched = cluster.gets_many(KEYS)
        assert fetched.found == {} and fetched.unreachable == set(lost)
    assert cluster.nodes[1].down_since is not None
    # No rehash: the live server was asked for its own keys only, and placement is unchanged.
    assert sent_keys(live, b"gets") == {key.encode() for key in KEYS if key not in lost} | {RECOVERY_MARKER.encode()}
    assert {key: cluster.node_for(key).address for key in KEYS} == home
    assert cluster.add_many(dict.fromkeys(KEYS, 1), 60) == set(KEYS) - set(lost)
    assert sent_keys(live, b"add") == {key.encode() for key in KEYS if key not in lost}
    assert cluster.get_many(lost) == {}
    assert cluster.incr(lost[0], 1) is None
    assert cluster.touch(lost[0], 60) is False
    assert cluster.cas(lost[0], 1, 1, 60) is False
    assert cluster.delete(lost[0]) is False


def test_a_down_server_is_not_asked_again_before_its_retry_time(wire):
    dead = wire.script("127.0.0.1:2", mode="refuse")
    cluster = make_cluster(wire, "127.0.0.1:2")
    cluster.get_many(KEYS)
    assert dead.connects == 1
    for _ in range(5):
        assert cluster.get_many(KEYS) == {}
        assert cluster.add_many({KEYS[0]: 1}, 60) == set()
    assert dead.connects == 1


def test_a_hung_server_costs_one_timeout_then_is_treated_like_a_dead_one(wire):
    with socket.socket() as listener:  # accepts connections (the kernel does) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        cluster = make_cluster(wire, address, timeout=0.3)
        started = time.monotonic()
        fetched = cluster.gets_many(KEYS)
        elapsed = time.monotonic() - started
        assert fetched.unreachable == set(KEYS)
        assert 0.3 <= elapsed < 3
        assert cluster.nodes[0].down_since is not None
        with stats.measure() as again:
            assert cluster.get_many(KEYS) == {}
        assert again.get(f"round_trips/{address}", 0) == 0


@pytest.mark.parametrize("mode", ["reset", "hang", "close"])
def test_every_kind_of_connection_failure_is_a_miss(wire, mode):
    server = wire.script(LIVE, mode=mode)
    cluster = make_cluster(wire, LIVE)
    assert cluster.gets_many(KEYS).unreachable == set(KEYS)
    assert cluster.set_many({KEYS[0]: None}, 10) == set()
    assert server.connects >= 1 and cluster.nodes[0].down_since is not None


def test_a_server_error_raises_and_does_not_mark_the_server_down(wire):
    wire.script(LIVE, mode="error")
    cluster = make_cluster(wire, LIVE)
    with pytest.raises(MemcacheServerError):
        cluster.set_many({KEYS[0]: 1}, 60)
    assert cluster.nodes[0].down_since is None


def test_an_illegal_key_raises_before_anything_is_sent(wire):
    server = wire.script(LIVE)
    cluster = make_cluster(wire, LIVE)
    for bad in ["a key with spaces", "tab\tkey", "x" * 251, "é" * 126]:
        with pytest.raises(InvalidCacheKey):
            cluster.get_many([KEYS[0], bad])
        with pytest.raises(InvalidCacheKey):
            cluster.set_many({KEYS[0]: 1, bad: 1}, 60)
    assert server.commands == [] and cluster.nodes[0].down_since is None


def test_a_returning_server_is_flushed_and_marked_before_it_serves_a_read(wire):
    server = wire.script("127.0.0.1:2")
    cluster = make_cluster(wire, LIVE, "127.0.0.1:2")
    wire.script(LIVE)
    theirs = owned(cluster, "127.0.0.1:2")
    server.hold(theirs[0], "old value")
    assert cluster.get_many(theirs) == {theirs[0]: "old value"}

    server.mode = "refuse"
    assert cluster.gets_many(theirs).unreachable == set(theirs)
    server.mode = "up"  # back, with its old values (a partition, not a restart)
    server.commands.clear()
    assert cluster.gets_many(theirs).unreachable == set(theirs)  # not before its retry time
    assert server.commands == []

    cluster.nodes[1].retry_at = 0
    server.hold(RECOVERY_MARKER, 1)
    fetched = cluster.gets_many(theirs)
    assert server.verbs() == [b"flush_all", b"set", b"gets"]
    assert server.commands[1] == (b"set", [RECOVERY_MARKER.encode()])
    assert fetched.recovering == set(theirs)  # misses there are read as tombstoned
    assert cluster.nodes[1].down_since is None


def test_a_recovery_that_fails_leaves_the_server_down_and_unread(wire):
    server = wire.script("127.0.0.1:2", mode="refuse")
    cluster = make_cluster(wire, "127.0.0.1:2")
    cluster.get_many(KEYS)
    cluster.nodes[0].retry_at = 0
    assert cluster.gets_many(KEYS).unreachable == set(KEYS)
    assert server.connects == 2 and server.commands == []
    assert cluster.nodes[0].retry_at > time.monotonic()


def test_invalidations_reach_a_server_believed_down_and_recover_it_first(wire):
    server = wire.script("127.0.0.1:2", mode="refuse")
    cluster = make_cluster(wire, "127.0.0.1:2")
    assert cluster.set_many({KEYS[0]: None}, 10) == set()  # refused: nothing stored, no error
    server.mode = "up"
    # Long before its retry time, a tombstone is still delivered: after the flush and marker.
    assert cluster.set_many({KEYS[0]: None}, 10) == {KEYS[0]}
    assert server.verbs() == [b"flush_all", b"set", b"set"]
    assert server.commands[2] == (b"set", [KEYS[0].encode()])


def test_protocol_over_a_dead_server_reads_the_primary_and_fills_nothing(wire, monkeypatch):
    server = wire.script("127.0.0.1:2", mode="refuse")
    cluster = make_cluster(wire, "127.0.0.1:2")
    monkeypatch.setattr(protocol, "cluster", lambda: cluster)
    loads = []

    def load(keys, primary):
        loads.append((sorted(keys), primary))
        return {key: f"row {key}" for key in keys}

    found = protocol.read_through(KEYS[:3], load)
    assert found == {key: f"row {key}" for key in KEYS[:3]}
    assert loads == [(sorted(KEYS[:3]), True)]  # one load, from the primary: it may have missed tombstones
    assert server.connects == 1 and server.commands == []
