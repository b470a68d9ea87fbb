"""The API's rules, in process: a token is the only way in (never a session cookie), a warm
timeline read costs no SQL (the token lookup included), a revoked token is refused at once,
rate limits and CORS as Mastodon sends them."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client
from oauth2_provider.models import AccessToken

from notes import services
from tests.api.wire import IN_PROCESS, oauth_log_in
from tests.conftest import queries_by_alias

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def ann_token(person):
    ann = person("ann")
    api = oauth_log_in(IN_PROCESS, "ann", "correct-horse-9")
    return ann, api.access_token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_warm_home_timeline_costs_no_sql(ann_token):
    ann, token = ann_token
    for n in range(3):
        services.note_create(author=ann, kind="message", audience="public", body=f"note {n}")
    client = Client()
    assert client.get("/api/v1/timelines/home", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/timelines/public", headers=bearer(token)).status_code == 200
    with queries_by_alias() as queries:
        warm = client.get("/api/v1/timelines/home", headers=bearer(token))
        public = client.get("/api/v1/timelines/public", headers=bearer(token))
    assert warm.status_code == public.status_code == 200
    assert len(warm.json()) == len(public.json()) == 3
    assert {alias: sql for alias, sql in queries.items() if sql} == {}


def test_revoked_token_is_refused_at_once(ann_token):
    ann, token = ann_token
    client = Client()
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).status_code == 200
    app = AccessToken.objects.get(user=ann).application
    revoked = client.post("/oauth/revoke", {"token": token, "client_id": app.client_id, "client_secret": "wrong"})
    assert revoked.status_code in (400, 401)  # a stranger to the app cannot revoke it
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).status_code == 200
    client.force_login(ann)
    page = client.get("/settings/apps/")
    assert page.status_code == 200 and app.name.encode() in page.content
    client.post(f"/settings/apps/{app.pk}/revoke/")
    refused = Client().get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json() == {"error": "The access token is invalid"}


def test_session_cookie_never_authenticates_the_api(person):
    ann = person("ann")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ann)
    assert browser.get("/api/v1/accounts/verify_credentials").status_code == 401
    posted = browser.post("/api/v1/statuses", {"status": "forged by another site"})
    assert posted.status_code == 401
    assert not ann.notes.exists()
    # The site's own forms keep their CSRF check.
    assert browser.post("/notes/new/", {"kind": "message", "audience": "public", "body": "x"}).status_code == 403


def test_private_note_is_404_without_a_token(person):
    ann = person("ann")
    note = services.note_create(author=ann, kind="message", audience="friends", body="ours")
    client = Client()
    answer = client.get(f"/api/v1/statuses/{note.pk}")
    assert answer.status_code == 404 and answer.json() == {"error": "Record not found"}
    assert client.get(f"/api/v1/statuses/{note.pk}/context").status_code == 404
    assert client.get("/api/v1/statuses/999999999").json() == {"error": "Record not found"}


def test_rate_limit_headers_and_429(settings, ann_token):
    ann, token = ann_token
    settings.API_RATE_LIMIT = 3
    caches["redis"].clear()  # what the log-in flow counted
    client = Client()
    answers = [client.get("/api/v1/instance", headers=bearer(token)) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert answers[0]["X-RateLimit-Limit"] == "3"
    assert answers[0]["X-RateLimit-Reset"].endswith("Z")
    assert answers[3].json() == {"error": "Too many requests"}
    # Another client (no token, its own address) has its own count.
    assert client.get("/api/v1/instance").status_code == 200


def test_scopes_limit_what_a_token_does(ann_token):
    ann, token = ann_token
    AccessToken.objects.filter(user=ann).update(scope="read")
    from cache import objects

    objects.invalidate(AccessToken, AccessToken.objects.filter(user=ann).values_list("pk", flat=True))
    client = Client()
    denied = client.post("/api/v1/statuses", {"status": "hi"}, headers=bearer(token))
    assert denied.status_code == 403
    assert denied.json() == {"error": "This action is outside the authorized scopes"}
    assert client.get("/api/v1/timelines/home", headers=bearer(token)).status_code == 200


def test_cors_as_mastodon_allows_it():
    client = Client()
    preflight = client.options(
        "/api/v1/timelines/public",
        headers={
            "Origin": "https://web.client.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in preflight["Access-Control-Allow-Headers"].lower()
    answer = client.get("/api/v1/timelines/public", headers={"Origin": "https://web.client.example"})
    assert answer["Access-Control-Allow-Origin"] == "*"
    assert "Link" in answer["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in answer
    # The site's pages stay same-origin.
    assert "Access-Control-Allow-Origin" not in client.get("/public/", headers={"Origin": "https://evil.example"})


def test_bad_input_gets_a_clear_message_not_a_500(ann_token):
    ann, token = ann_token
    client = Client()
    assert client.get("/api/v1/timelines/public?max_id=abc").status_code == 422
    assert client.get("/api/v1/statuses/r99999999").status_code == 404
    assert client.get("/api/v1/accounts/notanumber").status_code == 404
    empty = client.post("/api/v1/statuses", {"status": "   "}, headers=bearer(token))
    assert empty.status_code == 422 and empty.json()["error"].startswith("Validation failed")
    direct = client.post("/api/v1/statuses", {"status": "no one", "visibility": "direct"}, headers=bearer(token))
    assert direct.status_code == 422
    json_body = client.post("/api/v1/statuses", "[1]", content_type="application/json", headers=bearer(token))
    assert json_body.status_code == 422


def test_pkce_is_checked_when_the_client_uses_it(person):
    import base64
    import hashlib

    from tests.api.wire import REDIRECT_URI, authorization_code, register_app

    person("ann")
    client_id, secret = register_app(IN_PROCESS)
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    extra = f"&code_challenge={challenge}&code_challenge_method=S256"
    token_form = {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "client_secret": secret,
    }
    code = authorization_code(IN_PROCESS, client_id, "ann", "correct-horse-9", extra)
    client = Client()
    assert client.post("/oauth/token", {**token_form, "code": code}).status_code == 400
    code = authorization_code(IN_PROCESS, client_id, "ann", "correct-horse-9", extra)
    granted = client.post("/oauth/token", {**token_form, "code": code, "code_verifier": verifier})
    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"


def test_password_grant_is_not_offered(person):
    from tests.api.wire import register_app

    person("ann")
    client_id, secret = register_app(IN_PROCESS)
    refused = Client().post(
        "/oauth/token",
        {
            "grant_type": "password",
            "username": "ann",
            "password": "correct-horse-9",
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert refused.status_code in (400, 401) and "access_token" not in refused.json()
    metadata = Client().get("/.well-known/oauth-authorization-server").json()
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert metadata["token_endpoint"] == "http://testserver/oauth/token"


def test_a_set_is_reached_through_the_pownce_extension(person):
    from accounts import services as people
    from accounts.models import FriendSet

    ann, bob, cat = person("ann"), person("bob"), person("cat")
    for friend in (bob, cat):
        people.friend_add(ann, friend)
        people.friend_add(friend, ann)
    close = FriendSet.objects.create(owner=ann, name="close")
    close.members.set([bob])
    tokens = {
        who.username: oauth_log_in(IN_PROCESS, who.username, "correct-horse-9").access_token for who in (ann, bob, cat)
    }
    client = Client()
    posted = client.post(
        "/api/v1/statuses", {"status": "just us", "pownce_set_id": str(close.pk)}, headers=bearer(tokens["ann"])
    ).json()
    assert posted["visibility"] == "private"
    assert posted["pownce"]["audience"] == "set" and posted["pownce"]["set"]["name"] == "close"
    seen = client.get(f"/api/v1/statuses/{posted['id']}", headers=bearer(tokens["bob"])).json()
    assert seen["pownce"]["audience"] == "set" and "set" not in seen["pownce"]  # the set's name is the author's
    assert client.get(f"/api/v1/statuses/{posted['id']}", headers=bearer(tokens["cat"])).status_code == 404
    others = client.post(
        "/api/v1/statuses", {"status": "x", "pownce_set_id": str(close.pk)}, headers=bearer(tokens["cat"])
    )
    assert others.status_code == 422


def test_unused_uploads_are_swept_used_ones_kept(person, settings):
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.utils import timezone

    from pownce.api import services as api_services
    from pownce.api.models import MediaUpload

    ann = person("ann")
    old = api_services.media_upload(owner=ann, upload=SimpleUploadedFile("a.txt", b"aaa"))
    used = api_services.media_upload(owner=ann, upload=SimpleUploadedFile("b.txt", b"bbb"))
    api_services.status_post(author=ann, text="b", media_ids=[str(used.pk)])
    fresh = api_services.media_upload(owner=ann, upload=SimpleUploadedFile("c.txt", b"ccc"))
    MediaUpload.objects.filter(pk__in=[old.pk, used.pk]).update(created=timezone.now() - timedelta(days=2))
    stored = old.file.name
    call_command("api_media_sweep")
    assert set(MediaUpload.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert not default_storage.exists(stored)
