"""Sending and deleting in a real browser, with JavaScript and without (issue 14, items 5-8 and
16), through HAProxy and both app servers:

- the note form says who will read the note before it is sent, remembers the audience used
  last (a private note is not followed by a silently public one), and brings its author back to
  the page it was sent from with the new note at the top — in the background with JavaScript,
  by a redirect without;
- the recipient of a private note reads "Private to you";
- deleting asks first: a dialog with JavaScript, a page of its own without.

Screenshots (desktop and phone) are saved under ``test-artifacts/``."""

from __future__ import annotations

import re

import pytest

from accounts import services as account_services
from accounts.models import User
from tests.browser.conftest import PHONE
from tests.browser.signing_in import log_in
from tests.stack import wait_for_replica

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PASSWORD = "a long sending password 42"
PUBLIC = "Public: anyone can see it"
TO_BOB = "Private to Bob Baker"


@pytest.fixture
def people(web_stack, empty_stores) -> None:
    """ann and bob, friends. Made before the browser starts (the ORM refuses to run next to
    Playwright's loop); the app servers read the replica, so it must have them first."""
    ann = User.objects.create_user("ann", "ann@example.com", PASSWORD, display_name="Ann Archer")
    bob = User.objects.create_user("bob", "bob@example.com", PASSWORD, display_name="Bob Baker")
    account_services.friend_add(ann, bob)
    account_services.friend_add(bob, ann)
    wait_for_replica()


def marker(page) -> tuple[str, str]:
    found = page.locator("#audience-marker")
    return found.get_attribute("class"), found.inner_text()


def chosen_audience(page) -> str:
    return page.locator("#id_audience").input_value()


def first_card(page):
    return page.locator(".stream > article.note").first


def card_id(card) -> int:
    return int(card.get_attribute("id").removeprefix("note-"))


def shoot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)


def test_with_javascript_the_form_remembers_stays_put_and_deleting_asks_in_a_dialog(people, new_person, artifacts):
    ann, bob = new_person(), new_person()
    log_in(ann, "ann", PASSWORD)
    log_in(bob, "bob", PASSWORD)

    # --- a new person's form: the public, marked as such before sending ------------------------
    ann.goto("/")
    assert chosen_audience(ann) == "public"
    assert marker(ann) == ("audience-marker audience-marker-public", PUBLIC)
    ann.select_option("#id_audience", label="Bob Baker (@bob)")
    assert marker(ann) == ("audience-marker audience-marker-friend", TO_BOB)  # the script keeps it true

    # --- a private note, sent without leaving the page ----------------------------------------
    ann.fill("#id_body", "Bob, the surprise is on Friday.")
    with ann.expect_request(lambda r: r.method == "POST" and r.url.endswith("/notes/new/")) as sent:
        ann.get_by_role("button", name="Send it").click()
    assert sent.value.resource_type == "xhr" and sent.value.headers.get("pownce-partial") == "composer"
    ann.locator(".stream > article.note-new").wait_for()
    private = card_id(first_card(ann))
    assert first_card(ann).locator(".audience").text_content() == TO_BOB
    assert "Bob, the surprise is on Friday." in first_card(ann).inner_text()
    assert ann.url.endswith("/") and ann.locator(".composer-status").inner_text() == "Your note was sent."
    assert ann.input_value("#id_body") == "" and ann.evaluate("document.activeElement.id") == "id_body"
    # The form keeps the audience: the next note is not silently public.
    assert chosen_audience(ann).startswith("friend:") and marker(ann)[1] == TO_BOB
    shoot(ann, artifacts / "composer-after-private-note.png")

    # --- the choice is remembered by the site, not only by this page ---------------------------
    ann.goto("/?show=sent")
    assert chosen_audience(ann).startswith("friend:") and marker(ann)[1] == TO_BOB
    assert card_id(first_card(ann)) == private

    # --- back to the public: the marker says so, a stream of links shows no message note ------
    ann.goto("/?show=link")
    ann.select_option("#id_audience", label="The public")
    assert marker(ann) == ("audience-marker audience-marker-public", PUBLIC)
    ann.fill("#id_body", "Hello, everyone!")
    ann.get_by_role("button", name="Send it").click()
    status = ann.locator(".composer-status")
    status.get_by_role("link", name="See it").wait_for()
    assert status.inner_text() == "Your note was sent. See it."
    public = int(re.search(r"/notes/(\d+)/", status.get_by_role("link").get_attribute("href")).group(1))
    assert ann.locator(f"#note-{public}").count() == 0 and ann.url.endswith("/?show=link")
    ann.goto("/")
    assert chosen_audience(ann) == "public" and card_id(first_card(ann)) == public

    # --- a refused note keeps what was typed ---------------------------------------------------
    ann.locator("label.kind-tab.kind-link").click()
    ann.fill("#id_url", "javascript:alert(1)")
    ann.fill("#id_body", "Keep this text")
    ann.get_by_role("button", name="Send it").click()
    ann.locator(".field-url .error").wait_for()
    assert "http:// or https://" in ann.locator(".field-url .error").inner_text()
    assert ann.input_value("#id_body") == "Keep this text" and ann.input_value("#id_url") == "javascript:alert(1)"
    assert ann.evaluate("document.activeElement.id") == "id_url"
    assert card_id(first_card(ann)) == public  # nothing was sent
    shoot(ann, artifacts / "composer-refused.png")

    # --- the recipient reads "Private to you" --------------------------------------------------
    bob.goto("/")
    assert bob.locator(f"#note-{private} .audience").text_content() == "Private to you"

    # --- the card menu: bob's "Report…" opens the folded form on the note's page --------------
    bob.locator(f"#note-{public} .note-menu summary").click()
    assert bob.locator(f"#note-{public} .note-menu").get_by_role("link").all_inner_texts() == ["Forward…", "Report…"]
    shoot(bob, artifacts / "card-menu-open.png")
    bob.locator(f"#note-{public} .note-menu").get_by_role("link", name="Report…").click()
    bob.wait_for_url(f"**/notes/{public}/#report")
    assert bob.locator("details#report").get_attribute("open") is not None
    assert bob.locator("#id_reason").is_visible()

    # --- deleting asks in a dialog: cancel keeps the note, delete removes it ------------------
    ann.goto("/")
    shoot(ann, artifacts / "home-with-menu.png")
    menu = ann.locator(f"#note-{public} .note-menu")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Delete…").click()
    dialog = ann.locator("dialog.confirm-dialog")
    dialog.wait_for()
    assert dialog.locator("h2").inner_text() == "Delete this note?"
    assert ann.evaluate("document.activeElement.textContent") == "Cancel"
    shoot(ann, artifacts / "delete-dialog.png")
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible() and ann.url.endswith("/")
    assert ann.locator(f"#note-{public}").is_visible()
    menu.locator("summary").click()
    menu.get_by_role("link", name="Delete…").click()
    ann.keyboard.press("Escape")
    assert not dialog.is_visible() and ann.locator(f"#note-{public}").is_visible()
    menu.locator("summary").click()
    menu.get_by_role("link", name="Delete…").click()
    with ann.expect_navigation():
        dialog.get_by_role("button", name="Delete").click()
    assert ann.url.endswith("/") and "Your note was deleted." in ann.locator(".messages").inner_text()
    assert ann.locator(f"#note-{public}").count() == 0

    # --- a reply: the same question, on the note's page -----------------------------------------
    bob.goto(f"/notes/{private}/")
    bob.fill("form.reply-form textarea[name=body]", "I will bring bread.")
    bob.get_by_role("button", name="Reply", exact=True).click()
    bob.wait_for_url(re.compile(rf"/notes/{private}/#reply-\d+$"))
    reply = bob.locator("#replies article.reply").first
    reply.get_by_role("link", name="Delete…").click()
    dialog = bob.locator("dialog.confirm-dialog")
    dialog.wait_for()
    assert dialog.locator("h2").inner_text() == "Delete this reply?"
    with bob.expect_navigation():
        dialog.get_by_role("button", name="Delete").click()
    assert "Your reply was deleted." in bob.locator(".messages").inner_text()
    assert bob.locator("#replies article.reply").count() == 0

    # --- on a phone ------------------------------------------------------------------------------
    phone = ann.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto("/")
    phone.select_option("#id_audience", label="Bob Baker (@bob)")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, artifacts / "composer-phone.png")
    phone_menu = phone.locator(f"#note-{private} .note-menu")
    phone_menu.locator("summary").click()
    phone_menu.get_by_role("link", name="Delete…").click()
    phone.locator("dialog.confirm-dialog").wait_for()
    shoot(phone, artifacts / "delete-dialog-phone.png")


def test_without_javascript_the_form_remembers_comes_back_and_deleting_asks_on_a_page(people, new_person, artifacts):
    ann = new_person(java_script_enabled=False)
    log_in(ann, "ann", PASSWORD)

    # --- sent from a filtered stream, back on it at the new note ------------------------------
    ann.goto("/?show=sent")
    assert marker(ann) == ("audience-marker audience-marker-public", PUBLIC)
    ann.select_option("#id_audience", label="Bob Baker (@bob)")
    ann.fill("#id_body", "Sent without any script.")
    ann.get_by_role("button", name="Send it").click()
    ann.wait_for_url(re.compile(r"/\?show=sent#note-\d+$"))
    note = int(ann.url.rsplit("#note-", 1)[1])
    assert card_id(first_card(ann)) == note
    assert first_card(ann).locator(".audience").text_content() == TO_BOB
    # Remembered, and the marker rendered by the server says so.
    assert chosen_audience(ann).startswith("friend:")
    assert marker(ann) == ("audience-marker audience-marker-friend", TO_BOB)

    # --- a refused note comes back on the form's page, with what was typed --------------------
    ann.locator("label.kind-tab.kind-event").click()
    ann.fill("#id_event_name", "Picnic")
    ann.fill("#id_body", "Bring a blanket")
    ann.get_by_role("button", name="Send it").click()
    ann.wait_for_url("**/notes/new/")
    assert "Give the event a date and time." in ann.locator(".field-event_start").inner_text()
    assert ann.input_value("#id_event_name") == "Picnic" and ann.input_value("#id_body") == "Bring a blanket"
    assert chosen_audience(ann).startswith("friend:")
    ann.fill("#id_event_start", "2031-05-17T18:30")
    ann.get_by_role("button", name="Send it").click()
    ann.wait_for_url(re.compile(r"/\?show=sent#note-\d+$"))  # still back where it was sent from
    event = int(ann.url.rsplit("#note-", 1)[1])
    assert card_id(first_card(ann)) == event

    # --- delete: the menu opens without a script, and a page asks ------------------------------
    menu = ann.locator(f"#note-{note} .note-menu")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Delete…").click()
    ann.wait_for_url(re.compile(rf"/notes/{note}/delete/\?next="))
    assert ann.locator("h1").inner_text() == "Delete this note?"
    assert "Sent without any script." in ann.locator(".confirm-delete-what").inner_text()
    shoot(ann, artifacts / "delete-confirm-page.png")
    phone = ann.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(ann.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, artifacts / "delete-confirm-page-phone.png")
    phone.close()
    ann.get_by_role("link", name="Cancel").click()
    ann.wait_for_url(re.compile(rf"/\?show=sent#note-{note}$"))
    assert ann.locator(f"#note-{note}").is_visible()
    menu.locator("summary").click()
    menu.get_by_role("link", name="Delete…").click()
    ann.wait_for_url(re.compile(rf"/notes/{note}/delete/\?next="))
    ann.get_by_role("button", name="Delete").click()
    ann.wait_for_url(re.compile(r"/\?show=sent$"))
    assert "Your note was deleted." in ann.locator(".messages").inner_text()
    assert ann.locator(f"#note-{note}").count() == 0 and card_id(first_card(ann)) == event

    # --- a reply asks the same way ----------------------------------------------------------------
    ann.goto(f"/notes/{event}/")
    ann.fill("form.reply-form textarea[name=body]", "Or two blankets.")
    ann.get_by_role("button", name="Reply", exact=True).click()
    ann.wait_for_url(re.compile(rf"/notes/{event}/#reply-\d+$"))
    ann.locator("#replies article.reply").first.get_by_role("link", name="Delete…").click()
    ann.wait_for_url(re.compile(r"/replies/\d+/delete/$"))
    assert ann.locator("h1").inner_text() == "Delete this reply?"
    ann.get_by_role("button", name="Delete").click()
    ann.wait_for_url(f"**/notes/{event}/")
    assert "Your reply was deleted." in ann.locator(".messages").inner_text()
    assert ann.locator("#replies article.reply").count() == 0
    shoot(ann, artifacts / "note-page-no-js.png")
