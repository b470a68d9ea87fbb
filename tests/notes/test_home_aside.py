"""Home's side column: the reader's photo, counts and waiting friend requests, read in home's own
cache batches — a warm home still costs no SQL and one memcached call, and the column changes at
once when a request arrives or is answered."""

import re

import pytest
from django.test import Client

from accounts import services as account_services
from accounts.profiles import SIDE_REQUESTS_SHOWN
from cache.stats import stats
from notes import streams
from tests.notes.conftest import befriend

pytestmark = pytest.mark.stack


@pytest.fixture
def ann(make_user, send_note):
    """ann: friends with bob, fan of cat, two notes, and dan and eve waiting for her answer."""
    ann = make_user("ann", display_name="Ann Archer")
    bob, cat = make_user("bob"), make_user("cat")
    befriend(ann, bob)
    account_services.friend_add(ann, cat)
    for name in ("dan", "eve"):
        account_services.friend_add(make_user(name, display_name=f"{name.title()} Waiting"), ann)
    send_note(ann, body="one")
    send_note(ann, body="two", audience="friends")
    return ann


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def side(html: str) -> str:
    return re.search(r'<aside class="home-aside".*?</aside>', html, re.S).group(0)


def test_side_column_shows_the_reader_and_waiting_requests(ann):
    column = side(signed_in(ann).get("/").content.decode())
    assert "Ann Archer" in column and "@ann" in column
    counts = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", column))
    assert "2 Notes" in counts and "1 Friend" in counts and "Fan of 1" in counts and "2 Fans" in counts
    assert "Friend requests 2" in counts
    assert "Dan Waiting" in column and "Eve Waiting" in column
    assert column.count(">Accept</button>") == 2


def test_warm_home_with_its_side_column_costs_no_sql_and_one_memcached_call(ann, sql_by_alias):
    client = signed_in(ann)
    first = client.get("/")
    assert "Dan Waiting" in side(first.content.decode())
    with sql_by_alias() as sql, stats.measure() as cost:
        warm = client.get("/")
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    assert cost["calls"] == 1 and cost.get("page_hits") == 1
    assert "Dan Waiting" in side(warm.content.decode())


def test_the_side_column_adds_no_cache_call_to_a_home_render(ann, sql_by_alias):
    streams.home_page(ann, side=True)  # fills the lists and objects
    with sql_by_alias() as sql, stats.measure() as cost:
        home = streams.home_page(ann, side=True)
    assert {alias: queries for alias, queries in sql.items() if queries} == {}
    assert cost["calls"] == 3  # lists; notes, counts and people; what the notes point at
    assert home.own.counts.pending == 2 and [person.username for person in home.own.requests] == ["eve", "dan"]


def test_side_column_changes_at_once_when_a_request_arrives_or_is_answered(ann, make_user):
    client = signed_in(ann)
    client.get("/")
    assert "Friend requests" in side(client.get("/").content.decode())

    fay = make_user("fay", display_name="Fay Newcomer")
    account_services.friend_add(fay, ann)
    column = side(client.get("/").content.decode())
    assert "Fay Newcomer" in column and "See all" not in column  # three fit

    account_services.friend_add(make_user("gus", display_name="Gus Later"), ann)
    column = side(client.get("/").content.decode())
    assert column.count(">Accept</button>") == SIDE_REQUESTS_SHOWN
    assert "See all 4 requests" in column

    response = client.post("/friends/gus/add/", {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    column = re.sub(r"<[^>]+>", "", side(client.get("/").content.decode()))
    assert "Gus Later" not in column and "2 Friends" in re.sub(r"\s+", " ", column)
