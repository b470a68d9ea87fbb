"""Pages read through the cache: a warm home stream costs no SQL and one memcached call (the
page cache, cache/pages.py), a render from cached values no SQL either, and every write shows
on the next read."""

import os
import signal

import pytest
from django.test import Client

from cache.stats import stats
from notes import services
from notes.models import Note
from tests.notes.conftest import befriend
from tests.stack import MEMCACHED_PORTS, run_dir, stack

pytestmark = pytest.mark.stack


@pytest.fixture
def busy_home(make_user):
    """ann with friends who sent her notes of every audience, replies and stars."""
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    befriend(ann, bob)
    befriend(ann, cat)
    for i in range(12):
        services.note_create(author=bob, kind="message", audience="public", body=f"public {i}")
        services.note_create(author=cat, kind="message", audience="friend", recipient=ann, body=f"private {i}")
    note = services.note_create(author=ann, kind="link", audience="friends", url="https://example.com/", body="mine")
    services.reply_create(author=bob, note_id=note.pk, body="nice link")
    services.star_add(user=cat, note_id=note.pk)
    services.note_forward(user=ann, note_id=Note.objects.filter(author=bob).first().pk, audience="public")
    client = Client()
    client.force_login(ann)
    return client, ann, bob, cat


def test_warm_home_stream_runs_no_sql_and_one_memcached_call(busy_home, sql_by_alias):
    client, *_ = busy_home
    assert client.get("/").status_code == 200  # cold: fills the cache
    with sql_by_alias() as sql, stats.measure() as cost:
        response = client.get("/")
    assert response.status_code == 200
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    # The user, the page and the versions of everything on it, in one multi-get.
    assert cost["calls"] == 1
    page = response.content.decode()
    assert "private 11" in page and "nice link" in page and "Forwarded from" in page


def test_rendering_the_home_stream_from_warm_objects_costs_no_sql(busy_home, sql_by_alias):
    """What a page costs when its entry is gone but the values under it are cached."""
    client, *_ = busy_home
    assert client.get("/").status_code == 200  # fills the lists and objects, and one page
    with sql_by_alias() as sql, stats.measure() as cost:
        response = client.get("/?show=all")
    assert response.status_code == 200 and cost.get("page_misses") == 1
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    # The user and the page (1, a miss); the lists (2, their versions first: 3); the notes,
    # replies, counts, form (4, 5); authors, recipients, replied-to notes (6, 7); the top bar's
    # unread notifications (8, 9: notes/notifications.py, Badge); the store (10).
    assert cost["calls"] == 10


def test_warm_public_and_note_pages_run_no_sql(busy_home, sql_by_alias):
    client, ann, bob, _ = busy_home
    note = Note.objects.filter(author=bob).order_by("-pk").first()
    for url in ("/public/", f"/notes/{note.pk}/", f"/{ann.username}/"):
        assert client.get(url).status_code == 200
        with sql_by_alias() as sql:
            assert client.get(url).status_code == 200
        assert not any(sql.values()), (url, sql)


def test_writes_show_on_the_next_warm_read(busy_home):
    client, ann, bob, cat = busy_home
    client.get("/")
    services.note_create(author=bob, kind="message", audience="friends", body="fresh for friends")
    assert "fresh for friends" in client.get("/").content.decode()
    note = Note.objects.get(body="fresh for friends")
    services.star_add(user=ann, note_id=note.pk)
    services.reply_create(author=ann, note_id=note.pk, body="a fresh reply")
    page = client.get(f"/notes/{note.pk}/").content.decode()
    assert "a fresh reply" in page
    Note.objects.filter(pk=note.pk).update(body="edited quietly")  # no signal: must go through the library
    from notes import caching

    caching.note_rows_changed([note.pk])
    assert "edited quietly" in client.get("/").content.decode()


def test_block_hides_cached_private_notes_at_once(busy_home):
    client, ann, _, cat = busy_home
    assert "private 3" in client.get("/").content.decode()
    from accounts import services as account_services

    account_services.block(cat, ann)
    assert "private 3" not in client.get("/").content.decode()


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_killed_memcached_during_page_loop_costs_no_errors_and_serves_nothing_stale(busy_home):
    client, ann, bob, _ = busy_home
    stack("up", "memcached")
    pid = int((run_dir() / f"memcached-{MEMCACHED_PORTS[1]}.pid").read_text())
    statuses = []
    try:
        for i in range(40):
            if i == 10:
                os.kill(pid, signal.SIGKILL)
            if i % 5 == 0:
                services.note_create(author=bob, kind="message", audience="public", body=f"loop note {i}")
            statuses.append(client.get("/").status_code)
            statuses.append(client.get("/public/").status_code)
    finally:
        stack("up", "memcached")
    assert statuses == [200] * 80
    from cache import protocol

    for node in protocol.cluster().nodes:
        node.retry_at = 0  # notice the restarted server at the next read
    home = client.get("/").content.decode()
    public = client.get("/public/").content.decode()
    for i in range(0, 40, 5):
        assert f"loop note {i}" in home and f"loop note {i}" in public
