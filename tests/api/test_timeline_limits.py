"""Timelines' ``limit`` as Mastodon's: 20 by default, up to 40 (two cached stream pages joined),
anything else brought within bounds rather than refused; ``Link`` headers page on from the
answer actually given; a warm answer of 40 still costs no SQL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from notes import services
from notes.selectors import PAGE_SIZE
from tests.api.wire import IN_PROCESS, oauth_log_in
from tests.conftest import queries_by_alias

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
NOTES = 45


@pytest.fixture
def ann_api(person, monkeypatch) -> tuple[Client, list[int]]:
    """Ann with NOTES public notes (oldest first) and a client holding her token."""
    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 1000)  # the fixture posts as fast as it can
    ann = person("ann")
    token = oauth_log_in(IN_PROCESS, "ann", "correct-horse-9").access_token
    posted = [
        services.note_create(author=ann, kind="message", audience="public", body=f"note {n}").pk for n in range(NOTES)
    ]
    return Client(headers={"Authorization": f"Bearer {token}"}), posted


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [int(status["id"]) for status in answer.json()]


def links(answer) -> dict[str, dict[str, str]]:
    """The ``Link`` header's targets by rel, as their query parameters."""
    found = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', answer.get("Link", "")):
        found[rel] = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    return found


@pytest.mark.parametrize("timeline", ["home", "public"])
def test_limit_up_to_40_joins_two_stream_pages_and_pages_on(ann_api, timeline):
    client, posted = ann_api
    newest_first = posted[::-1]
    path = f"/api/v1/timelines/{timeline}"
    assert 40 > PAGE_SIZE  # the answer below spans two stream pages
    first = client.get(path, {"limit": 40})
    assert ids(first) == newest_first[:40]
    assert links(first) == {
        "next": {"limit": "40", "max_id": str(newest_first[39])},
        "prev": {"limit": "40", "min_id": str(newest_first[0])},
    }
    rest = client.get(path, links(first)["next"])
    assert ids(rest) == newest_first[40:]
    assert "next" not in links(rest)
    assert ids(client.get(path, {"limit": 25, "max_id": newest_first[4]})) == newest_first[5:30]
    assert ids(client.get(path, {"limit": 40, "min_id": posted[1]})) == newest_first[3:43]
    assert ids(client.get(path, {"limit": 40, "since_id": posted[30]})) == newest_first[:14]


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, 20), ("40", 40), ("41", 40), ("1000", 40), ("0", 1), ("-3", 1), ("abc", 20), ("1.5", 20), ("", 20)],
)
def test_a_limit_outside_bounds_is_brought_within_them(ann_api, given, expected):
    client, _ = ann_api
    answer = client.get("/api/v1/timelines/public", {} if given is None else {"limit": given})
    assert len(ids(answer)) == expected
    assert links(answer)["next"]["limit"] == str(expected)


def test_a_warm_answer_of_40_costs_no_sql(ann_api):
    client, posted = ann_api
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public"):
        assert len(ids(client.get(path, {"limit": 40}))) == 40
    with queries_by_alias() as queries:
        home = client.get("/api/v1/timelines/home", {"limit": 40})
        public = client.get("/api/v1/timelines/public", {"limit": 40})
    assert ids(home) == ids(public) == posted[::-1][:40]
    assert {alias: sql for alias, sql in queries.items() if sql} == {}
