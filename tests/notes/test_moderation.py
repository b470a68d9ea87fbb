"""Moderation: reports, and admin actions that reach every reader at once, caches included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from accounts.models import User
from notes import services
from notes.models import Note, Report
from tests.notes.conftest import befriend, upload

pytestmark = pytest.mark.stack

PASSWORD = "correct-horse-9"


@pytest.fixture
def staff(make_user):
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", PASSWORD))
    return client


@pytest.fixture
def moderator(make_user):
    person = make_user("mod", is_staff=True)
    person.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def world(make_user):
    """bob's notes of every kind and audience, and who reads them: ann (his friend), an outsider
    signed out, and bob himself, each with their pages already cached."""
    ann, bob = make_user("ann"), make_user("bob")
    befriend(ann, bob)
    when = timezone.now() + dt.timedelta(days=3)
    notes = {
        "public": services.note_create(author=bob, kind="message", audience="public", body="public words"),
        "friends": services.note_create(
            author=bob, kind="event", audience="friends", event_name="secret party", event_start=when
        ),
        "file": services.note_create(
            author=bob, kind="file", audience="public", upload=upload("plans.txt", b"the plans"), body="file words"
        ),
    }
    readers = {"ann": Client(), "bob": Client(), "outsider": Client()}
    readers["ann"].force_login(ann)
    readers["bob"].force_login(bob)
    return ann, bob, notes, readers


def urls(notes: dict[str, Note]) -> list[str]:
    file = notes["file"]
    return [
        *(f"/notes/{note.pk}/" for note in notes.values()),
        f"/notes/{notes['friends'].pk}/event.ics",
        f"/notes/{file.pk}/file/{file.file_name}",
    ]


def pages(client: Client) -> str:
    return "".join(client.get(url).content.decode() for url in ("/", "/public/", "/bob/", "/ann/"))


def visible_everywhere(world, texts=("public words", "secret party", "file words")) -> None:
    _, _, notes, readers = world
    for name in ("ann", "bob"):
        page = pages(readers[name])
        assert all(text in page for text in texts), name
        assert all(readers[name].get(url).status_code == 200 for url in urls(notes)), name
    assert "public words" in pages(readers["outsider"])


def gone(client: Client, url: str, *, signed_in: bool = True) -> bool:
    """404 for a signed-in reader; a visitor is asked to log in, as for any note the public is
    not shown (notes.views.notes.log_in_to_see)."""
    response = client.get(url)
    if signed_in:
        return response.status_code == 404
    return response.status_code == 302 and response["Location"] == f"/login/?next={url}"


def gone_everywhere(world, texts=("public words", "secret party", "file words"), signed_out=("outsider",)) -> None:
    _, _, notes, readers = world
    for name, client in readers.items():
        page = pages(client)
        assert not any(text in page for text in texts), name
        assert all(gone(client, url, signed_in=name not in signed_out) for url in urls(notes)), name


def action(client: Client, url: str, name: str, ids) -> None:
    response = client.post(url, {"action": name, "_selected_action": [str(pk) for pk in ids]})
    assert response.status_code == 302, response.content.decode()[:500]


def test_hidden_note_disappears_from_every_stream_page_and_download_at_once(world, staff):
    visible_everywhere(world)  # every page, file and calendar is cached now
    _, _, notes, _ = world
    ids = [note.pk for note in notes.values()]
    action(staff, "/admin/notes/note/", "hide_notes", ids)
    gone_everywhere(world)
    assert LogEntry.objects.filter(action_flag=CHANGE, change_message="Hid the note.").count() == 3

    action(staff, "/admin/notes/note/", "unhide_notes", ids)
    visible_everywhere(world)


def test_bulk_hide_of_many_notes_reaches_every_reader(world, staff):
    ann, bob, _, readers = world
    many = [
        services.note_create(author=bob, kind="message", audience="friends", body=f"bulk note {i}") for i in range(25)
    ]
    assert "bulk note 24" in readers["ann"].get("/").content.decode()
    action(staff, "/admin/notes/note/", "hide_notes", [note.pk for note in many])
    page = readers["ann"].get("/").content.decode() + readers["bob"].get("/bob/").content.decode()
    assert "bulk note" not in page
    assert "public words" in readers["ann"].get("/public/").content.decode()
    assert all(readers["ann"].get(f"/notes/{note.pk}/").status_code == 404 for note in many[::6])
    assert Note.objects.filter(is_hidden=True).count() == 25


def test_suspended_person_cannot_log_in_and_their_notes_vanish(world, staff):
    visible_everywhere(world)
    ann, bob, notes, readers = world
    ann_note = services.note_create(author=ann, kind="message", audience="public", body="ann's")
    services.reply_create(author=bob, note_id=ann_note.pk, body="bob replies")
    assert "bob replies" in readers["ann"].get("/").content.decode()

    action(staff, "/admin/accounts/user/", "suspend_users", [bob.pk])
    gone_everywhere(world, signed_out=("outsider", "bob"))  # bob's session no longer resolves
    assert "bob replies" not in readers["ann"].get("/").content.decode()
    assert readers["ann"].get("/bob/").status_code == 404
    assert "Log out" not in readers["bob"].get("/").content.decode()  # his session is gone
    assert Client().post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 200  # refused
    assert LogEntry.objects.filter(object_id=str(bob.pk), change_message="Suspended the person.").exists()

    action(staff, "/admin/accounts/user/", "unsuspend_users", [bob.pk])
    assert Client().post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    assert "public words" in pages(readers["ann"])


def test_people_who_are_not_staff_get_no_admin_page(world):
    _, _, notes, readers = world
    for client in (readers["ann"], readers["outsider"]):
        for url in ("/admin/", "/admin/notes/report/", f"/admin/notes/note/{notes['public'].pk}/change/"):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_a_report_goes_from_open_to_resolved(world, moderator):
    ann, bob, notes, readers = world
    note = notes["friends"]
    url = f"/notes/{note.pk}/report/"
    assert "Report this note" in readers["ann"].get(f"/notes/{note.pk}/").content.decode()
    assert readers["ann"].post(url, {"reason": "it is spam"}).status_code == 302
    again = readers["ann"].post(url, {"reason": "still spam"})
    assert again.status_code == 400 and "reported this note already" in again.content.decode()
    assert readers["outsider"].post(url, {"reason": "x"}).status_code == 404  # cannot see it
    report = Report.objects.get()
    assert report.is_open and report.reporter == ann

    queue = moderator.get("/admin/notes/report/").content.decode()
    assert "it is spam" in queue and "secret party" in queue
    page = moderator.get(f"/admin/notes/report/{report.pk}/change/").content.decode()
    assert "All my friends" in page and f"/notes/{note.pk}/" in page and "_moderate_hide_and_resolve" in page

    response = moderator.post(f"/admin/notes/report/{report.pk}/change/", {"_moderate_hide_and_resolve": "1"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.is_open is None and report.resolved_by.username == "mod" and report.resolved_at
    assert readers["ann"].get(f"/notes/{note.pk}/").status_code == 404
    assert "it is spam" not in moderator.get("/admin/notes/report/").content.decode()  # the queue is empty
    assert "it is spam" in moderator.get("/admin/notes/report/?status=resolved").content.decode()
    history = set(LogEntry.objects.values_list("object_repr", "change_message"))
    assert (str(report), "Resolved the report: note hidden.") in history
    assert (str(note), "Hid the note (reported).") in history


def test_moderators_have_exactly_what_moderation_needs(world, moderator):
    ann, bob, notes, readers = world
    group = Group.objects.get(name="Moderators")
    assert sorted(group.permissions.values_list("codename", flat=True)) == [
        "change_report", "delete_note", "delete_reply", "hide_note", "suspend_user",
        "view_note", "view_reply", "view_report", "view_user",
    ]  # fmt: skip
    assert moderator.get("/admin/accounts/fanship/").status_code == 403
    action(moderator, "/admin/accounts/user/", "deactivate_users", [bob.pk])  # not offered: nothing happens
    assert User.objects.get(pk=bob.pk).is_active
    action(moderator, "/admin/notes/note/", "hide_notes", [notes["public"].pk])
    assert Note.objects.get(pk=notes["public"].pk).is_hidden

    helper = User.objects.create_user("helper", password=PASSWORD, is_staff=True)
    helper_client = Client()
    helper_client.force_login(helper)
    response = helper_client.post(
        "/admin/notes/note/", {"action": "unhide_notes", "_selected_action": [str(notes["public"].pk)]}
    )
    assert response.status_code == 403  # staff, but no permission on notes
    assert Note.objects.get(pk=notes["public"].pk).is_hidden


def test_delete_from_the_queue_keeps_the_report_and_logs_the_deletion(world, staff):
    ann, _, notes, readers = world
    note = notes["public"]
    readers["ann"].post(f"/notes/{note.pk}/report/", {"reason": "copied"})
    assert "public words" in readers["outsider"].get("/public/").content.decode()
    action(staff, "/admin/notes/report/", "delete_and_resolve", Report.objects.values_list("pk", flat=True))
    assert not Note.objects.filter(pk=note.pk).exists()
    assert "public words" not in readers["outsider"].get("/public/").content.decode()
    report = Report.objects.get()
    assert report.note is None and report.is_open is None
    assert LogEntry.objects.filter(action_flag=DELETION, object_id=str(note.pk)).exists()
    assert "The note has been deleted." in staff.get(f"/admin/notes/report/{report.pk}/change/").content.decode()


def test_forwards_go_with_a_hidden_original_or_a_suspended_author(world, staff):
    ann, bob, notes, readers = world
    forward = services.note_forward(user=ann, note_id=notes["file"].pk, audience="public")
    forward_urls = [f"/notes/{forward.pk}/", f"/notes/{forward.pk}/file/{forward.file_name}"]
    outsider = readers["outsider"]
    assert "Forwarded from" in outsider.get("/ann/").content.decode()
    assert all(outsider.get(url).status_code == 200 for url in forward_urls)

    action(staff, "/admin/notes/note/", "hide_notes", [notes["file"].pk])
    assert "Forwarded from" not in outsider.get("/ann/").content.decode()
    assert all(gone(outsider, url, signed_in=False) for url in forward_urls)

    action(staff, "/admin/notes/note/", "unhide_notes", [notes["file"].pk])
    assert "Forwarded from" in outsider.get("/ann/").content.decode()
    action(staff, "/admin/accounts/user/", "suspend_users", [bob.pk])
    assert "Forwarded from" not in outsider.get("/ann/").content.decode()
    assert all(gone(outsider, url, signed_in=False) for url in forward_urls)


def test_a_suspended_person_leaves_friend_lists_and_requests(world, staff, make_user):
    from accounts import services as account_services

    ann, bob, _, readers = world
    cat = make_user("cat")
    account_services.friend_add(cat, ann)  # cat waits for ann's answer
    assert 'href="/bob/"' in readers["ann"].get("/ann/friends/").content.decode()
    assert 'href="/cat/"' in readers["ann"].get("/friends/requests/").content.decode()
    action(staff, "/admin/accounts/user/", "suspend_users", [bob.pk, cat.pk])
    assert 'href="/bob/"' not in readers["ann"].get("/ann/friends/").content.decode()
    assert 'href="/cat/"' not in readers["ann"].get("/friends/requests/").content.decode()
