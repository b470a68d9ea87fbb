"""Whole API answers by key-based expiration, as the site's pages (cache/pages.py).

Clients poll the same few reads (the home and public timelines, a person's statuses) over and
over. An endpoint made with ``endpoint(cached=True)`` keeps its 200 answers: a warm GET is ONE
memcached call — the stored answer with the current versions of everything it was built from —
and the rate limit's Redis count. No SQL, no token lookup, no JSON encoding.

**Key and identity.** ``p:<version>:<sha256 of "api", the view, the absolute URL with its query
and the sha256 of the bearer token>`` ("anonymous" without one). The URL is absolute because the
answer holds absolute links (its host and scheme are part of what was asked). The raw token is
never part of a key, only its hash, as in pownce/api/tokens.py.

**What makes a stored answer unreachable.** Its version vector holds, besides the notes, lists,
counts and people the answer shows, the versions of the three keys the token lookup read
(:func:`pownce.api.tokens.bearer_for`): the token hash's list, the token row and the person.
Revoking the token (its row is deleted), changing its scopes, or saving the person (suspended,
deactivated, renamed) replaces one of those versions after commit, so from the next request on
the answer is not served and the request is answered as if nothing were stored — with a 401 for a
revoked token. A token's expiry bounds the answer's freshness (:func:`cache.pages.changes_in`).
The argument of cache/pages.py ("why no reader is served a page older than the tombstone
guarantee allows") holds here word for word: an answer is served only while every value it was
built from is, version for version, what the cache would serve now.

**What is never stored:** anything but a 200; an answer whose building read the database outside
the cache's loaders (a token not yet on a replica, for one) or read a value the vector cannot
describe; a request other than GET.

**Compressed once.** The answer is stored gzip-compressed and sent as it is to a client whose
``Accept-Encoding`` takes gzip (decompressed for one that does not), with ``Vary:
Accept-Encoding``: a warm read neither encodes JSON nor compresses it.

**Rate limits still count every request.** The stored entry keeps the token's id, so a warm read
counts against the same per-token budget as a cold one, and past it gets the 429, never the
stored answer.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from cache import keys as keyspace
from cache import pages, protocol
from cache.stats import stats
from pownce.api.tokens import checksum_of

CONTENT_TYPE = "application/json"


# A client that takes gzip says so; "gzip;q=0" refuses it.
_TAKES_GZIP = re.compile(r"(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*(?!0(?:\.0*)?\s*(?:,|$))[0-9.]+\s*)?(?:,|$)", re.I)


def takes_gzip(request: HttpRequest) -> bool:
    return bool(_TAKES_GZIP.search(request.headers.get("Accept-Encoding", "")))


@dataclass(frozen=True)
class Stored:
    """A stored answer: the JSON, gzip-compressed once when stored (every client library
    asks for gzip), its headers, and whose token it answered."""

    gzipped: bytes
    headers: dict[str, str]
    token_id: int | None

    def response(self, request: HttpRequest) -> HttpResponse:
        if takes_gzip(request):
            response = HttpResponse(self.gzipped, content_type=CONTENT_TYPE)
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(gzip.decompress(self.gzipped), content_type=CONTENT_TYPE)
        response["Vary"] = "Accept-Encoding"
        for name, value in self.headers.items():
            response[name] = value
        return response


def key_of(view: Callable, request: HttpRequest, raw_token: str) -> tuple[str, str]:
    """The entry's key and identity for ``view`` asked ``request`` with ``raw_token``."""
    who = f"token:{checksum_of(raw_token)}" if raw_token else "anonymous"
    identity = f"api|{view.__module__}.{view.__qualname__}|{request.build_absolute_uri()}|{who}"
    return keyspace.page_key(identity, version=protocol.config().version), identity


def stored(key: str, identity: str) -> Stored | None:
    """The answer kept under ``key`` if it still holds (see the module's docstring)."""
    entry = pages.stored(key, identity)
    if entry is None:
        stats.incr("api_misses")
        return None
    stats.incr("api_hits")
    extra = entry[2]
    return Stored(gzipped=entry[3], headers=dict(extra["headers"]), token_id=extra["token_id"])


def store(key: str, identity: str, record: protocol.Recording, response: HttpResponse, token_id: int | None) -> None:
    """Keep ``response`` if it may be kept: a 200 JSON answer whose building read nothing the
    vector cannot describe (``record``)."""
    if record.spoiled or response.status_code != 200 or response.streaming:
        return
    if not response.get("Content-Type", "").startswith(CONTENT_TYPE):
        return
    headers = {name: response[name] for name in ("Link",) if response.has_header(name)}
    extra = {"headers": headers, "token_id": token_id}
    body = gzip.compress(response.content, compresslevel=6, mtime=0)
    entry = (record.versions, record.fresh_until, extra, body, CONTENT_TYPE, identity)
    pages.store(key, entry, record)
