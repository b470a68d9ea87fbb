"""Whole pages by key-based expiration, and HTTP conditional GET from the same versions.

A page is rendered once per viewer and kept under ``p:<version>:<sha256 of its identity>``
(:func:`cache.keys.page_key`): the view, the full path with its query, and who is asking —
"anonymous", or the viewer's id with a keyed digest of every column of their user row (a
rename, a new photo, a password change or a new log-in make a new identity). With the HTML the
entry keeps the **version vector** of the page: the version (``<key>:ver``, rule 6 of
:mod:`cache.protocol`) of every cached value the render read — ID lists, notes, authors,
counts, the viewer's stars, blocks and friends. Nothing invalidates a page. A write replaces
the versions of the values it changes; a page whose vector no longer matches is simply not
served again (it is rendered anew and replaces the entry, or expires).

A warm page costs ONE memcached call: the entry and the current versions of its vector, in the
same multi-get as the signed-in viewer's user row (:func:`cache.protocol.read_ahead`). Which
version keys to ask for is a per-process hint (the vector this process last saw for the page);
when the hint is missing or out of date, the versions it lacked are read in a second call. No
SQL, no template. The entry's key is built from the view, the path and the session's user id
(known before any read); the entry holds the whole identity and is used only when it is the
viewer's as they are now. Reading the versions with the entry rather than after it changes
nothing below: a page is served only if the tokens read now equal the ones it was rendered
under, whichever of the two was read first.

**Why no reader is served a page older than the tombstone guarantee allows.** A page entry
holds versions ``V`` and HTML rendered from values ``D``. The render read each key's version
*before* the key's value (a round trip of its own, :func:`cache.protocol.recording`), and a
writer replaces a version only *after* tombstoning its key, both at once and after commit.
Take a write ``W`` to a key ``k`` the page shows, and its after-commit tombstone ``T`` then
version ``B``::

    render: read version of k            -> v_old  (before B)
    writer: COMMIT; tombstone k (T); version of k := v_new (B)
    render: read k                        -> maybe the old value (if before T)
    render: store page with k at v_old
    reader: entry says k at v_old, memcached says v_new -> not served; rendered anew

If instead the render read ``v_new`` (after ``B``), it read ``k`` after ``T`` too (its value
read follows its version read, ``T`` precedes ``B``), and after ``T`` the object protocol
serves nothing older than ``W``. So a page is served only while every value it was rendered
from is, version for version, the value the cache would serve now — the page is exactly as
fresh as the values under it, with the same exceptions (an evicted tombstone, a reader slower
than ``TOMBSTONE_TTL``). A version that is evicted, or lost with a server that was away (a
returning server is flushed, :mod:`cache.cluster`), is added back as a fresh random token, so
it matches no stored page. The at-once version change inside an open transaction is replaced
again after commit, which makes unreachable any page rendered from the old committed rows in
between (rule 3, for pages).

A render is **not stored** when it read anything the vector cannot describe: a database query
outside the cache's loaders, a version that could not be read or changed while it was read, a
value read from a replica because the primary was away (protocol rule 4). Nor are responses
other than a 200 HTML page, requests with flash messages waiting, or anything but GET/HEAD.

Time is part of a page too ("5 minutes ago"): a render notes when its text next changes
(:func:`changes_in`) and the entry is not served after that.

What is per request is never stored: each CSRF token in the HTML is kept as a placeholder and
filled in with this request's token when served.

**Conditional GET.** Each served page carries an ``ETag``: a keyed digest of the page's HTML,
its identity (so the viewer's) and the browser's CSRF secret; ``Cache-Control: private,
no-cache`` for a signed-in viewer and ``no-cache`` otherwise, so browsers always revalidate.
``If-None-Match`` with the current tag is answered ``304`` once the vector has been checked —
a 304 is never given for a page whose vector changed, nor across viewers, since the tag is
the viewer's own.

Not guaranteed: that a page is rendered once (two readers of a changed page both render it,
the later store wins and an older render can replace a newer one, which then misses — never
serves — once checked); that the entries of every viewer fit in memcached (they are evicted
like anything else); that a query string someone made up does not take an entry of its own.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import wraps
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.utils.crypto import salted_hmac
from django.utils.http import parse_etags

from cache import keys as keyspace
from cache import protocol
from cache.stats import stats

CSRF_PLACEHOLDER = "\x00csrf\x00"
# Pages whose version keys a process remembers, to fetch them with the entry (see _Vectors).
KNOWN_VECTORS = 1000
_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")([^"]*)(")')


def changes_in(seconds: float) -> None:
    """Say that what is being rendered changes by itself within ``seconds`` (the passing of
    time): a page stored from this render is not served after that."""
    record = protocol.current_recording()
    if record is not None:
        record.fresh_until = min(record.fresh_until, time.time() + max(seconds, 0))


def viewer_identity(request: HttpRequest) -> str:
    """Who is asking, as part of a page's identity and of its ETag."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "anonymous"
    row = repr(tuple(getattr(user, field.attname) for field in user._meta.concrete_fields))
    return f"{user.pk}:{salted_hmac('cache.pages.viewer', row).hexdigest()}"


def _has_messages(request: HttpRequest) -> bool:
    return hasattr(request, "_messages") and len(get_messages(request)) > 0


def cached_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve ``view``'s pages from the page cache (see the module's docstring)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or _has_messages(request):
            return view(request, *args, **kwargs)
        page = f"{view.__module__}.{view.__qualname__}|{request.get_full_path()}"
        # Keyed by the session's user id, which needs no read; the entry holds the whole
        # identity, compared once the user is known. The entry rides along with the read of
        # the user (one call for both).
        key = keyspace.page_key(f"{page}|{_session_user_id(request)}", version=protocol.config().version)
        guess = _vectors.get(key)
        wanted = [key, *guess]
        with protocol.read_ahead(wanted) as ahead:
            identity = f"{page}|{viewer_identity(request)}"
        found = ahead.found if ahead.fetched else protocol.cluster().get_many(wanted)
        entry = _current_entry(key, identity, found, set(guess))
        if entry is not None:
            stats.incr("page_hits")
            return _serve(request, entry, identity)
        stats.incr("page_misses")
        with recorded() as record:
            response = view(request, *args, **kwargs)
        if not _storable(response) or record.spoiled:
            return response
        html = response.content.decode()
        body, tokens = _CSRF_INPUT.subn(lambda m: m.group(1) + CSRF_PLACEHOLDER + m.group(3), html)
        if tokens != html.count("csrfmiddlewaretoken"):  # a token in a shape not recognised: keep none
            return response
        entry = (
            record.versions,
            record.fresh_until,
            salted_hmac("cache.pages.body", body).hexdigest(),
            body,
            response["Content-Type"],
            identity,
        )
        store(key, entry, record)
        _conditional_headers(request, response, entry, identity)
        return response

    return wrapper


# An entry, for pages and for any other caller of stored() and store(), is a tuple
# (versions, fresh_until, extra, body, content_type, identity): the version vector, the time its
# text stops being true, one value of the caller's (a page keeps its body's digest there), the
# body, its content type and whom it was built for.


@contextmanager
def recorded() -> Iterator[protocol.Recording]:
    """Record what the block builds: the version of every cache key it reads. A database query
    outside the cache's loaders spoils the record (the vector could not describe it), as does
    anything :func:`cache.protocol.recording` says spoils it."""
    with protocol.recording() as record, ExitStack() as wrappers:
        for alias in connections:
            wrappers.enter_context(connections[alias].execute_wrapper(_spoil_outside_loaders(record)))
        yield record


def stored(key: str, identity: str) -> tuple | None:
    """The entry under ``key`` if it was built for ``identity``, every version of its vector is
    current and its text is still true; None otherwise. One memcached call when this process
    has seen the entry's vector before, two when not (the versions are read after the entry)."""
    guess = _vectors.get(key)
    found = protocol.cluster().get_many([key, *guess])
    return _current_entry(key, identity, found, set(guess))


def store(key: str, entry: tuple, record: protocol.Recording) -> bool:
    """Keep ``entry`` (built under ``record``, whose vector and freshness it carries) until the
    protocol's TTL or the time its text stops being true, whichever is first. Not stored (False)
    when that time has already come. The caller checks ``record.spoiled`` first."""
    ttl = protocol.config().ttl
    if record.fresh_until != math.inf:
        ttl = min(ttl, math.ceil(record.fresh_until - time.time()))
    if ttl <= 0:
        return False
    protocol.cluster().set_many({key: entry}, ttl)
    _vectors.put(key, tuple(record.versions))
    stats.incr("page_stores")
    return True


def _spoil_outside_loaders(record: protocol.Recording):
    def spoil(execute, sql, params, many, context):
        if record.loading == 0:
            record.spoil("a database query outside the cache")
        return execute(sql, params, many, context)

    return spoil


def _storable(response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and response.get("Content-Type", "").startswith("text/html")
    )


def _session_user_id(request: HttpRequest) -> str:
    session = getattr(request, "session", None)
    return str(session.get(SESSION_KEY, "")) if session is not None else ""


class _Vectors:
    """Which version keys each page had when this process last saw it: a hint (never trusted,
    only used to fetch the versions in the same multi-get as the entry itself), bounded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, ...]:
        with self._lock:
            value = self._items.get(key, ())
            if value:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: tuple[str, ...]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_vectors = _Vectors(KNOWN_VECTORS)


def _current_entry(key: str, identity: str, found: dict[str, Any], fetched: set[str]) -> tuple | None:
    """The stored page in ``found``, if it is this viewer's, its vector still matches every
    version (those in ``fetched`` came with the entry; any others are read now) and its text
    is still true."""
    entry = found.get(key)
    if entry is None or entry[5] != identity:
        return None
    versions, fresh_until = entry[0], entry[1]
    if fresh_until <= time.time():
        return None
    _vectors.put(key, tuple(versions))
    later = [name for name in versions if name not in fetched]
    current = protocol.cluster().get_many(later) if later else {}
    if any((found if name in fetched else current).get(name) != token for name, token in versions.items()):
        return None
    return entry


def _etag(request: HttpRequest, entry: tuple, identity: str) -> str:
    secret = request.META.get("CSRF_COOKIE", "")
    return '"' + salted_hmac("cache.pages.etag", f"{entry[2]}|{identity}|{secret}").hexdigest()[:32] + '"'


def _conditional_headers(request: HttpRequest, response: HttpResponse, entry: tuple, identity: str) -> None:
    response["ETag"] = _etag(request, entry, identity)
    signed_in = getattr(request, "user", None) is not None and request.user.is_authenticated
    response["Cache-Control"] = "private, no-cache" if signed_in else "no-cache"


def _serve(request: HttpRequest, entry: tuple, identity: str) -> HttpResponse:
    etag = _etag(request, entry, identity)
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        stats.incr("page_not_modified")
        response: HttpResponse = HttpResponseNotModified()
    else:
        body = entry[3]
        if CSRF_PLACEHOLDER in body:
            body = body.replace(CSRF_PLACEHOLDER, get_token(request))
        response = HttpResponse(body, content_type=entry[4])
    _conditional_headers(request, response, entry, identity)
    return response
