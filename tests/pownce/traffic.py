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
    text: str = ""


class Browser:
    """One person's browser: cookies kept, redirects not followed (a 302 is an answer)."""

    def __init__(self, user=None, *, timeout: float = 30) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects)
        self.timeout = timeout
        self.csrf = ""
        if user is not None:
            client = Client()
            client.force_login(user)
            self.cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        else:
            self.cookies = {}

    def request(self, path: str, data: dict | None = None) -> Outcome:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(HAPROXY + path, data=body)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if data is not None:
            request.add_header("Referer", HAPROXY + "/")
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                text = response.read().decode(errors="replace")
                status, headers = response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            status, headers = error.code, {k.lower(): v for k, v in error.headers.items()}
        except OSError:
            return Outcome(0, time.monotonic() - started)
        for cookie in self.jar:
            self.cookies[cookie.name] = cookie.value
        if match := CSRF_INPUT.search(text):
            self.csrf = match.group(1)
        return Outcome(status, time.monotonic() - started, headers, text)

    def post_note(self, body: str, key: str) -> Outcome:
        """Send the note form (``key`` is its idempotency key); needs a CSRF token from a page."""
        if not self.csrf:
            self.request("/notes/new/")
        return self.request(
            "/notes/new/",
            {"csrfmiddlewaretoken": self.csrf, "kind": "message", "audience": "public", "body": body,
             "idempotency_key": key},
        )


class Readers:
    """``count`` threads reading ``paths`` in turn until stopped; every answer recorded."""

    def __init__(self, browsers: list[Browser], paths: list[str]) -> None:
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(browser, paths[i % len(paths):] + paths[: i % len(paths)]))
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
    """Posts numbered notes in a thread; a send that got no success is retried with the same
    key (as a person pressing Send again would), until it succeeds or the writer is stopped.
    ``acknowledged`` holds the bodies whose send the client saw succeed (a 302 to the note)."""

    def __init__(self, browser: Browser, prefix: str) -> None:
        self.browser = browser
        self.prefix = prefix
        self.acknowledged: list[str] = []
        self.attempts: list[Outcome] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            body, key = f"{self.prefix} {n}", uuid.uuid4().hex
            while not self._stop.is_set():
                outcome = self.browser.post_note(body, key)
                self.attempts.append(outcome)
                if outcome.status == 302 and "/notes/" in outcome.headers.get("location", ""):
                    self.acknowledged.append(body)
                    break
                time.sleep(0.05)  # pacing of a person pressing Send again, not a wait for a state
            n += 1

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def wait_for(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.05)


def unique_key() -> str:
    return uuid.uuid4().hex
