"""Servers joining and leaving a running cluster (cache/cluster.py ``set_servers``, driven by a
node-list file in cache/backends.py): rendezvous hashing moves about 1/N of the keys, only to
the new server; a server that joins is flushed before its first use (it may hold values that
missed invalidations) and marked as recovering; a changed node-list file is picked up without a
restart. Scripted sockets (tests/cache/wire.py), no memcached needed."""

from __future__ import annotations

import os
import time

import pytest

from cache import backends
from cache.backends import ClusterCache, NodeListFile
from cache.cluster import RECOVERY_MARKER, MemcachedCluster
from tests.cache.wire import Wire

SERVERS = [f"10.77.0.{20 + n}:11311" for n in range(1, 6)]
KEYS = [f"o:1:notes.note:ab:{n}" for n in range(20000)]


def placement(servers: list[str]) -> dict[str, str]:
    cluster = MemcachedCluster(servers)
    return {key: cluster.node_for(key).address for key in KEYS}


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_adding_the_nth_server_moves_about_one_nth_of_the_keys_and_only_to_it(count):
    before, after = placement(SERVERS[:count]), placement(SERVERS[: count + 1])
    moved = [key for key in KEYS if before[key] != after[key]]
    share = len(moved) / len(KEYS)
    expected = 1 / (count + 1)
    assert abs(share - expected) < 0.03, (share, expected)
    assert {after[key] for key in moved} == {SERVERS[count]}


def test_removing_a_server_moves_only_its_keys():
    before, after = placement(SERVERS[:4]), placement(SERVERS[:2] + SERVERS[3:4])
    moved = [key for key in KEYS if before[key] != after[key]]
    assert {before[key] for key in moved} == {SERVERS[2]}
    assert len(moved) == sum(1 for key in KEYS if before[key] == SERVERS[2])


def test_a_server_that_joins_is_flushed_and_marked_before_its_first_use():
    wire = Wire()
    old = [wire.script(address) for address in SERVERS[:2]]
    new = wire.script(SERVERS[2])
    cluster = MemcachedCluster(SERVERS[:2], socket_module=wire, retry_after=60)
    cluster.gets_many(KEYS[:50])
    kept = cluster.nodes[:2]
    cluster.set_servers(SERVERS[:3])
    assert cluster.nodes[:2] == kept, "servers kept keep their connection and state"
    cluster.gets_many(KEYS[:50])
    # Flushed, the recovery marker stored, and only then read.
    assert new.verbs() == [b"flush_all", b"set", b"gets"]
    assert (b"set", [RECOVERY_MARKER.encode()]) in new.commands
    assert b"flush_all" not in old[0].verbs() + old[1].verbs()
    cluster.gets_many(KEYS[:50])
    assert new.verbs()[3:] == [b"gets"], "recovered once"


def test_a_changed_node_list_file_is_used_without_a_restart(tmp_path, monkeypatch):
    monkeypatch.setattr(backends, "RELOAD_SECONDS", 0)
    path = tmp_path / "memcached.nodes"
    path.write_text("# the cluster's memcached nodes\n" + "\n".join(SERVERS[:2]) + "\n")
    cache = ClusterCache(f"@{path}", {})
    assert [node.address for node in cache.cluster.nodes] == SERVERS[:2]
    path.write_text("\n".join(SERVERS[:3]) + "\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert [node.address for node in cache.cluster.nodes] == SERVERS[:3]
    path.write_text("")  # an empty (half-written) file keeps the list in use
    assert [node.address for node in cache.cluster.nodes] == SERVERS[:3]


def test_a_node_list_file_that_lists_nothing_is_refused(tmp_path):
    path = tmp_path / "empty"
    path.write_text("# nothing\n")
    with pytest.raises(Exception, match="lists no server"):
        NodeListFile(str(path))
