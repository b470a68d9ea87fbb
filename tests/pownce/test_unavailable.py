"""An outage of a server Pownce depends on answers 503 + Retry-After; a bug stays a 500."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, OperationalError

from pownce.redis_cache import RedisUnavailable
from pownce.unavailable import server_error


def answer_to(exc: Exception, rf):
    try:
        raise exc
    except Exception:
        return server_error(rf.get("/notes/new/"))


@pytest.mark.parametrize(
    "outage",
    [
        OperationalError(2003, "Can't connect to server on '127.0.0.1'"),
        OperationalError(2013, "Lost connection to server during query"),  # a read timeout
        RedisUnavailable("Error 111 connecting"),
    ],
)
def test_an_outage_answers_503_with_retry_after_and_no_sign_in_links(outage, rf):
    response = answer_to(outage, rf)
    page = response.content.decode()
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert "Try again in a moment" in page
    assert "Log in" not in page  # rendered without the session: it cannot tell who is signed in


@pytest.mark.parametrize(
    "bug", [ValueError("bad"), IntegrityError(1062, "Duplicate entry"), OperationalError(1054, "Unknown column")]
)
def test_anything_else_stays_a_500(bug, rf):
    response = answer_to(bug, rf)
    assert response.status_code == 500 and not response.has_header("Retry-After")
