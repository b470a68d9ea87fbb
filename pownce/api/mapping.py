"""Pownce told in Mastodon's words: the entities the API answers with, and what maps to what.

* A **note** is a status; its id is the note's. A **reply** is a status too, with the id
  ``r<reply id>`` (replies are numbered apart from notes) and ``in_reply_to_id`` its note's id;
  replies have no replies of their own, so a reply's context is its note and its siblings.
* **Audiences**: *the public* is ``public``; *all my friends* is ``private``; *one friend* is
  ``direct`` (the friend is the one mention); *a set* is ``private`` with the Pownce extension
  ``pownce.audience == "set"`` and ``pownce.set`` naming it (shown to the author only).
  ``unlisted`` has no Pownce equivalent and is refused rather than widened to public.
* **Friends and fans**: following someone is adding them (becoming their fan); ``followers``
  are one's fans and friends, ``following`` the people one is a fan of and one's friends.
* **Stars** are favourites; a **forward** is a reblog whose ``reblog`` is the original (when the
  reader may see it) — a forward is a note of its own, with its own audience and id.
* **Events** read as statuses whose text gives the event's name, time and place, with a card
  linking the ``.ics``; **links** carry a card for their address; a **file** note has one media
  attachment (an image with its thumbnail as preview).

* **Notifications** (notes/notifications.py) keep their id and take Mastodon's types
  (:data:`NOTIFICATION_TYPES`): a friend request and its acceptance are ``follow`` (adding
  someone is following them, and Pownce accounts are not locked, so no ``follow_request`` is
  left waiting); a reply to one's note, a reply after one's own and a note sent to one alone
  are ``mention`` (Mastodon tells replies and direct statuses as mentions) with the reply or
  note as ``status``; a star is ``favourite``; a forward is ``reblog`` whose ``status`` is the
  original (the reader's own note). Pownce's own kind is in ``pownce.kind``.

Not mapped: mutes, lists, polls, emoji, hashtags, edits, bookmarks, pins, filters.
``reblogged`` is always false (whether the reader forwarded a note is not tracked per note).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from accounts.profiles import Relationship
from accounts.selectors import PeopleCounts
from notes import files
from notes.feeds import event_text, note_html, note_text
from notes.models import Note, Notification, Reply
from notes.selectors import CardCounts

VISIBILITY = {
    Note.Audience.PUBLIC: "public",
    Note.Audience.FRIENDS: "private",
    Note.Audience.SET: "private",
    Note.Audience.FRIEND: "direct",
}
INSTANCE_TITLE = "Pownce"
NOTIFICATION_TYPES = {
    Notification.Kind.FRIEND_REQUEST: "follow",
    Notification.Kind.FRIEND_ACCEPTED: "follow",
    Notification.Kind.REPLY: "mention",
    Notification.Kind.THREAD_REPLY: "mention",
    Notification.Kind.STAR: "favourite",
    Notification.Kind.FORWARD: "reblog",
    Notification.Kind.PRIVATE_NOTE: "mention",
}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    # Always the instant in UTC, whatever zone the request activated for its viewer.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Base:
    """Absolute URLs for one request (``https://host``)."""

    def __init__(self, request) -> None:
        self.root = request.build_absolute_uri("/").rstrip("/")

    def url(self, path: str) -> str:
        return self.root + path


def status_id(item: Note | Reply) -> str:
    return f"r{item.pk}" if isinstance(item, Reply) else str(item.pk)


def html(text: str) -> str:
    """Plain text as the HTML Mastodon sends (the feeds' own rendering)."""
    return note_html(text)


def account(person: User, base: Base, counts: PeopleCounts | None = None, *, own: bool = False) -> dict:
    counts = counts or PeopleCounts(friends=0, fans=0, fan_of=0)
    avatar = base.url(person.photo_medium_url)
    data = {
        "id": str(person.pk),
        "username": person.username,
        "acct": person.username,
        "display_name": person.display_name or person.username,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": iso(person.date_joined),
        "note": html(person.bio),
        "url": base.url(person.get_absolute_url()),
        "uri": base.url(person.get_absolute_url()),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": base.url(static("img/favicon.svg")),
        "header_static": base.url(static("img/favicon.svg")),
        "followers_count": counts.friends + counts.fans,
        "following_count": counts.friends + counts.fan_of,
        "statuses_count": counts.notes if own else counts.public_notes,
        "last_status_at": None,
        "emojis": [],
        "fields": [{"name": "Website", "value": escape(person.website_link), "verified_at": None}]
        if person.website_link
        else [],
    }
    if own:
        data["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": person.bio,
            "fields": [],
            "follow_requests_count": counts.pending,
        }
    return data


def relationship(person: User, rel: Relationship) -> dict:
    return {
        "id": str(person.pk),
        "following": rel.you_are_fan,
        "showing_reblogs": rel.you_are_fan,
        "notifying": False,
        "languages": None,
        "followed_by": rel.they_are_fan,
        "blocking": rel.you_blocked,
        "blocked_by": rel.blocked_you,
        "muting": False,
        "muting_notifications": False,
        "requested": False,
        "requested_by": False,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


def attachment(note: Note, base: Base, *, media_id: str | None = None) -> dict:
    url = base.url(reverse("note_file", args=[note.pk, note.file_name]))
    inline = files.is_inline(note)
    preview = base.url(reverse("note_thumbnail", args=[note.pk])) if inline and note.thumbnail.name else None
    return {
        "id": media_id or f"n{note.pk}",
        "type": "image" if inline else "unknown",
        "url": url,
        "preview_url": preview or (url if inline else None),
        "remote_url": None,
        "meta": {},
        "description": note.file_name,
        "blurhash": None,
    }


def _card(url: str, title: str, description: str, *, kind: str = "link") -> dict:
    return {
        "url": url,
        "title": title,
        "description": description,
        "type": kind,
        "author_name": "",
        "author_url": "",
        "provider_name": "",
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "embed_url": "",
        "blurhash": None,
    }


def status(note: Note, base: Base, counts: CardCounts, *, viewer_id: int | None, original: dict | None = None) -> dict:
    """A note as a status. ``original``: the forwarded note's own status, when the reader may
    see it."""
    card = None
    if note.kind == Note.Kind.LINK:
        card = _card(note.url, note.url, note.body[:200])
    elif note.kind == Note.Kind.EVENT:
        ics = base.url(reverse("note_event_ics", args=[note.pk]))
        card = _card(ics, note.event_name, event_text(note).replace("\n", " · "))
    data = _common(note.pk, note.author, base, note.created)
    data.update(
        {
            "visibility": VISIBILITY.get(note.audience, "private"),
            "url": base.url(reverse("note_detail", args=[note.pk])),
            "uri": base.url(reverse("note_detail", args=[note.pk])),
            "content": html(note_text(note)),
            "text": note_text(note),
            "replies_count": counts.replies,
            "favourites_count": counts.stars,
            "favourited": counts.starred,
            "media_attachments": [attachment(note, base)] if note.kind == Note.Kind.FILE and note.file_name else [],
            "mentions": [_mention(note.recipient, base)]
            if note.audience == Note.Audience.FRIEND and note.recipient
            else [],
            "card": card,
            "reblog": original,
            "pownce": {"kind": note.kind, "audience": note.audience},
        }
    )
    if note.audience == Note.Audience.SET and viewer_id == note.author_id and note.friend_set is not None:
        data["pownce"]["set"] = {"id": str(note.friend_set.pk), "name": note.friend_set.name}
    if note.kind == Note.Kind.EVENT and note.event_start:
        data["pownce"]["event"] = {
            "name": note.event_name,
            "place": note.event_place,
            "start": iso(note.event_start),
        }
    return data


def reply_status(reply: Reply, base: Base, *, visibility: str) -> dict:
    data = _common(f"r{reply.pk}", reply.author, base, reply.created)
    data.update(
        {
            "visibility": visibility,
            "url": base.url(reverse("note_detail", args=[reply.note_id])) + f"#reply-{reply.pk}",
            "uri": base.url(reverse("note_detail", args=[reply.note_id])) + f"#reply-{reply.pk}",
            "content": html(reply.body),
            "text": reply.body,
            "in_reply_to_id": str(reply.note_id),
            "in_reply_to_account_id": str(reply.note_author_id) if reply.note_author_id else None,
            "pownce": {"kind": "reply"},
        }
    )
    return data


def notification(item: Notification, base: Base, *, status: dict | None) -> dict:
    """A notification (with its ``actor`` attached); ``status``: what it is about, if anything."""
    return {
        "id": str(item.pk),
        "type": NOTIFICATION_TYPES[item.kind],
        "created_at": iso(item.created),
        "account": account(item.actor, base),
        "status": status,
        "pownce": {"kind": item.kind},
    }


def _mention(person: User, base: Base) -> dict:
    return {
        "id": str(person.pk),
        "username": person.username,
        "acct": person.username,
        "url": base.url(person.get_absolute_url()),
    }


def _common(pk, author: User, base: Base, created: datetime) -> dict:
    return {
        "id": str(pk),
        "created_at": iso(created),
        "account": account(author, base),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": None,
        "uri": "",
        "url": "",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": "",
        "text": "",
        "reblog": None,
        "application": None,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
        "filtered": [],
    }


def instance(base: Base, *, version: int) -> dict:
    host = base.root.split("://", 1)[-1]
    limits = {
        "statuses": {"max_characters": 4000, "max_media_attachments": 1, "characters_reserved_per_url": 0},
        "media_attachments": {
            "supported_mime_types": ["*/*"],
            "image_size_limit": settings.MAX_UPLOAD_BYTES,
            "video_size_limit": settings.MAX_UPLOAD_BYTES,
            "image_matrix_limit": 40_000_000,
            "video_matrix_limit": 0,
            "video_frame_rate_limit": 0,
            "description_limit": 1500,
        },
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
    }
    common = {
        "title": INSTANCE_TITLE,
        "version": "4.3.0 (compatible; Pownce)",
        "source_url": "",
        "description": "Share messages, links, files and events with your friends.",
        "languages": ["en"],
        "rules": [],
    }
    if version == 1:
        return {
            **common,
            "uri": host,
            "short_description": common["description"],
            "email": "",
            "urls": {"streaming_api": ""},
            "stats": {"user_count": 0, "status_count": 0, "domain_count": 1},
            "thumbnail": None,
            "registrations": True,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": limits,
            "contact_account": None,
        }
    return {
        **common,
        "domain": host,
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": base.url(static("img/favicon.svg"))},
        "configuration": {
            "urls": {"streaming": ""},
            "accounts": {"max_featured_tags": 0},
            **limits,
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": True, "approval_required": False, "message": None},
        "contact": {"email": "", "account": None},
        "api_versions": {"mastodon": 2},
    }
