"""Script, attribute and URL payloads in every profile field come out inert."""

import pytest
from django.utils.html import escape

from accounts import services
from accounts.models import User
from tests.xss import PAYLOADS, SCRIPT_SCHEME_URLS, URL_PAYLOADS, assert_inert

pytestmark = pytest.mark.django_db


def pages_showing(user: User) -> list[str]:
    """Every page that shows ``user``'s profile fields to a viewer they asked to be friends with."""
    people = [f"/{user.username}/friends/", f"/{user.username}/fans/", f"/{user.username}/fan-of/"]
    return [f"/{user.username}/", *people, "/friends/requests/"]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("url_payload", URL_PAYLOADS)
def test_profile_fields_are_rendered_inert(make_user, as_user, payload, url_payload):
    # Written straight to the model, as if it came from an import or an older version: the
    # pages must be safe whatever is stored, not only what the forms accept.
    evil = make_user("evil", display_name=payload[:80], bio=payload, location=payload[:80], website=url_payload)
    viewer = make_user("viewer")
    services.friend_add(evil, viewer)  # evil shows up on viewer's requests page
    browser = as_user(viewer)
    for path in pages_showing(evil):
        response = browser.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert escape(payload) in html, path  # shown as the text it is, not interpreted
        assert_inert(html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_settings_form_shows_payloads_escaped(make_user, as_user, payload):
    user = make_user("evil", display_name=payload[:80], bio=payload, location=payload[:80])
    html = as_user(user).get("/settings/").content.decode()
    assert escape(payload) in html
    assert_inert(html)


@pytest.mark.parametrize("website", [*SCRIPT_SCHEME_URLS, "ftp://example.com/file"])
def test_non_web_websites_are_refused_by_the_form(make_user, as_user, website):
    user = make_user("someone")
    response = as_user(user).post("/settings/", {"display_name": "Kept", "bio": "", "location": "", "website": website})
    assert response.status_code == 200
    assert "http:// or https://" in response.content.decode()
    user.refresh_from_db()
    assert user.website == "" and user.display_name == ""


def test_web_website_is_saved_and_linked(make_user, as_user, client):
    user = make_user("someone")
    response = as_user(user).post(
        "/settings/", {"display_name": "Some One", "bio": "Hi", "location": "Paris", "website": "example.com/me"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.website == "https://example.com/me"
    assert 'href="https://example.com/me"' in client.get("/someone/friends/").content.decode()


def test_overlong_fields_are_form_errors_not_crashes(make_user, as_user):
    user = make_user("someone")
    response = as_user(user).post(
        "/settings/", {"display_name": "x" * 500, "bio": "y" * 5000, "location": "z" * 500, "website": ""}
    )
    assert response.status_code == 200
    assert response.content.decode().count('class="error"') == 3


def test_account_with_an_old_style_username_can_still_edit_its_profile(make_user, as_user):
    user = make_user("ok_name")
    User.objects.filter(pk=user.pk).update(username="old-style.name")
    user.refresh_from_db()
    response = as_user(user).post("/settings/", {"display_name": "Still Me", "bio": "", "location": "", "website": ""})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.display_name == "Still Me"
    # Their pages and buttons still work.
    assert "Still Me" in as_user(user).get("/old-style.name/friends/").content.decode()
    assert as_user(make_user("viewer")).post("/friends/old-style.name/add/").status_code == 302
