"""The notifications page and "mark all read" (notes/notifications.py does the work)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cache.pages import cached_page
from notes import notifications
from notes.views.streams import CURSOR, cursor


@cached_page  # outermost: the user is read with the page entry, in one call (cache/pages.py)
@login_required
def notification_list(request):
    page = notifications.notifications_page(request.user, before=cursor(request, "before"))
    return render(request, "notes/notifications.html", {"page": page})


@require_POST
@login_required
def notifications_read(request):
    """Mark read what the reader was shown: up to the newest id the page carried (a newer one,
    arrived since, stays unread); everything when the form carries none."""
    shown = request.POST.get("upto", "")
    upto = int(shown) if CURSOR.fullmatch(shown) and 0 < int(shown) < 2**63 else None
    if notifications.mark_read(request.user, upto=upto):
        messages.success(request, "All caught up: your notifications are marked read.")
    return redirect("notifications")
