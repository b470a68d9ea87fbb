"""Shared fixtures. Tests run on whatever the environment configures: ``make test`` points
them at the real MariaDB primary/replica, memcached and Redis it starts; without those
variables they run on the embedded SQLite default (tests marked ``stack`` are then skipped)."""

import pytest
from django.conf import settings

from tests.stack import stack


def pytest_collection_modifyitems(config, items):
    if settings.REPLICA_ALIASES:
        return
    skip = pytest.mark.skip(reason="needs the real services: run `make test`")
    for item in items:
        if "stack" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def web_stack(django_db_setup):
    """Two gunicorn app servers and HAProxy (test profile) serving pytest's test database at
    tests.stack.HAPROXY. Use with ``django_db(transaction=True)`` so they see the test's rows."""
    stack("up", "web")
    yield
    stack("down", "web")
