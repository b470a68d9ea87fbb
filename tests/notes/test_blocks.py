"""Blocks (issue 10, item 6; notes/visibility.py rule 9): a blocked person cannot reply to,
star or forward the blocker's notes, nor befriend them, and nothing of theirs reaches the
blocker — whichever of the two blocked the other."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services as accounts_services
from notes import services, streams
from notes.models import Note, Reply, Star
from tests.notes.conftest import befriend

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin_blocked_frank(make_user, send_note):
    erin, frank, gail = make_user("erin"), make_user("frank"), make_user("gail")
    befriend(erin, frank)
    befriend(erin, gail)
    befriend(frank, gail)
    # Written before the block: frank's reply under erin's note and his note in her inbox.
    note = send_note(erin, body="erin's public note")
    old_reply = services.reply_create(author=frank, note_id=note.pk, body="frank was here")
    franks_note = send_note(frank, body="frank's public note")
    accounts_services.block(erin, frank)
    return erin, frank, gail, note, old_reply, franks_note


def test_blocked_person_cannot_reply_star_or_forward(client, erin_blocked_frank):
    erin, frank, _gail, note, _old, _franks = erin_blocked_frank
    with pytest.raises(PermissionDenied):
        services.reply_create(author=frank, note_id=note.pk, body="still here")
    with pytest.raises(PermissionDenied):
        services.star_add(user=frank, note_id=note.pk)
    with pytest.raises(ValidationError):
        services.note_forward(user=frank, note_id=note.pk, audience="public")

    client.force_login(frank)
    assert client.post(f"/notes/{note.pk}/reply/", {"body": "via the page"}).status_code == 403
    assert client.post(f"/notes/{note.pk}/star/").status_code == 403
    assert client.post(f"/notes/{note.pk}/forward/", {"audience": "public"}).status_code == 400
    assert Reply.objects.filter(author=frank).count() == 1  # only the one from before the block
    assert not Star.objects.exists()
    assert Note.objects.filter(author=frank).count() == 1


def test_the_block_holds_both_ways(erin_blocked_frank):
    erin, frank, _gail, _note, _old, franks_note = erin_blocked_frank
    with pytest.raises(PermissionDenied):
        services.reply_create(author=erin, note_id=franks_note.pk, body="hm")
    with pytest.raises(PermissionDenied):
        services.star_add(user=erin, note_id=franks_note.pk)


def test_blocked_person_cannot_befriend(erin_blocked_frank):
    erin, frank, *_ = erin_blocked_frank
    with pytest.raises(ValidationError):
        accounts_services.friend_add(frank, erin)


def test_the_note_page_offers_no_reply_star_or_forward_to_the_blocked(client, erin_blocked_frank):
    _erin, frank, _gail, note, _old, _franks = erin_blocked_frank
    client.force_login(frank)
    page = client.get(f"/notes/{note.pk}/")
    assert page.status_code == 200  # a public note stays public
    assert "reply_form" not in page.context and "forward_form" not in page.context
    assert f'action="/notes/{note.pk}/star/"' not in page.text
    # The same card on the public stream has no star button for him either.
    public = client.get("/public/").text
    assert f'action="/notes/{note.pk}/star/"' not in public


def test_nothing_of_the_blocked_reaches_the_blocker(client, erin_blocked_frank):
    erin, frank, gail, note, old_reply, franks_note = erin_blocked_frank
    # A reply frank makes under gail's note, which erin also replied to.
    gails = services.note_create(author=gail, kind="message", audience="public", body="gail's")
    services.reply_create(author=erin, note_id=gails.pk, body="erin on gail's")
    franks_reply = services.reply_create(author=frank, note_id=gails.pk, body="frank on gail's")

    home = streams.home_page(erin).page.items
    assert old_reply not in home and franks_reply not in home and franks_note not in home
    assert old_reply not in streams.home_page(erin, show="replies").page.items
    assert old_reply not in streams.note_with_replies(erin, note.pk).replies
    assert franks_reply not in streams.note_with_replies(erin, gails.pk).replies
    # Others still see frank's reply.
    assert franks_reply in streams.note_with_replies(gail, gails.pk).replies

    client.force_login(erin)
    assert "frank was here" not in client.get(f"/notes/{note.pk}/").text
    assert "frank on gail" not in client.get("/").text


def test_unblocking_lets_them_act_again(erin_blocked_frank):
    erin, frank, _gail, note, old_reply, _franks = erin_blocked_frank
    accounts_services.unblock(erin, frank)
    assert services.star_add(user=frank, note_id=note.pk)
    assert old_reply in streams.note_with_replies(erin, note.pk).replies
