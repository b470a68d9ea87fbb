"""Moderation in a real browser, through HAProxy and both app servers: a reader reports a public
note from its page, a moderator (staff, in the "Moderators" group, nothing more) finds it in the
admin's queue with the note in context and hides it with the queue's action, and the note is
gone at once for the reader who reported it and for a visitor who is not signed in. Screenshots
of the queue and of the report are saved under ``test-artifacts/``."""

from __future__ import annotations

import importlib
import re

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import User
from tests.browser.signing_in import log_in
from tests.stack import wait_for_replica

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture(autouse=True)
def moderators_group():
    """The "Moderators" group as its data migration makes it: the flush after an earlier
    transactional test empties auth_group (and keeps the permissions, which post_migrate makes
    again). Made here rather than by serialized_rollback, whose reload of every table collides
    with the content types the flush's post_migrate made afresh under other ids."""
    migration = importlib.import_module("notes.migrations.0004_backfill_counts_and_moderators")
    group, _ = Group.objects.get_or_create(name=migration.MODERATORS)
    group.permissions.set(
        Permission.objects.get(content_type__app_label=app, content_type__model=model, codename=codename)
        for app, model, codenames in migration.MODERATOR_PERMISSIONS
        for codename in codenames
    )


PASSWORD = "a long moderation password 42"
REPORT_URL = re.compile(r"/admin/notes/report/\d+/change/$")
NOTE_TEXT = "Buy cheap followers now!!! Visit my totally real shop, best prices on Pownce."
REASON = "Spam: the same advert is posted under every popular note."


def admin_log_in(page, username: str) -> None:
    """Through the admin's own log-in page, where /admin/ sends someone not signed in."""
    page.goto("/admin/")
    page.wait_for_url("**/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")


def assert_styled(page) -> None:
    """The admin's stylesheets arrived (served by the app servers): the header is coloured and
    the page does not use the browser's default serif font."""
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "transparent"), header
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "serif" not in font.replace("sans-serif", ""), font


def note_is_gone(page, note_id: int, *, signed_in: bool = True) -> None:
    """The note's page is 404 for a reader; a visitor who is not signed in is asked to log in,
    as for any note the public is not shown (notes.views.notes.log_in_to_see)."""
    response = page.goto(f"/notes/{note_id}/")
    if signed_in:
        assert response.status == 404
    else:
        assert response.status == 200 and page.url.endswith(f"/login/?next=/notes/{note_id}/")
    assert NOTE_TEXT not in page.content()
    page.goto("/public/")
    assert page.locator(f"#note-{note_id}").count() == 0
    assert NOTE_TEXT not in page.content()


def shoot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)


@pytest.fixture
def people(web_stack) -> None:
    """The note's author, a reader and a moderator: staff in the "Moderators" group and nothing
    more. Made before the browser starts (the ORM refuses to run next to Playwright's loop), so
    the test checks everything else through the browser and the admin."""
    User.objects.create_user("spammer", "spammer@example.com", PASSWORD, display_name="Sam Spammer")
    User.objects.create_user("rita", "rita@example.com", PASSWORD, display_name="Rita Reader")
    moderator = User.objects.create_user("mona", "mona@example.com", PASSWORD, is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    assert not moderator.is_superuser
    # The app servers read the replica (the browsers are pinned to the primary only after they
    # write): the people and the moderator's group must be there before the first page.
    wait_for_replica()


def test_moderator_hides_a_reported_note_from_the_admin_queue_in_the_browser(
    web_stack, empty_stores, people, new_person, artifacts
):
    spammer, rita, mona, visitor = new_person(), new_person(), new_person(), new_person()

    # --- the spammer posts a public note through the composer -------------------------------
    log_in(spammer, "spammer", PASSWORD)
    spammer.goto("/")
    spammer.locator("label.kind-tab.kind-message").click()
    spammer.fill("#id_body", NOTE_TEXT)
    spammer.get_by_role("button", name="Send it").click()
    sent = spammer.locator(".stream > article.note-new").first  # put at the top of home by the script
    sent.wait_for()
    note_id = int(sent.get_attribute("id").removeprefix("note-"))

    # Everyone sees it (and the pages that show it are cached) before the moderator acts.
    log_in(rita, "rita", PASSWORD)
    for page in (rita, visitor):
        page.goto("/public/")
        assert NOTE_TEXT in page.locator(f"#note-{note_id}").inner_text()
        assert page.goto(f"/notes/{note_id}/").status == 200

    # --- rita reports it from the note page, with a reason ----------------------------------
    rita.locator("details.report summary").click()
    rita.fill("form.report-form textarea[name=reason]", REASON)
    rita.get_by_role("button", name="Send to the moderators").click()
    rita.wait_for_url(f"**/notes/{note_id}/")
    assert "a moderator will look at this note" in rita.locator(".messages").inner_text()

    # --- mona logs in to the admin and opens the queue of open reports ----------------------
    admin_log_in(mona, "mona")
    assert_styled(mona)
    mona.get_by_role("link", name="Reports").first.click()
    mona.wait_for_url("**/admin/notes/report/")
    assert_styled(mona)
    rows = mona.locator("#result_list tbody tr")
    assert rows.count() == 1
    row = rows.first
    assert f"spammer: {NOTE_TEXT[:40]}" in row.locator("td.field-note_summary").inner_text()
    assert row.locator("td.field-audience").inner_text() == "The public"
    assert row.locator("td.field-reporter").inner_text() == "rita"
    assert row.locator("td.field-status").inner_text() == "open"
    assert REASON in row.inner_text()
    # The whole row fits on a desktop screen: no column is scrolled out of sight.
    assert mona.evaluate("(r => r.scrollWidth <= r.clientWidth)(document.querySelector('#changelist .results'))")
    shoot(mona, artifacts / "admin-report-queue.png")

    # --- the report, with the note in context ------------------------------------------------
    row.get_by_role("link", name=REASON).click()
    mona.wait_for_url(REPORT_URL)
    report_url = mona.url
    context = mona.locator("table.reported-note")
    for label, value in (("Author", "spammer"), ("Audience", "The public"), ("Text", NOTE_TEXT), ("State", "visible")):
        assert context.locator("tr", has=mona.locator("th", has_text=label)).locator("td").inner_text() == value
    assert context.get_by_role("link", name="the note on the site").get_attribute("href") == f"/notes/{note_id}/"
    assert mona.locator(".moderation-buttons input[value='Hide the note and resolve']").is_visible()
    shoot(mona, artifacts / "admin-report.png")

    # --- back in the queue, mona hides the note and resolves the report with the action -----
    mona.go_back()
    mona.wait_for_url("**/admin/notes/report/")
    mona.locator("#result_list tbody tr").first.locator("input.action-select").check()
    mona.select_option("select[name=action]", label="Hide the reported notes and resolve")
    mona.get_by_role("button", name="Go").click()
    mona.wait_for_url("**/admin/notes/report/")
    assert "Notes hidden: 1." in mona.locator("ul.messagelist").inner_text()
    assert mona.locator("#result_list").count() == 0  # the queue of open reports is empty
    assert "0 reports" in mona.locator("#changelist-form").inner_text()

    # --- at once, the note is gone for rita and for a visitor who is not signed in ----------
    note_is_gone(rita, note_id)
    note_is_gone(visitor, note_id, signed_in=False)

    # --- and the report is resolved, by mona, in the admin ------------------------------------
    mona.get_by_role("link", name="Resolved").click()
    mona.wait_for_url("**/admin/notes/report/?status=resolved")
    row = mona.locator("#result_list tbody tr")
    assert row.count() == 1
    assert row.locator("td.field-status").inner_text() == "resolved"
    assert "[hidden]" in row.locator("td.field-note_summary").inner_text()
    shoot(mona, artifacts / "admin-report-queue-resolved.png")
    row.get_by_role("link", name=REASON).click()
    mona.wait_for_url(re.compile(re.escape(report_url)))
    assert mona.locator(".field-status .readonly").inner_text() == "resolved"
    assert mona.locator(".field-resolved_by .readonly").inner_text() == "mona"
    state = mona.locator("table.reported-note tr", has=mona.locator("th", has_text="State")).locator("td")
    assert state.inner_text() == "hidden"
    shoot(mona, artifacts / "admin-report-resolved.png")
