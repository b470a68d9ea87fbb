"""Replies, stars, forwards and deletes."""

from __future__ import annotations

import pytest

from notes import services, streams
from notes.models import Note, Reply, ReplyDelivery, Star
from tests.inbox import recipient_names
from tests.notes.conftest import befriend


def test_star_counts_once_per_person(client, friends, send_note):
    ann, bob = friends
    note = send_note(ann)
    client.force_login(bob)
    for _ in range(3):
        assert client.post(f"/notes/{note.pk}/star/").status_code == 302
    assert Star.objects.filter(note=note).count() == 1
    page = client.get(f"/notes/{note.pk}/")
    assert page.context["page"].counts.stars == 1 and page.context["page"].counts.starred
    client.post(f"/notes/{note.pk}/unstar/")
    assert not Star.objects.exists()


def test_star_goes_back_to_the_stream_but_never_off_site(client, friends, send_note):
    note = send_note(friends[0])
    client.force_login(friends[1])
    assert client.post(f"/notes/{note.pk}/star/", {"next": "/public/"})["Location"] == "/public/"
    assert client.post(f"/notes/{note.pk}/star/", {"next": "https://evil.example/"})["Location"] == f"/notes/{note.pk}/"


def test_forward_credits_the_original_author(client, friends, send_note, make_user):
    ann, bob = friends
    cid = make_user("cid")
    befriend(bob, cid)
    note = send_note(ann, kind="link", url="https://example.com/", body="good read")
    client.force_login(bob)
    response = client.post(f"/notes/{note.pk}/forward/", {"audience": "friends"})
    forward = Note.objects.exclude(pk=note.pk).get()
    assert response["Location"] == f"/notes/{forward.pk}/"
    assert (forward.author, forward.forwarded_from, forward.url, forward.body) == (bob, note, note.url, note.body)
    assert recipient_names(forward) == {"ann", "bob", "cid"}
    page = client.get(f"/notes/{forward.pk}/").text
    assert f'Forwarded from <a href="/notes/{note.pk}/">ann</a>' in page
    # A forward of a forward is still credited to the one who wrote it.
    public_forward = services.note_forward(user=bob, note_id=note.pk, audience="public")
    again = services.note_forward(user=cid, note_id=public_forward.pk, audience="public")
    assert again.forwarded_from == note


def test_someone_elses_private_note_cannot_be_forwarded(client, friends, send_note):
    ann, bob = friends
    note = send_note(ann, audience="friend", recipient=bob)
    client.force_login(bob)
    response = client.post(f"/notes/{note.pk}/forward/", {"audience": "public"})
    assert response.status_code == 400 and "Only public notes can be forwarded." in response.text
    assert Note.objects.count() == 1


def test_reply_reaches_the_author_and_earlier_repliers(friends, send_note, make_user):
    ann, bob = friends
    cid, dan = make_user("cid"), make_user("dan")
    note = send_note(ann)
    services.reply_create(author=bob, note_id=note.pk, body="first")
    latest = services.reply_create(author=cid, note_id=note.pk, body="second")
    assert set(ReplyDelivery.objects.filter(reply=latest).values_list("recipient__username", flat=True)) == {
        "ann",
        "bob",
        "cid",
    }
    for person in (ann, bob, cid):
        assert latest in streams.home_page(person, show="replies").page.items
        assert latest in streams.home_page(person).page.items
    assert latest not in streams.home_page(dan, show="replies").page.items


def test_replies_stop_showing_when_the_note_is_no_longer_visible(friends, send_note):
    from accounts.services import block

    ann, bob = friends
    note = send_note(ann, audience="friends")
    reply = services.reply_create(author=bob, note_id=note.pk, body="hi")
    block(ann, bob)
    assert reply not in streams.home_page(bob, show="replies").page.items


def test_empty_reply_is_refused(client, friends, send_note):
    note = send_note(friends[0])
    client.force_login(friends[1])
    response = client.post(f"/notes/{note.pk}/reply/", {"body": "  "})
    assert response.status_code == 400 and not Reply.objects.exists()


def test_only_the_author_deletes_a_note(client, friends, send_note):
    ann, bob = friends
    note = send_note(ann)
    client.force_login(bob)
    assert client.post(f"/notes/{note.pk}/delete/").status_code == 404
    assert Note.objects.filter(pk=note.pk).exists()
    client.force_login(ann)
    assert client.post(f"/notes/{note.pk}/delete/").status_code == 302
    assert not Note.objects.exists()


def test_only_the_replier_deletes_a_reply(client, friends, send_note):
    ann, bob = friends
    reply = services.reply_create(author=bob, note_id=send_note(ann).pk, body="x")
    client.force_login(ann)
    assert client.post(f"/replies/{reply.pk}/delete/").status_code == 404
    client.force_login(bob)
    assert client.post(f"/replies/{reply.pk}/delete/").status_code == 302
    assert not Reply.objects.exists()


@pytest.mark.parametrize(
    ("show", "expected"),
    [("private", {"psst"}), ("sent", {"mine", "replied to"}), ("link", {"a link"}), ("notes", None)],
)
def test_home_filters(friends, send_note, show, expected):
    ann, bob = friends
    send_note(ann, body="psst", audience="friend", recipient=bob)
    send_note(ann, kind="link", url="https://example.com/", body="a link")
    send_note(bob, body="mine")
    services.reply_create(author=ann, note_id=send_note(bob, body="replied to").pk, body="r")
    items = streams.home_page(bob, show=show).page.items
    assert all(isinstance(item, Note) for item in items)
    bodies = {item.body for item in items}
    assert bodies == (expected or {"psst", "a link", "mine", "replied to"})
