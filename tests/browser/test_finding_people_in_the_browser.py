"""Finding people in a real browser, through HAProxy, both app servers and the task worker: a
newcomer's empty home suggests a popular person, the top bar's search finds her by part of her
name, "Become a fan" on her card adds her, and her recent public notes arrive on the newcomer's
home (the worker's backfill) — and leave it when the newcomer stops being a fan. Desktop and
phone screenshots of the search, "Find people" and the home before and after go to
``test-artifacts/``."""

from __future__ import annotations

import re

import pytest

from accounts import services as account_services
from accounts import suggestions
from accounts.models import User
from notes import services as note_services
from tests.browser.conftest import PHONE
from tests.stack import wait_for_replica, wait_until

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PASSWORD = "a long finding password 42"
PUBLIC_NOTES = [
    "Notes on the Analytical Engine, part one: it weaves algebraic patterns.",
    "Part two: the engine might compose elaborate pieces of music.",
    "Part three: a table for computing the Bernoulli numbers.",
]
FRIENDS_NOTE = "For my friends only: the translation is nearly done."


@pytest.fixture
def ada_wrote(web_stack) -> None:
    """Ada, who has a fan (so she is popular) and wrote public notes and one for her friends.
    Made before the browser starts (the ORM refuses to run next to Playwright's loop)."""
    ada = User.objects.create_user(
        "ada_lovelace", "ada@example.com", PASSWORD, display_name="Ada Lovelace", bio="Writes about engines."
    )
    charles = User.objects.create_user("charles", "charles@example.com", PASSWORD, display_name="Charles Babbage")
    account_services.friend_add(charles, ada)
    for body in PUBLIC_NOTES:
        note_services.note_create(author=ada, kind="message", audience="public", body=body)
    note_services.note_create(author=ada, kind="message", audience="friends", body=FRIENDS_NOTE)
    assert suggestions.popular_refresh() == 1
    # The app servers read the replica until a browser writes: the rows must be there first.
    wait_for_replica()


def sign_up(page, username: str) -> None:
    page.goto("/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/settings/")


def shoot(page, path, *, phone: bool = False) -> None:
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    page.screenshot(path=str(path), full_page=True)


def on_phone(page, url: str):
    phone = page.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(url)
    return phone


def home_shows(page, text: str) -> bool:
    page.goto("/")
    return page.locator(".stream").get_by_text(text).count() > 0


def test_search_befriend_and_the_backfilled_home_in_the_browser(
    web_stack, empty_stores, ada_wrote, new_person, artifacts
):
    grace = new_person()
    sign_up(grace, "grace")

    # --- an empty home suggests the popular person ----------------------------------------------
    grace.goto("/")
    assert "Nothing here yet" in grace.locator(".stream").inner_text()
    suggested = grace.locator("section.suggestions")
    assert "Ada Lovelace" in suggested.inner_text() and "Popular: added by 1 person" in suggested.inner_text()
    assert suggested.get_by_role("button", name="Become a fan").count() == 1
    shoot(grace, artifacts / "finding-home-empty.png")
    grace.get_by_role("link", name="Find more people").click()
    grace.wait_for_url("**/people/")
    assert "Ada Lovelace" in grace.locator("section.suggestions").inner_text()
    shoot(grace, artifacts / "finding-find-people.png")

    # --- the top bar's search finds her by part of her name -------------------------------------
    grace.fill("#topbar-q", "lovel")
    grace.press("#topbar-q", "Enter")
    grace.wait_for_url(re.compile(r"/search/\?q=lovel$"))
    ada_card = grace.locator("li.person", has_text="@ada_lovelace")
    assert ada_card.count() == 1
    assert "Ada Lovelace" in ada_card.inner_text() and "Writes about engines." in ada_card.inner_text()
    assert ada_card.locator("img.avatar").get_attribute("width") == "48"
    assert "1 person matching “lovel”" in grace.locator("main").inner_text()
    shoot(grace, artifacts / "finding-search.png")
    shoot(on_phone(grace, "/search/?q=lovel"), artifacts / "finding-search-phone.png", phone=True)

    # --- "Become a fan": back on the results, with her added -----------------------------------
    ada_card.get_by_role("button", name="Become a fan").click()
    grace.wait_for_url(re.compile(r"/search/\?q=lovel$"))
    assert "You are now a fan of ada_lovelace" in grace.locator(".messages").inner_text()
    assert "You're a fan" in grace.locator("li.person", has_text="@ada_lovelace").inner_text()

    # --- the worker brings her recent public notes home; not the one for her friends ------------
    wait_until(lambda: home_shows(grace, PUBLIC_NOTES[0]), timeout=30, interval=0.5, message="the backfilled home")
    stream = grace.locator(".stream").inner_text()
    positions = [stream.index(body) for body in reversed(PUBLIC_NOTES)]
    assert positions == sorted(positions), "newest first"
    assert FRIENDS_NOTE not in stream and "Nothing here yet" not in stream
    shoot(grace, artifacts / "finding-home-backfilled.png")
    shoot(on_phone(grace, "/"), artifacts / "finding-home-backfilled-phone.png", phone=True)

    # --- and takes them back when she stops being a fan -----------------------------------------
    grace.goto("/ada_lovelace/")
    grace.get_by_role("button", name="Stop being a fan").click()
    wait_until(lambda: not home_shows(grace, PUBLIC_NOTES[0]), timeout=30, interval=0.5, message="the home emptied")
    assert "Nothing here yet" in grace.locator(".stream").inner_text()
