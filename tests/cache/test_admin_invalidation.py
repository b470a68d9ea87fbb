"""Admin bulk actions send no per-row signals of their own: each one must still invalidate."""

import pytest
from django.test import Client

from accounts.models import Fanship, User
from notes import services
from notes.models import Note
from tests.notes.conftest import befriend

pytestmark = pytest.mark.stack


@pytest.fixture
def staff_client(db):
    staff = User.objects.create_superuser("moderator", "mod@example.com", "a-long-password")
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def ann_and_bob(db):
    ann = User.objects.create_user("ann", password="a-long-password")
    bob = User.objects.create_user("bob", password="a-long-password")
    befriend(ann, bob)
    client = Client()
    client.force_login(ann)
    return client, ann, bob


def test_deactivate_action_logs_the_cached_user_out_at_once(staff_client, ann_and_bob):
    client, ann, _ = ann_and_bob
    assert client.get("/").context["user"] == ann  # ann is cached now
    response = staff_client.post(
        "/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": [ann.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not client.get("/").context["user"].is_authenticated


def test_delete_selected_notes_leave_every_cached_stream(staff_client, ann_and_bob):
    client, ann, bob = ann_and_bob
    note = services.note_create(author=bob, kind="message", audience="friends", body="soon deleted")
    assert "soon deleted" in client.get("/").content.decode()
    assert "soon deleted" in client.get(f"/notes/{note.pk}/").content.decode()
    staff_client.post("/admin/notes/note/", {"action": "delete_selected", "_selected_action": [note.pk], "post": "yes"})
    assert not Note.objects.filter(pk=note.pk).exists()
    assert "soon deleted" not in client.get("/").content.decode()
    assert client.get(f"/notes/{note.pk}/").status_code == 404


def test_delete_selected_fanships_updates_cached_people_lists(staff_client, ann_and_bob):
    client, ann, bob = ann_and_bob
    assert "bob" in client.get("/ann/friends/").content.decode()
    fanships = list(Fanship.objects.filter(fan=ann, idol=bob).values_list("pk", flat=True))
    staff_client.post(
        "/admin/accounts/fanship/", {"action": "delete_selected", "_selected_action": fanships, "post": "yes"}
    )
    assert "bob" not in client.get("/ann/friends/").content.decode()
