"""File and calendar downloads: what the browser is told, and that a calendar can read it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from notes import ical, services
from notes.models import Note
from tests.notes.conftest import png_bytes, upload


def file_note(send_note, author, name, content, audience="public"):
    return send_note(author, kind="file", audience=audience, upload=upload(name, content))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<html><script>alert(document.cookie)</script></html>"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("no-extension", b"\x00\x01 whatever"),
        ("fake.png", b"<html><script>alert(1)</script></html>"),
        ("notes.txt", b"plain text"),
    ],
)
def test_unsafe_and_unknown_files_are_attachments_with_nosniff(client, friends, send_note, name, content):
    note = file_note(send_note, friends[0], name, content)
    response = client.get(f"/notes/{note.pk}/file/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == content
    assert not note.thumbnail


def test_real_images_are_shown_inline_with_a_thumbnail(client, friends, send_note):
    note = file_note(send_note, friends[0], "sunset.png", png_bytes((800, 600)))
    response = client.get(f"/notes/{note.pk}/file/sunset.png")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    thumb = client.get(f"/notes/{note.pk}/thumbnail.jpg")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(thumb.streaming_content))) as image:
        assert max(image.size) == 480


def test_file_names_with_paths_and_quotes_are_cleaned(client, friends, send_note):
    note = file_note(send_note, friends[0], '..\\..\\evil"name\r\n.txt', b"x")
    assert note.file_name == 'evil"name.txt'
    response = client.get(f"/notes/{note.pk}/file/whatever")
    assert "\r" not in response["Content-Disposition"] and '"name' not in response["Content-Disposition"]


def test_front_server_can_send_the_bytes(client, friends, send_note, settings):
    settings.FILE_SERVE_HEADER = "X-Accel-Redirect"
    settings.FILE_SERVE_PREFIX = "/protected/"
    note = file_note(send_note, friends[0], "a.txt", b"abc")
    response = client.get(f"/notes/{note.pk}/file/a.txt")
    assert response["X-Accel-Redirect"] == f"/protected/{note.file.name}"
    assert response.content == b""
    assert response["Content-Disposition"].startswith("attachment;")


def test_files_of_other_kinds_of_notes_are_404(client, friends, send_note):
    note = send_note(friends[0])
    assert client.get(f"/notes/{note.pk}/file/x").status_code == 404
    assert client.get(f"/notes/{note.pk}/event.ics").status_code == 404
    assert client.get(f"/notes/{note.pk}/thumbnail.jpg").status_code == 404


def test_deleting_a_note_deletes_its_file_unless_a_forward_shares_it(
    friends, send_note, django_capture_on_commit_callbacks
):
    ann, bob = friends
    note = file_note(send_note, ann, "a.png", png_bytes())
    forward = services.note_forward(user=bob, note_id=note.pk, audience="public")
    storage = note.file.storage
    with django_capture_on_commit_callbacks(execute=True):
        services.note_delete(user=ann, note_id=note.pk)
    assert storage.exists(forward.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        services.note_delete(user=bob, note_id=forward.pk)
    assert not storage.exists(forward.file.name) and not storage.exists(forward.thumbnail.name)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_ics_is_valid_icalendar(client, friends, send_note):
    start = timezone.make_aware(dt.datetime(2030, 7, 14, 18, 30), dt.UTC)
    note = send_note(
        friends[0],
        kind="event",
        event_name="Picnic; bring food, drinks \\ games",
        event_place="Park, north gate",
        event_start=start,
        body="Line one\nLine two with ünïcödé " + "long " * 30,
    )
    response = client.get(f"/notes/{note.pk}/event.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    raw = response.content
    text = raw.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", ""), "every line ends in CRLF"
    assert all(len(line.encode()) <= 75 for line in raw.decode().split("\r\n")), "folded at 75 octets"
    lines = unfold(text)
    assert "VERSION:2.0" in lines and "BEGIN:VEVENT" in lines and "END:VEVENT" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    assert f"UID:note-{note.pk}@testserver" in lines
    assert "DTSTART:20300714T183000Z" in lines and "DTEND:20300714T193000Z" in lines
    assert "SUMMARY:Picnic\\; bring food\\, drinks \\\\ games" in lines
    assert "LOCATION:Park\\, north gate" in lines
    description = next(line for line in lines if line.startswith("DESCRIPTION:"))
    assert description.startswith("DESCRIPTION:Line one\\nLine two with ünïcödé long")
    assert description.endswith(f"http://testserver/notes/{note.pk}/")


def test_ics_text_cannot_inject_properties():
    note = Note(
        pk=7, event_name="x\r\nATTACH:http://evil\nBEGIN:VALARM", event_start=timezone.now(), created=timezone.now()
    )
    lines = unfold(ical.event_calendar(note, note_url="https://pownce.test/notes/7/", host="pownce.test"))
    assert not any(line.startswith(("ATTACH", "BEGIN:VALARM")) for line in lines)


def test_folding_never_splits_a_character():
    folded = ical.fold("SUMMARY:" + "é" * 100)
    for piece in folded.split("\r\n"):
        assert len(piece.encode("utf-8")) <= 75
        piece.encode("utf-8").decode("utf-8")
    assert folded.replace("\r\n ", "") == "SUMMARY:" + "é" * 100
