import contextlib

import pytest
from django.db import connections

from pownce.router import health


@pytest.fixture(autouse=True)
def fresh_replica_health():
    """Each test starts with no remembered replica health in this process."""
    health.forget()
    yield
    health.forget()


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
