"""Who sees a note: every audience × every kind of viewer × every page that shows a note.

ann sends one file note and one event note to each audience. Around her:
bob (a friend, in her set, and the one friend of private notes), cid (a friend outside the set),
dan (a fan), eve (a stranger), mal (a friend in the set until ann blocked him, after the notes
were sent) and root (staff, otherwise a stranger). Exactly the right ones see each note;
everyone else gets 404, never 403.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as accounts_services
from notes.models import Delivery, Reply
from notes.services import note_create
from tests.notes.conftest import add_fan, befriend, make_set, upload

AUDIENCES = ["public", "friends", "set", "friend"]
VIEWERS = ["anonymous", "author", "recipient", "friend_outside_set", "fan", "stranger", "blocked", "staff"]

SEES = {
    "public": set(VIEWERS),
    "friends": {"author", "recipient", "friend_outside_set"},
    "set": {"author", "recipient"},
    "friend": {"author", "recipient"},
}
# Home streams hold what was delivered: public notes reach fans and friends, not strangers.
# Signed out, home is the public stream. mal received the public note before ann blocked him,
# and public notes stay visible to him.
IN_HOME = {
    "public": {"anonymous", "author", "recipient", "friend_outside_set", "fan", "blocked"},
    "friends": SEES["friends"],
    "set": SEES["set"],
    "friend": SEES["friend"],
}


@pytest.fixture
def world(make_user):
    ann, bob, cid, dan, eve, mal = (make_user(n) for n in ("ann", "bob", "cid", "dan", "eve", "mal"))
    root = make_user("root", is_staff=True, is_superuser=True)
    befriend(ann, bob)
    befriend(ann, cid)
    befriend(ann, mal)
    add_fan(dan, ann)
    close = make_set(ann, "Close friends", [bob, mal])
    audience_kwargs = {
        "public": {},
        "friends": {},
        "set": {"friend_set": close},
        "friend": {"recipient": bob},
    }
    notes = {}
    for audience, extra in audience_kwargs.items():
        file_note = _send(ann, "file", audience, upload=upload("plan.txt", b"the plan"), **extra)
        event_note = _send(
            ann,
            "event",
            audience,
            event_name="Picnic",
            event_start=timezone.now() + dt.timedelta(days=3),
            **extra,
        )
        notes[audience] = {"file": file_note, "event": event_note}
    accounts_services.block(ann, mal)
    people = {
        "anonymous": None,
        "author": ann,
        "recipient": bob,
        "friend_outside_set": cid,
        "fan": dan,
        "stranger": eve,
        "blocked": mal,
        "staff": root,
    }
    return {"people": people, "notes": notes, "author": ann}


def _send(author, kind, audience, **fields):
    return note_create(author=author, kind=kind, audience=audience, **fields)


def client_for(person) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def test_mal_received_the_set_note_before_the_block(world):
    """The matrix proves the block rule only if mal really holds a delivery of non-public notes."""
    mal = world["people"]["blocked"]
    assert Delivery.objects.filter(recipient=mal, note=world["notes"]["set"]["file"]).exists()


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("audience", AUDIENCES)
class TestVisibilityMatrix:
    def test_note_page(self, world, audience, viewer):
        client = client_for(world["people"][viewer])
        for note in world["notes"][audience].values():
            response = client.get(f"/notes/{note.pk}/")
            assert response.status_code == (200 if viewer in SEES[audience] else 404)

    def test_file_download(self, world, audience, viewer):
        note = world["notes"][audience]["file"]
        response = client_for(world["people"][viewer]).get(f"/notes/{note.pk}/file/plan.txt")
        if viewer in SEES[audience]:
            assert response.status_code == 200
            assert b"".join(response.streaming_content) == b"the plan"
        else:
            assert response.status_code == 404

    def test_event_ics(self, world, audience, viewer):
        note = world["notes"][audience]["event"]
        response = client_for(world["people"][viewer]).get(f"/notes/{note.pk}/event.ics")
        assert response.status_code == (200 if viewer in SEES[audience] else 404)

    def test_reply_post(self, world, audience, viewer):
        note = world["notes"][audience]["file"]
        response = client_for(world["people"][viewer]).post(f"/notes/{note.pk}/reply/", {"body": "me too"})
        created = Reply.objects.filter(note=note).exists()
        if viewer not in SEES[audience]:
            assert response.status_code == 404
            assert not created
        elif viewer == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith("/login/")
            assert not created
        else:
            assert response.status_code == 302
            assert created

    def test_star_post(self, world, audience, viewer):
        note = world["notes"][audience]["event"]
        response = client_for(world["people"][viewer]).post(f"/notes/{note.pk}/star/")
        if viewer not in SEES[audience]:
            assert response.status_code == 404
            assert not note.stars.exists()

    def test_profile_stream(self, world, audience, viewer):
        response = client_for(world["people"][viewer]).get("/ann/")
        assert response.status_code == 200
        for note in world["notes"][audience].values():
            assert (f'id="note-{note.pk}"' in response.text) == (viewer in SEES[audience])

    def test_public_stream(self, world, audience, viewer):
        response = client_for(world["people"][viewer]).get("/public/")
        for note in world["notes"][audience].values():
            assert (f'id="note-{note.pk}"' in response.text) == (audience == "public")

    def test_home_stream(self, world, audience, viewer):
        response = client_for(world["people"][viewer]).get("/")
        for note in world["notes"][audience].values():
            assert (f'id="note-{note.pk}"' in response.text) == (viewer in IN_HOME[audience])


def test_notes_sent_after_a_block_are_not_delivered(world, send_note):
    ann, mal = world["author"], world["people"]["blocked"]
    befriend(ann, mal)  # even if a fanship survived the block somehow
    note = send_note(ann, audience="friends")
    assert not Delivery.objects.filter(recipient=mal, note=note).exists()
    assert Delivery.objects.filter(recipient=world["people"]["recipient"], note=note).exists()


def test_person_who_blocked_the_author_receives_nothing(make_user, send_note):
    ann, bob = make_user("ann"), make_user("bob")
    befriend(ann, bob)
    accounts_services.block(bob, ann)
    befriend(ann, bob)
    note = send_note(ann, audience="friends")
    assert list(note.deliveries.values_list("recipient__username", flat=True)) == ["ann"]


def test_set_note_reaches_only_members_who_are_still_friends(make_user, send_note):
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    befriend(ann, bob)
    add_fan(cid, ann)  # a fan, put in the set while a friend, who is no longer one
    note = send_note(ann, audience="set", friend_set=make_set(ann, "Old crowd", [bob, cid]))
    assert set(note.deliveries.values_list("recipient__username", flat=True)) == {"ann", "bob"}
