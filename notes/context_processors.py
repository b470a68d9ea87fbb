"""What every page's template may show besides its own content."""

from __future__ import annotations

from django.http import HttpRequest

from notes.notifications import Badge


def notifications(request: HttpRequest) -> dict:
    """``notifications_badge``: the signed-in person's unread count for the top bar, read from
    the cache only if the template shows it (notes/notifications.py, ``Badge``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_badge": Badge(user.pk)}
