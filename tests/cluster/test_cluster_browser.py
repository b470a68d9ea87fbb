"""The browser flow (tests/browser) against lb1's address: people sign up with a photo, become
friends, post public and private notes and a file, reply and download, each page served by
whichever app host HAProxy picks, with the cluster's own database, memcached nodes and Redis."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.browser.test_pownce_in_the_browser import card, photo_png, post_file, post_message, sign_up
from tests.cluster import cluster as lib

pytestmark = [pytest.mark.cluster, pytest.mark.browser]


@pytest.fixture
def person(running_cluster):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        def new_person():
            context = browser.new_context(base_url=lib.LB, viewport=DESKTOP, accept_downloads=True)
            context.set_default_timeout(20_000)
            return context.new_page()

        try:
            yield new_person
        finally:
            browser.close()


def test_friends_share_notes_in_the_browser_through_lb1(person):
    ann, bob, cat = person(), person(), person()
    run = lib.RUN
    names = {page: f"{who}{run}" for page, who in ((ann, "ann"), (bob, "bob"), (cat, "cat"))}
    for page, colour in ((ann, (236, 104, 76)), (bob, (70, 160, 220)), (cat, (120, 190, 110))):
        sign_up(
            page,
            names[page],
            name=names[page].title(),
            bio="On many machines.",
            location="10.77.0.0/24",
            photo=photo_png(colour, (40, 40, 40)),
        )

    ann.goto(f"/{names[bob]}/")
    ann.get_by_role("button", name="+ Add as friend").click()
    ann.wait_for_url(f"**/{names[bob]}/")
    bob.goto("/friends/requests/")
    bob.locator("li.person", has_text=names[ann].title()).get_by_role("button", name="Accept").click()
    bob.wait_for_url("**/friends/requests/")

    public = post_message(ann, f"Hello from every app host {run}")
    secret = f"Only for {names[bob]}: the cluster holds {run}"
    private = post_message(ann, secret, audience=f"{names[bob].title()} (@{names[bob]})")
    content = os.urandom(512 * 1024)
    shared = post_file(ann, "numbers.bin", "application/octet-stream", content, "A file any app host serves")

    bob.goto("/")
    assert secret in card(bob, private).inner_text()
    assert cat.goto(f"/notes/{private}/").status == 404
    for path in ("/", "/public/", f"/{names[ann]}/"):
        cat.goto(path)
        assert secret not in cat.content()
    cat.goto("/public/")
    assert card(cat, public).is_visible()

    bob.goto(f"/notes/{private}/")
    bob.fill("form.reply-form textarea[name=body]", "Safe with me.")
    bob.get_by_role("button", name="Reply", exact=True).click()
    bob.wait_for_url(re.compile(rf"/notes/{private}/#reply-\d+$"))
    ann.goto(f"/notes/{private}/")
    assert "Safe with me." in ann.locator("#replies").inner_text()

    # The file went up through one app host and comes down through whichever serves bob now.
    bob.goto(f"/notes/{shared}/")
    with bob.expect_download() as download:
        card(bob, shared).locator("a.file-download").click()
    with open(download.value.path(), "rb") as downloaded:
        assert hashlib.sha256(downloaded.read()).digest() == hashlib.sha256(content).digest()
