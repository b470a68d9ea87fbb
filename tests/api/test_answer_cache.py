"""Whole API answers from the cache (pownce/api/caching.py): a warm timeline is no SQL and one
memcached call; the stored answer is never served once anything it shows or the token behind it
changed; each token gets its own; rate limits still count every request."""

from __future__ import annotations

import gzip
import re
import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts import services as account_services
from cache.stats import stats
from notes import services
from tests.api.wire import IN_PROCESS, oauth_log_in
from tests.conftest import queries_by_alias

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]

PASSWORD = "correct-horse-9"


@pytest.fixture
def ann(person):
    ann = person("ann")
    for n in range(3):
        services.note_create(author=ann, kind="message", audience="public", body=f"ann note {n}")
    return ann


def token_for(username: str) -> str:
    return oauth_log_in(IN_PROCESS, username, PASSWORD).access_token


def get(url: str, token: str | None) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().get(url, headers=headers)


def bodies(response) -> list[str]:
    return [re.sub(r"<[^>]+>", "", status["content"]) for status in response.json()]


@pytest.mark.parametrize(
    "url, signed_in",
    [
        ("/api/v1/timelines/home", True),
        ("/api/v1/timelines/public", True),
        ("/api/v1/timelines/public", False),
        ("/api/v1/accounts/{ann}/statuses", True),
        ("/api/v1/accounts/{ann}/statuses", False),
    ],
)
def test_warm_answer_is_one_memcached_call_and_no_sql(ann, url, signed_in):
    url = url.format(ann=ann.pk)
    token = token_for("ann") if signed_in else None
    first = get(url, token)
    assert first.status_code == 200
    with queries_by_alias() as sql, stats.measure() as cost:
        warm = get(url, token)
    assert warm.status_code == 200
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    assert cost["calls"] == 1
    assert cost.get("api_hits") == 1
    assert warm.content == first.content
    assert warm.headers.get("Link") == first.headers.get("Link")
    assert warm.headers["X-RateLimit-Remaining"] != first.headers["X-RateLimit-Remaining"]


def test_answer_changes_at_once_with_what_it_shows(ann, person):
    bob = person("bob")
    account_services.friend_add(bob, ann)
    token = token_for("ann")
    home = "/api/v1/timelines/home"
    assert bodies(get(home, token)) == ["ann note 2", "ann note 1", "ann note 0"]
    assert get(home, token).status_code == 200  # stored, and served

    note = services.note_create(author=ann, kind="message", audience="public", body="a new one")
    assert bodies(get(home, token))[0] == "a new one"
    services.star_add(user=bob, note_id=note.pk)
    assert get(home, token).json()[0]["favourites_count"] == 1
    account_services.profile_update(ann, display_name="Ann Renamed", bio="", location="", website="")
    assert get(home, token).json()[0]["account"]["display_name"] == "Ann Renamed"
    services.note_delete(user=ann, note_id=note.pk)
    assert "a new one" not in bodies(get(home, token))


def test_each_token_gets_its_own_answer(ann, person):
    person("bob")
    services.note_create(author=ann, kind="message", audience="friends", body="friends only")
    ann_token, bob_token = token_for("ann"), token_for("bob")
    home = "/api/v1/timelines/home"
    assert "friends only" in bodies(get(home, ann_token))
    assert "friends only" in bodies(get(home, ann_token))
    assert "friends only" not in bodies(get(home, bob_token))
    statuses = f"/api/v1/accounts/{ann.pk}/statuses"
    assert "friends only" in bodies(get(statuses, ann_token))
    assert "friends only" in bodies(get(statuses, ann_token))
    assert "friends only" not in bodies(get(statuses, bob_token))
    assert "friends only" not in bodies(get(statuses, None))


def test_stored_answer_is_not_served_once_the_token_or_person_changes(ann):
    token = token_for("ann")
    home = "/api/v1/timelines/home"
    for _ in range(2):
        assert get(home, token).status_code == 200

    row = AccessToken.objects.get(user=ann)
    row.scope = "write"
    row.save()
    assert get(home, token).status_code == 403

    row.scope = "read write follow"
    row.save()
    assert get(home, token).status_code == 200
    ann.is_suspended = True
    ann.save()
    assert get(home, token).status_code == 401

    ann.is_suspended = False
    ann.save()
    assert get(home, token).status_code == 200
    row.delete()  # revoked
    assert get(home, token).status_code == 401


def test_stored_answer_ends_with_the_token(ann):
    token = token_for("ann")
    home = "/api/v1/timelines/home"
    row = AccessToken.objects.get(user=ann)
    row.expires = timezone.now() + timedelta(seconds=2)
    row.save()
    for _ in range(2):
        assert get(home, token).status_code == 200
    deadline = time.monotonic() + 30
    while timezone.now() <= row.expires:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert get(home, token).status_code == 401


def test_rate_limit_counts_stored_answers(settings, ann):
    token = token_for("ann")
    caches["redis"].clear()  # the log-in's own API calls counted against the token
    settings.API_RATE_LIMIT = 3
    home = "/api/v1/timelines/home"
    answers = [get(home, token) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert answers[3].json() == {"error": "Too many requests"}


def test_stored_answer_goes_gzipped_to_a_client_that_takes_gzip(ann):
    token = token_for("ann")
    url = "/api/v1/timelines/home"
    plain = get(url, token)
    assert "Content-Encoding" not in plain.headers
    for accept, encoded in [("gzip, deflate", True), ("deflate, gzip;q=0", False), ("br", False), ("", False)]:
        answer = Client().get(url, headers={"Authorization": f"Bearer {token}", "Accept-Encoding": accept})
        assert answer.status_code == 200 and "Accept-Encoding" in answer.headers["Vary"]
        assert answer.headers.get("Content-Encoding") == ("gzip" if encoded else None)
        assert (gzip.decompress(answer.content) if encoded else answer.content) == plain.content
