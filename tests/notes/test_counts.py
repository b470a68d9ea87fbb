"""Denormalized counts: right under concurrent writes, shown from the cache, reconciled."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client

from accounts import services as account_services
from accounts.models import UserCounts
from cache.objects import CachedQuerySet
from notes import services
from notes.counts import reconcile_all
from notes.models import NoteCounts
from pownce import router

pytestmark = pytest.mark.stack


@pytest.fixture(autouse=True)
def reads_of_this_thread_on_the_primary():
    """These tests call services in-process, outside any request: pin this thread's reads to the
    primary, as the browser that just wrote is pinned, so a row written a moment ago (a new
    row is not tombstoned in the cache: nothing can be cached under a new id) is not looked for
    on a replica that has not applied it yet."""
    tokens = router.begin_request(pinned=True)
    yield
    router.end_request(tokens)


def _in_thread(work):
    """Run ``work`` in a thread of its own with its own database connections, closed after."""

    def run(*args):
        try:
            return work(*args)
        finally:
            connections.close_all()

    return run


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_stars_replies_and_follows_leave_no_drift(make_user):
    people = [make_user(f"person{i}") for i in range(10)]
    author = people[0]
    note = services.note_create(author=author, kind="message", audience="public", body="count me")

    def star_and_reply(person):
        services.star_add(user=person, note_id=note.pk)
        services.reply_create(author=person, note_id=note.pk, body=f"from {person.username}")
        services.star_add(user=person, note_id=note.pk)  # a second star of the same person counts once

    def follow(pair):
        account_services.friend_add(*pair)

    # Every ordered pair: both people of a pair add each other at the same time, somewhere.
    pairs = list(itertools.permutations(people[:8], 2))
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(_in_thread(star_and_reply), people))
        list(pool.map(_in_thread(follow), pairs))

    drifts = reconcile_all(using="default", fix=False)
    assert [(d.table, d.rows_off, d.missing, d.total) for d in drifts] == [
        ("accounts.UserCounts", 0, 0, 0),
        ("notes.NoteCounts", 0, 0, 0),
    ]
    counts = NoteCounts.objects.get(note=note)
    assert (counts.replies, counts.stars) == (10, 10)
    assert UserCounts.objects.get(user=people[1]).friends == 7
    assert UserCounts.objects.get(user=people[9]).friends == 0
    page = Client().get(f"/notes/{note.pk}/").content.decode()
    assert "10 replies" in page and "★ <span>10</span>" in page


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_unfriending_and_deleting_keep_counts_right(make_user):
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    for a, b in [(ann, bob), (bob, ann), (cat, ann)]:
        account_services.friend_add(a, b)
    note = services.note_create(author=bob, kind="message", audience="public", body="soon gone")
    reply = services.reply_create(author=ann, note_id=note.pk, body="hi")
    services.star_add(user=cat, note_id=note.pk)
    assert (UserCounts.objects.get(user=ann).friends, UserCounts.objects.get(user=ann).fans) == (1, 1)
    account_services.friend_remove(ann, bob)  # bob stays ann's fan
    account_services.block(ann, cat)  # cat's fanship ends
    services.reply_delete(user=ann, reply_id=reply.pk)
    services.star_remove(user=cat, note_id=note.pk)
    assert (NoteCounts.objects.get(note=note).replies, NoteCounts.objects.get(note=note).stars) == (0, 0)
    services.note_delete(user=bob, note_id=note.pk)
    ann_counts, bob_counts = UserCounts.objects.get(user=ann), UserCounts.objects.get(user=bob)
    assert (ann_counts.friends, ann_counts.fans, ann_counts.fan_of) == (0, 1, 0)
    assert (bob_counts.friends, bob_counts.fan_of, bob_counts.notes) == (0, 1, 0)
    assert all(drift.rows_off == drift.missing == 0 for drift in reconcile_all(using="default", fix=False))


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_reconcile_counts_reports_the_drift_fixes_it_and_invalidates_the_cache(make_user, capsys):
    ann, bob = make_user("ann"), make_user("bob")
    account_services.friend_add(bob, ann)
    note = services.note_create(author=ann, kind="message", audience="public", body="drifting")
    services.star_add(user=bob, note_id=note.pk)
    client = Client()
    assert "★ <span>1</span>" in client.get(f"/notes/{note.pk}/").content.decode()  # cached now
    assert "<strong>1</strong> Fan" in client.get("/ann/").content.decode()
    # Counts knocked off without signals, the way a bug or a crashed bulk job would leave them.
    NoteCounts.objects.filter(note=note).update(stars=5)
    UserCounts.objects.filter(user=ann).update(fans=3, notes=0)
    NoteCounts.objects.filter(note=note).delete()

    with pytest.raises(CommandError):
        call_command("reconcile_counts", "--check")
    call_command("reconcile_counts")
    out = capsys.readouterr().out
    assert "accounts.UserCounts: 2 checked, 1 off, 0 missing — notes: 1 row(s), off by 1 in all; fans: 1 row(s)" in out
    assert "notes.NoteCounts: 1 checked, 0 off, 1 missing" in out
    call_command("reconcile_counts", "--check")
    assert "No drift." in capsys.readouterr().out
    assert "★ <span>1</span>" in client.get(f"/notes/{note.pk}/").content.decode()
    assert "<strong>1</strong> Fan" in client.get("/ann/").content.decode()


def test_a_star_invalidates_the_counts_not_the_note(friends, send_note):
    ann, bob = friends
    note = send_note(ann)
    client = Client()
    client.force_login(bob)
    client.get("/")  # the note and its counts are cached
    from cache.stats import stats

    services.star_add(user=bob, note_id=note.pk)
    with stats.measure() as cost:
        page = client.get("/").content.decode()
    assert "★ <span>1</span>" in page
    assert cost.get("tombstone_hits/object:notes.notecounts") == 1
    assert not cost.get("tombstone_hits/object:notes.note")


def test_a_bulk_update_of_counts_through_the_cache_layer_shows_at_once(friends, send_note):
    ann, bob = friends
    note = send_note(ann)
    client = Client()
    client.force_login(bob)
    client.get("/")
    CachedQuerySet(NoteCounts).filter(note=note).update(replies=42)
    assert "42 replies" in client.get("/").content.decode()
