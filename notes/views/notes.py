from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from cache.pages import cached_page
from notes import cards, moderation, selectors, services, streams, visibility
from notes.forms import ForwardForm, ReplyForm, ReportForm
from notes.views.back import return_address
from notes.views.posting import note_url


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


@require_http_methods(["GET", "POST"])
@login_required
def reply_delete(request, reply_id: int):
    """GET asks "Delete this reply?" (the page without JavaScript; with it, a dialog asks and
    posts); POST deletes, then goes back to the reply's note."""
    if request.method == "POST":
        reply = services.reply_delete(user=request.user, reply_id=reply_id)
        messages.success(request, "Your reply was deleted.")
        return redirect("note_detail", reply.note_id)
    reply = selectors.own_reply(request.user, reply_id)
    note_page = reverse("note_detail", args=[reply.note_id])
    context = {
        "what": "reply",
        "text": reply.body,
        "action": reverse("reply_delete", args=[reply.pk]),
        "detail": cards.DELETE_REPLY_DETAIL,
        "next": note_page,
        "cancel": f"{note_page}#reply-{reply.pk}",
    }
    return render(request, "notes/delete_confirm.html", context)


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


@require_http_methods(["GET", "POST"])
@login_required
def note_delete(request, note_id: int):
    """GET asks "Delete this note?" (the page without JavaScript; with it, a dialog asks and
    posts); POST deletes, then goes back to ``next`` — the stream the note was deleted from —
    or home when that was the note's own page, which is gone."""
    note_page = reverse("note_detail", args=[note_id])
    target = request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    back = return_address(target, default=reverse("home"))
    if back.split("?")[0] == note_page:
        back = reverse("home")
    if request.method == "POST":
        services.note_delete(user=request.user, note_id=note_id)
        messages.success(request, "Your note was deleted.")
        return redirect(back)
    note = selectors.own_note(request.user, note_id)
    context = {
        "what": "note",
        "text": note.title or note.body,
        "action": reverse("note_delete", args=[note.pk]),
        "detail": cards.DELETE_NOTE_DETAIL,
        "next": back,
        "cancel": return_address(target, default=note_page) + f"#note-{note.pk}",
    }
    return render(request, "notes/delete_confirm.html", context)


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
