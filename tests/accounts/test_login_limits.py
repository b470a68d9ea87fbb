"""Log-in limits (issue 10, items 3, 4 and 9): only failures count, per address and account
with a looser ceiling per account, look-alike names share one count, the admin's log-in has the
same limits, and the owner hears about guessing when they log in."""

import pytest
from django.test import Client, override_settings

from accounts import services
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def log_in(browser: Client, username: str, password: str, path: str = "/login/"):
    return browser.post(path, {"username": username, "password": password})


def test_successful_log_ins_do_not_count(make_user):
    make_user("regular")
    browser = Client(REMOTE_ADDR="192.0.2.10")
    for _ in range(services.LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT + 5):
        assert log_in(browser, "regular", PASSWORD).status_code == 302
        browser.post("/logout/")
    assert log_in(browser, "regular", "wrong").status_code == 200  # a form error, not a 429


def test_guessing_from_one_address_stops_that_address_not_the_owner(make_user):
    make_user("target")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(services.LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT):
        assert log_in(attacker, "target", "guess").status_code == 200
    # The right password from the guessing address is refused while its limit holds …
    refused = log_in(attacker, "target", PASSWORD)
    assert refused.status_code == 429
    assert "Too many log-in attempts" in refused.content.decode()
    assert attacker.get("/settings/").status_code == 302

    # … but the owner, elsewhere, logs in and is told what happened.
    owner = Client(REMOTE_ADDR="198.51.100.7")
    response = log_in(owner, "target", PASSWORD)
    assert response.status_code == 302
    page = owner.get("/settings/").content.decode()
    assert f"{services.LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT + 1} failed attempts to log in to your account" in page


def test_the_account_ceiling_holds_across_addresses_and_says_why(make_user, monkeypatch):
    monkeypatch.setattr(services, "LOGIN_FAILURES_PER_ACCOUNT", 12)
    make_user("popular")
    for attempt in range(12):
        assert log_in(Client(REMOTE_ADDR=f"192.0.2.{attempt + 1}"), "popular", "guess").status_code == 200
    response = log_in(Client(REMOTE_ADDR="198.51.100.8"), "popular", PASSWORD)
    assert response.status_code == 429
    assert "failed log-in attempts from many places" in response.content.decode()


@pytest.mark.parametrize("look_alike", ["ｃarol", "ⅽarol", "CAROL", " carol "])
def test_look_alike_names_share_the_count_of_the_account(make_user, look_alike):
    make_user("carol")
    attacker = Client(REMOTE_ADDR="203.0.113.67")
    for _ in range(services.LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT):
        assert log_in(attacker, "carol", "guess").status_code == 200
    assert log_in(attacker, look_alike, PASSWORD).status_code == 429
    assert attacker.get("/settings/").status_code == 302


def test_the_admin_log_in_has_the_same_limits(make_user):
    admin = make_user("boss")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    attacker = Client(REMOTE_ADDR="203.0.113.68")
    for _ in range(15):
        log_in(attacker, "boss", "guess", path="/admin/login/")
    response = log_in(attacker, "boss", PASSWORD, path="/admin/login/")
    assert response.status_code == 429
    assert "Too many log-in attempts" in response.content.decode()
    assert attacker.get("/admin/").status_code == 302  # still not signed in

    owner = Client(REMOTE_ADDR="198.51.100.9")
    assert log_in(owner, "boss", PASSWORD, path="/admin/login/").status_code == 302
    page = owner.get("/admin/")
    assert page.status_code == 200
    assert "failed attempts to log in to your account" in page.content.decode()


def test_admin_log_in_fails_closed_without_the_limit_store(make_user, settings):
    if "GuardedRedisCache" not in settings.CACHES["redis"]["BACKEND"]:
        pytest.skip("needs Redis configured (make test)")
    dead = {**settings.CACHES, "redis": {**settings.CACHES["redis"], "LOCATION": "redis://127.0.0.1:1/0"}}
    make_user("boss2")
    with override_settings(CACHES=dead):
        browser = Client(REMOTE_ADDR="203.0.113.69", raise_request_exception=False)
        response = log_in(browser, "boss2", PASSWORD, path="/admin/login/")
    assert response.status_code == 503
