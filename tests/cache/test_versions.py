"""Versions (rule 6 of cache/protocol.py): every invalidation replaces its key's version after
the tombstone; a recording reads versions before values; read-ahead rides along with a read."""

from django.db import transaction

from accounts.models import User
from cache import keys, objects, protocol
from cache.stats import stats


def _version(key: str):
    return protocol.cluster().get_many([keys.version_key(key)]).get(keys.version_key(key))


def test_invalidation_replaces_the_version_with_a_token_never_seen_before(people):
    key = objects.key_for(User, people[0].pk)
    seen = set()
    for _ in range(5):
        objects.invalidate(User, [people[0].pk])
        token = _version(key)
        assert token is not None and token not in seen
        seen.add(token)


def test_a_recording_reads_versions_first_and_adds_missing_ones(people):
    ids = [person.pk for person in people]
    key_of = {pk: objects.key_for(User, pk) for pk in ids}
    with protocol.recording() as record, stats.measure() as cost:
        objects.get_many(User, ids)
    assert record.spoiled is None
    assert set(record.versions) == {keys.version_key(key_of[pk]) for pk in ids}
    # Missing versions were added, and are what memcached now holds.
    for pk in ids:
        assert _version(key_of[pk]) == record.versions[keys.version_key(key_of[pk])]
    # versions (get, add), values (get, fill)
    assert cost["calls"] == 4
    with protocol.recording() as again, stats.measure() as warm:
        objects.get_many(User, ids)
    assert again.versions == record.versions and warm["calls"] == 2


def test_a_write_after_the_versions_were_read_shows_in_the_versions(people):
    """The order the page cache relies on: a reader who read a version before a write sees a
    different version once the write's invalidation ran, whatever value it read meanwhile."""
    pk = people[0].pk
    with protocol.recording() as record:
        objects.get(User, pk)
    User.objects.filter(pk=pk).update(display_name="renamed")
    objects.invalidate(User, [pk])
    assert _version(objects.key_for(User, pk)) != record.versions[keys.version_key(objects.key_for(User, pk))]


def test_a_write_inside_a_transaction_replaces_the_version_again_after_commit(
    people, django_capture_on_commit_callbacks
):
    pk = people[0].pk
    key = objects.key_for(User, pk)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            person = User.objects.get(pk=pk)
            person.display_name = "inside"
            person.save()
            at_once = _version(key)
    assert at_once is not None and _version(key) != at_once


def test_read_ahead_rides_along_with_the_next_read(people):
    protocol.cluster().set_many({"pownce-test-extra": "value"}, 60)
    objects.get(User, people[0].pk)
    with protocol.read_ahead(["pownce-test-extra", "pownce-test-absent"]) as ahead, stats.measure() as cost:
        objects.get(User, people[0].pk)
    assert ahead.fetched and ahead.found == {"pownce-test-extra": "value"}
    assert cost["calls"] == 1
    with protocol.read_ahead(["pownce-test-extra"]) as idle:
        pass
    assert not idle.fetched


def test_a_local_copy_costs_one_small_get_and_never_outlives_a_write(people, django_assert_num_queries):
    pk = people[0].pk
    assert objects.get_local(User, pk).display_name == "P0"  # loads and keeps a copy
    with django_assert_num_queries(0), stats.measure() as cost:
        copy = objects.get_local(User, pk)
    assert copy.display_name == "P0" and cost["calls"] == 1 and cost.get("hits") is None
    copy.display_name = "changed on the copy only"
    assert objects.get_local(User, pk).display_name == "P0"  # each caller gets its own copy

    person = User.objects.get(pk=pk)
    person.set_password("another-long-password")
    person.save()
    fresh = objects.get_local(User, pk)
    assert fresh.password == person.password


def test_a_local_copy_is_dropped_when_its_version_is_gone(people):
    pk = people[0].pk
    objects.get_local(User, pk)
    key = objects.key_for(User, pk)
    User.objects.filter(pk=pk).update(display_name="quietly")  # no signal, no invalidation
    protocol.cluster().delete_many([keys.version_key(key), key])  # as if both were evicted
    assert objects.get_local(User, pk).display_name == "quietly"
