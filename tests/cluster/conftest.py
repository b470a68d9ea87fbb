"""The cluster (deploy/cluster.sh: one network namespace per host) is brought up once per test
session and taken down at its end, namespaces, veths, bridge and processes included, whether
the tests passed or not. A cluster that was already running (`make cluster`) is used as it is
and left running. Tests marked ``cluster`` are skipped, with the reason, where the machine
cannot create network namespaces."""

from __future__ import annotations

import pytest

from tests.cluster import cluster as lib


def pytest_collection_modifyitems(config, items):
    wanted = [item for item in items if "cluster" in item.keywords]
    if not wanted:
        return
    reason = lib.cannot_run()
    if reason:
        for item in wanted:
            item.add_marker(pytest.mark.skip(reason=f"cluster tests skipped: {reason}"))


@pytest.fixture(scope="session")
def running_cluster():
    was_up = lib.is_up()
    try:
        if not was_up:
            lib.cluster("up")
        yield
    finally:
        if not was_up:
            lib.cluster("down")
