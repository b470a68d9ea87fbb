"""Where a form sends people back to afterwards: a page of this site, given as a path.

A form carries the page it was on (``next``); its answer redirects there. Only a path on this
site is taken — it starts with one "/" (not "//" or "/\\", which browsers read as another host),
has no scheme, no host and no control characters; anything else gives the default, so
``?next=https://evil.example/`` cannot make the site an open redirect.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.http import url_has_allowed_host_and_scheme

# A stream's keyset cursors (notes/views/streams.py): without them, the stream's first page.
CURSORS = ("before", "before_reply")


def return_address(target: str | None, *, default: str, first_page: bool = False) -> str:
    """``target`` if it is a path on this site (without its #fragment), else ``default``. With
    ``first_page``, a stream's cursors are dropped: a new note is on the first page, not on the
    older page it was sent from."""
    target = target or ""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
        or not url_has_allowed_host_and_scheme(target, allowed_hosts=None)
    ):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    query = parts.query
    if first_page:
        query = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in CURSORS])
    return urlunsplit(("", "", parts.path, query, ""))
