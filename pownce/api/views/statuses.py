"""Statuses: posting, reading, deleting, context, stars (favourites) and forwards (reblogs).

A note is read through ``notes.streams.note_with_replies`` — the note page's own read — so a
note the reader may not see is 404 here exactly when it is 404 there."""

from __future__ import annotations

from django.http import HttpRequest

from notes import services as notes_services
from notes.models import Note, Reply
from notes.visibility import blocks_hide
from pownce.api import mapping, services
from pownce.api.http import Answer, ApiError, endpoint, params
from pownce.api.selectors import note_thread, reply_in_thread
from pownce.api.views.common import note_id, original_of, viewer_of


def _note_status(request: HttpRequest, viewer, pk: int) -> dict:
    thread = note_thread(viewer, pk)
    base = mapping.Base(request)
    return mapping.status(
        thread.note,
        base,
        thread.counts,
        viewer_id=getattr(viewer, "pk", None),
        original=original_of(thread.note, viewer, base),
    )


def _reply_status(request: HttpRequest, reply: Reply, note: Note) -> dict:
    return mapping.reply_status(
        reply, mapping.Base(request), visibility=mapping.VISIBILITY.get(note.audience, "private")
    )


def _status(request: HttpRequest, viewer, status_id: str) -> dict:
    if status_id.startswith("r") and status_id[1:].isdigit():
        reply, thread = reply_in_thread(viewer, int(status_id[1:]))
        return _reply_status(request, reply, thread.note)
    return _note_status(request, viewer, note_id(status_id))


@endpoint(auth=True, scope="write:statuses")
def create(request: HttpRequest, bearer):
    given = params(request)
    media = given.get("media_ids") or []
    if isinstance(media, str):
        media = [media]
    try:
        made = services.status_post(
            author=bearer.user,
            text=str(given.get("status") or ""),
            visibility=str(given.get("visibility") or ""),
            in_reply_to=str(given.get("in_reply_to_id") or ""),
            media_ids=[str(item) for item in media],
            set_id=given.get("pownce_set_id"),
            link=str(given.get("pownce_link") or ""),
            idempotency_key=request.headers.get("Idempotency-Key", "")[:200],
        )
    except services.Unsupported as refused:
        raise ApiError(422, str(refused)) from None
    if isinstance(made, Reply):
        reply, thread = reply_in_thread(bearer.user, made.pk)
        return _reply_status(request, reply, thread.note)
    return _note_status(request, bearer.user, made.pk)


@endpoint(scope="read:statuses")
def show(request: HttpRequest, bearer, status_id: str):
    return _status(request, viewer_of(bearer), status_id)


@endpoint(auth=True, scope="write:statuses")
def delete(request: HttpRequest, bearer, status_id: str):
    shown = _status(request, bearer.user, status_id)
    if status_id.startswith("r"):
        notes_services.reply_delete(user=bearer.user, reply_id=int(status_id[1:]))
    else:
        notes_services.note_delete(user=bearer.user, note_id=int(status_id))
    return shown


@endpoint(scope="read:statuses")
def context(request: HttpRequest, bearer, status_id: str):
    """A note's context is its replies (descendants); a reply's is its note (ancestor) and the
    replies after it."""
    viewer = viewer_of(bearer)
    base = mapping.Base(request)
    if status_id.startswith("r") and status_id[1:].isdigit():
        reply, thread = reply_in_thread(viewer, int(status_id[1:]))
        note = thread.note
        ancestors = [_note_status(request, viewer, note.pk)]
        later = [item for item in thread.replies if item.pk > reply.pk]
    else:
        thread = note_thread(viewer, note_id(status_id))
        note, ancestors, later = thread.note, [], thread.replies
    visibility = mapping.VISIBILITY.get(note.audience, "private")
    return {
        "ancestors": ancestors,
        "descendants": [
            mapping.reply_status(item, base, visibility=visibility)
            for item in later
            if not blocks_hide(item, thread.blocks)
        ],
    }


def _note_only(status_id: str) -> int:
    if status_id.startswith("r"):
        raise ApiError(422, "Replies cannot be starred or forwarded: star or forward their note.")
    return note_id(status_id)


@endpoint(auth=True, scope="write:favourites")
def favourite(request: HttpRequest, bearer, status_id: str):
    pk = _note_only(status_id)
    notes_services.star_add(user=bearer.user, note_id=pk)
    return _note_status(request, bearer.user, pk)


@endpoint(auth=True, scope="write:favourites")
def unfavourite(request: HttpRequest, bearer, status_id: str):
    pk = _note_only(status_id)
    note_thread(bearer.user, pk)  # 404 for a note the reader may not see
    notes_services.star_remove(user=bearer.user, note_id=pk)
    return _note_status(request, bearer.user, pk)


@endpoint(auth=True, scope="write:statuses")
def reblog(request: HttpRequest, bearer, status_id: str):
    """Forward a note to the forwarder's public (or, with ``visibility=private``, friends)."""
    pk = _note_only(status_id)
    visibility = str(params(request).get("visibility") or "public")
    audiences = {"public": Note.Audience.PUBLIC, "private": Note.Audience.FRIENDS}
    if visibility not in audiences:
        raise ApiError(422, "A forward goes to the public or to your friends (public or private).")
    forward = notes_services.note_forward(user=bearer.user, note_id=pk, audience=audiences[visibility])
    return Answer(_note_status(request, bearer.user, forward.pk))


@endpoint(auth=True, scope="read:favourites")
def favourited_by(request: HttpRequest, bearer, status_id: str):
    """Who starred a note is not told by Pownce: an empty list for a note the reader sees."""
    note_thread(bearer.user, _note_only(status_id))
    return []
