"""Adding someone brings their recent notes into your inbox, and ending it takes back only what
the adding brought (rule 10 of notes/visibility.py, ``notes.delivery.inbox_backfill``)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.http import Http404
from django.test import Client

from accounts import services as account_services
from accounts.models import Fanship
from notes import delivery, partitioning, selectors, streams, visibility
from notes.models import Delivery, Note
from tests.inbox import delivery_rows
from tests.notes.conftest import make_set

pytestmark = pytest.mark.django_db


def home_ids(user) -> list[int]:
    return [item.pk for item in streams.home_page(user).page.items if isinstance(item, Note)]


def inbox(user) -> set[int]:
    return set(partitioning.inbox_note_ids(user.pk, limit=1000, using="default"))


def page_sql(sql: dict[str, list[str]]) -> list[str]:
    """The queries a page ran, but the session's: embedded, sessions have no Redis in front."""
    return [query for queries in sql.values() for query in queries if "django_session" not in query]


def marks(user) -> dict[int, int | None]:
    """Note id -> backfilled_from of every delivery in ``user``'s inbox."""
    alias = partitioning.primary_of(partitioning.physical_shard(user.pk))
    return dict(Delivery.objects.using(alias).filter(recipient=user).values_list("note_id", "backfilled_from"))


@pytest.fixture
def ann_wrote(make_user, send_note):
    """ann (with a friend, dan, and a set of him) wrote one note of every audience; bob is a stranger."""
    ann, bob, dan = make_user("ann"), make_user("bob"), make_user("dan")
    account_services.friend_add(ann, dan)
    account_services.friend_add(dan, ann)
    notes = {
        "public": send_note(ann, body="ann public"),
        "friends": send_note(ann, audience="friends", body="ann to friends"),
        "set": send_note(ann, audience="set", friend_set=make_set(ann, "close", [dan]), body="ann to a set"),
        "to_dan": send_note(ann, audience="friend", recipient=dan, body="ann to dan"),
    }
    return ann, bob, dan, notes


def test_becoming_a_fan_brings_the_public_notes_and_friends_the_friends_notes(ann_wrote):
    ann, bob, _, notes = ann_wrote
    assert home_ids(bob) == []
    account_services.friend_add(bob, ann)  # bob is ann's fan
    assert home_ids(bob) == [notes["public"].pk]
    account_services.friend_add(ann, bob)  # and now her friend
    assert home_ids(bob) == [notes["friends"].pk, notes["public"].pk]
    assert marks(bob) == {notes["public"].pk: ann.pk, notes["friends"].pk: ann.pk}
    # The set's note went to its members, the private one to dan: bob is in neither.
    bob_page = Client()
    bob_page.force_login(bob)
    assert bob_page.get(f"/notes/{notes['friends'].pk}/").status_code == 200
    assert bob_page.get(f"/notes/{notes['to_dan'].pk}/").status_code == 404
    # ann's own inbox got nothing of bob's (he wrote nothing), and her notes are not doubled.
    assert set(marks(ann).values()) == {None}


def test_only_the_newest_notes_come_up_to_the_cap(make_user, send_note, monkeypatch):
    from notes import services

    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 1000)
    ann, bob = make_user("ann"), make_user("bob")
    written = [send_note(ann, body=f"n{number}").pk for number in range(visibility.BACKFILL_MAX + 5)]
    account_services.friend_add(bob, ann)
    assert inbox(bob) == set(written[-visibility.BACKFILL_MAX :])


def test_ending_it_takes_back_only_what_the_adding_brought(ann_wrote, send_note):
    ann, bob, _, notes = ann_wrote
    account_services.friend_add(bob, ann)
    account_services.friend_add(ann, bob)
    # Sent while bob was already a friend: delivered when sent, unmarked.
    later = send_note(ann, audience="friends", body="ann later")
    direct = send_note(ann, audience="friend", recipient=bob, body="ann to bob alone")
    assert marks(bob)[later.pk] is None and marks(bob)[direct.pk] is None

    account_services.friend_remove(ann, bob)  # ann ends the friendship; bob stays her fan
    assert inbox(bob) == {notes["public"].pk, later.pk, direct.pk}
    account_services.friend_remove(bob, ann)  # bob stops being a fan
    assert inbox(bob) == {later.pk, direct.pk}
    assert home_ids(bob) == [direct.pk, later.pk]


def test_a_block_takes_back_what_the_adding_brought(ann_wrote):
    ann, bob, _, notes = ann_wrote
    account_services.friend_add(bob, ann)
    assert inbox(bob) == {notes["public"].pk}
    account_services.block(ann, bob)
    assert inbox(bob) == set()


def test_a_friend_in_a_set_gets_the_sets_notes_and_loses_them_with_the_friendship(ann_wrote, send_note):
    ann, bob, _, _ = ann_wrote
    account_services.friend_add(bob, ann)
    account_services.friend_add(ann, bob)
    # A note to a set bob is in, sent while he is a friend: delivered when sent.
    close = account_services.friend_set_create(ann, name="new close", member_ids=[bob.pk])
    to_set = send_note(ann, audience="set", friend_set=close, body="ann to the new set")
    assert to_set.pk in inbox(bob)
    account_services.friend_remove(bob, ann)
    assert to_set.pk in inbox(bob)  # rule 4: sent to him, it stays


def test_the_backfill_is_idempotent_and_reads_the_state_when_it_runs(ann_wrote, settings):
    ann, bob, _, notes = ann_wrote
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    Fanship.objects.create(fan=bob, idol=ann)  # queued, not run
    assert inbox(bob) == set()
    assert delivery.inbox_backfill.call(*sorted((ann.pk, bob.pk))) == 1
    assert delivery.inbox_backfill.call(*sorted((ann.pk, bob.pk))) == 0
    assert inbox(bob) == {notes["public"].pk}
    Fanship.objects.filter(fan=bob, idol=ann).delete()
    # A run queued by the adding but run after the ending sees the ending.
    assert delivery.inbox_backfill.call(*sorted((ann.pk, bob.pk))) == 1
    assert inbox(bob) == set()


def test_each_fanship_change_queues_the_backfill_in_its_transaction(make_user, settings):
    from django_tasks import default_task_backend

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    ann, bob = make_user("ann"), make_user("bob")
    default_task_backend.clear()
    account_services.friend_add(bob, ann)
    account_services.friend_request_ignore(ann, bob)  # changes nobody's audience
    account_services.friend_remove(bob, ann)
    queued = [result for result in default_task_backend.results if result.task.name == "inbox_backfill"]
    assert [tuple(result.args) for result in queued] == [tuple(sorted((ann.pk, bob.pk)))] * 2


def test_a_cached_home_shows_the_backfill_at_once_and_loses_it_at_once(ann_wrote, sql_by_alias):
    from cache.stats import stats

    ann, bob, _, notes = ann_wrote
    client = Client()
    client.force_login(bob)
    client.get("/")
    assert "ann public" not in client.get("/").content.decode()
    account_services.friend_add(bob, ann)
    client.get("/")
    with sql_by_alias() as sql, stats.measure() as cost:
        page = client.get("/").content.decode()
    assert "ann public" in page and cost.get("page_hits") == 1
    assert page_sql(sql) == []
    account_services.friend_remove(bob, ann)
    assert "ann public" not in client.get("/").content.decode()


def test_the_profile_shows_a_backfilled_friends_note_to_the_new_friend(ann_wrote):
    ann, bob, _, notes = ann_wrote
    account_services.friend_add(bob, ann)
    account_services.friend_add(ann, bob)
    client = Client()
    client.force_login(bob)
    assert "ann to friends" in client.get("/ann/").content.decode()
    assert re.search(r"ann to friends", client.get("/").content.decode())
    account_services.friend_remove(ann, bob)
    assert "ann to friends" not in client.get("/ann/").content.decode()
    with pytest.raises(Http404):
        selectors.visible_note(bob, notes["friends"].pk)


@pytest.mark.skipif(len(settings.INBOX_CLUSTERS) < 2, reason="needs two inbox shards: run `make test` (test profile)")
def test_the_backfill_writes_and_takes_back_on_the_readers_own_inbox_shard(make_user, send_note):
    ann = make_user("ann")
    readers = [make_user(f"reader{number}") for number in range(4)]
    assert {partitioning.physical_shard(reader.pk) for reader in readers} == {1, 2}
    note = send_note(ann, body="ann public")
    for reader in readers:
        account_services.friend_add(reader, ann)
    rows = delivery_rows(note_id=note.pk)
    backfilled = {row.recipient_id: row.shard for row in rows if row.backfilled_from == ann.pk}
    assert backfilled == {reader.pk: partitioning.physical_shard(reader.pk) for reader in readers}
    for reader in readers:
        account_services.friend_remove(reader, ann)
    assert [row.recipient_id for row in delivery_rows(note_id=note.pk)] == [ann.pk]


@pytest.mark.skipif(len(settings.INBOX_CLUSTERS) < 2, reason="needs two inbox shards: run `make test` (test profile)")
def test_moving_a_shard_keeps_what_each_delivery_says_about_the_backfill(ann_wrote):
    from notes import shard_moves

    ann, bob, _, notes = ann_wrote
    account_services.friend_add(bob, ann)
    source = partitioning.physical_shard(bob.pk)
    target = 2 if source == 1 else 1
    shard_moves.copy_rows(partitioning.logical_shard(bob.pk), source, target)
    copied = Delivery.objects.using(partitioning.primary_of(target)).filter(recipient=bob)
    assert dict(copied.values_list("note_id", "backfilled_from")) == {notes["public"].pk: ann.pk}
