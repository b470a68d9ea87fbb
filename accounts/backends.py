"""Authentication that resolves the logged-in user from the object cache, not the database."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from cache import objects


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend, except that ``get_user`` (run on every request with a session)
    reads the user from the object cache — from this process's copy while the user's version is
    unchanged (``cache.objects.get_local``: one small memcached get). A save of the user
    (password change, suspension, last_login) invalidates the entry and replaces its version,
    so the session check sees the change at once.

    A suspended person cannot log in, and a session they already have no longer resolves."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_suspended", False)

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = objects.get_local(User, pk)
        return user if user is not None and self.user_can_authenticate(user) else None
