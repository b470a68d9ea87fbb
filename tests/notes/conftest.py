"""Fixtures for notes: people connected the ways Pownce connects them, and a note sender."""

from __future__ import annotations

import io

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Fanship, FriendSet, User
from notes import services


@pytest.fixture(autouse=True)
def notes_test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Posting limits count in the shared store; every test starts with none used.
    caches["redis"].clear()
    yield settings
    caches["redis"].clear()


@pytest.fixture
def make_user(db):
    def make(username: str, **fields) -> User:
        return User.objects.create_user(username=username, password="correct-horse-9", **fields)

    return make


def add_fan(fan: User, idol: User) -> None:
    Fanship.objects.get_or_create(fan=fan, idol=idol)


def befriend(a: User, b: User) -> None:
    add_fan(a, b)
    add_fan(b, a)


@pytest.fixture
def friends(make_user):
    """Two friends, ann (the author) and bob."""
    ann, bob = make_user("ann"), make_user("bob")
    befriend(ann, bob)
    return ann, bob


def make_set(owner: User, name: str, members: list[User]) -> FriendSet:
    friend_set = FriendSet.objects.create(owner=owner, name=name)
    friend_set.members.set(members)
    return friend_set


def png_bytes(size=(64, 48), color=(200, 60, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def send_note():
    """Send a note through the service, with message defaults."""

    def send(author: User, *, kind: str = "message", audience: str = "public", **fields):
        if kind == "message":
            fields.setdefault("body", "hello")
        return services.note_create(author=author, kind=kind, audience=audience, **fields)

    return send
