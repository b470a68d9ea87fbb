"""Everything people type is shown inert: no script, no attribute break-out, no javascript: link."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from notes import services
from tests.notes.conftest import upload
from tests.xss import PAYLOADS, SCRIPT_SCHEME_URLS, assert_inert


@pytest.fixture(autouse=True)
def no_post_limit(monkeypatch):
    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 10_000)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_every_note_field_is_inert(client, friends, payload):
    ann, bob = friends
    notes = [
        services.note_create(author=ann, kind="message", audience="public", body=payload),
        services.note_create(author=ann, kind="link", audience="public", url="https://example.com/?q=1", body=payload),
        services.note_create(
            author=ann, kind="file", audience="public", upload=upload(payload + ".html", b"<b>hi</b>")
        ),
        services.note_create(
            author=ann,
            kind="event",
            audience="public",
            event_name=payload,
            event_place=payload,
            event_start=timezone.now() + dt.timedelta(days=1),
        ),
    ]
    for note in notes:
        services.reply_create(author=bob, note_id=note.pk, body=payload)
    client.force_login(bob)
    pages = ["/", "/?show=replies", "/public/", "/ann/"] + [f"/notes/{note.pk}/" for note in notes]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        assert_inert(response.text)


def test_link_notes_refuse_other_schemes(friends):
    for url in SCRIPT_SCHEME_URLS:
        with pytest.raises(services.ValidationError):
            services.note_create(author=friends[0], kind="link", audience="public", url=url)


def test_http_addresses_in_text_become_safe_links(client, friends):
    note = services.note_create(
        author=friends[0],
        kind="message",
        audience="public",
        body="see https://example.com/a?b=1&c=2 and javascript:alert(1)",
    )
    html = client.get(f"/notes/{note.pk}/").text
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow ugc noopener">' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html


def test_usernames_in_notes_and_replies_link_to_profiles(client, friends):
    """Issue 14, item 17: ``@username`` in a note or a reply is a link to the profile, in streams
    and on the note page; the page links nothing it should not."""
    ann, bob = friends
    note = services.note_create(author=ann, kind="message", audience="public", body="Lunch with @bob? cc @nobody_yet")
    services.reply_create(author=bob, note_id=note.pk, body="@ann yes! mail me at bob@example.com")
    mention = '<a class="mention" href="/{0}/">@{0}</a>'
    client.force_login(bob)
    for page in ("/", "/public/", "/ann/", f"/notes/{note.pk}/", "/?show=replies"):
        html = client.get(page).text
        if page != "/?show=replies":
            assert f"Lunch with {mention.format('bob')}? cc {mention.format('nobody_yet')}" in html, page
        if page in (f"/notes/{note.pk}/", "/?show=replies"):
            assert f"{mention.format('ann')} yes! mail me at bob@example.com" in html, page
        assert_inert(html)
