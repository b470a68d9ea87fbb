import pytest

from pownce.router import health


@pytest.fixture(autouse=True)
def fresh_replica_health():
    """Each test starts with no remembered replica health in this process."""
    health.forget()
    yield
    health.forget()
