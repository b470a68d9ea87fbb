"""Template filters for text people wrote."""

from __future__ import annotations

from django import template
from django.utils import dateformat, timezone

from accounts import text
from cache import pages
from notes import files

register = template.Library()
# Web addresses and @usernames become links, nothing else (accounts/text.py).
register.filter("linkify", text.linkify, is_safe=True)


@register.filter
def shows_picture(note) -> bool:
    """The note's file is an image shown on its card: its thumbnail, or the image itself while
    the thumbnail task has not run yet."""
    return bool(note.thumbnail) or files.is_inline(note)


@register.filter
def picture_size(note) -> tuple[int, int] | None:
    """(width, height) to show the note's picture at on its card, or None (notes/files.py)."""
    return files.shown_picture_size(note)


@register.filter
def filesize(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter
def ago(moment) -> str:
    """How long ago, in one unit: "just now", "5 minutes ago", "3 hours ago", "2 days ago",
    then the date. Cheaper than ``timesince`` (one subtraction), which matters on a stream."""
    if moment is None:
        return ""
    seconds = (timezone.now() - moment).total_seconds()
    if seconds < 60:
        pages.changes_in(60 - seconds)
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count > 30:
                return timezone.localtime(moment).strftime("%-d %b %Y")
            # A cached page showing this text is good until the count moves on.
            pages.changes_in((count + 1) * size - seconds)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return ""


@register.filter
def zoned(moment, style: str = "D j M Y, H:i") -> str:
    """``moment`` in the viewer's time zone (the active one, accounts/timezones.py), with the
    zone named: "Sat 5 Dec 2026, 19:30 PST (America/Los_Angeles)"; the name alone where it is
    its own abbreviation ("… 19:30 UTC"). ``style`` is a ``date`` filter format."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    name = timezone.get_current_timezone_name()
    abbreviation = local.tzname() or name
    text = f"{dateformat.format(local, style)} {abbreviation}"
    return text if abbreviation == name else f"{text} ({name})"
