"""A profile's note count does not leak notes the reader may not see (issue 10, item 15)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import UserCounts
from notes import services
from notes.counts import reconcile_all
from tests.notes.conftest import befriend

pytestmark = pytest.mark.django_db


def shown_count(client: Client, username: str) -> str:
    page = client.get(f"/{username}/").content.decode()
    start = page.index(f'<a href="/{username}/"')
    return page[start : page.index("</a>", start)]


@pytest.fixture
def ann_with_private_notes(make_user):
    ann, bob = make_user("ann"), make_user("bob")
    befriend(ann, bob)
    services.note_create(author=ann, kind="message", audience="public", body="for everyone")
    for n in range(6):
        services.note_create(author=ann, kind="message", audience="friend", recipient=bob, body=f"for bob {n}")
    return ann, bob


def test_visitors_and_friends_are_told_the_public_count(ann_with_private_notes):
    ann, bob = ann_with_private_notes
    assert "<strong>1</strong> Note" in shown_count(Client(), "ann")
    friend = Client()
    friend.force_login(bob)
    assert "<strong>1</strong> Note" in shown_count(friend, "ann")


def test_the_author_sees_every_note_counted(ann_with_private_notes):
    ann, _bob = ann_with_private_notes
    own = Client()
    own.force_login(ann)
    assert "<strong>7</strong> Notes" in shown_count(own, "ann")


def test_deleting_keeps_the_public_count_right(ann_with_private_notes):
    ann, _bob = ann_with_private_notes
    public = services.note_create(author=ann, kind="message", audience="public", body="soon gone")
    assert UserCounts.objects.get(user=ann).public_notes == 2
    services.note_delete(user=ann, note_id=public.pk)
    assert (UserCounts.objects.get(user=ann).notes, UserCounts.objects.get(user=ann).public_notes) == (7, 1)
    assert all(drift.rows_off == drift.missing == 0 for drift in reconcile_all(using="default", fix=False))
