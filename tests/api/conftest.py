"""Fixtures for the API: people, and Mastodon.py clients logged in through the OAuth flow,
either in this process (Django's test client) or over HTTP through HAProxy (``make test``)."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from accounts.models import User
from tests.api.wire import IN_PROCESS, oauth_log_in
from tests.stack import HAPROXY

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def api_test_settings(request, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("base") != HAPROXY:
        # A fast hash in process; the app servers check passwords with the real hashers.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    caches["redis"].clear()
    yield settings
    caches["redis"].clear()


@pytest.fixture(
    params=[
        pytest.param(IN_PROCESS, id="in-process"),
        pytest.param(HAPROXY, id="haproxy", marks=pytest.mark.stack),
    ]
)
def base(request):
    """Where the client talks to: this process, or the app servers behind HAProxy."""
    if request.param == HAPROXY:
        request.getfixturevalue("web_stack")
    return request.param


@pytest.fixture
def person(db):
    def make(username: str) -> User:
        return User.objects.create_user(username=username, password=PASSWORD)

    return make


@pytest.fixture
def client_for(base):
    """A logged-in Mastodon.py client for a person: ``client_for(user)``."""

    def log_in(user: User):
        return oauth_log_in(base, user.username, PASSWORD)

    return log_in
