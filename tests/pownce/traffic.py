"""Real HTTP traffic through HAProxy for the availability tests: signed-in browsers, a pool of
readers and a note writer that retries with the note form's idempotency key, each request's
status and duration recorded."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.test import Client

from tests.stack import HAPROXY

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Outcome:
    status: int  # 0: no HTTP answer at all (refused, reset, timed out)
    seconds: float
    headers: dict = field(default_factory=dict)  # names in lower case
    signed_in: bool = False  # the page shows the navigation of a signed-in person
    started: float = 0.0  # time.monotonic() when the request was sent


class Browser:
    """One person's browser: cookies kept, redirects not followed (a 302 is an answer).
    ``base``: the site (the test profile's HAProxy by default); ``cookies``: a session made
    elsewhere (a cluster's own database) instead of ``user``'s."""

    def __init__(self, user=None, *, timeout: float = 30, base: str = HAPROXY, cookies: dict | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects)
        self.timeout = timeout
        self.csrf = ""
        self.last_text = ""
        if user is not None:
            client = Client()
            client.force_login(user)
            self.cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        else:
            self.cookies = dict(cookies or {})

    def request(self, path: str, data: dict | None = None) -> Outcome:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if data is not None:
            request.add_header("Referer", self.base + "/")
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                text = response.read().decode(errors="replace")
                status, headers = response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            status, headers = error.code, {k.lower(): v for k, v in error.headers.items()}
        except OSError:
            return Outcome(0, time.monotonic() - started, started=started)
        self.last_text = text  # the body of the last answer (one browser is one thread)
        for cookie in self.jar:
            self.cookies[cookie.name] = cookie.value
        if match := CSRF_INPUT.search(text):
            self.csrf = match.group(1)
        return Outcome(status, time.monotonic() - started, headers, 'class="nav-me"' in text, started)

    def post_note(self, body: str, key: str) -> Outcome:
        """Send the note form (``key`` is its idempotency key); needs a CSRF token from a page."""
        if not self.csrf:
            self.request("/notes/new/")
        return self.request(
            "/notes/new/",
            {
                "csrfmiddlewaretoken": self.csrf,
                "kind": "message",
                "audience": "public",
                "body": body,
                "idempotency_key": key,
            },
        )


class Readers:
    """``count`` threads reading ``paths`` in turn until stopped; every answer recorded."""

    def __init__(self, browsers: list[Browser], paths: list[str]) -> None:
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(browser, paths[i % len(paths) :] + paths[: i % len(paths)]))
            for i, browser in enumerate(browsers)
        ]

    def _run(self, browser: Browser, paths: list[str]) -> None:
        i = 0
        while not self._stop.is_set():
            outcome = browser.request(paths[i % len(paths)])
            with self._lock:
                self.outcomes.append(outcome)
            i += 1

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status != 200]

    def slowest(self) -> float:
        return max(outcome.seconds for outcome in self.outcomes)


class Writer:
    """Posts numbered notes in a thread, from each browser in turn (which keeps every author
    under the posting limit); a send that got no success is retried with the same key, as a
    person pressing Send again would, until it succeeds or the writer is stopped.
    ``acknowledged`` holds the bodies whose send the client saw succeed (a 302 to the stream it
    was sent from, at the note: ``/#note-<id>``)."""

    def __init__(self, browsers: list[Browser], prefix: str, *, pause: float = 0.5) -> None:
        self.browsers = browsers
        self.prefix = prefix
        self.pause = pause
        self.acknowledged: list[str] = []
        self.attempts: list[Outcome] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            body, key = f"{self.prefix} {n}", uuid.uuid4().hex
            browser = self.browsers[n % len(self.browsers)]
            while not self._stop.is_set():
                outcome = browser.post_note(body, key)
                self.attempts.append(outcome)
                if outcome.status == 302 and "#note-" in outcome.headers.get("location", ""):
                    self.acknowledged.append(body)
                    break
                self._stop.wait(0.1)  # a person pressing Send again, not a wait for a state
            n += 1
            self._stop.wait(self.pause)  # the pace of the loop (posting limits), idem

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
