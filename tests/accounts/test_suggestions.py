"""People suggested to a person (accounts/suggestions.py): friends of friends by mutual friends,
people active on the same notes, popular people; found by the worker and kept, read by pages
from the cache with no SQL when warm, and never someone already added, blocked or suspended."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts import moderation, services, suggestions
from accounts.models import Suggestion
from cache.stats import stats
from notes import services as note_services
from tests.conftest import queries_by_alias

pytestmark = pytest.mark.django_db


def named(found) -> list[str]:
    return [suggestion.person.username for suggestion in found]


def page_sql(sql: dict[str, list[str]]) -> list[str]:
    """The queries a request ran, but the session's: embedded, sessions have no Redis in front."""
    return [query for queries in sql.values() for query in queries if "django_session" not in query]


def suggested_on(html: str) -> list[str]:
    section = re.search(r'<section class="card suggestions".*?</section>', html, re.S)
    return re.findall(r'class="person-username">@(\w+)<', section.group(0)) if section else []


@pytest.fixture
def people(make_user, befriend):
    """ann's friends are bob and cat; bob's and cat's friends include dan (2 mutual) and eve (1)."""
    ann, bob, cat, dan, eve = (make_user(name) for name in ("ann", "bob", "cat", "dan", "eve"))
    befriend(ann, bob)
    befriend(ann, cat)
    befriend(bob, dan)
    befriend(cat, dan)
    befriend(bob, eve)
    return ann, bob, cat, dan, eve


def test_friends_of_friends_come_ranked_by_mutual_friends(people):
    ann, *_ = people
    assert [(reason, weight) for _, reason, weight in _kept(ann)] == [("friends", 2), ("friends", 1)]
    assert named(suggestions.suggestions_for(ann))[:2] == ["dan", "eve"]
    assert suggestions.suggestions_for(ann)[0].why == "2 mutual friends"


def _kept(user):
    suggestions.suggestions_refresh(user.pk)
    return list(
        Suggestion.objects.filter(for_user=user).order_by("rank").values_list("person__username", "reason", "weight")
    )


def test_people_on_the_same_notes_are_suggested(make_user):
    ann, bob, cat, author = make_user("ann"), make_user("bob"), make_user("cat"), make_user("author")
    first = note_services.note_create(author=author, kind="message", audience="public", body="one")
    second = note_services.note_create(author=author, kind="message", audience="public", body="two")
    note_services.star_add(user=ann, note_id=first.pk)
    note_services.reply_create(author=ann, note_id=second.pk, body="me too")
    note_services.star_add(user=bob, note_id=first.pk)
    note_services.reply_create(author=bob, note_id=second.pk, body="and me")
    note_services.star_add(user=cat, note_id=second.pk)
    kept = _kept(ann)
    assert [name for name, reason, _ in kept if reason == "same_notes"] == ["bob", "cat"]
    assert dict((name, weight) for name, _, weight in kept)["bob"] == 2


def test_popular_people_are_suggested_to_everyone_even_a_newcomer(make_user, befriend):
    star, fans = make_user("star"), [make_user(f"fan{number}") for number in range(3)]
    for fan in fans:
        services.friend_add(fan, star)
    newcomer = make_user("newcomer")
    assert suggestions.popular_refresh() >= 1
    found = suggestions.suggestions_for(newcomer)
    assert named(found)[0] == "star" and found[0].reason == "popular"
    assert found[0].why == "Popular: added by 3 people"


def test_nobody_added_blocked_or_suspended_is_ever_suggested(people, make_user):
    ann, bob, cat, dan, eve = people
    suggestions.suggestions_refresh(ann.pk)
    suggestions.popular_refresh()
    assert "dan" in named(suggestions.suggestions_for(ann))
    assert not {"ann", "bob", "cat"} & set(named(suggestions.suggestions_for(ann)))
    # Read again at once, before any refresh of ann's list: the read leaves them out by itself.
    services.block(eve, ann)
    moderation.users_suspend([dan.pk])
    stale = set(Suggestion.objects.filter(for_user=ann).values_list("person__username", flat=True))
    assert {"dan"} <= stale  # the kept list still names dan
    assert not {"dan", "eve"} & set(named(suggestions.suggestions_for(ann)))


def test_someone_just_added_leaves_the_suggestions_at_once(people, settings):
    ann, *_ = people
    suggestions.suggestions_refresh(ann.pk)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # no refresh runs
    dan = next(s.person for s in suggestions.suggestions_for(ann) if s.person.username == "dan")
    services.friend_add(ann, dan)
    assert "dan" not in named(suggestions.suggestions_for(ann))


def test_a_change_of_fanships_queues_a_refresh_for_both_people(make_user, settings):
    from django_tasks import default_task_backend

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    ann, bob = make_user("ann"), make_user("bob")
    default_task_backend.clear()
    services.friend_add(ann, bob)
    services.friend_remove(ann, bob)
    services.block(ann, bob)  # no fanship left: nothing to refresh
    queued = [list(r.args) for r in default_task_backend.results if r.task.name == "people_suggestions_refresh"]
    assert sorted(queued) == sorted([[ann.pk], [bob.pk]] * 2)


def test_stars_and_replies_queue_a_refresh_at_most_once_a_while(make_user, settings):
    from django_tasks import default_task_backend

    ann, author = make_user("ann"), make_user("author")
    notes = [note_services.note_create(author=author, kind="message", audience="public", body=f"{n}") for n in range(3)]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    default_task_backend.clear()
    for note in notes:
        note_services.star_add(user=ann, note_id=note.pk)
    note_services.reply_create(author=ann, note_id=notes[0].pk, body="hi")
    queued = [list(r.args) for r in default_task_backend.results if r.task.name == "people_suggestions_refresh"]
    assert queued == [[ann.pk]]


def test_reading_suggestions_is_two_cache_calls_and_no_sql_when_warm(people):
    ann, *_ = people
    suggestions.suggestions_refresh(ann.pk)
    cold = suggestions.suggestions_for(ann)
    with queries_by_alias() as sql, stats.measure() as cost:
        warm = suggestions.suggestions_for(ann)
    assert named(warm) == named(cold) and warm
    assert page_sql(sql) == [] and cost["calls"] == 2


def test_a_cold_read_is_one_indexed_query_for_the_kept_lists_no_join(people, sql_by_alias):
    from django.core.cache import caches

    ann, *_ = people
    suggestions.suggestions_refresh(ann.pk)
    caches["default"].clear()
    with sql_by_alias() as sql:
        suggestions.suggestions_for(ann)
    kept = [query for query in page_sql(sql) if "accounts_suggestion" in query]
    assert len(kept) == 1 and "JOIN" not in kept[0].upper()
    assert "accounts_fanship" not in kept[0]


def test_a_newcomers_home_shows_suggestions_and_stays_a_warm_page(people, sql_by_alias):
    ann, *_ = people
    suggestions.suggestions_refresh(ann.pk)
    client = Client()
    client.force_login(ann)
    assert suggested_on(client.get("/").content.decode())[:2] == ["dan", "eve"]
    with sql_by_alias() as sql, stats.measure() as cost:
        html = client.get("/").content.decode()
    assert page_sql(sql) == [] and cost.get("page_hits") == 1
    assert "People you may know" in html and 'action="/friends/dan/add/"' in html
    # Adding dan from the card: he leaves the (cached) home's suggestions at once.
    services.friend_add(ann, Suggestion.objects.get(for_user=ann, person__username="dan").person)
    assert "dan" not in suggested_on(client.get("/").content.decode())


def test_someone_who_added_many_people_and_has_notes_sees_no_suggestions(make_user):
    reader, popular = make_user("reader"), make_user("popular")
    for number in range(suggestions.NEWCOMER_ADDED):
        idol = make_user(f"idol{number}")
        services.friend_add(reader, idol)
        services.friend_add(idol, popular)
    note_services.note_create(author=reader, kind="message", audience="public", body="mine")
    suggestions.popular_refresh()
    client = Client()
    client.force_login(reader)
    assert suggested_on(client.get("/").content.decode()) == []
    assert suggested_on(client.get("/people/").content.decode()) == ["popular"]


def test_the_find_people_page_lists_suggestions_with_buttons_and_is_a_warm_page(people, sql_by_alias):
    ann, bob, cat, dan, eve = people
    services.friend_add(eve, ann)  # eve added ann: adding her back makes them friends
    suggestions.suggestions_refresh(ann.pk)
    client = Client()
    client.force_login(ann)
    html = client.get("/people/").content.decode()
    assert suggested_on(html)[:2] == ["dan", "eve"]
    assert re.search(r"@eve</span>.*?Add back as friend", html, re.S)
    assert 'role="search"' in html and "Find more people" not in html
    with sql_by_alias() as sql, stats.measure() as cost:
        client.get("/people/")
    assert page_sql(sql) == [] and cost.get("page_hits") == 1
    assert Client().get("/people/").status_code == 302  # a visitor is asked to log in
