"""Moderation that matches the state: a decision about a note answers every open report of it,
and a report's (or note's) page offers only the actions that apply — Hide or Unhide, Suspend
or Unsuspend — grouped by what they act on, with no "Delete" of the report beside "Delete the
note"."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from notes import moderation, services
from notes.models import Note, Report

PASSWORD = "correct-horse-9"


@pytest.fixture
def moderator(make_user):
    person = make_user("mod", is_staff=True)
    person.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def root(db):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


@pytest.fixture
def reported(make_user):
    """bob's public note reported by ann and by cat; another note of his reported by ann."""
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    note = services.note_create(author=bob, kind="message", audience="public", body="buy followers")
    other = services.note_create(author=bob, kind="message", audience="public", body="something else")
    first = moderation.report_create(reporter=ann, note_id=note.pk, reason="spam")
    second = moderation.report_create(reporter=cat, note_id=note.pk, reason="spam again")
    elsewhere = moderation.report_create(reporter=ann, note_id=other.pk, reason="also spam")
    return {"note": note, "bob": bob, "first": first, "second": second, "elsewhere": elsewhere}


def press(client: Client, url: str, button: str) -> None:
    response = client.post(url, {f"_moderate_{button}": "1"})
    assert response.status_code == 302, response.content.decode()[:500]


def report_page(report: Report) -> str:
    return f"/admin/notes/report/{report.pk}/change/"


def open_reports() -> set[int]:
    return set(Report.objects.open().values_list("pk", flat=True))


def buttons(html: str) -> dict[str, list[str]]:
    """The moderation buttons of a page: {group title: [button names]}."""
    groups = re.findall(
        r'<div class="submit-row moderation-group">\s*<h2 class="moderation-group-title">([^<]+)</h2>(.*?)</div>',
        html,
        re.S,
    )
    return {title: re.findall(r'name="_moderate_([a-z_]+)"', body) for title, body in groups}


@pytest.mark.parametrize(
    ("button", "why"),
    [
        ("hide_and_resolve", "note hidden"),
        ("suspend_and_resolve", "author suspended"),
        ("delete_and_resolve", "note deleted"),
    ],
)
def test_a_decision_on_one_report_resolves_every_open_report_of_its_note(moderator, reported, button, why):
    first, second, elsewhere = reported["first"], reported["second"], reported["elsewhere"]
    press(moderator, report_page(first), button)
    assert open_reports() == {elsewhere.pk}, "the other report of the same note was answered too"
    for report in (first, second):
        report.refresh_from_db()
        assert report.is_open is None and report.resolved_by.username == "mod" and report.resolved_at
        assert LogEntry.objects.filter(object_id=str(report.pk), change_message=f"Resolved the report: {why}.").exists()


def test_the_queues_action_resolves_the_notes_other_reports(moderator, reported):
    response = moderator.post(
        "/admin/notes/report/", {"action": "hide_and_resolve", "_selected_action": [str(reported["second"].pk)]}
    )
    assert response.status_code == 302
    assert Note.objects.get(pk=reported["note"].pk).is_hidden
    assert open_reports() == {reported["elsewhere"].pk}


def test_hiding_from_the_notes_admin_resolves_its_reports(moderator, reported):
    press(moderator, f"/admin/notes/note/{reported['note'].pk}/change/", "hide_notes")
    assert open_reports() == {reported["elsewhere"].pk}


def test_resolving_one_report_as_nothing_to_do_leaves_the_others_open(moderator, reported):
    press(moderator, report_page(reported["first"]), "resolve_reports")
    assert open_reports() == {reported["second"].pk, reported["elsewhere"].pk}


def test_a_report_page_offers_only_what_applies_to_the_note_and_its_author(moderator, reported):
    first, note, bob = reported["first"], reported["note"], reported["bob"]
    offered = buttons(moderator.get(report_page(first)).content.decode())
    assert offered == {
        "The note": ["hide_and_resolve", "delete_and_resolve"],
        "Its author": ["suspend_and_resolve"],
        "This report": ["resolve_reports"],
    }

    press(moderator, report_page(first), "suspend_and_resolve")
    moderation.notes_hide([note.pk])
    offered = buttons(moderator.get(report_page(first)).content.decode())
    assert offered == {"The note": ["unhide_notes", "delete_and_resolve"], "Its author": ["unsuspend_authors"]}

    press(moderator, report_page(first), "unsuspend_authors")
    assert not User.objects.get(pk=bob.pk).is_suspended
    press(moderator, report_page(first), "unhide_notes")
    offered = buttons(moderator.get(report_page(first)).content.decode())
    assert offered == {"The note": ["hide_and_resolve", "delete_and_resolve"], "Its author": ["suspend_and_resolve"]}


def test_a_report_of_a_deleted_note_offers_only_resolving(moderator, reported):
    second = reported["second"]
    services.note_destroy(Note.objects.get(pk=reported["note"].pk))
    page = moderator.get(report_page(second)).content.decode()
    assert "The note has been deleted." in page
    assert buttons(page) == {"This report": ["resolve_reports"]}


def test_no_delete_of_the_report_beside_delete_the_note(root, reported):
    """Even a superuser (who may delete anything else) gets no "Delete" for a report: reports
    are resolved, never deleted."""
    report = reported["first"]
    page = root.get(report_page(report)).content.decode()
    assert "delete_and_resolve" in page
    assert f"/admin/notes/report/{report.pk}/delete/" not in page and 'class="deletelink"' not in page
    assert root.get(f"/admin/notes/report/{report.pk}/delete/").status_code == 403
    queue = root.get("/admin/notes/report/").content.decode()
    assert 'value="delete_selected"' not in queue
    assert Report.objects.filter(pk=report.pk).exists()


def test_a_note_page_offers_hide_or_unhide_and_suspend_or_unsuspend(moderator, reported):
    note, bob = reported["note"], reported["bob"]
    url = f"/admin/notes/note/{note.pk}/change/"
    assert buttons(moderator.get(url).content.decode()) == {
        "The note": ["hide_notes"],
        "Its author": ["suspend_authors"],
    }
    press(moderator, url, "hide_notes")
    press(moderator, url, "suspend_authors")
    assert User.objects.get(pk=bob.pk).is_suspended
    assert buttons(moderator.get(url).content.decode()) == {
        "The note": ["unhide_notes"],
        "Its author": ["unsuspend_authors"],
    }
