"""Shared fixtures. Tests run on whatever the environment configures: ``make test`` points
them at the real MariaDB primary/replica, memcached and Redis it starts; without those
variables they run on the embedded SQLite default (tests marked ``stack`` are then skipped)."""

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    if settings.REPLICA_ALIASES:
        return
    skip = pytest.mark.skip(reason="needs the real services: run `make test`")
    for item in items:
        if "stack" in item.keywords:
            item.add_marker(skip)
