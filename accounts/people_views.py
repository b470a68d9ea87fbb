"""Pages for finding people: the search (``/search/?q=``) and "Find people" (``/people/``).

Thin like the other views: the search is ``selectors.people_search`` (one indexed lookup,
accounts/search.py), the suggestions ``suggestions.suggestions_for`` (computed by the task
worker, read from the cache). "Find people" is kept whole in the page cache (cache/pages.py):
warm, it costs no SQL. The search is not: every query is its own page, and its one lookup is
cheaper than keeping them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import profiles, selectors, suggestions
from cache.pages import cached_page

# People on the "Find people" page.
FIND_PEOPLE_SHOWN = 30


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """People whose username or name starts with ``q``, each with the button that fits how the
    viewer stands toward them. Any ``q`` gets an answer: an empty or overlong one says why."""
    raw = request.GET.get("q")
    found = selectors.people_search(request.user, raw) if raw is not None else None
    relations = profiles.relationships(request.user, found.people) if found else {}
    cards = [(person, relations[person.pk]) for person in found.people] if found else []
    shown = (raw or "").strip()[: selectors.SEARCH_QUERY_MAX]
    return render(request, "accounts/search.html", {"q": shown, "found": found, "cards": cards})


@login_required
@cached_page
def find_people(request: HttpRequest) -> HttpResponse:
    """The people suggested to the viewer, and the search box."""
    found = suggestions.suggestions_for(request.user, limit=FIND_PEOPLE_SHOWN)
    return render(request, "accounts/find_people.html", {"suggestions": found})
