"""A link to a note followed while signed out: a public note is shown; any other note id —
private, friends-only, hidden or no note at all, alike — asks the visitor to log in, and after
logging in they see the note if they may and get 404 otherwise (notes.views.notes.log_in_to_see).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from notes import moderation, services
from tests.notes.conftest import befriend, upload

PASSWORD = "correct-horse-9"


@pytest.fixture
def notes(make_user):
    """ann sent bob (her friend) a private note and her friends an event and a file; cat is
    nobody's friend. A public note and an id no note has."""
    ann, bob, _cat = make_user("ann"), make_user("bob"), make_user("cat")
    befriend(ann, bob)
    when = timezone.now() + dt.timedelta(days=2)
    made = {
        "private": services.note_create(author=ann, kind="message", audience="friend", recipient=bob, body="psst"),
        "event": services.note_create(
            author=ann, kind="event", audience="friends", event_name="Secret dinner", event_start=when
        ),
        "file": services.note_create(author=ann, kind="file", audience="friends", upload=upload("plan.txt", b"x")),
        "public": services.note_create(author=ann, kind="message", audience="public", body="hello world"),
    }
    made["missing"] = made["public"].pk + 1_000_000
    return made


def log_in(client: Client, username: str, next_url: str):
    return client.post(f"/login/?next={next_url}", {"username": username, "password": PASSWORD, "next": next_url})


def test_a_private_note_asks_a_visitor_to_log_in_then_shows_it_to_its_reader(notes):
    url = f"/notes/{notes['private'].pk}/"
    visitor = Client()
    response = visitor.get(url)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"
    assert log_in(visitor, "bob", url)["Location"] == url
    page = visitor.get(url)
    assert page.status_code == 200 and "psst" in page.content.decode()


def test_after_log_in_someone_outside_the_audience_gets_404(notes):
    url = f"/notes/{notes['private'].pk}/"
    visitor = Client()
    assert visitor.get(url).status_code == 302
    assert log_in(visitor, "cat", url)["Location"] == url
    assert visitor.get(url).status_code == 404


def test_a_visitor_cannot_tell_a_private_note_from_no_note(notes):
    """Both are asked to log in, with responses alike but for the address they return to."""
    answers = {}
    for which in ("private", "missing"):
        pk = notes[which] if which == "missing" else notes[which].pk
        response = Client().get(f"/notes/{pk}/")
        answers[which] = (
            response.status_code,
            response["Location"].replace(str(pk), "ID"),
            response.content,
            sorted(name for name in response.headers if name.lower() not in ("location", "content-length")),
        )
    assert answers["private"] == answers["missing"]
    assert answers["missing"][:2] == (302, "/login/?next=/notes/ID/")
    visitor = Client()
    log_in(visitor, "bob", "/")
    assert visitor.get(f"/notes/{notes['missing']}/").status_code == 404


def test_a_public_note_stays_readable_signed_out_and_hiding_it_asks_for_a_log_in(notes):
    url = f"/notes/{notes['public'].pk}/"
    visitor = Client()
    assert "hello world" in visitor.get(url).content.decode()
    moderation.notes_hide([notes["public"].pk])
    assert visitor.get(url)["Location"] == f"/login/?next={url}"


def test_event_and_file_links_ask_a_visitor_to_log_in_too(notes):
    event, file = notes["event"], notes["file"]
    for url in (f"/notes/{event.pk}/event.ics", f"/notes/{file.pk}/file/plan.txt"):
        visitor = Client()
        assert visitor.get(url)["Location"] == f"/login/?next={url}"
        log_in(visitor, "bob", url)
        assert visitor.get(url).status_code == 200
    # A public note has no file: that is a plain 404, signed out or not.
    assert Client().get(f"/notes/{notes['public'].pk}/file/x").status_code == 404


def test_a_signed_in_outsider_still_gets_404_not_a_log_in(notes):
    cat = Client()
    cat.post("/login/", {"username": "cat", "password": PASSWORD})
    for url in (f"/notes/{notes['private'].pk}/", f"/notes/{notes['event'].pk}/event.ics"):
        assert cat.get(url).status_code == 404
