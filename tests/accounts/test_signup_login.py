"""Sign-up, log-in (with its rate limit), log-out and password change."""

import re

import pytest
from django.test import Client

from accounts import services
from accounts.models import User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_up(client, username, password=PASSWORD, **extra):
    return client.post("/signup/", {"username": username, "password1": password, "password2": password, **extra})


def test_sign_up_creates_the_account_and_logs_in(client):
    response = sign_up(client, "New_Person9", email="new@example.com")

    assert response.status_code == 302
    user = User.objects.get(username="New_Person9")
    assert user.email == "new@example.com"
    assert user.check_password(PASSWORD)
    assert client.get("/settings/").status_code == 200


@pytest.mark.parametrize("username", ["admin", "Notes", "PUBLIC", "login", "settings", "sets", "static", "healthz"])
def test_reserved_usernames_are_refused(client, username):
    response = sign_up(client, username)
    assert response.status_code == 200
    assert "That username is reserved" in response.content.decode()
    assert not User.objects.filter(username__iexact=username).exists()


@pytest.mark.parametrize(
    "username",
    ["ab", "x" * 31, "has space", "dash-name", "dot.name", "at@name", "émile", "<script>", ""],
)
def test_badly_shaped_usernames_are_refused(client, username):
    response = sign_up(client, username)
    assert response.status_code == 200
    assert not User.objects.exists()
    assert b'class="error"' in response.content


def test_username_taken_in_another_letter_case_is_refused(client, make_user):
    make_user("alice")
    response = sign_up(client, "ALICE")
    assert response.status_code == 200
    assert User.objects.filter(username__iexact="alice").count() == 1
    assert "already exists" in response.content.decode() or "taken" in response.content.decode()


def test_sign_up_service_refuses_case_insensitive_duplicates(make_user):
    from django.core.exceptions import ValidationError

    make_user("Alice")
    with pytest.raises(ValidationError, match="taken"):
        services.user_sign_up(username="aLiCe", email="", password=PASSWORD)


def test_mismatched_passwords_keep_what_was_typed(client):
    response = client.post(
        "/signup/", {"username": "keepme", "email": "k@example.com", "password1": PASSWORD, "password2": "other"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="keepme"' in body and 'value="k@example.com"' in body
    assert not User.objects.exists()


def test_log_in_is_case_insensitive_on_the_username(client, make_user):
    make_user("Dora")
    response = client.post("/login/", {"username": "dora", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/settings/").status_code == 200


def test_wrong_password_is_a_form_error(client, make_user):
    make_user("dora")
    response = client.post("/login/", {"username": "dora", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_log_in_limit_per_address_holds_across_usernames(client, make_user):
    make_user("victim")
    for attempt in range(services.LOGIN_FAILURES_PER_ADDRESS):
        assert client.post("/login/", {"username": f"nobody{attempt}", "password": "x"}).status_code == 200
    response = client.post("/login/", {"username": "victim", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many log-in attempts" in response.content.decode()


def test_log_out_needs_a_post(as_user, make_user):
    browser = as_user(make_user("leaving"))
    assert browser.get("/logout/").status_code == 405
    assert browser.post("/logout/").status_code == 302
    assert browser.get("/settings/").status_code == 302


def test_forms_require_csrf_tokens(make_user):
    browser = Client(enforce_csrf_checks=True)
    assert (
        browser.post("/signup/", {"username": "csrfless", "password1": PASSWORD, "password2": PASSWORD}).status_code
        == 403
    )
    assert browser.post("/login/", {"username": "x", "password": "y"}).status_code == 403
    assert not User.objects.exists()


def test_password_change_keeps_you_logged_in(as_user, make_user):
    user = make_user("changer")
    browser = as_user(user)
    new = "a different long passphrase"
    response = browser.post(
        "/settings/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert browser.get("/settings/").status_code == 200


def test_password_change_with_wrong_old_password_changes_nothing(as_user, make_user):
    user = make_user("changer")
    response = as_user(user).post(
        "/settings/password/", {"old_password": "wrong", "new_password1": "x" * 12, "new_password2": "x" * 12}
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def _form_errors(response) -> str:
    """The log-in card up to the end of its form, without the (per-response) CSRF token."""
    html = response.content.decode()
    start = html.index('<section class="card narrow">')
    card = html[start : html.index("</form>", start)]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", card)


def test_a_suspended_person_with_the_right_password_is_told_the_account_is_suspended(client, make_user):
    make_user("sus", is_suspended=True)
    response = client.post("/login/", {"username": "SUS", "password": PASSWORD})
    assert response.status_code == 200
    errors = _form_errors(response)
    assert "This account has been suspended by Pownce&#x27;s moderators" in errors
    assert "correct username and password" not in errors
    assert client.get("/settings/").status_code == 302  # not logged in


def test_a_suspended_account_with_a_wrong_password_looks_like_any_wrong_password(client, make_user):
    """Nobody learns that an account is suspended without its password."""
    make_user("sus", is_suspended=True)
    make_user("fine")
    suspended = _form_errors(client.post("/login/", {"username": "sus", "password": "guess"}))
    ordinary = _form_errors(client.post("/login/", {"username": "fine", "password": "guess"}))
    assert "suspended" not in suspended and "correct username and password" in suspended
    assert suspended.replace("sus", "NAME") == ordinary.replace("fine", "NAME")


def test_an_inactive_account_is_not_told_it_is_suspended(client, make_user):
    make_user("gone", is_active=False, is_suspended=True)
    errors = _form_errors(client.post("/login/", {"username": "gone", "password": PASSWORD}))
    assert "suspended" not in errors and "correct username and password" in errors


def test_log_in_limits_hold_for_a_suspended_account(client, make_user):
    """The right password of a suspended account counts as a failed attempt: past the limit,
    it is refused like any other, without saying whether it was right."""
    make_user("sus", is_suspended=True)
    for _ in range(services.LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT):
        assert client.post("/login/", {"username": "sus", "password": PASSWORD}).status_code == 200
    response = client.post("/login/", {"username": "sus", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many log-in attempts" in response.content.decode()
    assert "suspended" not in _form_errors(response)
