"""Fixtures for the accounts tests: people, logged-in clients and a private media root."""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.core.cache import caches
from django.test import Client

from accounts import services
from accounts.models import User

PASSWORD = "correct horse battery staple"
_ips = itertools.count(1)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded photos go to a directory of their own, removed after the test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def accounts_test_settings(settings):
    # The real hasher is slow on purpose; these tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # These tests are about people, not routing: every read goes to the primary, where the
    # rows of the test's open transaction are (a replica cannot see them).
    settings.REPLICA_ALIASES = []
    # Rate-limit counts live in the shared store; every test starts with none used.
    caches["redis"].clear()
    yield settings
    caches["redis"].clear()


@pytest.fixture
def make_user(db):
    def make(username: str, **profile) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD)
        for field, value in profile.items():
            setattr(user, field, value)
        if profile:
            user.save()
        return user

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice Liddell")


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Bob Builder")


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def befriend():
    """Make two people friends the way people do: one adds, the other adds back."""

    def make(a: User, b: User) -> None:
        services.friend_add(a, b)
        services.friend_add(b, a)

    return make


@pytest.fixture
def client_ip():
    """A client address of this test's own, so rate-limit counts never leak between tests."""
    return f"10.{next(_ips) % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


@pytest.fixture
def client(client_ip):
    return Client(REMOTE_ADDR=client_ip)


@pytest.fixture
def as_user(client_ip):
    """A logged-in browser for a given user."""

    def make(user: User) -> Client:
        browser = Client(REMOTE_ADDR=client_ip)
        browser.force_login(user)
        return browser

    return make
