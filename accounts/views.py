"""Pages for people: sign-up, log-in, settings, friends/fans lists, requests, blocks and sets.

Views only read the request, call a service or selector and render; the rules live in
``accounts.services`` and ``accounts.selectors``.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.forms.utils import ErrorDict
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts import profiles, selectors, services
from accounts.forms import FriendSetForm, LogInForm, ProfileForm, SignUpForm
from accounts.models import User
from pownce.clients import client_ip
from pownce.uploads import accepts_uploads

SIGNUP_LIMITED_MESSAGE = "Too many sign-ups from your network. Please try again later."


def _next_url(request: HttpRequest, fallback: str) -> str:
    """Where to go after a form: the ``next`` field if it points into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _person_or_404(username: str) -> User:
    person = selectors.user_by_username(username)
    if person is None:
        raise Http404("No such person.")
    return person


# --- Sign-up, log-in, settings -----------------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if not services.signup_attempt_allowed(ip=client_ip(request)):
            form.add_error(None, SIGNUP_LIMITED_MESSAGE)
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        if form.is_valid():
            try:
                user = services.user_sign_up(
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password1"],
                    time_zone=form.cleaned_data["time_zone"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                login(request, user, backend="accounts.backends.CachedModelBackend")
                messages.success(request, f"Welcome to Pownce, {user.username}! Add a photo and a few words about you.")
                return redirect("settings")
    return render(request, "accounts/signup.html", {"form": form})


def _tell_owner(request: HttpRequest, failures: int) -> None:
    """The owner of an account someone has been guessing at learns it when they log in."""
    if failures:
        minutes = services.LOGIN_WINDOW_SECONDS // 60
        attempts = f"{failures} failed attempt{'s' if failures != 1 else ''}"
        messages.warning(
            request,
            f"There {'were' if failures != 1 else 'was'} {attempts} to log in to your account in the last {minutes}"
            " minutes. If that wasn't you, nobody got in; choose a stronger password if yours is easy to guess.",
        )


class LogInView(auth_views.LoginView):
    """Django's log-in, counted per address, per address and account, and per account before
    any password is checked; a right password takes its count back (accounts.services). A
    suspended account's right password is told the account is suspended (``LogInForm``), and
    still counts as a failure."""

    template_name = "accounts/login.html"
    authentication_form = LogInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        refusal = services.login_attempt_refusal(ip=client_ip(request), username=username)
        if refusal:
            form = self.get_form_class()(request, initial={"username": username[:150]})
            context = self.get_context_data(form=form, limited_message=refusal)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        username = self.request.POST.get("username", "")
        _tell_owner(self.request, services.login_succeeded(ip=client_ip(self.request), username=username))
        return response


class RefusedAdminLogInForm(AdminAuthenticationForm):
    """The admin's log-in form, showing why an attempt was refused before it was checked."""

    def __init__(self, request: HttpRequest, *, username: str, refusal: str) -> None:
        super().__init__(request, initial={"username": username})
        self.refusal = refusal

    def full_clean(self) -> None:
        self._errors = ErrorDict()
        self.cleaned_data = {}
        self.add_error(None, self.refusal)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's log-in page with the same limits as ``/login/`` (it guards the most powerful
    accounts, so it must not be the easier place to guess a password)."""
    if request.method != "POST":
        return admin.site.login(request)
    username = request.POST.get("username", "")
    refusal = services.login_attempt_refusal(ip=client_ip(request), username=username)
    if refusal:
        form = RefusedAdminLogInForm(request, username=username[:150], refusal=refusal)
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "form": form,
            REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME) or reverse("admin:index"),
        }
        return render(request, "admin/login.html", context, status=429)
    was_signed_in = request.user.is_authenticated
    response = admin.site.login(request)
    if request.user.is_authenticated and not was_signed_in:
        _tell_owner(request, services.login_succeeded(ip=client_ip(request), username=username))
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response


@accepts_uploads
@login_required
def settings_profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    initial = {field: getattr(user, field) for field in ("display_name", "bio", "location", "website", "time_zone")}
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # All or nothing: a bad photo must not leave half the profile saved.
            with transaction.atomic():
                services.profile_update(
                    user,
                    display_name=data["display_name"],
                    bio=data["bio"],
                    location=data["location"],
                    website=data["website"],
                    time_zone=data["time_zone"],
                )
                if data["photo"]:
                    services.user_photo_set(user, data["photo"])
                elif data["remove_photo"]:
                    services.user_photo_remove(user)
        except ValidationError as exc:
            user.refresh_from_db()
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error("photo", exc)
        else:
            messages.success(request, "Your profile has been saved.")
            return redirect("settings")
    return render(request, "accounts/settings.html", {"form": form})


@require_GET
def photo(request: HttpRequest, size: str, name: str) -> FileResponse:
    """A profile photo. Names are random per upload, so a photo URL can be cached forever."""
    path = f"photos/{size}/{name}"
    if not default_storage.exists(path):
        raise Http404("No such photo.")
    response = FileResponse(default_storage.open(path, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# --- Friends, fans, requests, blocks -----------------------------------------------------------

PEOPLE_LISTS = {
    "friends": ("Friends", selectors.friends_of),
    "fans": ("Fans", selectors.fans_of),
    "fan_of": ("Fan of", selectors.fan_of),
}


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    # ASCII digits: \d would also take other scripts' digits.
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else None


def people(request: HttpRequest, username: str, which: str) -> HttpResponse:
    """A profile's friends, fans or fan-of list, ``PEOPLE_PAGE_SIZE`` at a time by ``?before=<id>``."""
    person = _person_or_404(username)
    title, select = PEOPLE_LISTS[which]
    page_size = selectors.PEOPLE_PAGE_SIZE
    # One extra tells whether there is a next page without counting.
    found = select(person, before=_before(request), limit=page_size + 1)
    page, more = found[:page_size], len(found) > page_size
    # Suspended people are not shown; the next page still starts after this page's last id.
    listed = selectors.shown_people(page)
    summary = profiles.profile_summary(request.user, person)
    return render(
        request,
        "accounts/people.html",
        {
            "profile_user": person,
            "relationship": summary.relationship,
            "counts": summary.counts,
            "tab": which,
            "title": title,
            "people": listed,
            "next_before": page[-1].pk if more else None,
        },
    )


@login_required
def friend_requests(request: HttpRequest) -> HttpResponse:
    waiting = selectors.shown_people(selectors.pending_requests(request.user))
    return render(request, "accounts/requests.html", {"people": waiting})


@login_required
def blocked_people(request: HttpRequest) -> HttpResponse:
    people_blocked = selectors.users_by_ids(selectors.blocked_ids(request.user))
    return render(request, "accounts/blocked.html", {"people": people_blocked})


def _add(user: User, other: User) -> str:
    if services.friend_add(user, other):
        return f"You and {other.username} are now friends."
    return f"You are now a fan of {other.username}. When they add you back, you'll be friends."


def _remove(user: User, other: User) -> str:
    was_friends = selectors.are_friends(user, other)
    services.friend_remove(user, other)
    if was_friends:
        return f"{other.username} is no longer your friend. They are still your fan."
    return f"You are no longer a fan of {other.username}."


def _ignore(user: User, other: User) -> str:
    services.friend_request_ignore(user, other)
    return f"Ignored {other.username}'s friend request. They stay your fan."


def _block(user: User, other: User) -> str:
    services.block(user, other)
    return f"You blocked {other.username}. They can't add you or see your non-public notes."


def _unblock(user: User, other: User) -> str:
    services.unblock(user, other)
    return f"You unblocked {other.username}."


# What each relationship button does: the service it calls and what it then says.
RELATIONSHIP_ACTIONS = {"add": _add, "remove": _remove, "ignore": _ignore, "block": _block, "unblock": _unblock}


@require_POST
@login_required
def relationship(request: HttpRequest, username: str, action: str) -> HttpResponse:
    """Add, remove, ignore, block or unblock ``username`` (``action``, from the URL), then go
    back to the ``next`` page with what happened as a message."""
    other = _person_or_404(username)
    try:
        message = RELATIONSHIP_ACTIONS[action](request.user, other)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, message)
    return redirect(_next_url(request, other.get_absolute_url()))


# --- Sets --------------------------------------------------------------------------------------


def _friend_set_or_404(user: User, set_id: int):
    friend_set = selectors.friend_set_of(user, set_id)
    if friend_set is None:
        raise Http404("No such set.")
    return friend_set


def _apply_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def set_list(request: HttpRequest) -> HttpResponse:
    """The user's sets, and a form to make a new one."""
    friends = selectors.users_by_ids(selectors.friend_ids_all(request.user))
    form = FriendSetForm(request.POST or None, friends=friends)
    if request.method == "POST" and form.is_valid():
        try:
            friend_set = services.friend_set_create(
                request.user, name=form.cleaned_data["name"], member_ids=form.cleaned_data["members"]
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Set “{friend_set.name}” created.")
            return redirect("set_list")
    sets = selectors.friend_sets_of(request.user)
    return render(request, "accounts/sets.html", {"form": form, "sets": sets, "friends": friends})


@login_required
def set_edit(request: HttpRequest, set_id: int) -> HttpResponse:
    friend_set = _friend_set_or_404(request.user, set_id)
    friends = selectors.users_by_ids(selectors.friend_ids_all(request.user))
    initial = {"name": friend_set.name, "members": selectors.friend_set_member_ids(friend_set)}
    form = FriendSetForm(request.POST or None, friends=friends, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.friend_set_update(
                friend_set, name=form.cleaned_data["name"], member_ids=form.cleaned_data["members"]
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Set “{friend_set.name}” saved.")
            return redirect("set_list")
    return render(request, "accounts/set_edit.html", {"form": form, "friend_set": friend_set, "friends": friends})


@require_POST
@login_required
def set_delete(request: HttpRequest, set_id: int) -> HttpResponse:
    friend_set = _friend_set_or_404(request.user, set_id)
    name = friend_set.name
    services.friend_set_delete(friend_set)
    messages.success(request, f"Set “{name}” deleted.")
    return redirect(reverse("set_list"))
