"""Randomized concurrency on a few hot objects and one hot list, with the replica lagging.

Writers rename people inside transactions (and linger before committing, as real requests do);
readers read the people and the list through the cache. After quiescence every cached value
must equal the database. The same harness run against a naive variant of the protocol —
invalidating only inside the transaction, before commit — finds stale values, which shows the
harness can see the race the after-commit invalidation closes.
"""

import random
import threading
import time

import pytest
from django.db import connections, transaction

from accounts.models import User
from cache import idlists, objects, protocol
from tests.stack import set_replica_delay, wait_for_replica

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]

LIST = "people-named-odd"


def odd_people(using, limit):
    return list(
        User.objects.using(using).filter(display_name__startswith="odd").order_by("-pk").values_list("pk", flat=True)[
            :limit
        ]
    )


def write_correctly(person_id: int, name: str) -> None:
    with transaction.atomic():
        User.objects.filter(pk=person_id).update(display_name=name)
        objects.invalidate(User, [person_id])
        idlists.invalidate([LIST])
        time.sleep(random.uniform(0.002, 0.02))


def write_naively(person_id: int, name: str) -> None:
    """Tombstones only inside the transaction: no second invalidation after commit."""
    with transaction.atomic():
        User.objects.filter(pk=person_id).update(display_name=name)
        protocol._tombstone([objects.key_for(User, person_id), idlists.key_for(LIST)])
        time.sleep(random.uniform(0.002, 0.02))


def run_harness(ids: list[int], write, *, seconds: float = 3.0, readers: int = 4, writers: int = 2) -> list[str]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(body):
        def run():
            try:
                while not stop.is_set():
                    body()
            except BaseException as error:  # surfaced below: a thread must not fail silently
                errors.append(error)
            finally:
                connections.close_all()

        return run

    rng = random.Random(20091)

    def writer():
        person = rng.choice(ids)
        write(person, f"{rng.choice(['odd', 'even'])}-{rng.randrange(10**6)}")
        time.sleep(rng.uniform(0, 0.01))

    def reader():
        objects.get_many(User, ids)
        idlists.get(LIST, odd_people)

    threads = [threading.Thread(target=guarded(writer)) for _ in range(writers)]
    threads += [threading.Thread(target=guarded(reader)) for _ in range(readers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return stale_values(ids)


def stale_values(ids: list[int]) -> list[str]:
    """Cached values that differ from the primary (tombstones and absent keys are fine)."""
    truth = dict(User.objects.using("default").filter(pk__in=ids).values_list("pk", "display_name"))
    keys = {objects.key_for(User, pk): pk for pk in ids}
    list_key = idlists.key_for(LIST)
    found = protocol.cluster().gets_many([*keys, list_key]).found
    stale = []
    for key, pk in keys.items():
        value = found.get(key, (None, None))[0]
        if value is not None and value.display_name != truth[pk]:
            stale.append(f"{key}: cached {value.display_name!r}, database {truth[pk]!r}")
    cached_list = found.get(list_key, (None, None))[0]
    expected = tuple(odd_people("default", protocol.config().list_cap))
    if cached_list is not None and cached_list != expected:
        stale.append(f"{list_key}: cached {cached_list}, database {expected}")
    return stale


@pytest.fixture
def hot_people(settings):
    objects.register(User)
    settings.REPLICA_MAX_LAG = 30  # keep the lagging replica in rotation: readers use it
    people = [User.objects.create_user(f"hot{i}", password="a-long-password", display_name="even") for i in range(3)]
    wait_for_replica()
    set_replica_delay(1)
    yield [person.pk for person in people]
    set_replica_delay(0)
    wait_for_replica()


def test_after_quiescence_every_cached_value_equals_the_database(hot_people):
    assert run_harness(hot_people, write_correctly) == []


def test_harness_finds_stale_values_when_invalidating_before_commit_only(hot_people):
    assert run_harness(hot_people, write_naively) != []
