from __future__ import annotations

import re

from django.http import Http404
from django.shortcuts import render

from accounts.profiles import profile_summary
from accounts.selectors import user_by_username
from cache.pages import cached_page
from notes import selectors, streams
from notes.forms import NoteForm

# ASCII digits only: str.isdigit() also accepts "²" or "①", which int() refuses.
CURSOR = re.compile(r"[0-9]{1,19}")


def cursor(request, name: str) -> int | None:
    """A keyset cursor from the query string; anything that is not a positive id means "newest"."""
    value = request.GET.get(name, "")
    return int(value) if CURSOR.fullmatch(value) and 0 < int(value) < 2**63 else None


@cached_page
def home(request):
    if not request.user.is_authenticated:
        page = streams.public_stream(request.user, before=cursor(request, "before"))
        return render(request, "notes/welcome.html", {"page": page})
    show = request.GET.get("show", "all")
    if show not in selectors.HOME_FILTERS:
        show = "all"
    home = streams.home_page(
        request.user,
        show=show,
        before=cursor(request, "before"),
        before_reply=cursor(request, "before_reply"),
        side=True,
    )
    form = NoteForm(author=request.user, audience=home.audience)
    context = {
        "page": home.page,
        "show": show,
        "filters": selectors.HOME_FILTERS,
        "form": form,
        "own": home.own,
        "suggestions": home.suggestions,
        "upcoming": home.upcoming,
    }
    return render(request, "notes/home.html", context)


@cached_page
def public(request):
    page = streams.public_stream(request.user, before=cursor(request, "before"))
    return render(request, "notes/public.html", {"page": page})


@cached_page
def profile(request, username: str):
    profile_user = user_by_username(username)
    if profile_user is None:
        raise Http404("No such person")
    page = streams.profile_stream(request.user, profile_user, before=cursor(request, "before"))
    summary = profile_summary(request.user, profile_user)
    return render(request, "notes/profile.html", {"page": page, "summary": summary})
