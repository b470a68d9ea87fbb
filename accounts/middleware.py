"""Request middleware of the accounts app: the viewer's time zone (accounts/timezones.py)."""

from __future__ import annotations

from django.contrib.auth.middleware import get_user
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.timezones import zone


class ViewerTimeZoneMiddleware:
    """Activate the viewer's time zone for the request — at the moment the viewer is known.

    The user is not loaded here: a cached page (cache/pages.py) loads the signed-in user in the
    same memcached call as the page itself, and loading it any earlier would add a call to
    every warm page. So ``request.user`` becomes a lazy object that activates the person's zone
    when it is first loaded, which happens before anything is rendered for them (the page
    cache's identity, ``login_required`` and the top bar of every page read it). Until then,
    and for someone signed out, the zone is UTC (``settings.TIME_ZONE``). Goes right after
    Django's AuthenticationMiddleware; the zone is deactivated when the response is made, so
    the next request on the thread starts in UTC again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = SimpleLazyObject(lambda: _activated(get_user(request)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _activated(user):
    if user.is_authenticated:
        timezone.activate(zone(user.time_zone))
    return user
