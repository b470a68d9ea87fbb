"""Authentication that resolves the logged-in user from the object cache, not the database."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from cache import objects

# Set on the request by a log-in attempt that gave a suspended account's right password.
SUSPENDED_MARK = "_pownce_login_suspended"


def refused_as_suspended(request) -> bool:
    """Whether a log-in attempt in ``request`` was refused only because the account is
    suspended: the password given was right."""
    return getattr(request, SUSPENDED_MARK, False)


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend, except that ``get_user`` (run on every request with a session)
    reads the user from the object cache — from this process's copy while the user's version is
    unchanged (``cache.objects.get_local``: one small memcached get). A save of the user
    (password change, suspension, last_login) invalidates the entry and replaces its version,
    so the session check sees the change at once.

    A suspended person cannot log in, and a session they already have no longer resolves. One
    who gives the right password is told why (:func:`refused_as_suspended`); with a wrong one
    they are refused like anybody else, so only someone who knows the password learns that the
    account is suspended. Either way the password is checked exactly once, so the time an
    answer takes does not tell either."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend.authenticate, with the suspended case told apart after the password check.
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # as long as checking a real password (Django's #20760)
            return None
        if not user.check_password(password):
            return None
        if self.user_can_authenticate(user):
            return user
        if user.is_suspended and user.is_active and request is not None:
            setattr(request, SUSPENDED_MARK, True)
        return None

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_suspended", False)

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = objects.get_local(User, pk)
        return user if user is not None and self.user_can_authenticate(user) else None
