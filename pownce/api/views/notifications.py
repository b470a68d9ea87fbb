"""Notifications, from the site's own read of them (notes/notifications.py): the same rows,
the same visibility rules, the same cached values as the notifications page."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from notes import notifications as notes_notifications
from notes.models import Notification
from notes.selectors import CardCounts
from pownce.api import mapping
from pownce.api.http import Answer, endpoint, params
from pownce.api.selectors import timeline
from pownce.api.views.common import link_header, number, original_of, paging


def _status(item: Notification, viewer, base: mapping.Base, counts: dict[int, CardCounts]) -> dict | None:
    """What a notification is about, as a status: the reply, the note, or — for a forward —
    the original the reader wrote (the forward itself if the original is gone)."""
    note, reply = item.note, item.reply
    if reply is not None:
        return mapping.reply_status(reply, base, visibility=mapping.VISIBILITY.get(note.audience, "private"))
    if note is None:
        return None
    if item.kind == Notification.Kind.FORWARD and (original := original_of(note, viewer, base)) is not None:
        return original
    return mapping.status(note, base, counts.get(note.pk, CardCounts()), viewer_id=viewer.pk)


def _kept(request: HttpRequest):
    """Mastodon's filters: ``types[]``, ``exclude_types[]`` and ``account_id``."""
    given = params(request)
    types = set(given.get("types") or [])
    excluded = set(given.get("exclude_types") or [])
    account = number(given.get("account_id"), "account_id")

    def keep(item: Notification) -> bool:
        kind = mapping.NOTIFICATION_TYPES[item.kind]
        return (not types or kind in types) and kind not in excluded and account in (None, item.actor_id)

    return keep


@endpoint(auth=True, scope="read:notifications")
def index(request: HttpRequest, bearer):
    viewer, asked, keep = bearer.user, paging(request), _kept(request)

    def fetch(before: int | None):
        page = notes_notifications.notifications_page(viewer, before=before)
        page.items = [item for item in page.items if keep(item)]
        return page

    found = timeline(fetch, asked)
    base = mapping.Base(request)
    data = [mapping.notification(item, base, status=_status(item, viewer, base, found.counts)) for item in found.items]
    link = link_header(request, older=found.older, newer=found.newer, limit=asked.limit)
    return Answer(data, headers={"Link": link} if link else {})


@endpoint(auth=True, scope="read:notifications")
def show(request: HttpRequest, bearer, notification_id: str):
    """One notification: the page that starts at its id, if it is there and may be shown."""
    pk = _id(notification_id)
    page = notes_notifications.notifications_page(bearer.user, before=pk + 1)
    for item in page.items:
        if item.pk == pk:
            base = mapping.Base(request)
            return mapping.notification(item, base, status=_status(item, bearer.user, base, page.counts))
    raise Http404("No such notification")


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 19 or not 0 < int(value) < 2**63 - 1:
        raise Http404("No such notification")
    return int(value)


@endpoint(auth=True, scope="read:notifications")
def unread_count(request: HttpRequest, bearer):
    """The top bar's badge: unread notifications, counted up to ``notifications.UNREAD_CAP``."""
    return {"count": notes_notifications.unread_count(bearer.user.pk)}


@endpoint(auth=True, scope="write:notifications")
def clear(request: HttpRequest, bearer):
    notes_notifications.clear(bearer.user)
    return {}


@endpoint(auth=True, scope="write:notifications")
def dismiss(request: HttpRequest, bearer, notification_id: str):
    notes_notifications.clear(bearer.user, notification_id=_id(notification_id))
    return {}
