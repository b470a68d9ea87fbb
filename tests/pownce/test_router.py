"""The primary/replica router on the real MariaDB primary and replica (GTID replication)."""

import os
import signal
import time

import pytest
from django.db import connections, transaction
from django.test import Client

from accounts.models import User
from pownce.middleware import PIN_COOKIE
from pownce.router import PrimaryReplicaRouter, health
from tests.stack import root_execute, run_dir, set_replica_delay, stack, wait_for_replica, wait_until

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.urls("tests.pownce.probe_urls"),
]


@pytest.fixture
def person():
    user = User.objects.create_user("ada", password="a-long-password", display_name="Ada")
    wait_for_replica()
    return user


@pytest.fixture
def delayed_replica():
    set_replica_delay(2)
    yield
    set_replica_delay(0)
    wait_for_replica()


def test_row_written_through_primary_is_read_back_through_replica():
    User.objects.db_manager("default").create_user("grace", password="x-long-password")
    wait_for_replica()
    assert User.objects.using("replica1").filter(username="grace").exists()
    # And it really is a separate server: the replica's own server id.
    with connections["replica1"].cursor() as cursor:
        cursor.execute("SELECT @@server_id, @@read_only")
        assert cursor.fetchone() == (2, 1)


def test_get_reads_from_replica_and_post_writes_to_primary(person, sql_by_alias):
    client = Client()
    with sql_by_alias() as sql:
        assert client.get("/probe/ada/").content == b"Ada"
    assert sql["replica1"] and not sql["default"]

    with sql_by_alias() as sql:
        assert client.post("/probe/ada/rename/", {"display_name": "Countess"}).status_code == 200
    assert any(query.startswith("UPDATE") for query in sql["default"])
    assert not sql["replica1"]


def test_reads_inside_atomic_go_to_primary(person):
    router = PrimaryReplicaRouter()
    assert router.db_for_read(User) == "replica1"
    with transaction.atomic():
        assert router.db_for_read(User) == "default"
        User.objects.filter(pk=person.pk).update(display_name="In a transaction")
        assert User.objects.get(pk=person.pk).display_name == "In a transaction"


def test_migrations_run_on_primary_only_and_reach_replica_by_replication():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "accounts")
    assert not router.allow_migrate("replica1", "accounts")
    test_db = connections["default"].settings_dict["NAME"]
    tables = {row[0] for row in root_execute("replica", f"SHOW TABLES FROM `{test_db}`")}
    assert "accounts_user" in tables


def test_writer_reads_own_write_while_replica_lags_and_others_read_replica(
    person, delayed_replica, settings, sql_by_alias
):
    settings.REPLICA_MAX_LAG = 60  # keep the delayed replica in rotation for this test
    writer, reader = Client(), Client()
    assert writer.post("/probe/ada/rename/", {"display_name": "Countess"}).status_code == 200
    assert PIN_COOKIE in writer.cookies

    with sql_by_alias() as writer_sql:
        assert writer.get("/probe/ada/").content == b"Countess"
    assert writer_sql["default"] and not writer_sql["replica1"]

    with sql_by_alias() as reader_sql:
        assert reader.get("/probe/ada/").content == b"Ada"  # the replica has not applied it yet
    assert reader_sql["replica1"] and not reader_sql["default"]

    wait_for_replica()
    assert reader.get("/probe/ada/").content == b"Countess"


def test_pin_expires_after_pin_seconds(person, settings, sql_by_alias):
    settings.PIN_SECONDS = 1
    client = Client()
    client.post("/probe/ada/rename/", {"display_name": "Countess"})
    with sql_by_alias() as sql:
        client.get("/probe/ada/")
    assert sql["default"] and not sql["replica1"]
    time.sleep(1.2)
    wait_for_replica()
    with sql_by_alias() as sql:
        client.get("/probe/ada/")
    assert sql["replica1"] and not sql["default"]


def test_forged_pin_cookie_does_not_pin(person, sql_by_alias):
    client = Client()
    client.cookies[PIN_COOKIE] = str(time.time() + 3600)
    with sql_by_alias() as sql:
        client.get("/probe/ada/")
    assert sql["replica1"] and not sql["default"]


def test_lagging_replica_leaves_rotation_and_returns(person, settings):
    settings.REPLICA_MAX_LAG = 1
    set_replica_delay(4)
    try:
        User.objects.filter(pk=person.pk).update(display_name="Later")
        # Restarting replication briefly reports no lag at all (also unhealthy): wait for the lag.
        wait_until(lambda: (health.state("replica1", refresh=True).lag or 0) > 1, timeout=8, message="lag > 1s")
        assert not health.state("replica1").healthy
        assert PrimaryReplicaRouter().db_for_read(User) == "default"
    finally:
        set_replica_delay(0)
    wait_for_replica()
    assert health.state("replica1", refresh=True).healthy
    assert PrimaryReplicaRouter().db_for_read(User) == "replica1"


def test_stopped_replication_thread_takes_replica_out_of_rotation(person):
    root_execute("replica", "STOP SLAVE IO_THREAD")
    try:
        state = health.state("replica1", refresh=True)
        assert not state.healthy and "replication stopped" in state.reason
        assert PrimaryReplicaRouter().db_for_read(User) == "default"
    finally:
        root_execute("replica", "START SLAVE")
    wait_until(lambda: health.state("replica1", refresh=True).healthy, message="replication running again")


def test_pages_answer_from_primary_while_replica_is_down_and_return_to_it(person, sql_by_alias):
    client = Client()
    stack("down", "replica")
    try:
        with sql_by_alias() as sql:
            response = client.get("/probe/ada/")
        assert response.status_code == 200 and response.content == b"Ada"
        assert sql["default"]
    finally:
        stack("up", "replica")
    wait_until(lambda: health.state("replica1", refresh=True).healthy, message="replica back in rotation")
    with sql_by_alias() as sql:
        assert client.get("/probe/ada/").status_code == 200
    assert sql["replica1"] and not sql["default"]


def test_replica_failing_mid_request_is_retried_on_primary(person, settings, sql_by_alias):
    settings.REPLICA_HEALTH_TTL = 600  # the process still believes the replica is healthy
    client = Client()
    assert client.get("/probe/ada/").status_code == 200
    assert health.state("replica1").healthy
    stack("down", "replica")
    try:
        with sql_by_alias() as sql:
            response = client.get("/probe/ada/")
        assert response.status_code == 200 and response.content == b"Ada"
        assert sql["default"]
        assert not health.state("replica1").healthy
    finally:
        stack("up", "replica")


def test_a_hung_replica_costs_one_read_timeout_and_no_request_waits_on_its_health_check(person, settings):
    """Frozen (SIGSTOP), the replica accepts connections and answers nothing. The request whose
    query hangs on it fails over to the primary after the read timeout; after that, requests
    neither query it nor wait for its health checks, which run in the background."""
    settings.REPLICA_HEALTH_TTL = 0.5
    client = Client()
    assert client.get("/probe/ada/").status_code == 200  # a connection to the replica is open
    assert health.state("replica1").healthy
    pid = int((run_dir() / "replica.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = client.get("/probe/ada/")
        first = time.monotonic() - started
        assert (response.status_code, response.content) == (200, b"Ada")
        assert first < settings.REPLICA_READ_TIMEOUT + 1.5
        assert not health.state("replica1").healthy
        slowest = 0.0
        for _ in range(20):  # several health TTLs: each stale look starts a background check
            started = time.monotonic()
            assert client.get("/probe/ada/").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.1)  # the pace of the loop, so looks go stale; not a wait for a state
        assert slowest < settings.REPLICA_READ_TIMEOUT / 2  # far below a wait on the hung replica
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: health.state("replica1", refresh=True).healthy, timeout=30, message="replica back")
