"""What moderators may do and see in the admin (issue 10, items 5 and 17): nobody suspends a
superuser, only superusers suspend staff; private notes and replies are listed only when
reported or asked for by id."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from notes import moderation, services
from notes.models import Report
from tests.notes.conftest import befriend

pytestmark = pytest.mark.django_db


@pytest.fixture
def mod(make_user):
    person = make_user("mod", is_staff=True)
    person.groups.add(Group.objects.get(name="Moderators"))
    return person


@pytest.fixture
def root(make_user):
    return User.objects.create_superuser("root", "root@example.com", "correct-horse-9")


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def suspended(*people) -> list[bool]:
    return [User.objects.get(pk=person.pk).is_suspended for person in people]


def test_a_moderator_cannot_suspend_staff_or_superusers_from_the_user_admin(mod, root, make_user):
    other_mod, person = make_user("othermod", is_staff=True), make_user("plain")
    response = signed_in(mod).post(
        "/admin/accounts/user/",
        {"action": "suspend_users", "_selected_action": [root.pk, other_mod.pk, mod.pk, person.pk]},
        follow=True,
    )
    assert suspended(root, other_mod, mod, person) == [False, False, False, True]
    assert "Left alone: mod, othermod, root" in response.text


def test_a_moderator_cannot_suspend_a_superuser_through_a_report(mod, root, make_user):
    note = services.note_create(author=root, kind="message", audience="public", body="admin's note")
    report = moderation.report_create(reporter=make_user("reader"), note_id=note.pk, reason="spam")
    client = signed_in(mod)
    client.post("/admin/notes/report/", {"action": "suspend_and_resolve", "_selected_action": [report.pk]})
    client.post("/admin/notes/note/", {"action": "suspend_authors", "_selected_action": [note.pk]})
    client.post(f"/admin/notes/note/{note.pk}/change/", {"_moderate_suspend_authors": "1"})
    assert suspended(root) == [False]


def test_only_a_superuser_suspends_staff_and_nobody_a_superuser(mod, root, make_user):
    other_root = User.objects.create_superuser("root2", "root2@example.com", "correct-horse-9")
    signed_in(root).post(
        "/admin/accounts/user/", {"action": "suspend_users", "_selected_action": [mod.pk, other_root.pk, root.pk]}
    )
    assert suspended(mod, other_root, root) == [True, False, False]


def test_a_superuser_cannot_deactivate_another_superuser_in_bulk(root):
    other_root = User.objects.create_superuser("root3", "root3@example.com", "correct-horse-9")
    signed_in(root).post("/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": [other_root.pk]})
    assert User.objects.get(pk=other_root.pk).is_active


@pytest.fixture
def notes_of_every_kind(make_user):
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    befriend(ann, bob)
    public = services.note_create(author=ann, kind="message", audience="public", body="public words")
    private = services.note_create(author=ann, kind="message", audience="friend", recipient=bob, body="secret words")
    reported = services.note_create(author=ann, kind="message", audience="friends", body="reported words")
    moderation.report_create(reporter=bob, note_id=reported.pk, reason="abuse")
    private_reply = services.reply_create(author=bob, note_id=private.pk, body="secret reply")
    public_reply = services.reply_create(author=cid, note_id=public.pk, body="public reply")
    return public, private, reported, private_reply, public_reply


@pytest.mark.parametrize("who", ["mod", "root"])
def test_staff_browse_public_and_reported_notes_only(request, notes_of_every_kind, who):
    public, private, reported, private_reply, public_reply = notes_of_every_kind
    client = signed_in(request.getfixturevalue(who))
    notes = client.get("/admin/notes/note/").text
    assert "public words" in notes and "reported words" in notes and "secret words" not in notes
    assert "secret words" not in client.get("/admin/notes/note/", {"q": "secret"}).text
    replies = client.get("/admin/notes/reply/").text
    assert "public reply" in replies and "secret reply" not in replies
    assert "secret reply" not in client.get("/admin/notes/reply/", {"q": "secret"}).text


def test_an_investigation_finds_any_note_or_reply_by_id(mod, notes_of_every_kind):
    _public, private, _reported, private_reply, _public_reply = notes_of_every_kind
    client = signed_in(mod)
    assert "secret words" in client.get("/admin/notes/note/", {"q": str(private.pk)}).text
    assert client.get(f"/admin/notes/note/{private.pk}/change/").status_code == 200
    assert "secret reply" in client.get("/admin/notes/reply/", {"q": str(private_reply.pk)}).text
    assert "secret reply" in client.get("/admin/notes/reply/", {"q": str(private.pk)}).text
    assert Report.objects.count() == 1
