"""``GET /api/v2/search`` finds people as the site's search does (accounts.selectors.people_search):
by a prefix of a username or of a name's words, never suspended people or anyone on either side
of a block with the token's owner, and any ``q`` is answered without a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import moderation, services
from tests.api.wire import IN_PROCESS, oauth_log_in

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def found(client: Client, q: str, token: str | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/api/v2/search", {"q": q, "type": "accounts"}, headers=headers)
    assert response.status_code == 200, response.content
    return [account["username"] for account in response.json()["accounts"]]


def test_api_search_uses_the_site_search(person):
    ann = person("ann")
    ada = person("ada_l")
    services.profile_update(ada, display_name="Ada Lovelace", bio="", location="", website="")
    blocker, gone = person("ada_blocker"), person("ada_gone")
    services.block(blocker, ann)
    moderation.users_suspend([gone.pk])
    token = oauth_log_in(IN_PROCESS, "ann", "correct-horse-9").access_token
    client = Client()
    assert found(client, "lovel", token) == ["ada_l"]
    assert found(client, "@ada_l@pownce.example", token) == ["ada_l"]
    assert found(client, "ada", token) == ["ada_l"]
    assert found(client, "ada") == ["ada_l", "ada_blocker"]  # no viewer: nobody is blocked; "ada" exactly first
    for odd in ("", "%", "_" * 500, "\x00"):
        assert found(client, odd, token) == []
