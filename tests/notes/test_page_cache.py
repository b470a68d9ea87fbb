"""Whole pages from the page cache (cache/pages.py): every page, for every kind of viewer, costs
no SQL and at most four memcached calls when warm; a page changes at once when anything it
shows changes; and no cached page or 304 reaches anyone outside a note's audience."""

import re

import pytest
from django.test import Client

from accounts import services as account_services
from cache.stats import stats
from notes import moderation, services
from notes.models import Note
from tests.notes.conftest import befriend

pytestmark = pytest.mark.stack


@pytest.fixture
def people(make_user):
    """ann wrote a public note with a reply and a friends-only note; bob is her friend; cat sent
    ann a private note."""
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    befriend(ann, bob)
    befriend(ann, cat)
    for i in range(3):
        services.note_create(author=bob, kind="message", audience="public", body=f"bob public {i}")
    public = services.note_create(author=ann, kind="message", audience="public", body="ann in public")
    services.note_create(author=ann, kind="message", audience="friends", body="ann to friends")
    services.reply_create(author=bob, note_id=public.pk, body="bob replies")
    private = services.note_create(author=cat, kind="message", audience="friend", recipient=ann, body="cat to ann")
    return {"ann": ann, "bob": bob, "cat": cat, "public": public, "private": private}


def client_for(user=None, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def pages(people) -> dict[str, str]:
    return {
        "home": "/",
        "public": "/public/",
        "note": f"/notes/{people['public'].pk}/",
        "profile": f"/{people['ann'].username}/",
    }


# The page entry and its versions, with the signed-in viewer's user: one call.
EXPECTED_CALLS = {"visitor": 1, "author": 1, "other": 1}


@pytest.mark.parametrize("viewer", ["visitor", "author", "other"])
@pytest.mark.parametrize("page", ["home", "public", "note", "profile"])
def test_warm_page_costs_no_sql_and_exact_memcached_calls(people, sql_by_alias, viewer, page):
    user = {"visitor": None, "author": people["ann"], "other": people["bob"]}[viewer]
    client = client_for(user)
    url = pages(people)[page]
    first = client.get(url)
    assert first.status_code == 200
    with sql_by_alias() as sql, stats.measure() as cost:
        response = client.get(url)
    assert response.status_code == 200
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    assert cost["calls"] == EXPECTED_CALLS[viewer]
    assert cost.get("page_hits") == 1
    # The same page, but for this request's CSRF token.
    old, new = _token(first.content), _token(response.content)
    assert response.content == (first.content if old is None else first.content.replace(old, new))


def _token(content: bytes) -> bytes | None:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
    return found.group(1) if found else None


def _warm(client, url) -> str:
    client.get(url)
    return client.get(url).content.decode()


def test_page_changes_at_once_with_everything_it_shows(people):
    ann, bob, cat, note = people["ann"], people["bob"], people["cat"], people["public"]
    home, page = client_for(bob), f"/notes/{note.pk}/"
    assert "ann in public" in _warm(home, "/")
    assert "ann in public" in _warm(home, page)

    Note.objects.filter(pk=note.pk).update(body="ann edited")  # no signal: through the cache library
    from notes import caching

    caching.note_rows_changed([note.pk])
    assert "ann edited" in home.get("/").content.decode()
    assert "ann edited" in home.get(page).content.decode()

    account_services.profile_update(ann, display_name="Ann Renamed", bio="", location="", website="")
    assert "Ann Renamed" in home.get("/").content.decode()
    assert "Ann Renamed" in home.get(page).content.decode()

    ann.photo_small.name = "photos/small/ann-new.jpg"
    ann.save(update_fields=["photo_small"])
    assert "ann-new.jpg" in home.get("/").content.decode()

    services.star_add(user=cat, note_id=note.pk)
    assert re.search(rf'id="note-{note.pk}".*?★ <span>1</span>', home.get("/").content.decode(), re.S)

    services.reply_create(author=cat, note_id=note.pk, body="cat replies too")
    assert "2 replies" in home.get("/").content.decode()
    assert "cat replies too" in home.get(page).content.decode()

    services.star_add(user=bob, note_id=note.pk)
    assert re.search(r'class="star starred" aria-pressed="true"', home.get(page).content.decode())

    moderation.notes_hide([note.pk])
    assert "ann edited" not in home.get("/").content.decode()
    assert home.get(page).status_code == 404


def test_moderator_hide_reaches_visitor_pages_at_once(people):
    visitor, note = client_for(), people["public"]
    for url in ("/public/", f"/{people['ann'].username}/", "/"):
        assert "ann in public" in _warm(visitor, url)
    moderation.notes_hide([note.pk])
    for url in ("/public/", f"/{people['ann'].username}/", "/"):
        assert "ann in public" not in visitor.get(url).content.decode()


def test_block_removes_a_cached_private_note_from_home_and_note_page(people):
    ann, cat, private = people["ann"], people["cat"], people["private"]
    client = client_for(ann)
    assert "cat to ann" in _warm(client, "/")
    assert "cat to ann" in _warm(client, f"/notes/{private.pk}/")
    account_services.block(cat, ann)
    assert "cat to ann" not in client.get("/").content.decode()
    assert client.get(f"/notes/{private.pk}/").status_code == 404


def test_unfriend_changes_the_cached_note_form_at_once(people):
    ann, bob = people["ann"], people["bob"]
    client = client_for(ann)
    assert f'value="friend:{bob.pk}"' in _warm(client, "/")
    account_services.friend_remove(ann, bob)
    assert f'value="friend:{bob.pk}"' not in client.get("/").content.decode()


def test_suspending_an_author_takes_their_notes_off_cached_pages(people):
    ann, bob = people["ann"], people["bob"]
    client = client_for(bob)
    assert "ann in public" in _warm(client, "/public/")
    ann.is_suspended = True
    ann.save(update_fields=["is_suspended"])
    assert "ann in public" not in client.get("/public/").content.decode()


def test_a_page_cached_for_one_viewer_never_reaches_another(people):
    ann, bob, private = people["ann"], people["bob"], people["private"]
    url = f"/notes/{private.pk}/"
    assert "cat to ann" in _warm(client_for(ann), url)
    assert client_for(bob).get(url).status_code == 404
    assert client_for().get(url)["Location"] == f"/login/?next={url}"  # signed out: asked to log in
    own_home = _warm(client_for(bob), "/")
    assert "cat to ann" not in own_home


def test_conditional_get_answers_304_only_for_the_same_viewer_and_unchanged_page(people):
    ann, bob, private = people["ann"], people["bob"], people["private"]
    client = client_for(ann)
    url = f"/notes/{private.pk}/"
    client.get(url)
    response = client.get(url)
    etag = response["ETag"]
    assert response["Cache-Control"] == "private, no-cache"
    with stats.measure() as cost:
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and cost.get("page_not_modified") == 1
    # Another viewer, or nobody, with ann's tag gets no 304: the tag is ann's own.
    assert client_for(bob).get(url, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert client_for().get(url, HTTP_IF_NONE_MATCH=etag).status_code == 302  # asked to log in
    assert client_for(bob).get("/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    # A change to the page makes the old tag stale at once.
    services.reply_create(author=ann, note_id=private.pk, body="ann answers cat")
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "ann answers cat" in changed.content.decode()
    assert changed["ETag"] != etag


def test_logging_out_does_not_revalidate_the_signed_in_page(people):
    ann = people["ann"]
    client = client_for(ann)
    client.get("/")
    etag = client.get("/")["ETag"]
    client.logout()
    response = client.get("/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and "cat to ann" not in response.content.decode()
    assert response["Cache-Control"] == "no-cache"


def test_a_cached_page_carries_a_working_csrf_token(people):
    bob, note = people["bob"], people["public"]
    client = client_for(bob, enforce_csrf_checks=True)
    client.get("/")
    with stats.measure() as cost:
        page = client.get("/").content
    assert cost.get("page_hits") == 1
    token = _token(page)
    assert token is not None and b"\x00" not in page
    response = client.post(f"/notes/{note.pk}/star/", {"csrfmiddlewaretoken": token.decode(), "next": "/"})
    assert response.status_code == 302
    assert 'aria-pressed="true"' in client.get("/").content.decode()


def test_pages_with_messages_waiting_are_not_served_from_the_cache(people):
    ann, note = people["ann"], people["public"]
    client = client_for(ann)
    _warm(client, "/")
    client.post(f"/notes/{note.pk}/delete/")
    page = client.get("/").content.decode()
    assert "Your note was deleted." in page and "ann in public" not in page


def test_a_render_that_runs_sql_outside_the_cache_is_not_stored(people, sql_by_alias):
    """bob blocked ann: who blocked whom is read from the database, so her profile as bob sees
    it cannot be described by versions and is rendered every time."""
    ann, bob = people["ann"], people["bob"]
    account_services.block(bob, ann)
    client = client_for(bob)
    client.get(f"/{ann.username}/")
    with sql_by_alias() as sql, stats.measure() as cost:
        assert client.get(f"/{ann.username}/").status_code == 200
    assert any(sql.values()) and cost.get("page_hits") is None and cost.get("page_stores") is None
