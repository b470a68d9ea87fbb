"""Uploads cannot fill the disk or the worker's memory (issue 10, items 1 and 2)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from notes import files
from notes.models import Note

pytestmark = pytest.mark.django_db


def declared(client: Client, path: str, length: int):
    """POST that declares ``length`` bytes but carries only a few: Django's test payload raises
    if anything tries to read past those, so a 413 here proves the body was never read."""
    return client.generic(
        "POST", path, b"x" * 10, content_type="multipart/form-data; boundary=zzz", CONTENT_LENGTH=str(length)
    )


def test_a_huge_log_in_body_is_refused_before_it_is_read(client, settings):
    response = declared(client, "/login/", 200 * 1024 * 1024)
    assert response.status_code == 413
    assert settings.MAX_FORM_BYTES < 200 * 1024 * 1024


def test_a_form_body_over_the_small_cap_is_refused(client, settings):
    assert declared(client, "/signup/", settings.MAX_FORM_BYTES + 1).status_code == 413
    assert declared(client, "/admin/login/", settings.MAX_FORM_BYTES + 1).status_code == 413


def test_a_note_upload_over_the_limit_is_refused_before_it_is_read(client, friends, settings):
    client.force_login(friends[0])
    response = declared(client, "/notes/new/", 300 * 1024 * 1024)
    assert response.status_code == 413
    assert "Files can be at most 100 MB." in response.content.decode()
    assert not Note.objects.exists()


def test_an_upload_at_the_limit_still_gets_through_to_the_form(client, friends, settings):
    settings.MAX_UPLOAD_BYTES = 3 * 1024 * 1024
    client.force_login(friends[0])
    content = b"z" * settings.MAX_UPLOAD_BYTES
    response = client.post(
        "/notes/new/", {"kind": "file", "audience": "public", "file": SimpleUploadedFile("big.bin", content)}
    )
    assert response.status_code == 302
    assert Note.objects.get().file_size == settings.MAX_UPLOAD_BYTES


def huge_png(side: int) -> bytes:
    """A PNG of side×side pixels that is small on disk: one bit per pixel, all zeros."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


def test_an_image_with_too_many_pixels_is_a_plain_download_never_decoded(friends, send_note):
    data = huge_png(7000)  # 49 million pixels, a few KB
    assert len(data) < 100_000
    note = send_note(friends[0], kind="file", upload=SimpleUploadedFile("bomb.png", data))
    assert note.file_type == "application/octet-stream"
    assert not files.is_inline(note)
    assert not Note.objects.get(pk=note.pk).thumbnail  # no thumbnail task made one


def test_the_worker_refuses_to_decode_a_stored_bomb(friends, send_note, monkeypatch):
    note = send_note(friends[0], kind="file", upload=SimpleUploadedFile("bomb.png", huge_png(7000)))
    # As if stored before the cap: marked an image.
    Note.objects.filter(pk=note.pk).update(file_type="image/png")
    note.refresh_from_db()

    def no_decoding(*args, **kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    assert files.thumbnail_create(note) is False
    assert not Note.objects.get(pk=note.pk).thumbnail


def test_an_ordinary_image_still_gets_a_thumbnail(friends, send_note):
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 200, 30)).save(out, "PNG")
    note = send_note(friends[0], kind="file", upload=SimpleUploadedFile("fine.png", out.getvalue()))
    assert note.file_type == "image/png"
    assert Note.objects.get(pk=note.pk).thumbnail
