"""Atom feeds of a person's public notes and of the public stream, read by feedparser."""

from __future__ import annotations

import feedparser
import pytest

from accounts.models import Fanship, User
from notes import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return User.objects.create_user(username="ann", password="correct-horse-9")


def test_person_feed_has_public_notes_only(client, ann):
    bob = User.objects.create_user(username="bob", password="correct-horse-9")
    Fanship.objects.create(fan=ann, idol=bob)
    Fanship.objects.create(fan=bob, idol=ann)
    public = services.note_create(author=ann, kind="message", audience="public", body="hello <world>")
    services.note_create(author=ann, kind="message", audience="friends", body="secret plans")
    response = client.get("/ann/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert [entry.link for entry in feed.entries] == [f"http://testserver/notes/{public.pk}/"]
    assert "hello &lt;world&gt;" in feed.entries[0].summary
    assert b"secret plans" not in response.content


def test_public_feed_and_event_text(client, ann):
    from datetime import UTC, datetime

    services.note_create(
        author=ann,
        kind="event",
        audience="public",
        event_name="Picnic",
        event_place="The park",
        event_start=datetime(2027, 6, 5, 12, 0, tzinfo=UTC),
    )
    feed = feedparser.parse(client.get("/public/feed/").content)
    assert not feed.bozo
    assert feed.feed.title == "Pownce: the public stream"
    assert "Picnic" in feed.entries[0].summary and "The park" in feed.entries[0].summary


def test_unknown_person_has_no_feed(client):
    assert client.get("/nobody_here/feed/").status_code == 404


def test_pages_announce_their_feeds(client, ann):
    assert b'type="application/atom+xml"' in client.get("/ann/").content
    assert b'href="/public/feed/"' in client.get("/public/").content
