"""Finding people by name (``/search/?q=``, accounts/search.py): by any prefix of a username or
of a display name's words, whatever the case or accents; never suspended, deactivated or
blocked people; every query answered without a 500; and the lookup is one query over one index."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import moderation, selectors, services
from accounts.models import SearchTerm
from accounts.search import normalize, terms_of

pytestmark = pytest.mark.django_db


def usernames(query: str, viewer=None) -> list[str]:
    from django.contrib.auth.models import AnonymousUser

    return [person.username for person in selectors.people_search(viewer or AnonymousUser(), query).people]


def found_on_page(html: str) -> list[str]:
    return re.findall(r'class="person-username">@(\w+)<', html)


@pytest.fixture
def ada(make_user):
    return make_user("ada_l", display_name="Ada Lovelace", bio="Notes on the analytical engine")


def test_names_become_normalized_terms(ada, make_user):
    assert normalize("  Ｊosé   NÚÑEZ ") == "jose nunez"
    assert terms_of(ada) == {"ada_l", "ada", "l", "ada lovelace", "lovelace"}
    assert set(SearchTerm.objects.filter(person=ada).values_list("term", flat=True)) == terms_of(ada)


@pytest.mark.parametrize("query", ["ada", "ADA", "@ada_l", "Lovel", "lovelace", "ada love", "  ada   LOVE "])
def test_a_person_is_found_by_a_prefix_of_their_username_or_any_word_of_their_name(ada, make_user, query):
    make_user("adam")
    make_user("bob", display_name="Bob Lovelady")
    assert "ada_l" in usernames(query)


def test_accents_and_case_do_not_matter_and_an_exact_name_comes_first(make_user):
    make_user("jose_n", display_name="José Núñez")
    make_user("bobby")
    make_user("bob")
    assert usernames("JOSE nun") == ["jose_n"]
    assert usernames("núñ") == ["jose_n"]
    assert usernames("bob") == ["bob", "bobby"]


def test_renaming_changes_what_finds_a_person(ada):
    services.profile_update(ada, display_name="Augusta King", bio="", location="", website="")
    assert usernames("lovelace") == []
    assert usernames("king") == ["ada_l"]


def test_suspended_deactivated_and_blocked_people_are_never_found(ada, make_user):
    viewer, blocker, blocked = make_user("viewer"), make_user("ada_blocker"), make_user("ada_blocked")
    services.block(blocker, viewer)
    services.block(viewer, blocked)
    assert set(usernames("ada", viewer)) == {"ada_l"}
    assert set(usernames("ada")) == {"ada_l", "ada_blocker", "ada_blocked"}  # nobody blocked a visitor

    moderation.users_suspend([ada.pk])
    assert "ada_l" not in usernames("ada")
    assert not SearchTerm.objects.filter(person=ada).exists()
    moderation.users_unsuspend([ada.pk])
    assert "ada_l" in usernames("ada")

    ada.is_active = False
    ada.save()
    assert "ada_l" not in usernames("ada")


def test_a_search_reads_one_index_in_one_query(ada, make_user, settings):
    for number in range(5):
        make_user(f"ada{number}", display_name=f"Ada Number{number}")
    viewer = make_user("viewer")
    selectors.people_search(viewer, "ada")  # the people and the viewer's blocks are now cached
    with CaptureQueriesContext(connection) as queries:
        found = selectors.people_search(viewer, "ada")
    assert len(found.people) == 6
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    assert "accounts_searchterm" in sql and "JOIN" not in sql.upper()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        # The unique (term, person) index, which SQLite names itself; a range of it, no scan.
        assert plan.startswith("SEARCH accounts_searchterm USING COVERING INDEX"), plan
        assert "(term>? AND term<?)" in plan and "SCAN" not in plan, plan


@pytest.mark.stack
def test_mariadb_answers_a_search_with_a_range_over_the_index(ada, make_user):
    """EXPLAIN of the search on MariaDB: a range over the (term, person) index, read from the
    index alone, with no sort and no other table."""
    for number in range(30):
        make_user(f"zed{number}", display_name=f"Zed Person{number}")
    viewer = make_user("viewer")
    with CaptureQueriesContext(connection) as queries:
        selectors.people_search(viewer, "ada")
    (sql,) = [query["sql"] for query in queries.captured_queries if "accounts_searchterm" in query["sql"]]
    assert "LIKE 'ada%'" in sql
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        columns = [column[0] for column in cursor.description]
        plan = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    assert len(plan) == 1, plan
    row = plan[0]
    assert row["table"] == "accounts_searchterm" and row["type"] == "range", row
    assert row["key"] == "searchterm_term_person", row
    assert "Using index" in (row["Extra"] or "") and "filesort" not in (row["Extra"] or ""), row


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "Type the first letters"),
        ("    ", "Type the first letters"),
        ("@", "Type the first letters"),
        ("\x00\x01", "Type the first letters"),
        ("a" * 101, "longer than any name"),
        ("ada " * 5000, "longer than any name"),
    ],
)
def test_empty_and_overlong_queries_get_a_clear_message(client, ada, query, says):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert found_on_page(response.content.decode()) == []


@pytest.mark.parametrize("query", ["%", "_", "a%", "ada_", "\\", "'; DROP TABLE x; --", "😀", "\U0010ffff", "ａｄａ"])
def test_odd_queries_are_answered_and_match_only_literally(client, ada, make_user, query):
    make_user("zed")
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    found = found_on_page(response.content.decode())
    assert "zed" not in found
    if query == "ａｄａ":
        assert found == ["ada_l"]


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%00ada", "ada&q=bob", "%25%25"])
def test_undecodable_query_strings_are_answered(client, ada, raw):
    assert client.get(f"/search/?q={raw}").status_code == 200


def test_a_long_list_is_capped_and_says_so(client, make_user):
    for number in range(selectors.SEARCH_RESULTS_MAX + 5):
        make_user(f"pat{number:02d}")
    html = client.get("/search/", {"q": "pat"}).content.decode()
    assert len(found_on_page(html)) == selectors.SEARCH_RESULTS_MAX
    assert "type more of the name" in html


def test_result_cards_show_the_button_that_fits(make_user, ada):
    viewer = make_user("viewer")
    friend, fan, idol = (make_user(name, display_name=f"Ada {name}") for name in ("friendly", "fanny", "idolo"))
    services.friend_add(viewer, friend)
    services.friend_add(friend, viewer)
    services.friend_add(fan, viewer)
    services.friend_add(viewer, idol)
    client = Client()
    client.force_login(viewer)
    html = client.get("/search/", {"q": "ada"}).content.decode()
    cards = dict(re.findall(r'@(\w+)</span>.*?<div class="person-actions">(.*?)</div>', html, re.S))
    assert "Become a fan" in cards["ada_l"] and 'action="/friends/ada_l/add/"' in cards["ada_l"]
    assert "Add as friend" in cards["fanny"]
    assert "Friends" in cards["friendly"] and "<form" not in cards["friendly"]
    assert "a fan" in cards["idolo"] and "<form" not in cards["idolo"]
    assert "csrfmiddlewaretoken" in cards["ada_l"]
    # Pressing it comes back to the results, with the person added.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    back = client.post("/friends/ada_l/add/", {"csrfmiddlewaretoken": token, "next": "/search/?q=ada"})
    assert back.status_code == 302 and back["Location"] == "/search/?q=ada"
    assert (
        "a fan"
        in dict(
            re.findall(
                r'@(\w+)</span>.*?<div class="person-actions">(.*?)</div>',
                client.get(back["Location"]).content.decode(),
                re.S,
            )
        )["ada_l"]
    )


def test_photo_name_and_bio_are_on_the_card_and_escaped(client, make_user):
    make_user("mal", display_name="<script>alert(1)</script>", bio="<b>bold</b> bio")
    html = client.get("/search/", {"q": "mal"}).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; bio" in html
    assert re.search(r'<img class="avatar avatar-48" src="[^"]+" alt="" width="48" height="48">', html)
    assert "Log in to add" in html  # a visitor is asked to log in


def test_every_page_has_the_search_box_in_the_top_bar(client, ada):
    for url in ("/", "/public/", "/login/", f"/{ada.username}/"):
        html = client.get(url).content.decode()
        assert re.search(r'<form class="topbar-search" role="search" [^>]*action="/search/">', html), url
    html = client.get("/search/", {"q": "Ada L"}).content.decode()
    assert 'id="topbar-q"' in html and 'value="Ada L"' in html
