"""What the API's views share: reading ids and paging parameters, and statuses out of pages."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest

from notes.models import Note
from notes.selectors import CardCounts
from notes.visibility import signed_in
from pownce.api import mapping
from pownce.api.http import ApiError
from pownce.api.selectors import TIMELINE_LIMIT, TIMELINE_LIMIT_MAX, Paging, Slice


def number(value, name: str) -> int | None:
    """An id or count parameter: None when absent, 422 when not a positive number."""
    if value in (None, ""):
        return None
    text = str(value)
    if not text.isdigit() or len(text) > 19 or int(text) >= 2**63:
        raise ApiError(422, f"{name} must be a positive number")
    return int(text)


def note_id(value: str) -> int:
    """A note's status id; anything else (a reply's ``r<id>``, nonsense) is not found."""
    if not value.isdigit() or len(value) > 19 or not 0 < int(value) < 2**63:
        raise ApiError(404, "Record not found")
    return int(value)


def limit_of(value, *, default: int, most: int) -> int:
    """A ``limit`` parameter as Mastodon reads it, never refused: a whole number is brought
    within 1 … ``most``; absent or anything else is ``default``."""
    text = str(value or "").strip()
    if not text.lstrip("+-").isdigit() or len(text) > 20:
        return default
    return max(1, min(int(text), most))


def paging(request: HttpRequest, *, default: int = TIMELINE_LIMIT, most: int = TIMELINE_LIMIT_MAX) -> Paging:
    """Timeline paging parameters (ids: 422 when not ids; ``limit``: see :func:`limit_of`)."""
    given = request.GET
    return Paging(
        max_id=number(given.get("max_id"), "max_id"),
        since_id=number(given.get("since_id"), "since_id"),
        min_id=number(given.get("min_id"), "min_id"),
        limit=limit_of(given.get("limit"), default=default, most=most),
    )


def link_header(request: HttpRequest, *, older, newer, limit: int) -> str:
    """Mastodon's paging links: ``next`` goes older (max_id), ``prev`` newer (min_id)."""
    base = request.build_absolute_uri(request.path)
    links = []
    if older is not None:
        links.append(f'<{base}?{urlencode({"limit": limit, "max_id": older})}>; rel="next"')
    if newer is not None:
        links.append(f'<{base}?{urlencode({"limit": limit, "min_id": newer})}>; rel="prev"')
    return ", ".join(links)


def original_of(note: Note, viewer, base: mapping.Base) -> dict | None:
    """A forward's original as its ``reblog``, when the reader may see it: forwards take public
    notes or the forwarder's own (rule 8), so a non-public original is shown only to its author."""
    original = note._state.fields_cache.get("forwarded_from")
    if original is None:
        return None
    if not (original.is_public or (signed_in(viewer) and original.author_id == viewer.pk)):
        return None
    author = note._state.fields_cache.get("forwarded_from_author")
    if author is None:
        return None
    original._state.fields_cache.setdefault("author", author)
    return mapping.status(original, base, CardCounts(), viewer_id=getattr(viewer, "pk", None))


def statuses(notes: list[Note], counts: dict[int, CardCounts], viewer, base: mapping.Base) -> list[dict]:
    viewer_id = viewer.pk if signed_in(viewer) else None
    return [
        mapping.status(
            note, base, counts.get(note.pk, CardCounts()), viewer_id=viewer_id, original=original_of(note, viewer, base)
        )
        for note in notes
    ]


def timeline_answer(request: HttpRequest, found: Slice, viewer, limit: int):
    from pownce.api.http import Answer

    base = mapping.Base(request)
    headers = {}
    link = link_header(request, older=found.older, newer=found.newer, limit=limit)
    if link:
        headers["Link"] = link
    return Answer(statuses(found.items, found.counts, viewer, base), headers=headers)


def viewer_of(bearer):
    """The person a request speaks for, or an anonymous reader."""
    from django.contrib.auth.models import AnonymousUser

    return bearer.user if bearer is not None else AnonymousUser()
