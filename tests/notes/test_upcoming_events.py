"""Upcoming events on home: the soonest events sent to you (or by you) that have not started,
read through the cache (the page stays cached and costs no SQL when warm), changed at once by
a new event, a hidden or deleted one, a block — and by time passing, when an event starts."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Block
from cache.stats import stats
from notes import moderation, services
from notes.selectors import UPCOMING_SHOWN
from tests.notes.conftest import befriend


@pytest.fixture
def town(make_user):
    """ann is friends with bob; cat is a stranger to both. ann reads her home signed in."""
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    befriend(ann, bob)
    client = Client()
    client.force_login(ann)
    return ann, bob, cat, client


def event(author, name: str, *, days: float = 1, audience: str = "friends", **fields):
    return services.note_create(
        author=author,
        kind="event",
        audience=audience,
        event_name=name,
        event_start=timezone.now() + dt.timedelta(days=days),
        **fields,
    )


def upcoming(client) -> list[str]:
    """The names in the home page's "Upcoming events" box, in order."""
    html = client.get("/").content.decode()
    box = re.search(r'<section class="card aside-card upcoming-events".*?</section>', html, re.S)
    return re.findall(r'class="upcoming-name"[^>]*>([^<]+)</a>', box.group(0)) if box else []


def test_events_sent_to_you_soonest_first_and_capped(town):
    ann, bob, cat, client = town
    event(bob, "In three days", days=3, event_place="The hall")
    event(bob, "Tomorrow", days=1)
    event(ann, "My own, in two days", days=2)
    event(bob, "Yesterday", days=-1)
    event(cat, "A stranger's public party", days=1, audience="public")  # public, but not sent to ann
    event(bob, "Just for cat", days=1, audience="public")  # bob's public events reach his fans: ann
    services.note_create(author=bob, kind="message", audience="friends", body="not an event")
    assert upcoming(client) == ["Tomorrow", "Just for cat", "My own, in two days", "In three days"]
    for day in range(4, 10):
        event(bob, f"Day {day}", days=day)
    names = upcoming(client)
    assert len(names) == UPCOMING_SHOWN and names[-1] == "Day 4"
    box = client.get("/?show=links").content.decode()
    assert "Upcoming events" in box, "every home filter shows it"


def test_times_are_in_the_readers_zone(town):
    ann, bob, _, client = town
    ann.time_zone = "Asia/Tokyo"
    ann.save()
    services.note_create(
        author=bob,
        kind="event",
        audience="friends",
        event_name="Tea",
        event_start=dt.datetime(2031, 4, 1, 1, 0, tzinfo=dt.UTC),
    )
    html = client.get("/").content.decode()
    assert (
        '<time class="upcoming-when" datetime="2031-04-01T10:00:00+09:00">Tue 1 Apr 2031, 10:00 JST (Asia/Tokyo)'
        in (html)
    )


def test_no_box_without_upcoming_events(town):
    *_, client = town
    assert "Upcoming events" not in client.get("/").content.decode()


def test_new_hidden_deleted_and_blocked_events_change_the_cached_home_at_once(town, make_user):
    ann, bob, cat, client = town
    first = event(bob, "First", days=1)
    assert upcoming(client) == ["First"]
    second = event(bob, "Second", days=2)
    assert upcoming(client) == ["First", "Second"]
    moderation.notes_hide([first.pk])
    assert upcoming(client) == ["Second"]
    moderation.notes_unhide([first.pk])
    assert upcoming(client) == ["First", "Second"]
    services.note_delete(user=bob, note_id=second.pk)
    assert upcoming(client) == ["First"]
    Block.objects.create(blocker=ann, blocked=bob)
    assert upcoming(client) == []


def test_an_event_drops_out_when_it_starts(town):
    """The cached home is not served past the start of its soonest event."""
    ann, bob, _, client = town
    starts = time.time() + 3
    services.note_create(
        author=bob,
        kind="event",
        audience="friends",
        event_name="Starting soon",
        event_start=dt.datetime.fromtimestamp(starts, dt.UTC),
    )
    event(bob, "Later", days=1)
    assert upcoming(client) == ["Starting soon", "Later"] and time.time() < starts
    deadline = starts + 15
    while "Starting soon" in upcoming(client):
        assert time.time() < deadline, "the event stayed after it started"
    assert time.time() >= starts, "it left before it started"
    assert upcoming(client) == ["Later"]


@pytest.mark.stack  # the session is a query of its own on the embedded settings
def test_a_warm_home_with_upcoming_events_runs_no_sql(town, sql_by_alias):
    ann, bob, _, client = town
    for day in range(1, 8):
        event(bob, f"Day {day}", days=day)
    assert len(upcoming(client)) == UPCOMING_SHOWN  # fills the cache and stores the page
    with sql_by_alias() as sql, stats.measure() as cost:
        response = client.get("/")
    assert response.status_code == 200 and "Day 5" in response.content.decode()
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    assert cost.get("page_hits") == 1
    # The page gone, the values under it still cached: rendered anew, still without SQL.
    with sql_by_alias() as sql, stats.measure() as cost:
        response = client.get("/?show=all")
    assert cost.get("page_misses") == 1 and "Day 5" in response.content.decode()
    assert {alias: queries for alias, queries in sql.items() if queries} == {}


@pytest.mark.stack
def test_a_warm_home_with_upcoming_events_is_one_memcached_call(town):
    ann, bob, _, client = town
    event(bob, "Picnic", days=2)
    assert upcoming(client) == ["Picnic"]
    with stats.measure() as cost:
        assert "Picnic" in client.get("/").content.decode()
    assert cost["calls"] == 1 and cost.get("page_hits") == 1
