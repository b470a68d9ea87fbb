"""The note form's idempotency key: a note sent twice from the same form is posted once."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connections

from notes import services
from notes.models import Note
from tests.inbox import delivery_rows
from tests.notes.conftest import png_bytes, upload

KEY_INPUT = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


@pytest.fixture
def ann_client(client, friends):
    client.force_login(friends[0])
    return client


def form_key(client, path: str = "/notes/new/") -> str:
    return KEY_INPUT.search(client.get(path).content.decode()).group(1)


def test_every_showing_of_the_form_carries_a_fresh_key(ann_client):
    keys = {form_key(ann_client), form_key(ann_client), form_key(ann_client, "/")}
    assert len(keys) == 3


def test_sending_the_same_form_twice_posts_one_note(ann_client, friends):
    key = form_key(ann_client)
    data = {"kind": "message", "audience": "public", "body": "only once", "idempotency_key": key}
    first = ann_client.post("/notes/new/", data)
    second = ann_client.post("/notes/new/", data)
    note = Note.objects.get()
    assert first["Location"] == second["Location"] == f"/#note-{note.pk}"
    assert len(delivery_rows(note_id=note.pk)) == 2  # ann and bob, once each


def test_a_file_sent_twice_is_stored_once(ann_client, settings):
    key = form_key(ann_client)
    for _ in range(2):
        ann_client.post(
            "/notes/new/",
            {"kind": "file", "audience": "public", "file": upload("p.png", png_bytes()), "idempotency_key": key},
        )
    note = Note.objects.get()
    stored = [path for path in (settings.MEDIA_ROOT / "notes").rglob("*") if path.is_file()]
    assert [path.name for path in stored if not path.name.startswith("thumb")] == [note.file.name.rsplit("/", 1)[1]]


def test_different_forms_and_different_people_post_separately(ann_client, friends, client):
    for key in ("a" * 32, "b" * 32):
        ann_client.post("/notes/new/", {"kind": "message", "audience": "public", "body": "hi", "idempotency_key": key})
    services.note_create(author=friends[1], kind="message", audience="public", body="hi", idempotency_key="a" * 32)
    assert Note.objects.filter(author=friends[0]).count() == 2
    assert Note.objects.filter(author=friends[1]).count() == 1


def test_a_key_that_is_not_the_forms_own_is_ignored(ann_client):
    data = {"kind": "message", "audience": "public", "body": "x", "idempotency_key": "bad key!"}
    for _ in range(2):
        ann_client.post("/notes/new/", data)
    assert list(Note.objects.values_list("idempotency_key", flat=True)) == [None, None]


@pytest.mark.stack
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_two_sends_racing_with_one_key_make_one_note(friends):
    """Two requests with the same key at the same moment: the unique index decides, and the
    loser answers with the winner's note."""
    ann = friends[0]
    barrier = threading.Barrier(2)
    results = []

    def send():
        barrier.wait()
        try:
            results.append(
                services.note_create(
                    author=ann, kind="message", audience="public", body="race", idempotency_key="r" * 32
                ).pk
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    note = Note.objects.using("default").get(author=ann)  # the replica may lag behind the threads
    assert results == [note.pk, note.pk]
