"""Browser fixtures: Debian's Chromium driven by Playwright, one context per person, pages
served through HAProxy (``tests.stack.HAPROXY``). Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import caches

from tests.stack import HAPROXY, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def chromium() -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    return report


@pytest.fixture
def new_person(request, chromium) -> Iterator[Callable]:
    """``new_person()`` opens a fresh browser context (its own cookies: one person) on the
    site behind HAProxy and returns its first page; keyword arguments go to Playwright's
    ``new_context`` (``java_script_enabled=False`` for a browser without JavaScript,
    ``bypass_csp=True`` to inject a checker's script, ``timezone_id="Europe/Paris"`` for the
    zone the browser says it is in). When the test fails, every page still open is saved as
    ``test-artifacts/failed-<n>.png`` for a look at what the browser showed."""
    contexts = []
    for stale in ARTIFACTS.glob("failed-*.png"):
        stale.unlink()

    def open_page(**options):
        options = {"viewport": DESKTOP, "accept_downloads": True, **options}
        context = chromium.new_context(base_url=HAPROXY, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    if getattr(request.node, "browser_test_failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages, 1):
            page.screenshot(path=str(ARTIFACTS / f"failed-{number}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def empty_stores() -> Iterator[None]:
    """Start and end with empty memcached and Redis, as the database is. Ids start over in a
    fresh test database, so objects and lists cached by an earlier run would otherwise pass
    for this run's people (a cached user with another password hash logs its owner out);
    sign-up and log-in counts per address live in Redis and would run into their limit."""
    caches["default"].clear()
    caches["redis"].clear()
    yield
    caches["default"].clear()
    caches["redis"].clear()


@pytest.fixture
def uploads_removed() -> Iterator[None]:
    """The app servers store what the browser uploads (photos, note files, thumbnails) under
    the test profile's media root; remove every file the test's rows point to, pass or fail."""
    yield
    from accounts.models import User
    from notes.models import Note

    for user in User.objects.all():
        for field in (user.photo, user.photo_small, user.photo_medium):
            if field:
                field.delete(save=False)
    for note in Note.objects.exclude(file=""):
        note.file.delete(save=False)
        if note.thumbnail:
            note.thumbnail.delete(save=False)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
