"""Notifications in a real browser, through HAProxy and both app servers: bob adds ann as a
friend and stars her note, and ann sees the badge in the top bar count up on her next page,
finds both on her notifications page with links to bob and to the note, and marks them read —
the badge goes. Screenshots of the page with its badge, desktop and phone, are saved under
``test-artifacts/``."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from notes import services
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.signing_in import log_in
from tests.stack import wait_for_replica, wait_until

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PASSWORD = "a long notifications password 42"


def badge_reads(page, text: str | None, *, url: str = "/") -> None:
    """Load ``url`` until the top bar's badge reads ``text`` (None: no badge), for up to 10 s."""

    def shows() -> bool:
        page.goto(url)
        badge = page.locator("#notifications-badge")
        if text is None:
            return badge.count() == 0
        return badge.count() == 1 and " ".join(badge.text_content().split()) == f"({text} unread)"

    wait_until(shows, timeout=10, interval=0.2, message=f"the badge to read {text!r}")


@pytest.fixture
def ann_note(web_stack, empty_stores) -> int:
    """ann, with a public note, and bob. Made before the browser starts (the ORM refuses to run
    next to Playwright's loop) and waited for on the replica the app servers read."""
    ann = User.objects.create_user(username="ann", password=PASSWORD, display_name="Ann Archer")
    User.objects.create_user(username="bob", password=PASSWORD, display_name="Bob Baker")
    note = services.note_create(author=ann, kind="message", audience="public", body="Bridges at dawn.")
    wait_for_replica()
    return note.pk


def test_a_notification_appears_with_its_badge_and_is_marked_read(ann_note, new_person, artifacts):
    note_id = ann_note
    ann, bob = new_person(), new_person()
    log_in(ann, "ann", PASSWORD)
    log_in(bob, "bob", PASSWORD)
    badge_reads(ann, None)

    bob.goto("/ann/")
    bob.get_by_role("button", name="+ Add as friend").click()
    bob.wait_for_url("**/ann/")
    badge_reads(ann, "1")
    bob.goto(f"/notes/{note_id}/")
    bob.locator(f"#note-{note_id} button.star").click()
    bob.wait_for_url(re.compile(rf"/notes/{note_id}/"))
    badge_reads(ann, "2", url=f"/notes/{note_id}/")

    ann.locator(".nav-notifications").click()
    ann.wait_for_url("**/notifications/")
    items = ann.locator("li.notification-unread")
    assert items.count() == 2
    assert "Bob Baker starred your note" in items.nth(0).inner_text()
    assert items.nth(0).get_by_role("link", name="“Bridges at dawn.”").get_attribute("href") == f"/notes/{note_id}/"
    assert "Bob Baker added you as a friend" in items.nth(1).inner_text()
    ann.screenshot(path=str(artifacts / "notifications-desktop.png"), full_page=True)
    ann.set_viewport_size(PHONE)
    ann.reload()
    assert ann.locator("#notifications-badge").is_visible()
    ann.screenshot(path=str(artifacts / "notifications-phone.png"), full_page=True)
    ann.set_viewport_size(DESKTOP)

    ann.get_by_role("button", name="Mark all read").click()
    ann.wait_for_url("**/notifications/")
    assert "marked read" in ann.locator(".messages").inner_text()
    assert ann.locator("li.notification-unread").count() == 0
    assert ann.locator("li.notification").count() == 2
    badge_reads(ann, None)
    ann.goto("/notifications/")
    ann.get_by_role("link", name="“Bridges at dawn.”").click()
    ann.wait_for_url(re.compile(rf"/notes/{note_id}/"))
