"""An app's tokens carry at most the scopes it registered with (pownce/api/scopes.py), as
Mastodon's do: asking for more is refused with ``invalid_scope`` at the redirect URI, the
consent page lists what was asked, and the token carries exactly what was allowed."""

from __future__ import annotations

import importlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, Application, Grant

from pownce.api.models import AppScopes
from pownce.api.scopes import RegisteredScopes
from tests.api.wire import REDIRECT_URI

pytestmark = pytest.mark.django_db


def register(scopes: str | None) -> dict:
    form = {"client_name": "Scoped client", "redirect_uris": REDIRECT_URI}
    if scopes is not None:
        form["scopes"] = scopes
    answer = Client().post("/api/v1/apps", form)
    assert answer.status_code == 200, answer.content
    return answer.json()


def authorize(browser: Client, app: dict, scope: str | None, state: str = "s1"):
    query = {"client_id": app["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code", "state": state}
    if scope is not None:
        query["scope"] = scope
    return browser.get("/oauth/authorize", query)


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            value = re.search(r'value="([^"]*)"', tag)
            fields[name] = value.group(1).replace("&amp;", "&") if value else ""
    return fields


def redirect_query(answer) -> dict[str, str]:
    assert answer.status_code == 302, (answer.status_code, answer.content[:300])
    location = answer["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def token_for(app: dict, code: str) -> dict:
    answer = Client().post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.fixture
def browser(person) -> Client:
    client = Client()
    client.force_login(person("ann"))
    return client


def test_the_app_answer_holds_the_scopes_it_registered():
    assert register("read write write read:statuses")["scopes"] == ["read", "write", "read:statuses"]
    assert register(None)["scopes"] == ["read"]
    stored = AppScopes.objects.get(application__client_id=register("read follow")["client_id"])
    assert stored.scopes == "read follow"
    as_json = Client().post(
        "/api/v1/apps",
        {"client_name": "JSON client", "redirect_uris": [REDIRECT_URI], "scopes": ["read", "push"]},
        content_type="application/json",
    )
    assert as_json.status_code == 200 and as_json.json()["scopes"] == ["read", "push"]
    unknown = Client().post("/api/v1/apps", {"client_name": "x", "redirect_uris": REDIRECT_URI, "scopes": "admin"})
    assert unknown.status_code == 422 and "admin" in unknown.json()["error"]


def test_asking_outside_the_registered_scopes_is_refused_at_the_redirect_uri(browser):
    app = register("read")
    refused = redirect_query(authorize(browser, app, "read write", state="xyz"))
    assert refused["error"] == "invalid_scope"
    assert refused["state"] == "xyz"  # RFC 6749 §4.1.2.1: the client's state comes back
    assert "registered for the scopes read" in refused["error_description"]
    assert "code" not in refused
    assert not Grant.objects.exists()


def test_no_scope_asked_means_read_which_an_app_without_it_cannot_have(browser):
    assert authorize(browser, register("read"), None).status_code == 200
    refused = redirect_query(authorize(browser, register("write"), None))
    assert refused["error"] == "invalid_scope"


def test_granular_scopes_within_an_umbrella_are_granted_exactly(browser):
    app = register("read follow")
    consent = authorize(browser, app, "read:statuses write:follows")
    assert consent.status_code == 200
    listed = re.findall(r"<li>(.*?)</li>", re.search(r'<ul class="scopes">(.*?)</ul>', consent.text, re.S).group(1))
    assert listed == ["Read notes and streams", "Add and remove friends"]
    allowed = browser.post("/oauth/authorize", {**hidden_fields(consent.text), "allow": "Authorize"})
    token = token_for(app, redirect_query(allowed)["code"])
    assert token["scope"] == "read:statuses write:follows"
    assert AccessToken.objects.get().scope == "read:statuses write:follows"
    api = Client(headers={"Authorization": f"Bearer {token['access_token']}"})
    assert api.get("/api/v1/timelines/home").status_code == 200
    assert api.post("/api/v1/statuses", {"status": "not mine to post"}).status_code == 403
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 403  # read:accounts not granted


def test_a_consent_form_widened_by_hand_is_refused(browser):
    app = register("read")
    consent = authorize(browser, app, "read")
    fields = {**hidden_fields(consent.text), "allow": "Authorize", "scope": "read write"}
    refused = redirect_query(browser.post("/oauth/authorize", fields))
    assert refused["error"] == "invalid_scope"
    assert not Grant.objects.exists() and not AccessToken.objects.exists()


def test_what_an_app_may_ask_for_follows_the_endpoints_rule():
    application = Application.objects.create(
        name="x",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    backend = RegisteredScopes()
    assert backend.get_available_scopes(application) == ["read"] + [
        scope for scope in backend.get_all_scopes() if scope.startswith("read:")
    ]  # no record (an app made in the admin): the default, read
    AppScopes.objects.create(application=application, scopes="write follow")
    application.refresh_from_db()
    available = set(backend.get_available_scopes(application))
    assert {"write", "write:media", "follow", "read:follows", "read:blocks"} <= available
    assert not {"read", "read:statuses", "push"} & available
    assert "read" in backend.get_available_scopes()  # the server as a whole offers every scope


def test_apps_registered_before_scopes_were_kept_keep_the_umbrella_scopes():
    migration = importlib.import_module("pownce.api.migrations.0002_app_scopes")
    from django.apps import apps

    older = Application.objects.create(
        name="older",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    migration.existing_apps_keep_their_scopes(apps, None)
    assert AppScopes.objects.get(application=older).scopes == "read write follow push"
