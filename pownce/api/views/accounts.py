"""Accounts: the signed-in person, profiles, their notes, friends and fans, relationships."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts import services as account_services
from accounts.profiles import relationship
from accounts.selectors import people_counts, user_by_username
from notes.streams import profile_stream
from pownce.api import mapping, selectors
from pownce.api.http import Answer, ApiError, endpoint, params
from pownce.api.selectors import timeline
from pownce.api.views.common import limit_of, link_header, note_id, number, paging, timeline_answer, viewer_of

# Followers and following pages, as Mastodon's: 40 people by default, at most 80.
FOLLOWS_LIMIT = 40
FOLLOWS_LIMIT_MAX = 80


def _account(request: HttpRequest, person, viewer) -> dict:
    own = getattr(viewer, "pk", None) == person.pk
    return mapping.account(person, mapping.Base(request), people_counts(person, pending=own), own=own)


def _person(account_id: str):
    return selectors.person(note_id(account_id))


@endpoint(auth=True, scope="read:accounts")
def verify_credentials(request: HttpRequest, bearer):
    return _account(request, bearer.user, bearer.user)


@endpoint(scope="read:accounts")
def show(request: HttpRequest, bearer, account_id: str):
    return _account(request, _person(account_id), viewer_of(bearer))


@endpoint(scope="read:accounts")
def lookup(request: HttpRequest, bearer):
    acct = request.GET.get("acct", "").strip().lstrip("@").split("@", 1)[0]
    person = user_by_username(acct) if acct else None
    if person is None:
        raise ApiError(404, "Record not found")
    return _account(request, person, viewer_of(bearer))


@endpoint(scope="read:statuses", cached=True)
def statuses(request: HttpRequest, bearer, account_id: str):
    """What the reader may see of the person's notes: the profile page's own stream."""
    viewer = viewer_of(bearer)
    author = _person(account_id)
    asked = paging(request)
    found = timeline(lambda before: profile_stream(viewer, author, before=before), asked)
    return timeline_answer(request, found, viewer, asked.limit)


def _people_page(request: HttpRequest, ids_of, account_id: str) -> Answer:
    person = _person(account_id)
    asked = paging(request, default=FOLLOWS_LIMIT, most=FOLLOWS_LIMIT_MAX)
    limit = asked.limit
    ids = ids_of(person, before=asked.max_id, limit=limit)
    base = mapping.Base(request)
    found = [mapping.account(someone, base) for someone in selectors.people(ids)]
    link = link_header(request, older=ids[-1] if len(ids) == limit else None, newer=None, limit=limit)
    return Answer(found, headers={"Link": link} if link else {})


@endpoint(scope="read:follows")
def followers(request: HttpRequest, bearer, account_id: str):
    return _people_page(request, selectors.followers, account_id)


@endpoint(scope="read:follows")
def following(request: HttpRequest, bearer, account_id: str):
    return _people_page(request, selectors.following, account_id)


def _relationship(bearer, person) -> dict:
    return mapping.relationship(person, relationship(bearer.user, person))


@endpoint(auth=True, scope="write:follows")
def follow(request: HttpRequest, bearer, account_id: str):
    """Add as a friend: become their fan (friends once they add back)."""
    person = _person(account_id)
    account_services.friend_add(bearer.user, person)
    return _relationship(bearer, person)


@endpoint(auth=True, scope="write:follows")
def unfollow(request: HttpRequest, bearer, account_id: str):
    person = _person(account_id)
    account_services.friend_remove(bearer.user, person)
    return _relationship(bearer, person)


@endpoint(auth=True, scope="write:blocks")
def block(request: HttpRequest, bearer, account_id: str):
    person = _person(account_id)
    account_services.block(bearer.user, person)
    return _relationship(bearer, person)


@endpoint(auth=True, scope="write:blocks")
def unblock(request: HttpRequest, bearer, account_id: str):
    person = _person(account_id)
    account_services.unblock(bearer.user, person)
    return _relationship(bearer, person)


@endpoint(auth=True, scope="read:follows")
def relationships(request: HttpRequest, bearer):
    ids = request.GET.getlist("id[]") or request.GET.getlist("id")
    found = []
    for given in ids[:40]:
        pk = number(given, "id")
        try:
            person = selectors.person(pk or 0)
        except Http404:  # someone who cannot be shown is left out, as Mastodon leaves out the unknown
            continue
        found.append(_relationship(bearer, person))
    return found


@endpoint(scope="read:search")
def search(request: HttpRequest, bearer):
    """``/api/v2/search``: people only (Pownce has no hashtags, and notes are not searched)."""
    given = params(request)
    kind = str(given.get("type") or "accounts")
    limit = limit_of(given.get("limit"), default=20, most=selectors.SEARCH_MAX)
    base = mapping.Base(request)
    viewer = viewer_of(bearer)
    people = selectors.people_search(viewer, str(given.get("q") or ""), limit=limit) if kind == "accounts" else []
    return {"accounts": [mapping.account(person, base) for person in people], "statuses": [], "hashtags": []}
