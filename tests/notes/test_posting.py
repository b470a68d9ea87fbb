"""Posting notes through the web form: every kind works, bad input says why and creates nothing."""

from __future__ import annotations

import pytest

from notes import services
from notes.models import Note
from tests.inbox import delivery_rows, recipient_names
from tests.notes.conftest import make_set, png_bytes, upload


@pytest.fixture
def ann_client(client, friends):
    client.force_login(friends[0])
    return client


def post_note(client, **data):
    data.setdefault("audience", "public")
    return client.post("/notes/new/", data)


def test_message_through_the_form(ann_client, friends):
    response = post_note(ann_client, kind="message", body="Hello, world")
    note = Note.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/#note-{note.pk}"  # back home, at the note
    assert (note.kind, note.body, note.author) == ("message", "Hello, world", friends[0])
    assert recipient_names(note) == {"ann", "bob"}


def test_link_through_the_form(ann_client):
    post_note(ann_client, kind="link", url="https://example.com/a?b=1", body="look")
    note = Note.objects.get()
    assert (note.kind, note.url, note.body) == ("link", "https://example.com/a?b=1", "look")


def test_file_through_the_form(ann_client):
    response = ann_client.post(
        "/notes/new/", {"kind": "file", "audience": "friends", "file": upload("photo.png", png_bytes())}
    )
    note = Note.objects.get()
    assert response.status_code == 302
    assert (note.kind, note.file_name, note.file_type, note.file_size) == (
        "file",
        "photo.png",
        "image/png",
        len(png_bytes()),
    )
    assert note.thumbnail, "images get a thumbnail"
    assert note.file.name.startswith("notes/") and "photo" not in note.file.name, "stored under a random name"


def test_event_through_the_form(ann_client):
    post_note(
        ann_client, kind="event", event_name="Launch party", event_place="The roof", event_start="2030-05-01T19:30"
    )
    note = Note.objects.get()
    assert (note.kind, note.event_name, note.event_place) == ("event", "Launch party", "The roof")
    assert (note.event_start.year, note.event_start.hour, note.event_start.minute) == (2030, 19, 30)


def test_private_note_to_one_friend_through_the_form(ann_client, friends):
    ann, bob = friends
    post_note(ann_client, kind="message", body="psst", audience=f"friend:{bob.pk}")
    note = Note.objects.get()
    assert note.audience == "friend" and note.recipient == bob
    assert recipient_names(note) == {"ann", "bob"}


def test_set_note_through_the_form(ann_client, friends):
    ann, bob = friends
    close = make_set(ann, "Close", [bob])
    post_note(ann_client, kind="message", body="for the set", audience=f"set:{close.pk}")
    assert Note.objects.get().friend_set == close


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "message", "body": "   "}, "body", "Write a message."),
        ({"kind": "link", "url": ""}, "url", "Enter the link"),
        ({"kind": "link", "url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"kind": "link", "url": "JavaScript:alert(document.cookie)//http://x.com"}, "url", "http:// or https://"),
        ({"kind": "link", "url": "data:text/html,<script>alert(1)</script>"}, "url", "http:// or https://"),
        ({"kind": "link", "url": "ftp://example.com/file"}, "url", "http:// or https://"),
        ({"kind": "file"}, "file", "Choose a file"),
        ({"kind": "event", "event_name": "Party"}, "event_start", "Give the event a date and time."),
        ({"kind": "event", "event_start": "2030-01-01T10:00"}, "event_name", "Give the event a name."),
        ({"kind": "event", "event_name": "Party", "event_start": "next tuesday"}, "event_start", "Enter a valid"),
        ({"kind": "poem", "body": "roses"}, "kind", "Select a valid choice"),
        ({"kind": "message", "body": "x", "audience": "everyone"}, "audience", "Select a valid choice"),
        ({"kind": "message", "body": "x" * 4001}, "body", "under 4000 characters"),
    ],
)
def test_bad_input_gets_a_form_error_and_creates_nothing(ann_client, data, field, message):
    response = post_note(ann_client, **data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message.split("<")[0] in response.text
    assert not Note.objects.exists() and not delivery_rows()


def test_oversize_file_is_refused(ann_client, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    response = ann_client.post(
        "/notes/new/", {"kind": "file", "audience": "public", "file": upload("big.bin", b"x" * 1025)}
    )
    assert response.status_code == 400
    assert "too big" in " ".join(response.context["form"].errors["file"])
    assert not Note.objects.exists()
    stored = [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()] if settings.MEDIA_ROOT.exists() else []
    assert stored == []


def test_file_at_the_limit_is_accepted(ann_client, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    ann_client.post("/notes/new/", {"kind": "file", "audience": "public", "file": upload("ok.bin", b"x" * 1024)})
    assert Note.objects.get().file_size == 1024


def test_set_of_someone_else_is_refused(ann_client, friends, make_user):
    other_set = make_set(make_user("zed"), "Zed's", [])
    response = post_note(ann_client, kind="message", body="x", audience=f"set:{other_set.pk}")
    assert response.status_code == 400 and not Note.objects.exists()


def test_one_friend_must_be_a_friend(friends, make_user, send_note):
    stranger = make_user("zed")
    with pytest.raises(services.ValidationError) as error:
        send_note(friends[0], audience="friend", recipient=stranger)
    assert "Choose one of your friends." in error.value.message_dict["audience"]
    assert not Note.objects.exists()


def test_posting_is_rate_limited_with_a_clear_message(ann_client, monkeypatch):
    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 2)
    for text in ("one", "two"):
        assert post_note(ann_client, kind="message", body=text).status_code == 302
    response = post_note(ann_client, kind="message", body="three")
    assert response.status_code == 400
    assert "posting very fast" in response.text
    assert Note.objects.count() == 2


def test_signed_out_people_are_sent_to_log_in(client, db):
    response = client.post("/notes/new/", {"kind": "message", "body": "hi", "audience": "public"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Note.objects.exists()


def test_form_offers_sets_and_friends(ann_client, friends):
    ann, bob = friends
    close = make_set(ann, "Close", [bob])
    page = ann_client.get("/notes/new/").text
    assert f'value="set:{close.pk}"' in page and f'value="friend:{bob.pk}"' in page
