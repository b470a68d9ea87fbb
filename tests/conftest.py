"""Shared fixtures. Tests run on whatever the environment configures: ``make test`` points
them at the real MariaDB primary/replica, memcached and Redis it starts; without those
variables they run on the embedded SQLite default (tests marked ``stack`` are then skipped)."""

import contextlib

import pytest
from django.conf import settings
from django.db import connections

from tests.stack import stack


def pytest_collection_modifyitems(config, items):
    if settings.INBOX_PARTITIONED:
        for item in items:
            _with_inbox_databases(item)
    if settings.REPLICA_ALIASES:
        return
    skip = pytest.mark.skip(reason="needs the real services: run `make test`")
    for item in items:
        if "stack" in item.keywords:
            item.add_marker(skip)


def _with_inbox_databases(item) -> None:
    """With the inbox on clusters of its own (notes/partitioning.py), a test that touches the
    database may touch them all: every database test is allowed every alias, unless it names
    its databases itself."""
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        if "databases" in marker.kwargs:
            return
        args, kwargs = marker.args, dict(marker.kwargs)
    elif "transactional_db" in item.fixturenames or "live_server" in item.fixturenames:
        args, kwargs = (), {"transaction": True}
    elif "db" in item.fixturenames:
        args, kwargs = (), {}
    else:
        return
    item.add_marker(pytest.mark.django_db(*args, databases="__all__", **kwargs), append=False)


@pytest.fixture
def web_stack(django_db_setup):
    """Two gunicorn app servers, HAProxy and the task worker (test profile) serving pytest's
    test database at tests.stack.HAPROXY. Use with ``django_db(transaction=True)`` so they see
    the test's rows."""
    stack("up", "web", "worker")
    yield
    stack("down", "web", "worker")


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """In-process tests run each task the moment it is enqueued (the immediate backend, as
    `make run` does); the tests of the queue and the worker switch back to the database queue.
    App servers started by the tests use the database queue and the test profile's worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def empty_object_cache():
    """Tests share memcached (and the in-process stand-in): each starts with nothing cached,
    so no list or object cached by an earlier test's rolled-back rows can leak into it."""
    from django.core.cache import caches

    caches["default"].clear()
    yield


@contextlib.contextmanager
def queries_by_alias():
    """Record the SQL sent to each database alias: ``{"default": [...], "replica1": [...]}``.

    An execute wrapper, unlike CaptureQueriesContext, does not connect, so it also works while
    a server is down."""
    result: dict[str, list[str]] = {alias: [] for alias in connections}

    def recorder(alias):
        def record(execute, sql, params, many, context):
            result[alias].append(sql)
            return execute(sql, params, many, context)

        return record

    with contextlib.ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(recorder(alias)))
        yield result


@pytest.fixture
def sql_by_alias():
    return queries_by_alias
