"""The friends / fans / fan-of pages, the requests page and the relationship buttons."""

import re

import pytest
from django.test import Client

from accounts import selectors, services
from accounts.models import Block, Fanship

pytestmark = pytest.mark.django_db


def tab_counts(html: str) -> dict[str, int]:
    """The counts shown in the profile tabs, e.g. {"Friends": 2, "Fans": 1, "Fan of": 0}."""
    found = {}
    for match in re.finditer(r"<strong>(\d+)</strong> (Friends?|Fans?)|Fan of <strong>(\d+)</strong>", html):
        if match.group(3) is not None:
            found["Fan of"] = int(match.group(3))
        else:
            found[match.group(2).rstrip("s")] = int(match.group(1))
    return found


def test_pages_list_the_right_people_with_counts(client, alice, bob, carol, make_user, befriend):
    dave = make_user("dave")
    befriend(alice, bob)
    services.friend_add(carol, alice)  # carol is alice's fan
    services.friend_add(alice, dave)  # alice is dave's fan

    friends = client.get("/alice/friends/").content.decode()
    fans = client.get("/alice/fans/").content.decode()
    fan_of = client.get("/alice/fan-of/").content.decode()

    for page in (friends, fans, fan_of):
        assert tab_counts(page) == {"Friend": 1, "Fan": 1, "Fan of": 1}
    assert "@bob" in friends and "@carol" not in friends and "@dave" not in friends
    assert "@carol" in fans and "@bob" not in fans
    assert "@dave" in fan_of and "@bob" not in fan_of


def test_counts_follow_transitions_on_the_page(client, alice, bob):
    services.friend_add(bob, alice)
    assert tab_counts(client.get("/alice/fans/").content.decode()) == {"Friend": 0, "Fan": 1, "Fan of": 0}
    services.friend_add(alice, bob)
    assert tab_counts(client.get("/alice/fans/").content.decode()) == {"Friend": 1, "Fan": 0, "Fan of": 0}
    services.friend_remove(alice, bob)
    assert tab_counts(client.get("/alice/fans/").content.decode()) == {"Friend": 0, "Fan": 1, "Fan of": 0}
    services.block(alice, bob)
    assert tab_counts(client.get("/alice/fans/").content.decode()) == {"Friend": 0, "Fan": 0, "Fan of": 0}


def test_people_pages_page_by_before(client, alice, make_user, monkeypatch):
    monkeypatch.setattr(selectors, "PEOPLE_PAGE_SIZE", 2)
    fans = [make_user(f"fan{i}") for i in range(3)]
    for fan in fans:
        services.friend_add(fan, alice)
    first = client.get("/alice/fans/").content.decode()
    assert "@fan2" in first and "@fan1" in first and "@fan0" not in first
    assert f"?before={fans[1].pk}" in first
    second = client.get(f"/alice/fans/?before={fans[1].pk}").content.decode()
    assert "@fan0" in second and "@fan1" not in second and "?before=" not in second
    assert client.get("/alice/fans/?before=nonsense").status_code == 200


def test_usernames_are_found_in_any_case_and_unknown_ones_404(client, alice):
    assert client.get("/ALICE/friends/").status_code == 200
    assert client.get("/nobody_here/friends/").status_code == 404
    assert client.get("/notes/friends/").status_code == 404


def test_add_accept_and_remove_through_the_buttons(alice, bob, as_user):
    alice_browser, bob_browser = as_user(alice), as_user(bob)

    response = alice_browser.post("/friends/bob/add/", {"next": "/bob/fans/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/bob/fans/"
    assert "You are now a fan of bob" in response.content.decode()

    requests_page = bob_browser.get("/friends/requests/").content.decode()
    assert "@alice" in requests_page and "/friends/alice/add/" in requests_page

    response = bob_browser.post("/friends/alice/add/", follow=True)
    assert "You and alice are now friends" in response.content.decode()
    assert selectors.are_friends(alice, bob)
    assert "@alice" not in bob_browser.get("/friends/requests/").content.decode()

    alice_browser.post("/friends/bob/remove/")
    assert not selectors.are_friends(alice, bob)
    assert Fanship.objects.filter(fan=bob, idol=alice).exists()


def test_ignore_through_the_requests_page(alice, bob, as_user):
    services.friend_add(alice, bob)
    browser = as_user(bob)
    assert browser.post("/friends/alice/ignore/", {"next": "/friends/requests/"}).status_code == 302
    assert "@alice" not in browser.get("/friends/requests/").content.decode()
    assert selectors.fan_ids(bob) == [alice.pk]


def test_blocked_person_gets_a_clear_error_when_adding(alice, bob, as_user):
    services.block(alice, bob)
    response = as_user(bob).post("/friends/alice/add/", follow=True)
    assert "aren&#x27;t accepting requests from you" in response.content.decode()
    assert not Fanship.objects.exists()


def test_block_and_unblock_through_the_buttons(alice, bob, as_user, befriend):
    befriend(alice, bob)
    browser = as_user(alice)
    browser.post("/friends/bob/block/")
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    assert not Fanship.objects.exists()
    assert "@bob" in browser.get("/friends/blocked/").content.decode()
    assert "/friends/bob/unblock/" in browser.get("/bob/friends/").content.decode()
    browser.post("/friends/bob/unblock/")
    assert not Block.objects.exists()


def test_profile_buttons_follow_the_relationship(alice, bob, as_user, client):
    assert "Sign up to add alice" in client.get("/alice/friends/").content.decode()
    assert "Edit profile" in as_user(alice).get("/alice/friends/").content.decode()
    bob_browser = as_user(bob)
    assert "/friends/alice/add/" in bob_browser.get("/alice/friends/").content.decode()
    services.friend_add(bob, alice)
    assert "Stop being a fan" in bob_browser.get("/alice/friends/").content.decode()
    alice_view = as_user(alice).get("/bob/friends/").content.decode()
    assert "Add back as friend" in alice_view and "/friends/bob/ignore/" in alice_view


def test_actions_need_post_login_and_csrf(alice, bob):
    anonymous = Client()
    assert anonymous.post("/friends/bob/add/")["Location"].startswith("/login/")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get("/friends/bob/add/").status_code == 405
    assert browser.post("/friends/bob/add/").status_code == 403
    assert browser.post("/friends/bob/block/").status_code == 403
    assert not Fanship.objects.exists() and not Block.objects.exists()


def test_next_never_leads_off_site(alice, bob, as_user):
    response = as_user(alice).post("/friends/bob/add/", {"next": "https://evil.example/"})
    assert response["Location"] == "/bob/"


def test_action_on_unknown_person_is_404(alice, as_user):
    assert as_user(alice).post("/friends/ghost_user/add/").status_code == 404


def test_row_buttons_come_back_to_their_own_page(alice, bob, carol, as_user):
    services.friend_add(bob, alice)
    services.block(alice, carol)
    browser = as_user(alice)
    requests_page = browser.get("/friends/requests/").content.decode()
    for action in ("add", "ignore"):
        assert f'action="/friends/bob/{action}/"' in requests_page
    assert requests_page.count('name="next" value="/friends/requests/"') == 2
    blocked_page = browser.get("/friends/blocked/").content.decode()
    assert 'action="/friends/carol/unblock/"' in blocked_page
    assert blocked_page.count('name="next" value="/friends/blocked/"') == 1
    response = browser.post("/friends/carol/unblock/", {"next": "/friends/blocked/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/friends/blocked/"
    assert "You haven't blocked anyone." in response.content.decode()
