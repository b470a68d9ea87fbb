"""Concurrency on a few hot objects and one hot list, on MariaDB with the replica lagging.

First the race the after-commit invalidation closes (cache/protocol.py, rule 3), played step by
step with a real second connection: a reader reads while the writer's transaction is open,
refilling the old committed rows. With the protocol's write no stale value is left once the
transaction commits; with a naive write that invalidates only inside the transaction, the old
values stay — every time, which shows the check can see the race.

Then randomized traffic: writers rename people inside transactions (and linger before
committing, as real requests do) while readers read the people and the list through the cache,
a fixed number of operations each. After quiescence every cached value must equal the database.
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
        User.objects.using(using)
        .filter(display_name__startswith="odd")
        .order_by("-pk")
        .values_list("pk", flat=True)[:limit]
    )


def invalidate_correctly(person_id: int) -> None:
    objects.invalidate(User, [person_id])
    idlists.invalidate([LIST])


def invalidate_naively(person_id: int) -> None:
    """Tombstones only inside the transaction: no second invalidation after commit."""
    protocol._tombstone([objects.key_for(User, person_id), idlists.key_for(LIST)])


def read(ids: list[int]) -> None:
    objects.get_many(User, ids)
    idlists.get(LIST, odd_people)


def in_thread(body) -> None:
    """Run ``body`` on another thread (its own database connection) and wait for it; its error,
    if any, is raised here."""
    errors: list[BaseException] = []

    def run():
        try:
            body()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the reader did not finish within 30 s"
    assert not errors, errors


def play_the_race(ids: list[int], invalidate) -> list[str]:
    """Writer renames the first person to an odd name; between its invalidation and its commit a
    reader on another connection reads everything through the cache; then the writer commits."""
    read(ids)  # everything cached
    with transaction.atomic():
        User.objects.filter(pk=ids[0]).update(display_name="odd-renamed")
        invalidate(ids[0])
        in_thread(lambda: read(ids))  # sees the old committed rows, and fills them
    return stale_values(ids)


def run_traffic(ids: list[int], *, writes: int = 40, reads: int = 80, readers: int = 4, writers: int = 2) -> list[str]:
    errors: list[BaseException] = []

    def guarded(body, times: int, seed: int):
        def run():
            rng = random.Random(seed)
            try:
                for _ in range(times):
                    body(rng)
            except BaseException as error:  # surfaced below: a thread must not fail silently
                errors.append(error)
            finally:
                connections.close_all()

        return run

    def writer(rng: random.Random) -> None:
        person = rng.choice(ids)
        with transaction.atomic():
            User.objects.filter(pk=person).update(display_name=f"{rng.choice(['odd', 'even'])}-{rng.randrange(10**6)}")
            invalidate_correctly(person)
            time.sleep(rng.uniform(0.002, 0.02))  # the rest of the request, before its commit

    threads = [threading.Thread(target=guarded(writer, writes, 20091 + n)) for n in range(writers)]
    threads += [threading.Thread(target=guarded(lambda rng: read(ids), reads, n)) for n in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a thread did not finish within 60 s"
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


def test_a_read_during_the_open_transaction_leaves_nothing_stale_after_commit(hot_people):
    assert play_the_race(hot_people, invalidate_correctly) == []


def test_the_race_leaves_stale_values_when_invalidating_before_commit_only(hot_people):
    stale = play_the_race(hot_people, invalidate_naively)
    assert len(stale) == 2, stale  # the renamed person, and the list they joined
    assert "odd-renamed" in stale[0]


def test_after_random_traffic_every_cached_value_equals_the_database(hot_people):
    assert run_traffic(hot_people) == []
