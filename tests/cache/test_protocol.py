"""Each rule of the cache protocol (cache/protocol.py), on real memcached and MariaDB."""

import pickle
import threading

import pytest
from django.conf import settings
from django.db import connection, transaction
from pymemcache.client.base import Client

from accounts.models import User
from cache import idlists, objects, protocol
from cache.stats import stats
from tests.stack import set_replica_delay, wait_for_replica

pytestmark = pytest.mark.stack


def raw_get(key: str):
    """The bytes memcached holds for ``key`` (no deserializing), from the server that owns it."""
    node = protocol.cluster().node_for(key)
    host, _, port = node.address.rpartition(":")
    client = Client((host, int(port)))
    try:
        return client.get(key)
    finally:
        client.close()


def test_fill_with_add_loses_to_a_tombstone(people):
    key = objects.key_for(User, people[0].pk)
    objects.invalidate(User, [people[0].pk])
    assert protocol.cluster().add_many({key: "old row"}, 60) == set()
    assert protocol.cluster().gets_many([key]).found[key][0] is None


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


def test_tombstoned_miss_reads_the_primary(people):
    seen = []
    key = objects.key_for(User, people[0].pk)
    objects.invalidate(User, [people[0].pk])
    protocol.read_through([key], lambda keys, primary: seen.append(primary) or {})
    protocol.cluster().delete_many([key])
    protocol.read_through([key], lambda keys, primary: seen.append(primary) or {})
    assert seen == [True, False]


def test_get_many_is_one_call_and_misses_one_query(people, django_assert_num_queries):
    ids = [person.pk for person in people]
    with django_assert_num_queries(1), stats.measure() as cold:
        assert set(objects.get_many(User, ids)) == set(ids)
    assert cold["calls"] == 2  # one multi-get, one multi-add
    with django_assert_num_queries(0), stats.measure() as warm:
        found = objects.get_many(User, ids)
    assert warm["calls"] == 1 and warm["hits"] == 3
    assert [found[pk].display_name for pk in ids] == ["P0", "P1", "P2"]


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


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_tombstone_is_written_again_after_commit(people):
    """A reader during the open transaction refills the old row; the commit's tombstone wins."""
    person = people[0]
    objects.get(User, person.pk)
    ready, done = threading.Event(), threading.Event()

    def reader():
        ready.wait()
        try:
            # Inside the writer's open transaction: the primary still has the old row.
            assert objects.get(User, person.pk).display_name == "P0"
        finally:
            from django.db import connections

            connections.close_all()
            done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(display_name="Committed")
        objects.invalidate(User, [person.pk])
        ready.set()
        done.wait(10)
        # The reader refilled the old row (its lease replaced the first tombstone).
        assert protocol.cluster().gets_many([objects.key_for(User, person.pk)]).found[
            objects.key_for(User, person.pk)
        ][0].display_name == "P0"
    thread.join()
    assert objects.get(User, person.pk).display_name == "Committed"


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


def test_only_connection_failures_become_misses(people):
    from django.core.cache import cache
    from pymemcache.exceptions import MemcacheIllegalInputError

    with pytest.raises(MemcacheIllegalInputError):
        protocol.cluster().get_many(["a key with spaces"])
    with pytest.raises(ValueError):
        cache.incr("never-set")
    assert settings.CACHES["default"]["BACKEND"] == "cache.backends.ClusterCache"
    assert connection.vendor == "mysql"
