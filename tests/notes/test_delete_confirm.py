"""Deleting a note or a reply asks first (issue 14, item 8): a link leads to a page that asks
"Delete this note?" with the form that deletes (a dialog asks the same with JavaScript, see
tests/browser/test_sending_and_deleting.py); only the author gets either; and after deleting, the
author is back on the stream they deleted from."""

from __future__ import annotations

import re

import pytest

from notes import services
from notes.models import Note, Reply


@pytest.fixture
def note(friends, send_note):
    return send_note(friends[0], body="soon to go")


def delete_links(html: str) -> list[str]:
    return re.findall(r'<a[^>]* href="([^"]*/delete/[^"]*)" data-confirm="Delete this (?:note|reply)\?"', html)


def test_the_author_is_asked_before_a_note_is_deleted(client, friends, note):
    client.force_login(friends[0])
    response = client.get(f"/notes/{note.pk}/delete/?next=/%3Fshow%3Dsent")
    assert response.status_code == 200 and Note.objects.filter(pk=note.pk).exists()
    page = response.content.decode()
    assert '<h1 id="confirm-delete-title">Delete this note?</h1>' in page and "soon to go" in page
    assert f'<form method="post" action="/notes/{note.pk}/delete/" class="confirm-delete-form">' in page
    assert 'name="csrfmiddlewaretoken"' in page and '<input type="hidden" name="next" value="/?show=sent">' in page
    assert f'href="/?show=sent#note-{note.pk}">Cancel</a>' in page
    response = client.post(f"/notes/{note.pk}/delete/", {"next": "/?show=sent"})
    assert response.status_code == 302 and response["Location"] == "/?show=sent"
    assert not Note.objects.filter(pk=note.pk).exists()
    assert "Your note was deleted." in client.get("/?show=sent").content.decode()


@pytest.mark.parametrize("next_", ["https://evil.example/", "//evil.example/", "/notes/{pk}/", "/notes/{pk}/?x=1", ""])
def test_after_deleting_there_is_no_going_to_another_site_nor_to_the_gone_note(client, friends, note, next_):
    client.force_login(friends[0])
    response = client.post(f"/notes/{note.pk}/delete/", {"next": next_.format(pk=note.pk)})
    assert response["Location"] == "/"


def test_only_the_author_is_asked(client, friends, note):
    assert client.get(f"/notes/{note.pk}/delete/")["Location"].startswith("/login/")
    client.force_login(friends[1])
    assert client.get(f"/notes/{note.pk}/delete/").status_code == 404
    assert client.get("/notes/99999999999/delete/").status_code == 404
    assert client.put(f"/notes/{note.pk}/delete/").status_code == 405


def test_the_author_is_asked_before_a_reply_is_deleted(client, friends, note):
    ann, bob = friends
    reply = services.reply_create(author=bob, note_id=note.pk, body="a reply to regret")
    client.force_login(ann)
    assert client.get(f"/replies/{reply.pk}/delete/").status_code == 404
    client.force_login(bob)
    page = client.get(f"/replies/{reply.pk}/delete/").content.decode()
    assert "Delete this reply?" in page and "a reply to regret" in page
    assert f'action="/replies/{reply.pk}/delete/"' in page
    assert f'href="/notes/{note.pk}/#reply-{reply.pk}">Cancel</a>' in page
    assert Reply.objects.filter(pk=reply.pk).exists()
    response = client.post(f"/replies/{reply.pk}/delete/")
    assert response["Location"] == f"/notes/{note.pk}/" and not Reply.objects.exists()


def test_pages_link_to_the_question_never_to_a_delete_button(client, friends, note):
    ann, bob = friends
    reply = services.reply_create(author=ann, note_id=note.pk, body="mine too")
    client.force_login(ann)
    page = client.get(f"/notes/{note.pk}/").content.decode()
    assert delete_links(page) == [f"/notes/{note.pk}/delete/?next=/notes/{note.pk}/", f"/replies/{reply.pk}/delete/"]
    assert 'action="/notes/' + str(note.pk) + '/delete/"' not in page and '/delete/" class' not in page
    home = client.get("/?show=sent").content.decode()
    assert delete_links(home) == [f"/notes/{note.pk}/delete/?next=/%3Fshow%3Dsent"]
    client.force_login(bob)
    assert delete_links(client.get(f"/notes/{note.pk}/").content.decode()) == []
    assert delete_links(client.get("/").content.decode()) == []
