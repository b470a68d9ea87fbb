"""The client's address (issue 10, item 10): X-Forwarded-For is believed only from the proxies
in POWNCE_TRUSTED_PROXIES, so rotating it cannot dodge a per-address limit."""

import pytest
from django.test import RequestFactory

from pownce.clients import client_ip, is_local_caller

factory = RequestFactory()


def address(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(factory.get("/", REMOTE_ADDR=remote, **extra))


def test_a_client_reaching_the_app_server_directly_cannot_pick_its_address():
    assert address("203.0.113.5", "198.51.100.1") == "203.0.113.5"
    assert address("203.0.113.5", "198.51.100.2, 127.0.0.1") == "203.0.113.5"


def test_behind_the_stack_the_address_haproxy_appended_is_the_client():
    # HAProxy appends what it saw; nginx (127.0.0.1) passes the header on unchanged.
    assert address("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    # Whatever the client wrote in front of it is not read.
    assert address("127.0.0.1", "10.0.0.1, 203.0.113.7") == "203.0.113.7"
    assert address("127.0.0.1", "not-an-ip, 203.0.113.7") == "203.0.113.7"


def test_trusted_proxies_are_configurable_and_skipped(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/24"]
    assert address("10.0.0.5", "203.0.113.8, 10.0.0.9") == "203.0.113.8"
    assert address("10.0.1.5", "203.0.113.8") == "10.0.1.5"


def test_garbage_from_a_trusted_proxy_falls_back_to_the_proxy():
    assert address("127.0.0.1", "nonsense") == "127.0.0.1"


@pytest.mark.parametrize(
    ("remote", "forwarded", "local"),
    [("127.0.0.1", None, True), ("::1", None, True), ("127.0.0.1", "203.0.113.9", False), ("10.1.1.1", None, False)],
)
def test_local_callers_came_through_no_proxy(remote, forwarded, local):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    assert is_local_caller(factory.get("/", REMOTE_ADDR=remote, **extra)) is local


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_reset_the_address_limit(settings):
    from django.core.cache import caches
    from django.test import Client

    from accounts import services

    caches["redis"].clear()
    browser = Client(REMOTE_ADDR="203.0.113.70")
    for attempt in range(services.LOGIN_FAILURES_PER_ADDRESS):
        browser.post(
            "/login/", {"username": f"nobody{attempt}", "password": "x"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}"
        )
    response = browser.post("/login/", {"username": "someone", "password": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.250")
    assert response.status_code == 429
    caches["redis"].clear()
