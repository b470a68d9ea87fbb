"""/healthz for the load balancer, /readyz for operators, on the real services."""

import pytest
from django.test import override_settings

from pownce.router import health
from tests.stack import stack, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


def test_healthz_touches_nothing_and_names_the_server(client, django_assert_num_queries, settings):
    settings.SERVER_NAME = "app7"
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["X-Pownce-Server"] == "app7"


def test_readyz_reports_every_dependency(client):
    body = client.get("/readyz").json()
    assert body["ready"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "primary": True,
        "cache": True,
        "redis": True,
    }
    assert body["replicas"]["replica1"]["healthy"] is True


def test_readyz_fails_when_redis_is_unreachable(client, settings):
    dead_redis = {**settings.CACHES, "redis": {**settings.CACHES["redis"], "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=dead_redis):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["primary"]["ok"] is True


def test_readyz_stays_ready_without_the_replica_and_says_so(client):
    stack("down", "replica")
    try:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["replicas"]["replica1"]["healthy"] is False
    finally:
        stack("up", "replica")
    wait_until(lambda: health.state("replica1", refresh=True).healthy, message="replica back")
