"""Each rule of the cache protocol (cache/protocol.py), numbered as there.

They run on whatever the environment configures: the in-process stand-in and SQLite on a bare
checkout, memcached and MariaDB under ``make test``. Tests marked ``stack`` need what only the
real services have: bytes on a memcached server, a lagging replica, a second connection that
sees the committed row while a transaction is open.
"""

import pickle
import threading
import time

import pytest
from django.conf import settings
from django.core.cache.backends.base import InvalidCacheKey
from django.db import OperationalError, connection, connections, transaction
from pymemcache.client.base import Client

from accounts.models import User
from cache import idlists, keys, objects, protocol
from cache.stats import stats
from tests.stack import set_replica_delay, wait_for_replica


def cached(key: str):
    """What the cache holds for ``key``: a value, ``None`` for a tombstone, or ``"absent"``."""
    return protocol.cluster().gets_many([key]).found.get(key, ("absent", None))[0]


# --- rule 1: fill only with add ---------------------------------------------------------------


def test_fill_with_add_loses_to_a_tombstone(people):
    key = objects.key_for(User, people[0].pk)
    objects.invalidate(User, [people[0].pk])
    assert protocol.cluster().add_many({key: "old row"}, 60) == set()
    assert protocol.cluster().gets_many([key]).found[key][0] is None


# --- rule 2: tombstones, not deletes ----------------------------------------------------------


def test_reader_that_loaded_before_a_write_cannot_fill_afterwards(people):
    """The talk's race: miss, load old row, writer saves + invalidates, reader fills."""
    person = people[0]
    key = objects.key_for(User, person.pk)

    def load_then_writer_interleaves(keys, primary):
        old = {key: User.objects.get(pk=person.pk)}
        User.objects.filter(pk=person.pk).update(display_name="New")
        objects.invalidate(User, [person.pk])
        return old

    found = protocol.read_through([key], load_then_writer_interleaves)
    assert found[key].display_name == "P0"  # this reader saw the old row, fine
    assert objects.get(User, person.pk).display_name == "New"  # nobody is served it again


def test_save_and_delete_invalidate(people):
    person = people[0]
    objects.get(User, person.pk)
    person.display_name = "Renamed"
    person.save()
    assert objects.get(User, person.pk).display_name == "Renamed"
    person.delete()
    assert objects.get(User, person.pk) is None


def test_queryset_update_invalidates_every_row_it_changes(people):
    ids = [person.pk for person in people]
    objects.get_many(User, ids)
    changed = objects.CachedQuerySet(User).filter(pk__in=ids[:2]).update(display_name="Bulk")
    assert changed == 2
    names = {pk: user.display_name for pk, user in objects.get_many(User, ids).items()}
    assert names == {ids[0]: "Bulk", ids[1]: "Bulk", ids[2]: "P2"}


def test_plain_queryset_update_needs_explicit_invalidation(people):
    """Shows why bulk writes must go through the library: update() sends no signal."""
    person = people[0]
    objects.get(User, person.pk)
    User.objects.filter(pk=person.pk).update(display_name="Silent")
    assert objects.get(User, person.pk).display_name == "P0"
    objects.invalidate(User, [person.pk])
    assert objects.get(User, person.pk).display_name == "Silent"


# --- rule 3: invalidate again after commit ----------------------------------------------------


def test_a_fill_during_the_open_transaction_is_replaced_after_commit(people, django_capture_on_commit_callbacks):
    """Rule 3, step by step. The reader's load returns the committed row as a second connection
    sees it while the writer's transaction is open (the stack test below uses a real one)."""
    person = people[0]
    key = objects.key_for(User, person.pk)
    committed_row = objects.get(User, person.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            User.objects.filter(pk=person.pk).update(display_name="Committed")
            objects.invalidate(User, [person.pk])
            assert cached(key) is None
            found = protocol.read_through([key], lambda wanted, primary: {key: committed_row})
            assert found[key].display_name == "P0"
            assert cached(key).display_name == "P0"  # the hole: the first tombstone is gone
    assert len(callbacks) == 1
    assert cached(key) is None  # the after-commit tombstone replaced the old row
    assert objects.get(User, person.pk).display_name == "Committed"


@pytest.mark.stack
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_tombstone_is_written_again_after_commit(people):
    """A reader on another connection during the open transaction refills the old row; the
    commit's tombstone wins."""
    person = people[0]
    key = objects.key_for(User, person.pk)
    objects.get(User, person.pk)
    ready, done = threading.Event(), threading.Event()
    seen: list = []

    def reader():
        try:
            if ready.wait(10):
                seen.append(objects.get(User, person.pk).display_name)
        except BaseException as error:  # asserted below: a thread cannot fail the test itself
            seen.append(error)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(display_name="Committed")
        objects.invalidate(User, [person.pk])
        ready.set()
        assert done.wait(10), "the reader did not finish within 10 s"
        assert seen == ["P0"]  # inside the writer's open transaction: the old committed row
        assert cached(key).display_name == "P0"  # ... which it filled, replacing the tombstone
    thread.join(10)
    assert cached(key) is None
    assert objects.get(User, person.pk).display_name == "Committed"


# --- rule 4: a tombstoned key loads from the primary ------------------------------------------


def test_tombstoned_miss_reads_the_primary(people):
    seen = []
    key = objects.key_for(User, people[0].pk)
    objects.invalidate(User, [people[0].pk])
    protocol.read_through([key], lambda keys, primary: seen.append(primary) or {})
    protocol.cluster().delete_many([key])
    protocol.read_through([key], lambda keys, primary: seen.append(primary) or {})
    assert seen == [True, False]


def test_a_tombstoned_key_is_read_from_a_replica_while_the_primary_is_away_and_not_filled(people):
    """The primary refuses (OperationalError): the reader gets the replica's value, and the
    tombstone stays, so the next reader asks the primary again."""
    key = objects.key_for(User, people[0].pk)
    objects.invalidate(User, [people[0].pk])
    asked = []

    def load(keys, primary):
        asked.append(primary)
        if primary:
            raise OperationalError(2003, "Can't connect to server")
        return {key: "from the replica" for key in keys}

    assert protocol.read_through([key], load) == {key: "from the replica"}
    assert asked == [True, False]
    assert key in protocol.cluster().gets_many([key]).found
    assert protocol.cluster().get_many([key]) == {key: protocol.TOMBSTONE}
    assert protocol.read_through([key], lambda keys, primary: {k: f"primary={primary}" for k in keys}) == {
        key: "primary=True"
    }


def test_id_list_is_cached_capped_and_invalidated(people, settings, django_assert_num_queries):
    settings.POWNCE_CACHE = {**settings.POWNCE_CACHE, "LIST_CAP": 2}
    calls = []

    def everyone(using, limit):
        calls.append(using)
        return list(User.objects.using(using).order_by("-pk").values_list("pk", flat=True)[:limit])

    ids = sorted((p.pk for p in people), reverse=True)
    assert idlists.get("people", everyone) == tuple(ids[:2])
    assert idlists.get("people", everyone) == tuple(ids[:2])
    assert calls == [None]
    idlists.invalidate(["people"])
    idlists.get("people", everyone)
    assert calls == [None, "default"]  # tombstoned: reloaded from the primary
    assert idlists.page(tuple(ids[:2]), before=ids[1], size=1) == ([], False)
    assert idlists.page(tuple(ids[:2]), before=None, size=2) == (ids[:2], True)


# --- rule 5: leases ---------------------------------------------------------------------------


class HolderFillsDuringThePoll:
    """The cluster, except that before the reader's first poll the lease holder fills ``key``."""

    def __init__(self, store, key: str, value) -> None:
        self.store, self.key, self.value, self.reads = store, key, value, 0

    def gets_many(self, wanted):
        self.reads += 1
        if self.reads == 2:  # 1 is the reader's first look; 2 its first poll
            self.store.set_many({self.key: self.value}, 60)
            self.store.delete_many([keys.lease_key(self.key)])
        return self.store.gets_many(wanted)

    def __getattr__(self, name):
        return getattr(self.store, name)


def no_load(wanted, primary):
    raise AssertionError(f"loaded {wanted} although the lease holder filled them")


def test_a_reader_that_loses_the_lease_is_served_the_holders_fill(people, monkeypatch):
    person = people[0]
    key = objects.key_for(User, person.pk)
    objects.invalidate(User, [person.pk])
    store = protocol.cluster()
    assert store.add_many({keys.lease_key(key): "another reader"}, 3)
    monkeypatch.setattr(protocol, "cluster", lambda: HolderFillsDuringThePoll(store, key, "filled by the holder"))
    with stats.measure() as delta:
        assert protocol.read_through([key], no_load) == {key: "filled by the holder"}
    assert delta["leases_lost"] == 1 and "lease_timeouts" not in delta


def test_a_reader_that_waits_in_vain_loads_the_primary_once_and_fills_nothing(people, settings):
    settings.POWNCE_CACHE = {**settings.POWNCE_CACHE, "LEASE_WAIT": 0.05}
    key = objects.key_for(User, people[0].pk)
    objects.invalidate(User, [people[0].pk])
    assert protocol.cluster().add_many({keys.lease_key(key): "a reader that died"}, 3)
    loads = []
    found = protocol.read_through([key], lambda wanted, primary: loads.append(primary) or {key: "row"})
    assert found == {key: "row"} and loads == [True]
    assert cached(key) is None  # the holder's to fill, not ours


def test_the_lease_holders_fill_loses_to_an_invalidation_during_its_load(people):
    person = people[0]
    key = objects.key_for(User, person.pk)
    objects.invalidate(User, [person.pk])

    def load_while_someone_writes(wanted, primary):
        row = User.objects.get(pk=person.pk)
        objects.invalidate(User, [person.pk])  # another write, between our load and our fill
        return {key: row}

    protocol.read_through([key], load_while_someone_writes)
    assert cached(key) is None  # the cas failed: the newer tombstone stands
    assert cached(keys.lease_key(key)) == "absent"  # and the lease was given back


def wait_until(condition, timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def test_hot_key_invalidation_costs_one_load_from_the_primary(people, settings):
    """32 readers meet a fresh tombstone at once: one wins the lease and loads (holding its load
    until the 31 others have lost the lease and are waiting), the others are served its fill."""
    settings.POWNCE_CACHE = {**settings.POWNCE_CACHE, "LEASE_WAIT": 5}
    person = people[0]
    key = objects.key_for(User, person.pk)
    row = objects.get(User, person.pk)
    loads = []

    def load(wanted, primary):
        loads.append(primary)
        wait_until(lambda: stats.snapshot().get("leases_lost", 0) - lost_before >= 31, timeout=5)
        return {key: row}

    for _round in range(3):
        objects.invalidate(User, [person.pk])
        lost_before = stats.snapshot().get("leases_lost", 0)
        barrier = threading.Barrier(32)
        results: list = []

        def reader(barrier=barrier, results=results):
            try:
                barrier.wait(10)
                results.append(protocol.read_through([key], load)[key].display_name)
            except BaseException as error:  # asserted below: a thread cannot fail the test itself
                results.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=reader) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results == ["P0"] * 32
    assert loads == [True] * 3  # one load per invalidation, from the primary


# --- keys, values and costs -------------------------------------------------------------------


def test_get_many_is_one_call_and_misses_one_query(people, django_assert_num_queries):
    ids = [person.pk for person in people]
    with django_assert_num_queries(1), stats.measure() as cold:
        assert set(objects.get_many(User, ids)) == set(ids)
    assert cold["calls"] == 2  # one multi-get, one multi-add
    with django_assert_num_queries(0), stats.measure() as warm:
        found = objects.get_many(User, ids)
    assert warm["calls"] == 1 and warm["hits"] == 3
    assert [found[pk].display_name for pk in ids] == ["P0", "P1", "P2"]


def test_key_carries_model_schema_and_version(people, settings):
    key = objects.key_for(User, people[0].pk)
    assert key.startswith(f"o:1:accounts.user:{objects.schema_digest(User)}:")
    settings.POWNCE_CACHE = {**settings.POWNCE_CACHE, "VERSION": 2}
    assert objects.key_for(User, people[0].pk).startswith("o:2:")


def test_cached_instances_carry_no_related_objects(people):
    person = User.objects.select_related(None).get(pk=people[0].pk)
    person._state.fields_cache["whatever"] = "related"
    assert objects._bare(person)._state.fields_cache == {}
    assert person._state.fields_cache == {"whatever": "related"}


# --- what needs the real services -------------------------------------------------------------


def raw_get(key: str):
    """The bytes memcached holds for ``key`` (no deserializing), from the server that owns it."""
    node = protocol.cluster().node_for(key)
    host, _, port = node.address.rpartition(":")
    client = Client((host, int(port)))
    try:
        return client.get(key)
    finally:
        client.close()


@pytest.mark.stack
def test_values_are_compressed_above_the_threshold(people):
    person = people[0]
    person.bio = "A long biography that repeats itself. " * 7
    person.save()
    objects.get(User, person.pk)
    key = objects.key_for(User, person.pk)
    stored = raw_get(key)
    pickled = pickle.dumps(objects._bare(User.objects.get(pk=person.pk)), pickle.HIGHEST_PROTOCOL)
    assert len(pickled) > 400
    assert len(stored) < len(pickled) * 0.8


@pytest.mark.stack
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_invalidated_object_is_read_from_primary_while_replica_lags(people, settings):
    settings.REPLICA_MAX_LAG = 60
    wait_for_replica()
    person = people[0]
    assert objects.get(User, person.pk).display_name == "P0"
    set_replica_delay(2)
    try:
        person.display_name = "Fresh"
        person.save()
        assert User.objects.using("replica1").get(pk=person.pk).display_name == "P0"  # lagging
        assert objects.get(User, person.pk).display_name == "Fresh"
    finally:
        set_replica_delay(0)
        wait_for_replica()


@pytest.mark.stack
def test_only_connection_failures_become_misses_on_real_memcached(people):
    from django.core.cache import cache

    with pytest.raises(InvalidCacheKey):
        protocol.cluster().get_many(["a key with spaces"])
    with pytest.raises(ValueError):
        cache.incr("never-set")
    assert settings.CACHES["default"]["BACKEND"] == "cache.backends.ClusterCache"
    assert protocol.cluster().nodes and connection.vendor == "mysql"
