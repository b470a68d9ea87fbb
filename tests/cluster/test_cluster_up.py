"""The stack across hosts (deploy/cluster.sh): every host a network namespace with its own
address, every component listening on its host's address, HAProxy's server lines and the
replica and memcached lists from the inventory, and a read/write loop through lb1 that reaches
every app server and both replicas with no failed request."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest

from tests.cluster import cluster as lib
from tests.pownce.traffic import Browser, Readers, Writer
from tests.stack import wait_until

pytestmark = [pytest.mark.cluster]


def listening(host: str) -> set[str]:
    """The TCP addresses a host's namespace listens on (``ss -ltn``)."""
    out = subprocess.run(
        ["ip", "netns", "exec", f"{lib.SETTINGS['NETNS_PREFIX']}{host}", "ss", "-Hltn"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[3] for line in out.splitlines()}


def test_each_host_listens_on_its_own_address(running_cluster):
    """A component listens on its host's address, never on a wildcard; only gunicorn stays on
    its host's loopback (its own nginx is its only client)."""
    ports = {
        "primary": "PRIMARY_PORT",
        "replica": "REPLICA_PORT",
        "memcached": "MEMCACHED_PORT",
        "redis": "REDIS_PORT",
        "app": "APP_PORT",
        "haproxy": "HAPROXY_PORT",
        "inbox-primary": "PRIMARY_PORT",
        "inbox-replica": "REPLICA_PORT",
    }
    for host, (address, roles) in lib.HOSTS.items():
        sockets = listening(host)
        for role in roles:
            if role in ports:
                assert f"{address}:{lib.SETTINGS[ports[role]]}" in sockets, (host, role, sockets)
        assert [s for s in sockets if s.startswith(("0.0.0.0:", "*:", "[::]:"))] == [], (host, sockets)
        assert {s.split(":")[0] for s in sockets} <= {address, "127.0.0.1"}, (host, sockets)
    status = lib.cluster("status")
    assert "DOWN" not in status and "PARTITIONED" not in status, status


def test_nginx_refuses_everyone_but_haproxy(running_cluster):
    """nginx on an app host lets HAProxy's address in and nobody else (this machine, on the
    bridge, is refused), so the X-Forwarded-For the app trusts can only come from HAProxy."""
    app = lib.with_role("app")[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{lib.address(app)}:{lib.SETTINGS['APP_PORT']}/healthz", timeout=5)
    assert refused.value.code == 403
    with urllib.request.urlopen(f"{lib.LB}/healthz", timeout=5) as response:
        assert response.status == 200


def test_read_write_loop_through_lb1_reaches_every_app_server_and_replica(running_cluster):
    """Signed-in readers and a writer through lb1's address: no failed request, every app server
    of the inventory answers some, reads are spread over every replica, and every acknowledged
    post is on the primary exactly once."""
    users = lib.people(8)
    base = {"base": lib.LB}
    readers_b = [Browser(cookies=u["cookies"], **base) for u in users[:4]]
    writer_b = [Browser(cookies=u["cookies"], **base) for u in users[4:]]
    paths = [f"/{u['username']}/" for u in users] + ["/public/", "/"]
    replicas = lib.with_role("replica")
    selects_before = {host: lib.selects(host) for host in replicas}
    served_before = {name: int(row["stot"]) for name, row in lib.haproxy_states().items()}
    with Readers(readers_b, paths) as readers, Writer(writer_b, f"loop{lib.RUN}") as writer:
        wait_until(
            lambda: readers.count() >= 200 and len(writer.acknowledged) >= 5,
            timeout=90,
            message="200 reads and 5 posts through lb1",
        )
    served = {name: int(row["stot"]) - served_before.get(name, 0) for name, row in lib.haproxy_states().items()}
    selects = {host: lib.selects(host) - selects_before[host] for host in replicas}
    lib.report(
        "loop through lb1",
        reads=len(readers.outcomes),
        failed_reads=len(readers.failures()),
        slowest_read_s=round(readers.slowest(), 2),
        post_attempts=len(writer.attempts),
        posts_acknowledged=len(writer.acknowledged),
        requests_per_app_server=served,
        selects_per_replica=selects,
    )
    assert readers.failures() == []
    assert [o.status for o in writer.attempts if o.status != 302] == []
    assert sorted(name for name, count in served.items() if count > 0) == sorted(lib.with_role("app"))
    assert all(count > 0 for count in selects.values()), selects
    lib.assert_every_acknowledged_post_once(writer)


def test_the_inbox_lives_on_the_inbox_hosts(running_cluster):
    """Posts through lb1 are delivered on the recipients' inbox shards, hosts of their own: each
    recipient's deliveries on exactly one inbox-primary host (both shards used), replicated to
    that shard's inbox-replica host, and none in the main primary's own inbox table."""
    users = lib.people(9)  # the first is a fan of the others: each post reaches them and its author
    for index, user in enumerate(users[1:]):
        outcome = Browser(cookies=user["cookies"], base=lib.LB).post_note(f"inbox{lib.RUN} {index}", f"ib{index}")
        assert outcome.status == 302, outcome
    names = ", ".join(f"'{u['username']}'" for u in users)
    main = lib.with_role("primary")[0]
    ids = {pk for (pk,) in lib.sql(main, f"SELECT id FROM accounts_user WHERE username IN ({names})")}
    id_list = ", ".join(str(pk) for pk in ids)
    query = f"SELECT recipient_id, note_id FROM notes_delivery WHERE recipient_id IN ({id_list})"
    expected_rows = 2 * (len(users) - 1)  # the fan's copy and the author's, of each post
    wait_until(
        lambda: sum(len(set(lib.sql(host, query))) for host in lib.with_role("inbox-primary")) >= expected_rows,
        timeout=60,
        message="every delivery written (the worker fans out)",
    )
    on_shard = {host: set(lib.sql(host, query)) for host in lib.with_role("inbox-primary")}
    recipients = {host: {recipient for recipient, _ in rows} for host, rows in on_shard.items()}
    assert sum(len(rows) for rows in on_shard.values()) == expected_rows
    assert all(recipients.values()), f"both shards hold inboxes: {recipients}"
    hosts_of = [[host for host, found in recipients.items() if pk in found] for pk in ids]
    assert all(len(found) == 1 for found in hosts_of), "each inbox on one shard"
    assert lib.sql(main, query) == [], "nothing in the main cluster's inbox table"
    for primary, replica in zip(lib.with_role("inbox-primary"), lib.with_role("inbox-replica"), strict=True):
        wait_until(
            lambda p=primary, r=replica: set(lib.sql(r, query, "REPLICA_PORT")) == on_shard[p],
            timeout=30,
            message=f"{replica} replicates {primary}",
        )
