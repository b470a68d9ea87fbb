"""The bench-only views and cost headers (demo/bench.py): off by default, and when on, each
response says how many SQL queries and memcached calls it cost."""

from contextlib import ExitStack

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from accounts.models import User
from cache.stats import stats
from notes import services

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]

# The URLs with BENCH_VIEWS on (pownce/urls.py adds the same include).
urlpatterns = [path("bench/", include("demo.bench")), path("", include("pownce.urls"))]


@pytest.fixture
def bench_on(settings):
    settings.BENCH_VIEWS = True
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = ["demo.bench.CostHeadersMiddleware", *settings.MIDDLEWARE]


@pytest.fixture
def reader(client):
    user = User.objects.create_user("benchreader", "benchreader@example.com", "a-long-password-1")
    client.force_login(user)
    return user


def test_bench_views_and_headers_are_off_by_default(client, settings):
    assert settings.BENCH_VIEWS is False
    response = client.get("/bench/hello")
    assert response.status_code == 404
    assert "X-Pownce-SQL" not in response


def test_hello_costs_nothing(client, bench_on):
    response = client.get("/bench/hello")
    assert response.status_code == 200
    assert (response["X-Pownce-SQL"], response["X-Pownce-Cache-Calls"]) == ("0", "0")


def cost(client, path: str, by_alias: dict | None = None):
    """GET ``path``; return the response and what it cost, counted independently of the headers
    (and, into ``by_alias`` if given, the queries of each database alias)."""
    with ExitStack() as stack:
        captured = {alias: stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections}
        with stats.measure() as delta:
            response = client.get(path)
    if by_alias is not None:
        by_alias.update({alias: len(c.captured_queries) for alias, c in captured.items()})
    return response, sum(len(c.captured_queries) for c in captured.values()), delta.get("calls", 0)


def test_hello_auth_names_the_user_and_its_headers_tell_the_cost(client, bench_on, reader):
    client.get("/bench/hello-auth")  # fills the user's cache entry
    response, queries, calls = cost(client, "/bench/hello-auth")
    assert response.content.decode().strip() == "benchreader"
    assert response["X-Pownce-SQL"] == str(queries)
    assert response["X-Pownce-Cache-Calls"] == str(calls)
    assert calls >= 1  # the user comes from the object cache


def test_home_orm_runs_sql_for_its_notes_and_counts(client, bench_on, reader):
    for number in range(3):
        services.note_create(author=reader, kind="message", audience="public", body=f"note {number}")
    client.get("/bench/home-orm")  # the reader's cached user refilled after the log-in wrote it
    by_alias = {}
    response, queries, calls = cost(client, "/bench/home-orm", by_alias)
    assert response.status_code == 200
    assert response.content.count(b'class="note note-kind-message"') == 3
    # The inbox, reply counts, star counts, the reader's stars, the form's sets and friends.
    assert int(response["X-Pownce-SQL"]) == queries >= 6
    # Split by where the queries went: the primary alias and every other (replica) alias.
    primary = by_alias.pop("default")
    assert response["X-Pownce-SQL-Primary"] == str(primary)
    assert response["X-Pownce-SQL-Replica"] == str(sum(by_alias.values()))
    # Only the logged-in user comes from the object cache (warm: one call); nothing of the page.
    assert response["X-Pownce-Cache-Calls"] == str(calls) == "1"


def test_home_orm_needs_a_login(client, bench_on):
    response = client.get("/bench/home-orm")
    assert response.status_code == 302
