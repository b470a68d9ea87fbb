"""The notifications page, "mark all read" and the top bar's badge: the page links each
notification to its note or person and pages by ``?before=<id>``; marking read takes a POST
with its CSRF token and marks only what the reader was shown; the badge costs a warm page no
SQL and no memcached call more, and a new notification renders the page anew."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts import services as accounts_services
from cache import protocol
from cache.batch import value_key
from cache.stats import stats
from notes import caching, notifications, services
from tests.inbox import after_commit


def act(action, *args, **kwargs):
    with after_commit():
        return action(*args, **kwargs)


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def badge(html: str) -> str | None:
    found = re.search(r'id="notifications-badge">.*?</span>(.*?)<span', html, re.S)
    return found.group(1) if found else None


@pytest.fixture
def ann_told(make_user):
    """ann's public note, starred by bob and replied to by cat; dan asked to be her friend."""
    ann, bob, cat, dan = (make_user(name) for name in ("ann", "bob", "cat", "dan"))
    note = act(services.note_create, author=ann, kind="message", audience="public", body="ann's news")
    act(services.star_add, user=bob, note_id=note.pk)
    reply = act(services.reply_create, author=cat, note_id=note.pk, body="congratulations!")
    act(accounts_services.friend_add, dan, ann)
    return {"ann": ann, "bob": bob, "cat": cat, "dan": dan, "note": note, "reply": reply}


def test_the_page_links_each_notification_to_its_note_or_person(ann_told):
    ann, note, reply = ann_told["ann"], ann_told["note"], ann_told["reply"]
    response = client_for(ann).get("/notifications/")
    assert response.status_code == 200
    html = response.content.decode()
    items = re.findall(r'<li class="notification notification-unread" id="notification-\d+">(.*?)</li>', html, re.S)
    assert len(items) == 3
    assert "/dan/" in items[0] and "added you as a friend" in items[0]
    assert "/cat/" in items[1] and f"/notes/{note.pk}/#reply-{reply.pk}" in items[1] and "congratulations!" in items[1]
    assert "/bob/" in items[2] and f'href="/notes/{note.pk}/"' in items[2] and "starred your note" in items[2]
    assert badge(html) == "3"
    assert 'href="/notifications/" aria-current="page"' in html


def test_signed_out_visitors_are_asked_to_log_in(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post("/notifications/read/").status_code == 302


def test_mark_all_read_needs_its_csrf_token_and_marks_only_what_was_shown(ann_told):
    ann, note = ann_told["ann"], ann_told["note"]
    strict = client_for(ann, enforce_csrf_checks=True)
    page = strict.get("/notifications/").content.decode()
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    assert strict.post("/notifications/read/", {"upto": upto}).status_code == 403  # no token: refused
    assert badge(strict.get("/").content.decode()) == "3"

    act(services.reply_create, author=ann_told["bob"], note_id=note.pk, body="arrived since")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = strict.post("/notifications/read/", {"upto": upto, "csrfmiddlewaretoken": token}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [("/notifications/", 302)]
    assert "marked read" in html
    unread = re.findall(r'class="notification notification-unread" id="notification-(\d+)"', html)
    assert len(unread) == 1 and "arrived since" in html  # the one the reader had not seen yet
    assert badge(html) == "1"
    assert notifications.mark_read(ann, upto=int(upto)) == int(upto)  # never back
    assert notifications.unread_count(ann.pk) == 1
    act(notifications.mark_read, ann)
    assert badge(client_for(ann).get("/").content.decode()) is None
    assert "Mark all read" not in client_for(ann).get("/notifications/").content.decode()


def test_the_page_is_keyset_paged_by_before(make_user, monkeypatch):
    monkeypatch.setattr(notifications, "CACHED", 12)  # the second page comes from the database
    ann = make_user("ann")
    fans = [make_user(f"fan{i:02d}") for i in range(27)]
    for fan in fans:
        act(accounts_services.friend_add, fan, ann)
    client = client_for(ann)
    seen, url = [], "/notifications/"
    while url:
        html = client.get(url).content.decode()
        seen += re.findall(r'id="notification-(\d+)"', html)
        more = re.search(r'href="\?before=(\d+)"', html)
        url = f"/notifications/?before={more.group(1)}" if more else None
    assert len(seen) == 27 and len(set(seen)) == 27 and seen == sorted(seen, reverse=True)
    assert client.get("/notifications/?before=nonsense").status_code == 200


def test_the_badge_says_99_plus_past_its_cap(make_user, monkeypatch):
    monkeypatch.setattr(notifications, "UNREAD_CAP", 3)
    ann = make_user("ann")
    for i in range(4):
        act(accounts_services.friend_add, make_user(f"fan{i}"), ann)
    assert badge(client_for(ann).get("/public/").content.decode()) == "2+"


@pytest.mark.stack
@pytest.mark.parametrize("url", ["/", "/public/", "/notifications/", "ann-note"])
def test_a_warm_page_with_the_badge_costs_no_sql_and_no_extra_call(ann_told, sql_by_alias, url):
    """The same cost as every warm page (tests/notes/test_page_cache.py): one memcached call,
    the user, the page and its versions — the badge's among them."""
    ann = ann_told["ann"]
    url = f"/notes/{ann_told['note'].pk}/" if url == "ann-note" else url
    client = client_for(ann)
    first = client.get(url)
    assert first.status_code == 200 and badge(first.content.decode()) == "3"
    with sql_by_alias() as sql, stats.measure() as cost:
        response = client.get(url)
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    assert cost["calls"] == 1 and cost.get("page_hits") == 1
    assert badge(response.content.decode()) == "3"


@pytest.mark.stack
def test_a_new_notification_changes_every_page_of_its_recipient(ann_told):
    ann, bob = ann_told["ann"], ann_told["bob"]
    client = client_for(ann)
    for url in ("/", "/notifications/"):
        client.get(url)
        assert client.get(url).status_code == 200
    unread_key = value_key(caching.UNREAD_NOTIFICATIONS, ann.pk)
    before = protocol.versions([unread_key])[unread_key]
    note = act(services.note_create, author=ann, kind="message", audience="public", body="another")
    act(services.star_add, user=bob, note_id=note.pk)
    assert protocol.versions([unread_key])[unread_key] != before
    for url in ("/", "/notifications/"):
        with stats.measure() as cost:
            html = client.get(url).content.decode()
        assert cost.get("page_misses") == 1 and badge(html) == "4"
    assert 'id="notification-' in html and html.count("starred your note") == 2
