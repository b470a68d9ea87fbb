"""Mastodon.py, a client library written elsewhere, drives the API as a black box: in this
process and through HAProxy to the app servers."""

from __future__ import annotations

import io

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError
from PIL import Image

from accounts.models import Fanship

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def befriend(a, b) -> None:
    Fanship.objects.get_or_create(fan=a, idol=b)
    Fanship.objects.get_or_create(fan=b, idol=a)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 60, 30)).save(out, "PNG")
    return out.getvalue()


def test_log_in_by_oauth_and_read_own_account(person, client_for):
    ann = person("ann")
    api = client_for(ann)
    me = api.account_verify_credentials()
    assert me.username == "ann" and str(me.id) == str(ann.pk)


def test_each_visibility_reaches_its_audience_only(person, client_for):
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    befriend(ann, bob)
    ann_api, bob_api, cat_api = client_for(ann), client_for(bob), client_for(cat)
    public = ann_api.status_post("hello world", visibility="public")
    friends = ann_api.status_post("for my friends", visibility="private")
    direct = ann_api.status_post("@bob just you", visibility="direct")
    assert (public.visibility, friends.visibility, direct.visibility) == ("public", "private", "direct")
    assert [mention.acct for mention in direct.mentions] == ["bob"]

    bob_home = [status.id for status in bob_api.timeline_home()]
    assert bob_home[:3] == [direct.id, friends.id, public.id]
    for status in (friends, direct):
        assert bob_api.status(status.id).id == status.id
        with pytest.raises(MastodonNotFoundError):
            cat_api.status(status.id)
        with pytest.raises(MastodonNotFoundError):
            cat_api.status_context(status.id)
        for action in (
            cat_api.status_favourite,
            cat_api.status_unfavourite,
            cat_api.status_reblog,
            cat_api.status_delete,
            cat_api.status_favourited_by,
        ):
            with pytest.raises(MastodonNotFoundError):
                action(status.id)
        with pytest.raises(MastodonNotFoundError):
            cat_api.status_post("let me in", in_reply_to_id=status.id)
    assert [status.id for status in cat_api.timeline_public()] == [public.id]
    assert [status.id for status in cat_api.account_statuses(ann.pk)] == [public.id]


def test_unlisted_is_refused_not_widened(person, client_for):
    api = client_for(person("ann"))
    with pytest.raises(MastodonAPIError) as refused:
        api.status_post("quietly", visibility="unlisted")
    assert "unlisted" in str(refused.value)


def test_media_upload_makes_a_file_note_with_a_preview(person, client_for):
    ann = person("ann")
    api = client_for(ann)
    media = api.media_post(png(), mime_type="image/png", file_name="red.png")
    status = api.status_post("a picture", media_ids=[media])
    assert len(status.media_attachments) == 1
    attachment = status.media_attachments[0]
    assert attachment.type == "image" and attachment.url.endswith("/red.png")
    assert api.media(media).url == attachment.url


def test_home_and_public_page_with_link_headers(person, client_for):
    ann = person("ann")
    api = client_for(ann)
    posted = [api.status_post(f"note {n}").id for n in range(7)]
    newest_first = list(reversed(posted))
    first = api.timeline_home(limit=3)
    assert [status.id for status in first] == newest_first[:3]
    second = api.fetch_next(first)
    assert [status.id for status in second] == newest_first[3:6]
    third = api.fetch_next(second)
    assert [status.id for status in third] == newest_first[6:]
    public = api.timeline_public(limit=4)
    assert [status.id for status in public] == newest_first[:4]
    assert [status.id for status in api.timeline_public(since_id=posted[4])] == newest_first[:2]
    assert [status.id for status in api.timeline_public(min_id=posted[1], limit=2)] == [posted[3], posted[2]]


def test_favourite_reblog_and_context(person, client_for):
    ann, bob = person("ann"), person("bob")
    befriend(ann, bob)
    ann_api, bob_api = client_for(ann), client_for(bob)
    note = ann_api.status_post("star me")
    starred = bob_api.status_favourite(note.id)
    assert starred.favourited is True and starred.favourites_count == 1
    assert bob_api.status_unfavourite(note.id).favourites_count == 0
    forward = bob_api.status_reblog(note.id)
    assert forward.reblog.id == note.id and forward.account.username == "bob"
    reply = bob_api.status_post("nice one", in_reply_to_id=note.id)
    assert reply.in_reply_to_id == note.id
    context = ann_api.status_context(note.id)
    assert [status.id for status in context.descendants] == [reply.id]
    assert [status.id for status in ann_api.status_context(reply.id).ancestors] == [note.id]


def test_follow_unfollow_block(person, client_for):
    ann, bob = person("ann"), person("bob")
    api = client_for(ann)
    assert api.account_follow(bob.pk).following is True
    assert [account.username for account in api.account_following(ann.pk)] == ["bob"]
    assert [account.username for account in api.account_followers(bob.pk)] == ["ann"]
    assert api.account_unfollow(bob.pk).following is False
    blocked = api.account_block(bob.pk)
    assert blocked.blocking is True
    assert api.account_relationships([bob.pk])[0].blocking is True
    with pytest.raises(MastodonAPIError):
        api.account_follow(bob.pk)
    assert api.account_unblock(bob.pk).blocking is False
    assert str(api.account_lookup("bob").id) == str(bob.pk)
    assert [account.username for account in api.search_v2("bo", result_type="accounts").accounts] == ["bob"]


def test_instance_answers(base, client_for, person):
    api = client_for(person("ann"))
    assert api.instance_v1().title == "Pownce"
    assert api.instance_v2().title == "Pownce"
    assert api.notifications() == []


def test_notifications_read_page_and_clear(person, client_for):
    """Each Pownce kind reaches the client in Mastodon's type, with its account and status,
    paged by the Link header; a stranger cannot read another's; dismiss and clear empty it."""
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    ann_api, bob_api, cat_api = client_for(ann), client_for(bob), client_for(cat)
    bob_api.account_follow(ann.pk)  # a friend request to ann…
    ann_api.account_follow(bob.pk)  # …and ann's acceptance, told to bob
    note = ann_api.status_post("tell me things")
    bob_api.status_favourite(note.id)
    bob_api.status_reblog(note.id)
    reply = cat_api.status_post("hello ann", in_reply_to_id=note.id)
    direct = bob_api.status_post("@ann just you", visibility="direct")

    found = ann_api.notifications()
    assert [(n.type, n.account.username) for n in found] == [
        ("mention", "bob"),
        ("mention", "cat"),
        ("reblog", "bob"),
        ("favourite", "bob"),
        ("follow", "bob"),
    ]
    mention, replied, reblog, favourite, follow = found
    assert mention.status.id == direct.id and mention.status.visibility == "direct"
    assert replied.status.id == reply.id and replied.status.in_reply_to_id == note.id
    assert reblog.status.id == note.id and favourite.status.id == note.id and follow.status is None
    assert [(n.type, n.account.username) for n in bob_api.notifications()] == [("follow", "ann")]
    assert cat_api.notifications() == []

    first = ann_api.notifications(limit=2)
    second = ann_api.fetch_next(first)
    third = ann_api.fetch_next(second)
    assert [n.id for n in (*first, *second, *third)] == [n.id for n in found]
    assert [n.id for n in ann_api.notifications(since_id=reblog.id)] == [mention.id, replied.id]
    assert [n.type for n in ann_api.notifications(types=["mention"])] == ["mention", "mention"]
    assert [n.type for n in ann_api.notifications(exclude_types=["mention", "follow"])] == ["reblog", "favourite"]
    assert ann_api.notifications(id=favourite.id).status.id == note.id
    with pytest.raises(MastodonNotFoundError):
        cat_api.notifications(id=favourite.id)

    ann_api.notifications_dismiss(follow.id)
    assert [n.id for n in ann_api.notifications()] == [n.id for n in found[:-1]]
    ann_api.notifications_clear()
    assert ann_api.notifications() == []
    assert [(n.type, n.account.username) for n in bob_api.notifications()] == [("follow", "ann")]


def test_events_and_links_read_as_statuses_with_cards(person, client_for):
    from datetime import UTC, datetime

    from notes import services

    ann = person("ann")
    event = services.note_create(
        author=ann,
        kind="event",
        audience="public",
        event_name="Launch party",
        event_place="The roof",
        event_start=datetime(2027, 3, 4, 19, 30, tzinfo=UTC),
    )
    api = client_for(ann)
    status = api.status(event.pk)
    assert "Launch party" in status.content and "The roof" in status.content and "19:30" in status.content
    assert status.card.url.endswith(f"/notes/{event.pk}/event.ics")
    # Pownce's extension parameter, sent by the client's own session with its token.
    posted = api.session.post(
        f"{api.api_base_url}/api/v1/statuses",
        data={"status": "worth reading", "pownce_link": "https://example.org/story"},
        headers={"Authorization": f"Bearer {api.access_token}"},
    ).json()
    assert posted["card"]["url"] == "https://example.org/story"
    assert posted["pownce"]["kind"] == "link"
