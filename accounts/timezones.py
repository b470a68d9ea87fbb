"""Each person's time zone: an IANA name (``America/Los_Angeles``) kept on their user row.

Where it comes from: at sign-up the browser names its own zone (a hidden field that
static/js/timezone.js fills from ``Intl.DateTimeFormat().resolvedOptions().timeZone``); without
JavaScript, or when the browser names something this server's zone database does not know,
the person starts in UTC. Settings offer every zone of :func:`zone_names` to change it.

What it is used for: :class:`accounts.middleware.ViewerTimeZoneMiddleware` activates the
viewer's zone for the request (``django.utils.timezone.activate``), so event times are entered
in it (the note form's date and time mean the viewer's wall clock) and shown in it, with the
zone named. What is stored is always the true instant (UTC in the database, ``Z`` in the
``.ics`` and the API).

Why on the user row: pages are cached whole per viewer (cache/pages.py), and a page's identity
holds a digest of the viewer's user row, so changing one's zone makes every cached page of
theirs unreachable — no page rendered in the old zone is served again. Someone signed out sees
UTC, which is the same for every visitor.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError

DEFAULT = "UTC"
# Names the zone database holds that are not zones a person lives in: the server's own
# configured zone and placeholders.
NOT_PLACES = {"localtime", "posixrules", "Factory"}


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this server knows (``zoneinfo.available_timezones``), sorted."""
    return tuple(sorted(zoneinfo.available_timezones() - NOT_PLACES))


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(zone_names())


def is_zone(name: str) -> bool:
    """Whether ``name`` is exactly one of :func:`zone_names` (case and spelling included)."""
    return isinstance(name, str) and name in _known()


def zone_or_default(name: str | None) -> str:
    """``name`` if it is a known zone, else UTC: for a guess (the browser's), never an error."""
    name = (name or "").strip()
    return name if is_zone(name) else DEFAULT


def validate_time_zone(name: str) -> None:
    if not is_zone(name):
        raise ValidationError("Choose a time zone from the list.", code="invalid_time_zone")


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ZoneInfo of a person's stored zone; UTC for anything unknown (a zone the zone
    database dropped since it was stored must not break a page)."""
    return zoneinfo.ZoneInfo(zone_or_default(name))
