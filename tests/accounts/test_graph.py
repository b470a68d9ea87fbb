"""Fans and friends as Pownce had them: adding makes you a fan, adding back makes friends."""

import pytest
from django.core.exceptions import ValidationError

from accounts import profiles, selectors, services
from accounts.models import Block, Fanship, FriendSet

pytestmark = pytest.mark.django_db


def counts(user):
    return selectors.people_counts(user)


def test_adding_someone_makes_you_their_fan_and_a_pending_request(alice, bob):
    assert services.friend_add(alice, bob) is False

    assert selectors.fan_ids(bob) == [alice.pk]
    assert selectors.fan_of_ids(alice) == [bob.pk]
    assert selectors.friend_ids(alice) == selectors.friend_ids(bob) == []
    assert selectors.pending_request_ids(bob) == [alice.pk]
    assert selectors.pending_request_ids(alice) == []
    assert counts(bob) == selectors.PeopleCounts(friends=0, fans=1, fan_of=0, pending=1)
    assert counts(alice) == selectors.PeopleCounts(friends=0, fans=0, fan_of=1, pending=0)


def test_adding_back_makes_friends_and_empties_fan_lists(alice, bob):
    services.friend_add(alice, bob)
    assert services.friend_add(bob, alice) is True

    assert selectors.friend_ids(alice) == [bob.pk]
    assert selectors.friend_ids(bob) == [alice.pk]
    assert selectors.fan_ids(alice) == selectors.fan_ids(bob) == []
    assert selectors.fan_of_ids(alice) == selectors.fan_of_ids(bob) == []
    assert selectors.pending_request_ids(bob) == []
    assert counts(alice) == selectors.PeopleCounts(friends=1, fans=0, fan_of=0, pending=0)
    assert profiles.relationship(alice, bob).state == "friends"


def test_adding_twice_creates_one_fanship(alice, bob):
    services.friend_add(alice, bob)
    services.friend_add(alice, bob)
    assert Fanship.objects.filter(fan=alice, idol=bob).count() == 1


def test_cannot_add_yourself(alice):
    with pytest.raises(ValidationError, match="yourself"):
        services.friend_add(alice, alice)


def test_removing_a_friend_leaves_them_your_fan_but_not_a_request(alice, bob, befriend):
    befriend(alice, bob)
    services.friend_remove(alice, bob)

    assert selectors.friend_ids(alice) == []
    assert selectors.fan_ids(alice) == [bob.pk]
    assert selectors.fan_of_ids(bob) == [alice.pk]
    assert selectors.pending_request_ids(alice) == []
    assert profiles.relationship(alice, bob).state == "fan_back"
    assert profiles.relationship(bob, alice).state == "fan"
    assert counts(alice) == selectors.PeopleCounts(friends=0, fans=1, fan_of=0, pending=0)


def test_removing_a_one_way_fanship_ends_it(alice, bob):
    services.friend_add(alice, bob)
    services.friend_remove(alice, bob)
    assert not Fanship.objects.exists()
    assert counts(bob).fans == 0


def test_ignoring_a_request_keeps_the_fan_and_hides_the_request(alice, bob):
    services.friend_add(alice, bob)
    services.friend_request_ignore(bob, alice)

    assert selectors.pending_request_ids(bob) == []
    assert selectors.fan_ids(bob) == [alice.pk]
    assert counts(bob) == selectors.PeopleCounts(friends=0, fans=1, fan_of=0, pending=0)
    # An ignored request can still be accepted later.
    assert services.friend_add(bob, alice) is True


def test_block_ends_fanships_both_ways_and_stops_adding(alice, bob, befriend):
    befriend(alice, bob)
    services.block(alice, bob)

    assert not Fanship.objects.filter(fan__in=[alice, bob]).exists()
    assert selectors.is_blocked(alice, bob) and selectors.is_blocked(bob, alice)
    with pytest.raises(ValidationError, match="aren't accepting requests"):
        services.friend_add(bob, alice)
    with pytest.raises(ValidationError, match="Unblock them first"):
        services.friend_add(alice, bob)
    assert not Fanship.objects.exists()
    assert profiles.relationship(alice, bob).state == "blocked"
    assert profiles.relationship(bob, alice).state == "blocked_by"
    assert counts(alice) == counts(bob) == selectors.PeopleCounts(friends=0, fans=0, fan_of=0, pending=0)


def test_unblock_allows_adding_again_but_restores_nothing(alice, bob, befriend):
    befriend(alice, bob)
    services.block(alice, bob)
    services.unblock(alice, bob)

    assert not Block.objects.exists()
    assert not selectors.is_blocked(bob, alice)
    assert selectors.friend_ids(alice) == []
    assert services.friend_add(bob, alice) is False
    assert selectors.pending_request_ids(alice) == [bob.pk]


def test_ending_a_friendship_takes_each_out_of_the_others_sets(alice, bob, carol, befriend):
    befriend(alice, bob)
    befriend(alice, carol)
    alices = services.friend_set_create(alice, name="Band", member_ids=[bob.pk, carol.pk])
    bobs = services.friend_set_create(bob, name="School", member_ids=[alice.pk])

    services.friend_remove(bob, alice)

    assert selectors.friend_set_member_ids(alices) == [carol.pk]
    assert selectors.friend_set_member_ids(bobs) == []


def test_block_takes_each_out_of_the_others_sets(alice, bob, befriend):
    befriend(alice, bob)
    services.friend_set_create(alice, name="Band", member_ids=[bob.pk])
    services.block(bob, alice)
    assert not FriendSet.members.through.objects.exists()


def test_lists_page_by_before_newest_account_first(make_user, alice):
    fans = [make_user(f"fan{i}") for i in range(5)]
    for fan in fans:
        services.friend_add(fan, alice)
    expected = sorted((fan.pk for fan in fans), reverse=True)

    first = selectors.fan_ids(alice, limit=2)
    second = selectors.fan_ids(alice, before=first[-1], limit=2)
    third = selectors.fan_ids(alice, before=second[-1], limit=2)

    assert first + second + third == expected
    assert [user.username for user in selectors.fans_of(alice, limit=2)] == [f"fan{i}" for i in (4, 3)]


def test_counts_with_many_people(make_user, alice, befriend):
    friends = [make_user(f"friend{i}") for i in range(3)]
    fans = [make_user(f"fan{i}") for i in range(4)]
    idols = [make_user(f"idol{i}") for i in range(2)]
    for friend in friends:
        befriend(alice, friend)
    for fan in fans:
        services.friend_add(fan, alice)
    services.friend_request_ignore(alice, fans[0])
    for idol in idols:
        services.friend_add(alice, idol)

    assert counts(alice) == selectors.PeopleCounts(friends=3, fans=4, fan_of=2, pending=3)
    assert selectors.pending_request_count(alice) == 3
    assert set(selectors.friend_ids_all(alice)) == {friend.pk for friend in friends}


def test_relationship_states(alice, bob, carol):
    from django.contrib.auth.models import AnonymousUser

    assert profiles.relationship(AnonymousUser(), alice).state == "anonymous"
    assert profiles.relationship(alice, alice).state == "self"
    assert profiles.relationship(alice, bob).state == "none"
    services.friend_add(carol, alice)
    assert profiles.relationship(alice, carol).state == "requested"
    assert profiles.relationship(carol, alice).state == "fan"
