from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cache.pages import cached_page
from notes import moderation, selectors, services, streams, visibility
from notes.forms import ForwardForm, NoteForm, ReplyForm, ReportForm
from notes.models import Note
from pownce.uploads import accepts_uploads


def _back(request, default: str):
    """Go back where a button was pressed (a stream), if that is a page of this site."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


def _note_page(request, note_id: int, *, status: int = 200, **forms):
    page = streams.note_with_replies(request.user, note_id)
    viewer, note, blocks = request.user, page.note, page.blocks
    context = {"page": page, "note": note}
    if visibility.may_reply(viewer, note, blocks=blocks):
        context["reply_form"] = forms.get("reply_form") or ReplyForm()
    if visibility.may_report(viewer, note):
        context["report_form"] = forms.get("report_form") or ReportForm()
    if forms.get("forward_form"):  # a refused forward says why on its own form
        context["forward_form"] = forms["forward_form"]
    elif visibility.may_forward(viewer, note, blocks=blocks):
        context["forward_form"] = ForwardForm(author=viewer)
    return render(request, "notes/note_detail.html", context, status=status)


def log_in_to_see(view):
    """A signed-out visitor who follows a link to a note they may not see is asked to log in
    (``/login/?next=<this page>``); once logged in they see it if they may, 404 otherwise.

    Asked for *every* note id the public is not shown — private, friends-only, hidden, or no
    note at all — never for some of them: if a note that does not exist answered 404 and a
    private one a log-in, the difference would tell a visitor which ids hold private notes
    (and so roughly when someone posted privately). This way a signed-out visitor learns
    nothing but what the public may see; the answer for a missing note comes after log-in,
    where 404 already means "missing or not for you" alike. A signed-in viewer gets 404 as
    before, and so does anyone for a note they may see but that has no such part (the file of
    a message)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except selectors.NoteNotShown:
            if request.user.is_authenticated:
                raise
            return redirect_to_login(request.get_full_path())

    return wrapper


@cached_page
@log_in_to_see
def note_detail(request, note_id: int):
    return _note_page(request, note_id)


@accepts_uploads
@login_required
def note_new(request):
    if request.method == "POST":
        form = NoteForm(request.POST, request.FILES, author=request.user)
        if form.is_valid():
            try:
                note = services.note_create(author=request.user, **form.note_kwargs())
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(note_url(note))
        status = 400
    else:
        kind = request.GET.get("kind")
        form = NoteForm(author=request.user, initial={"kind": kind} if kind in Note.Kind.values else None)
        status = 200
    return render(request, "notes/note_new.html", {"form": form}, status=status)


def note_url(note: Note) -> str:
    return reverse("note_detail", args=[note.pk])


def _visible_for_post(request, note_id: int):
    """Outsiders of a note get 404 before anything else, the signed-out audience a log-in."""
    selectors.visible_note(request.user, note_id)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("note_detail", args=[note_id]))
    return None


@require_POST
def reply_create(request, note_id: int):
    if response := _visible_for_post(request, note_id):
        return response
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            reply = services.reply_create(author=request.user, note_id=note_id, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(f"{reverse('note_detail', args=[note_id])}#reply-{reply.pk}")
    return _note_page(request, note_id, status=400, reply_form=form)


@require_POST
@login_required
def reply_delete(request, reply_id: int):
    reply = services.reply_delete(user=request.user, reply_id=reply_id)
    messages.success(request, "Your reply was deleted.")
    return redirect("note_detail", reply.note_id)


@require_POST
def note_forward(request, note_id: int):
    if response := _visible_for_post(request, note_id):
        return response
    form = ForwardForm(request.POST, author=request.user)
    if form.is_valid():
        try:
            forward = services.note_forward(user=request.user, note_id=note_id, **form.audience_kwargs())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Forwarded.")
            return redirect(note_url(forward))
    return _note_page(request, note_id, status=400, forward_form=form)


@require_POST
def star_add(request, note_id: int):
    if response := _visible_for_post(request, note_id):
        return response
    services.star_add(user=request.user, note_id=note_id)
    return _back(request, reverse("note_detail", args=[note_id]))


@require_POST
def star_remove(request, note_id: int):
    if response := _visible_for_post(request, note_id):
        return response
    services.star_remove(user=request.user, note_id=note_id)
    return _back(request, reverse("note_detail", args=[note_id]))


@require_POST
@login_required
def note_delete(request, note_id: int):
    services.note_delete(user=request.user, note_id=note_id)
    messages.success(request, "Your note was deleted.")
    return redirect("home")


@require_POST
def note_report(request, note_id: int):
    """A reader asks the moderators to look at a note (notes/moderation.py)."""
    if response := _visible_for_post(request, note_id):
        return response
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            moderation.report_create(reporter=request.user, note_id=note_id, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Thank you: a moderator will look at this note.")
            return redirect("note_detail", note_id)
    return _note_page(request, note_id, status=400, report_form=form)
