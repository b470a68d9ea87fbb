"""Every key the cache layer stores, the rules a key obeys, and the defaults — stated once.

The formats (``<version>`` is ``POWNCE_CACHE["VERSION"]``, :data:`DEFAULT_VERSION` unless set)::

    o:<version>:<app_label.model>:<schema>:<pk>   a model instance        (cache/objects.py)
    l:<version>:<name>                            an ID list              (cache/idlists.py)
    v:<version>:<kind>:<id>                       a computed value        (cache/batch.py)
    <key>:lease                                   who refills a tombstoned key (cache/protocol.py)
    <key>:ver                                     the version of a key's value (cache/protocol.py)
    p:<version>:<sha256 of the page's identity>   a whole rendered page   (cache/pages.py)
    pownce:recovered                              a flushed server's marker    (cache/cluster.py)
    <KEY_PREFIX>:<version>:<key>                  django.core.cache keys  (cache/backends.py)

What memcached accepts, and so what every key sent to a server must be: at most
:data:`MAX_KEY_BYTES` (250) bytes once encoded as UTF-8, and no space or ASCII control
character (``\\x00``-``\\x20``, ``\\x7f``). Any other character is allowed: keys travel as UTF-8,
whose multi-byte sequences contain no such byte. :func:`validate` raises Django's
``InvalidCacheKey`` for a key that breaks the rules; both clusters (memcached and the in-process
stand-in) call it, so a bad key fails the same way with or without servers.

Guaranteed for the object, list and value keys built here:

* A key whose parts are short and plain (at most :data:`MAX_DATA_KEY_BYTES` bytes in all, no
  space or control character, and an id or name not starting with ``#``) is exactly the format
  above, byte for byte. Changing a format means changing :data:`DEFAULT_VERSION` too, so that
  old values become unreachable instead of being misread.
* Any other key — a long or non-printable list name or value id, say from user input — is
  stored as ``<head>#<sha256 of the rest, hex>``, the head being ``o:<version>:<model>:<schema>:``,
  ``v:<version>:<kind>:``, or ``l:<version>:`` followed by the list's kind (its name up to the
  first ``:``, when that is a plain word). It is still at most :data:`MAX_DATA_KEY_BYTES`
  bytes, still valid, distinct for distinct inputs (up to SHA-256 collisions), and still says
  what it caches (:func:`kind_of`). It never raises, so user input cannot break a page.
* :data:`MAX_DATA_KEY_BYTES` leaves room for the ``:lease`` and ``:ver`` suffixes, so a lease
  or version key is valid whenever its key is.

Not guaranteed: that a digested key can be turned back into its name (it is for counters and
debugging only through its head); that the head itself may be anything — a model label or
value kind is code, and one with a space or control character, or too long to leave room for
the digest, raises ``InvalidCacheKey``.

The namespaces do not overlap: Django's keys start with ``<KEY_PREFIX>:`` (``:`` by default),
and :class:`cache.backends.ClusterCache` refuses a ``KEY_PREFIX`` of ``o``, ``l``, ``v`` or ``p``
(:data:`RESERVED_PREFIXES`). Django's keys follow Django's contract instead of being digested:
:func:`validate` raises for them (in :class:`cache.backends.ClusterCache`), as Django's
memcached backends do, except that the length is counted in bytes, as memcached counts it
(Django counts characters, so a long non-ASCII key passes its check and then fails in the
client).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.core.cache.backends.base import InvalidCacheKey

# --- defaults (POWNCE_CACHE and the memcached OPTIONS start from these) --------------------
DEFAULT_VERSION = 1
DEFAULT_TTL = 24 * 3600  # seconds a filled value lives
# Seconds a tombstone lives, and a returning server's recovery marker with it; must exceed the
# replica lag the router tolerates (pownce/checks.py checks it).
DEFAULT_TOMBSTONE_TTL = 10
DEFAULT_LIST_CAP = 500  # ids in a cached list

# --- what memcached accepts ---------------------------------------------------------------
MAX_KEY_BYTES = 250
LEASE_SUFFIX = ":lease"
VERSION_SUFFIX = ":ver"
MAX_DATA_KEY_BYTES = MAX_KEY_BYTES - max(len(LEASE_SUFFIX), len(VERSION_SUFFIX))
_ILLEGAL = re.compile(r"[\x00-\x20\x7f]")

RECOVERY_MARKER = "pownce:recovered"
_KINDS = {"o": "object", "l": "list", "v": "value", "p": "page"}
RESERVED_PREFIXES = frozenset(_KINDS)


def problem(key: str) -> str | None:
    """Why memcached would refuse ``key``, or None if it is a valid key."""
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return f"Cache key is not encodable as UTF-8: {key!r}"
    if size > MAX_KEY_BYTES:
        return f"Cache key is longer than {MAX_KEY_BYTES} bytes as UTF-8: {key!r}"
    if _ILLEGAL.search(key):
        return f"Cache key contains a space or a control character, which memcached refuses: {key!r}"
    return None


def validate(key: str) -> str:
    """Return ``key`` if memcached accepts it; raise ``InvalidCacheKey`` otherwise."""
    reason = problem(key)
    if reason is not None:
        raise InvalidCacheKey(reason)
    return key


def object_key(label: str, schema: str, pk: Any, *, version: int) -> str:
    """``o:<version>:<label>:<schema>:<pk>``, a model instance by primary key."""
    return _compose(f"o:{version}:{label}:{schema}:", str(pk))


def list_key(name: str, *, version: int) -> str:
    """``l:<version>:<name>``, an ID list; ``<name>`` up to its first ``:`` is the list's kind."""
    kind, colon, rest = name.partition(":")
    if colon and kind and not kind.startswith("#") and problem(kind) is None and len(kind) <= 64:
        return _compose(f"l:{version}:{kind}:", rest)
    return _compose(f"l:{version}:", name)


def value_key(kind: str, ident: Any, *, version: int) -> str:
    """``v:<version>:<kind>:<id>``, one computed value of a kind."""
    return _compose(f"v:{version}:{kind}:", str(ident))


def lease_key(key: str) -> str:
    """The key whose ``add`` wins the right to refill the tombstoned ``key``."""
    return key + LEASE_SUFFIX


def version_key(key: str) -> str:
    """The key holding the version of ``key``'s value: a token replaced by every invalidation."""
    return key + VERSION_SUFFIX


def page_key(identity: str, *, version: int) -> str:
    """``p:<version>:<sha256 of identity>``, one rendered page for one kind of viewer."""
    return f"p:{version}:{hashlib.sha256(identity.encode('utf-8', 'surrogatepass')).hexdigest()}"


def kind_of(key: str) -> str:
    """What a key caches, for the counters: ``object:notes.note``, ``list:inbox``, ``value:note-counts``.

    The kind of a list is its name up to the first ``:`` (``inbox:42`` -> ``inbox``).
    """
    prefix, _, rest = key.partition(":")
    kind = rest.partition(":")[2].partition(":")[0].partition("#")[0]
    return f"{_KINDS.get(prefix, prefix)}:{kind}"


def _compose(head: str, rest: str) -> str:
    """``head + rest`` if that is a plain key, else ``head#<sha256 of rest>`` (see above)."""
    validate(head)
    key = head + rest
    if not rest.startswith("#") and problem(key) is None and len(key.encode("utf-8")) <= MAX_DATA_KEY_BYTES:
        return key
    digested = f"{head}#{hashlib.sha256(rest.encode('utf-8', 'surrogatepass')).hexdigest()}"
    if len(digested.encode("utf-8")) > MAX_DATA_KEY_BYTES:
        raise InvalidCacheKey(f"Cache key head is too long to hold a digest: {head!r}")
    return digested
