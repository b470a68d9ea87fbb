"""Sets: named groups of the owner's friends, edited by the owner only."""

import pytest
from django.core.exceptions import ValidationError

from accounts import selectors, services
from accounts.models import FriendSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_with_friends(alice, bob, carol, befriend):
    befriend(alice, bob)
    befriend(alice, carol)
    return alice


def test_create_a_set_of_friends_on_the_page(alice_with_friends, bob, carol, as_user):
    browser = as_user(alice_with_friends)
    response = browser.post("/sets/", {"name": "  The   Band ", "members": [bob.pk, carol.pk]})
    assert response.status_code == 302
    friend_set = FriendSet.objects.get(owner=alice_with_friends)
    assert friend_set.name == "The Band"
    assert set(selectors.friend_set_member_ids(friend_set)) == {bob.pk, carol.pk}
    page = browser.get("/sets/").content.decode()
    assert "The Band" in page and "2 members" in page


def test_a_fan_who_is_not_a_friend_cannot_be_put_in_a_set(alice, make_user, as_user):
    fan = make_user("justafan")
    services.friend_add(fan, alice)
    response = as_user(alice).post("/sets/", {"name": "Fans", "members": [fan.pk]})
    assert response.status_code == 200
    assert "Only your friends can be in a set" in response.content.decode()
    assert not FriendSet.objects.exists()


def test_service_names_the_people_who_are_not_friends(alice, make_user):
    stranger = make_user("stranger")
    with pytest.raises(ValidationError, match="not your friend: stranger"):
        services.friend_set_create(alice, name="Nope", member_ids=[stranger.pk])
    assert not FriendSet.objects.exists()


def test_set_names_must_be_unique_per_owner_in_any_case(alice_with_friends, bob, as_user):
    services.friend_set_create(alice_with_friends, name="Family")
    response = as_user(alice_with_friends).post("/sets/", {"name": "FAMILY", "members": [bob.pk]})
    assert "You already have a set called" in response.content.decode()
    assert FriendSet.objects.count() == 1
    # Someone else may use the same name.
    services.friend_set_create(bob, name="Family")


def test_blank_name_is_a_form_error(alice, as_user):
    response = as_user(alice).post("/sets/", {"name": "   "})
    assert response.status_code == 200
    assert b'class="error"' in response.content
    assert not FriendSet.objects.exists()


def test_rename_and_change_members(alice_with_friends, bob, carol, as_user):
    friend_set = services.friend_set_create(alice_with_friends, name="Band", member_ids=[bob.pk])
    browser = as_user(alice_with_friends)
    assert browser.get(f"/sets/{friend_set.pk}/").status_code == 200
    response = browser.post(f"/sets/{friend_set.pk}/", {"name": "Old band", "members": [carol.pk]})
    assert response.status_code == 302
    friend_set.refresh_from_db()
    assert friend_set.name == "Old band"
    assert selectors.friend_set_member_ids(friend_set) == [carol.pk]


def test_failed_edit_changes_nothing_and_keeps_the_input(alice_with_friends, bob, make_user, as_user):
    friend_set = services.friend_set_create(alice_with_friends, name="Band", member_ids=[bob.pk])
    stranger = make_user("stranger")
    response = as_user(alice_with_friends).post(
        f"/sets/{friend_set.pk}/", {"name": "Renamed", "members": [stranger.pk]}
    )
    assert response.status_code == 200
    assert 'value="Renamed"' in response.content.decode()
    friend_set.refresh_from_db()
    assert friend_set.name == "Band"
    assert selectors.friend_set_member_ids(friend_set) == [bob.pk]


def test_delete_a_set(alice_with_friends, as_user):
    friend_set = services.friend_set_create(alice_with_friends, name="Band")
    browser = as_user(alice_with_friends)
    assert browser.get(f"/sets/{friend_set.pk}/delete/").status_code == 405
    assert browser.post(f"/sets/{friend_set.pk}/delete/").status_code == 302
    assert not FriendSet.objects.exists()


def test_other_people_get_404_for_a_set(alice_with_friends, bob, as_user):
    friend_set = services.friend_set_create(alice_with_friends, name="Secret club", member_ids=[bob.pk])
    browser = as_user(bob)  # even a member of the set
    assert browser.get(f"/sets/{friend_set.pk}/").status_code == 404
    assert browser.post(f"/sets/{friend_set.pk}/", {"name": "Hijacked"}).status_code == 404
    assert browser.post(f"/sets/{friend_set.pk}/delete/").status_code == 404
    friend_set.refresh_from_db()
    assert friend_set.name == "Secret club"
    assert "Secret club" not in browser.get("/sets/").content.decode()


def test_sets_need_a_login(client):
    response = client.get("/sets/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
