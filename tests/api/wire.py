"""Drive the API as a client does: over HTTP through HAProxy, or in this process through
Django's test client — the same requests session either way, so one test body proves both.

:class:`InProcessAdapter` is a ``requests`` transport that hands each request to
``django.test.Client`` (headers, body and cookies as sent) and turns the answer back into a
``requests.Response``. :func:`oauth_log_in` plays the browser of the OAuth flow: the log-in
form and the consent form, each posted with its CSRF token as a browser would.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from django.test import Client
from mastodon import Mastodon
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

IN_PROCESS = "http://testserver"
REDIRECT_URI = "https://client.example/callback"
SCOPES = ["read", "write", "follow"]


class InProcessAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.client = Client(enforce_csrf_checks=True)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {
            key: value for key, value in request.headers.items() if key.lower() not in ("content-length", "host")
        }
        content_type = headers.pop("Content-Type", "application/octet-stream")
        self.client.cookies.clear()
        for name, value in parse_cookie_header(headers.pop("Cookie", "")).items():
            self.client.cookies[name] = value
        answer = self.client.generic(request.method, path, body, content_type=content_type, headers=headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.items())
        content = b"".join(answer.streaming_content) if answer.streaming else answer.content
        response._content = content
        response._content_consumed = True
        response.raw = _Raw(_Headers(answer))
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        requests.cookies.extract_cookies_to_jar(response.cookies, request, response.raw)
        return response

    def close(self) -> None:
        pass


class _Headers:
    """Enough of an HTTP message for ``http.cookiejar`` to read Set-Cookie from."""

    def __init__(self, answer) -> None:
        self._cookies = [morsel.OutputString() for morsel in answer.cookies.values()]

    def get_all(self, name, default=None):
        return (self._cookies or default) if name.lower() == "set-cookie" else default


class _Raw:
    """What ``requests`` looks at on a transport's raw response: cookies, and closing."""

    def __init__(self, msg: _Headers) -> None:
        self._original_response = type("Original", (), {"msg": msg})()

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


def parse_cookie_header(header: str) -> dict[str, str]:
    found = {}
    for piece in header.split(";"):
        if "=" in piece:
            name, _, value = piece.strip().partition("=")
            found[name] = value
    return found


def session_for(base: str) -> requests.Session:
    session = requests.Session()
    if base == IN_PROCESS:
        session.mount(IN_PROCESS, InProcessAdapter())
    return session


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = value.group(1).replace("&amp;", "&") if value else ""
    return fields


def register_app(base: str, name: str = "Test client") -> tuple[str, str]:
    return Mastodon.create_app(
        name, scopes=SCOPES, redirect_uris=REDIRECT_URI, api_base_url=base, session=session_for(base)
    )


def authorization_code(base: str, client_id: str, username: str, password: str, extra: str = "") -> str:
    """Log in and allow the app, as a person in a browser would; returns the code the
    consent page sent to the app's redirect URI."""
    api = Mastodon(client_id=client_id, client_secret="unused", api_base_url=base, session=session_for(base))
    url = api.auth_request_url(redirect_uris=REDIRECT_URI, scopes=SCOPES, skip_server_info=True) + extra
    browser = session_for(base)
    page = browser.get(url, allow_redirects=True, headers={"X-Forwarded-Proto": "http"})
    assert "/login/" in page.url, page.url
    form = {"csrfmiddlewaretoken": _csrf(page.text), "username": username, "password": password}
    form["next"] = _hidden_fields(page.text).get("next", "")
    consent = browser.post(page.url, data=form, headers={"Referer": page.url}, allow_redirects=True)
    assert consent.status_code == 200 and "authorizationForm" in consent.text, consent.text[:500]
    allow = {**_hidden_fields(consent.text), "allow": "Authorize"}
    answer = browser.post(consent.url, data=allow, headers={"Referer": consent.url}, allow_redirects=False)
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
    location = urljoin(consent.url, answer.headers["Location"])
    assert location.startswith(REDIRECT_URI), location
    return parse_qs(urlsplit(location).query)["code"][0]


def oauth_log_in(base: str, username: str, password: str) -> Mastodon:
    """A Mastodon.py client of a newly registered app, logged in as ``username`` by the
    authorization-code flow."""
    client_id, client_secret = register_app(base)
    code = authorization_code(base, client_id, username, password)
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=base,
        session=session_for(base),
        ratelimit_method="throw",
    )
    api.log_in(code=code, redirect_uri=REDIRECT_URI, scopes=SCOPES, allow_http=True)
    return api
