"""A Content-Security-Policy on HTML pages (issue 10, item 14): no inline scripts or styles,
no framing; and no page of ours needs an inline one."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import User
from notes import services

pytestmark = pytest.mark.django_db(databases="__all__")

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


def test_html_pages_carry_a_strict_policy(client):
    directives = policy(client.get("/public/"))
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["script-src"] == "script-src 'self'"
    assert directives["style-src"] == "style-src 'self'"
    assert directives["object-src"] == "object-src 'none'"


def test_json_has_none_and_files_keep_their_own(client):
    assert "Content-Security-Policy" not in client.get("/healthz")


@pytest.fixture
def people(db):
    ann = User.objects.create_user("ann", password="correct-horse-9")
    root = User.objects.create_superuser("root", "root@example.com", "correct-horse-9")
    note = services.note_create(author=ann, kind="message", audience="public", body="hello")
    services.reply_create(author=root, note_id=note.pk, body="hi")
    return ann, root, note


def test_no_page_needs_inline_script_or_style(people):
    ann, root, note = people
    reader, staff, visitor = Client(), Client(), Client()
    reader.force_login(ann)
    staff.force_login(root)
    pages = [
        (visitor, "/"), (visitor, "/public/"), (visitor, "/login/"), (visitor, "/signup/"), (visitor, "/ann/"),
        (visitor, "/does-not-exist/"), (reader, "/"), (reader, "/notes/new/"), (reader, f"/notes/{note.pk}/"),
        (reader, "/settings/"), (reader, "/sets/"), (reader, "/ann/friends/"), (staff, "/admin/"),
        (staff, "/admin/status/"), (staff, "/admin/notes/note/"), (staff, f"/admin/notes/note/{note.pk}/change/"),
        (staff, "/admin/notes/report/"), (staff, "/admin/accounts/user/"),
    ]  # fmt: skip
    for browser, path in pages:
        response = browser.get(path)
        assert response.status_code in (200, 404), path
        assert "Content-Security-Policy" in response, path
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), f"{path}: {INLINE_SCRIPT.search(html).group(0)}"
        assert not INLINE_STYLE.search(html), f"{path}: {INLINE_STYLE.search(html).group(0)}"
