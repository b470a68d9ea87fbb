"""/readyz tells the public only whether the server is ready (issue 10, item 11): no error text
or host names, and a flood of calls does not turn into a flood of checks."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from pownce import health

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def fresh_readiness():
    getattr(health, "_last", {}).clear()
    yield
    getattr(health, "_last", {}).clear()


def test_the_public_gets_status_only():
    response = Client(REMOTE_ADDR="203.0.113.10").get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True}
    through_haproxy = Client().get("/readyz", HTTP_X_FORWARDED_FOR="203.0.113.11")
    assert through_haproxy.json() == {"ready": True}


def test_local_callers_and_staff_get_the_details():
    assert set(Client().get("/readyz").json()) == {"ready", "server", "checks", "replicas", "inbox_primaries"}
    staff = Client(REMOTE_ADDR="203.0.113.12")
    staff.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    assert "checks" in staff.get("/readyz").json()


def test_public_calls_share_one_check():
    public = Client(REMOTE_ADDR="203.0.113.13")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert public.get("/readyz").status_code == 200
    assert sum("SELECT 1" in query["sql"] for query in queries.captured_queries) <= 1
