"""The note form: sending a note, and coming back to the page it was sent from.

The form carries the page it is on (``next``, checked by :mod:`notes.views.back`). Without
JavaScript, a sent note redirects to that page's first page, at the new note (``#note-<id>``),
which is at the top of the stream when the stream shows it; when it does not (a filter for
links, after a message), a message says the note was sent and links to it. A form with errors
is shown again on the "Send a note" page with everything typed (but the file, which browsers
never fill in) and the same ``next``.

With JavaScript (static/js/notes.js) the form is sent in the background with the header
``Pownce-Partial: composer`` and the answer is a piece of the page, not a page:

* sent: ``201`` with the new note's card as the reader sees it when the page it was sent from
  shows it (empty otherwise), ``Pownce-Location`` (the page at the note, or the note's own
  page) and ``Pownce-Form-Key`` (a fresh idempotency key for the next note: the one sent made
  this note, and sending it again would only find this note again);
* refused: ``400`` with the inside of the form, its errors and what was typed.

Either way the audience chosen is remembered for the next note (``User.last_audience``).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.html import format_html

from accounts import services as account_services
from notes import cards, selectors, services
from notes.forms import NoteForm
from notes.models import Note
from notes.views.back import return_address
from pownce.uploads import accepts_uploads

PARTIAL_HEADER = "Pownce-Partial"


def note_url(note: Note) -> str:
    return reverse("note_detail", args=[note.pk])


def _partial(request) -> bool:
    return request.headers.get(PARTIAL_HEADER) == "composer"


@accepts_uploads
@login_required
def note_new(request):
    target = request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    back = return_address(target, default=reverse("home"), first_page=True)
    if request.method == "POST":
        form = NoteForm(request.POST, request.FILES, author=request.user)
        if form.is_valid():
            try:
                note = services.note_create(author=request.user, **form.note_kwargs())
            except ValidationError as error:
                form.add_error(None, error)
            else:
                account_services.audience_remember(request.user, form.cleaned_data["audience"])
                return _sent(request, note, back)
        if _partial(request):
            response = HttpResponse(cards.composer_fields(form), status=400)
            response[PARTIAL_HEADER] = "composer"
            return response
        status = 400
    else:
        kind = request.GET.get("kind")
        form = NoteForm(author=request.user, initial={"kind": kind} if kind in Note.Kind.values else None)
        status = 200
    return render(request, "notes/note_new.html", {"form": form, "composer_next": back}, status=status)


def _sent(request, note: Note, back: str) -> HttpResponse:
    shown = _shows(back, note, request.user)
    at_note = f"{back}#note-{note.pk}"
    if _partial(request):
        html = ""
        if shown:
            html = cards.note_card(
                note, selectors.CardCounts(), viewer=request.user, csrf_token=get_token(request), back_to=back
            )
        response = HttpResponse(html, status=201)
        response["Pownce-Location"] = at_note if shown else note_url(note)
        response["Pownce-Form-Key"] = uuid.uuid4().hex
        return response
    if shown:
        return redirect(at_note)
    messages.success(request, format_html('Your note was sent. <a href="{}">See it</a>.', note_url(note)))
    return redirect(back)


def _shows(address: str, note: Note, author) -> bool:
    """Whether the first page at ``address`` shows ``note``, which ``author`` just sent: their
    home (under its filter), the public stream for a public note, their own profile."""
    parts = urlsplit(address)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return False
    if match.url_name == "home":
        return selectors.home_filter_shows_own(note, QueryDict(parts.query).get("show", "all"))
    if match.url_name == "public":
        return note.is_public
    if match.url_name == "profile":
        return match.kwargs["username"].lower() == author.username.lower()
    return False
