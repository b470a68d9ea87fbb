"""Odd input never causes a 500 and never posts nothing (issue 10, items 7, 8 and 16)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from notes import services
from notes.models import Note, Reply

pytestmark = pytest.mark.django_db

# Digits str.isdigit() accepts but int() refuses, and digits of other scripts.
ODD_DIGITS = ["²", "①", "12³", "٣", "𝟗"]


@pytest.mark.parametrize("value", ODD_DIGITS)
def test_odd_digits_in_a_cursor_mean_the_newest_page(client, friends, send_note, value):
    ann, bob = friends
    note = send_note(ann)
    services.reply_create(author=bob, note_id=note.pk, body="hi")
    for path in ("/public/", f"/{ann.username}/", f"/{ann.username}/friends/"):
        response = client.get(path, {"before": value})
        assert response.status_code == 200, path
    client.force_login(bob)
    for params in ({"before": value}, {"before_reply": value}):
        response = client.get("/", params)
        assert response.status_code == 200 and f'id="note-{note.pk}"' in response.text
    response = client.get("/", {"before_reply": value, "show": "replies"})
    assert response.status_code == 200 and "hi" in response.text


@pytest.mark.parametrize("start", ["9999-12-31T23:30", "0001-01-01T00:00", "1000-01-01T00:00", "2300-01-01T00:00"])
def test_unreasonable_event_dates_are_refused(client, friends, start):
    client.force_login(friends[0])
    response = client.post(
        "/notes/new/", {"kind": "event", "event_name": "Far", "event_start": start, "audience": "public"}
    )
    assert response.status_code == 400
    assert "Choose a date between 1900 and 2199." in response.text
    assert not Note.objects.exists()


def test_event_at_the_edge_of_the_range_gives_a_calendar(client, friends):
    client.force_login(friends[0])
    client.post(
        "/notes/new/", {"kind": "event", "event_name": "Late", "event_start": "2199-12-31T23:30", "audience": "public"}
    )
    note = Note.objects.get()
    assert client.get(f"/notes/{note.pk}/event.ics").status_code == 200


BLANKS = ["\u200b", "\u200b\u200c\u200d\ufeff", " \u2060 \u00a0", "\u3164", "\u2800\u2800", "\u0301", "\u202e\u202c"]


@pytest.mark.parametrize("body", BLANKS)
def test_blank_looking_replies_are_refused(client, friends, send_note, body):
    ann, bob = friends
    note = send_note(ann)
    with pytest.raises(ValidationError, match="Write a reply"):
        services.reply_create(author=bob, note_id=note.pk, body=body)
    client.force_login(bob)
    response = client.post(f"/notes/{note.pk}/reply/", {"body": body})
    assert response.status_code == 400 and "Write a reply." in response.text
    assert not Reply.objects.exists()


@pytest.mark.parametrize("body", BLANKS)
def test_blank_looking_messages_are_refused(friends, send_note, body):
    with pytest.raises(ValidationError, match="Write a message"):
        send_note(friends[0], body=body)
    assert not Note.objects.exists()


def test_text_with_invisible_characters_around_it_is_kept(friends, send_note):
    note = send_note(friends[0])
    reply = services.reply_create(author=friends[1], note_id=note.pk, body="\u200bhi\u200b")
    assert reply.body == "\u200bhi\u200b"
    assert services.reply_create(author=friends[1], note_id=note.pk, body="é").body == "é"
