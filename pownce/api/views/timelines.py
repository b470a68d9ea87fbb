"""Timelines: home and public, from the site's cached streams (notes/streams.py); whole answers
are kept by key-based expiration (pownce/api/caching.py)."""

from __future__ import annotations

from django.http import HttpRequest

from notes.streams import home_page, public_stream
from pownce.api.http import endpoint
from pownce.api.selectors import timeline
from pownce.api.views.common import paging, timeline_answer, viewer_of


@endpoint(auth=True, scope="read:statuses", cached=True)
def home(request: HttpRequest, bearer):
    """The person's inbox — what was sent to them and what they sent — without the replies
    the site interleaves (a reply is a status of its own, found in a note's context)."""
    asked = paging(request)
    found = timeline(lambda before: home_page(bearer.user, show="notes", before=before).page, asked)
    return timeline_answer(request, found, bearer.user, asked.limit)


@endpoint(scope="read:statuses", cached=True)
def public(request: HttpRequest, bearer):
    viewer = viewer_of(bearer)
    asked = paging(request)
    found = timeline(lambda before: public_stream(viewer, before=before), asked)
    return timeline_answer(request, found, viewer, asked.limit)
