"""Capacity grows by adding machines: app4 and cache4 join the running cluster under a
read/write loop through lb1 (deploy/cluster.sh add). No request fails; HAProxy reloads
gracefully and sends app4 its share; every app server picks up the new memcached node list
without a restart and uses cache4, which takes about 1/N of the keys."""

from __future__ import annotations

import pytest
from pymemcache.client.base import Client

from cache.cluster import MemcachedCluster
from tests.cluster import cluster as lib
from tests.pownce.traffic import Browser, Readers, Writer
from tests.stack import wait_until

pytestmark = [pytest.mark.cluster]


def memcached_gets(host: str) -> int:
    client = Client((lib.address(host), int(lib.SETTINGS["MEMCACHED_PORT"])), connect_timeout=2, timeout=2)
    try:
        return int(client.stats()[b"cmd_get"])
    finally:
        client.close()


def gunicorn_masters() -> dict[str, int]:
    return {
        host: int((lib.ROOT / "var" / f"cluster-{host}" / "run" / f"{host}.pid").read_text())
        for host in lib.with_role("app")
    }


def test_adding_app4_and_cache4_to_a_running_cluster_fails_no_request(running_cluster):
    app, cache = lib.spare("app"), lib.spare("memcached")
    if app is None or cache is None:
        pytest.skip("every spare host of the inventory is already in the running cluster (make cluster-down)")
    people = lib.people(8)
    browsers = [Browser(cookies=person["cookies"], base=lib.LB) for person in people]
    paths = [f"/{person['username']}/" for person in people] + ["/public/", "/"]
    masters = gunicorn_masters()
    with Readers(browsers[:4], paths) as readers, Writer(browsers[4:], f"grow{lib.RUN}") as writer:
        wait_until(lambda: readers.count() >= 50, timeout=60, message="warm")
        lib.cluster("add", app)
        wait_until(
            lambda: int(lib.haproxy_states().get(app, {}).get("stot", 0)) >= 20,
            timeout=60,
            message=f"{app} serving requests",
        )
        lib.cluster("add", cache)
        wait_until(lambda: memcached_gets(cache) >= 50, timeout=60, message=f"the app servers using {cache}")
        count = readers.count()
        wait_until(lambda: readers.count() >= count + 100, timeout=60, message="reads after the change")
    served = {name: int(row["stot"]) for name, row in lib.haproxy_states().items()}
    nodes = (lib.SHARED / "memcached.nodes").read_text().split()
    before = MemcachedCluster(nodes[:-1])
    after = MemcachedCluster(nodes)
    keys = [f"o:1:notes.note:ab:{n}" for n in range(20000)]
    moved = sum(1 for key in keys if before.node_for(key).address != after.node_for(key).address) / len(keys)
    lib.report(
        f"{app} and {cache} added under load",
        reads=len(readers.outcomes),
        failed_reads=len(readers.failures()),
        slowest_read_s=round(readers.slowest(), 2),
        post_attempts=len(writer.attempts),
        failed_post_attempts=sum(1 for o in writer.attempts if o.status != 302),
        requests_to_new_app_server=served.get(app),
        gets_on_new_memcached=memcached_gets(cache),
        share_of_keys_moved=round(moved, 3),
        memcached_nodes=len(nodes),
    )
    assert readers.failures() == []
    assert [o.status for o in writer.attempts if o.status != 302] == []
    lib.assert_every_acknowledged_post_once(writer)
    assert nodes[-1] == f"{lib.address(cache)}:{lib.SETTINGS['MEMCACHED_PORT']}"
    assert abs(moved - 1 / len(nodes)) < 0.03
    # Nothing else restarted: the other app servers are the same processes.
    assert {host: pid for host, pid in gunicorn_masters().items() if host in masters} == masters
