"""Keyset paging: every item exactly once across pages, even while new ones arrive."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notes import services, streams
from notes.models import Note, Reply


@pytest.fixture(autouse=True)
def no_post_limit(monkeypatch):
    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 10_000)


def walk(client, path: str, *, between=None) -> list[str]:
    """Follow the "older" cursors from the first page to the last; returns item keys in order."""
    path, _, query = path.partition("?")
    filters = dict(part.split("=") for part in query.split("&") if part)
    seen, params, pages = [], {}, 0
    while True:
        response = client.get(path, {**filters, **params})
        page = response.context["page"]
        seen += [f"{type(item).__name__}:{item.pk}" for item in page.items]
        pages += 1
        if not page.has_more:
            return seen
        assert page.items, "a page that promises more is never empty"
        params = {k: v for k, v in {"before": page.before, "before_reply": page.before_reply}.items() if v}
        if between:
            between(pages)
        assert pages < 50


@pytest.mark.parametrize("path", ["/public/", "/ann/", "/", "/?show=notes", "/?show=message"])
def test_every_note_exactly_once_while_new_notes_arrive(client, friends, send_note, path):
    ann, bob = friends
    old = [send_note(ann, body=f"old {i}").pk for i in range(47)]
    client.force_login(bob)
    seen = walk(client, path, between=lambda n: send_note(ann, body=f"new {n}"))
    counts = Counter(seen)
    assert all(counts[f"Note:{pk}"] == 1 for pk in old)
    assert max(counts.values()) == 1
    assert seen[: len(old)] == [f"Note:{pk}" for pk in reversed(old)], "newest first"


def test_home_interleaves_notes_and_replies_each_exactly_once(client, friends, send_note):
    ann, bob = friends
    expected = []
    for i in range(25):
        note = send_note(ann, body=f"note {i}")
        expected.append(f"Note:{note.pk}")
        if i % 2:
            reply = services.reply_create(author=bob, note_id=note.pk, body=f"reply {i}")
            expected.append(f"Reply:{reply.pk}")
    client.force_login(ann)

    def more(n):
        note = send_note(bob, body=f"late {n}")
        services.reply_create(author=bob, note_id=note.pk, body="late reply")

    seen = walk(client, "/", between=more)
    counts = Counter(seen)
    assert all(counts[key] == 1 for key in expected)
    assert max(counts.values()) == 1
    assert seen[: len(expected)] == list(reversed(expected)), "interleaved newest first"


def test_replies_filter_pages_replies(client, friends, send_note):
    ann, bob = friends
    note = send_note(ann)
    replies = [services.reply_create(author=bob, note_id=note.pk, body=f"r{i}").pk for i in range(30)]
    client.force_login(ann)
    seen = walk(client, "/?show=replies")
    assert seen == [f"Reply:{pk}" for pk in reversed(replies)]


def test_no_offset_in_stream_queries(friends, send_note):
    ann, bob = friends
    for i in range(25):
        send_note(ann, body=str(i))
    with CaptureQueriesContext(connection) as queries:
        first = streams.home_page(bob).page
        streams.home_page(bob, before=first.before, before_reply=first.before_reply)
        streams.public_stream(bob, before=first.before)
        streams.profile_stream(bob, ann, before=first.before)
    assert queries.captured_queries
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_garbage_cursors_mean_the_newest_page(client, friends, send_note):
    note = send_note(friends[0])
    for value in ("abc", "-5", "0", "99999999999999999999999"):
        response = client.get("/public/", {"before": value})
        assert response.status_code == 200 and f'id="note-{note.pk}"' in response.text
    assert Note.objects.count() == 1 and not Reply.objects.exists()


def test_a_page_whose_notes_are_hidden_reads_further_instead_of_showing_fewer(client, friends):
    from notes import moderation

    ann, _ = friends
    notes = [services.note_create(author=ann, kind="message", audience="public", body=f"n{i}") for i in range(45)]
    newest = [note.pk for note in notes[-20:]]
    moderation.notes_hide(newest)
    page = client.get(f"/public/?before={notes[-1].pk + 1}").context["page"]
    assert [note.pk for note in page.items] == [note.pk for note in reversed(notes[5:25])]
    assert page.has_more and page.before == notes[5].pk
    assert walk(client, "/public/") == [f"Note:{note.pk}" for note in reversed(notes[:25])]


def test_a_stream_all_hidden_but_a_few_old_notes_shows_those_notes(client, friends):
    from notes import moderation

    ann, _ = friends
    notes = [services.note_create(author=ann, kind="message", audience="public", body=f"n{i}") for i in range(30)]
    moderation.notes_hide([note.pk for note in notes[3:]])
    page = client.get(f"/{ann.username}/").context["page"]
    assert [note.pk for note in page.items] == [note.pk for note in reversed(notes[:3])]
    assert not page.has_more
