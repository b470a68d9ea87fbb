import pytest
from django.core.cache import caches

from accounts.models import User
from cache import objects


@pytest.fixture(autouse=True)
def empty_cache():
    """Every cache test starts from empty memcached servers."""
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def people(db):
    objects.register(User)
    return [User.objects.create_user(f"person{i}", password="a-long-password", display_name=f"P{i}") for i in range(3)]
