"""MySQL backend for replica aliases: a connection failure takes the replica out of rotation.

Same as Django's MySQL backend, except that when connecting or a query fails with a
connection-level error (server gone, refused, lost), the router's health record marks the
replica down at once instead of waiting for the next health check, and the raised exception
carries ``replica_alias`` so :class:`pownce.middleware.ReplicaFailoverMiddleware` can retry a
safe request on the primary. Other errors (bad SQL, constraint violations) are untouched.
"""

from django.db.backends.mysql import base
from django.db.utils import DatabaseErrorWrapper
from django.utils.functional import cached_property

from pownce.router import health

# MySQL client/server error codes that mean "this server cannot be talked to right now".
CONNECTION_ERRORS = {
    1040,  # too many connections
    1053,  # server shutdown in progress
    1927,  # connection was killed
    2002,  # can't connect through socket
    2003,  # can't connect to server
    2006,  # server has gone away
    2013,  # lost connection during query
    2026,  # TLS error
    2055,  # lost connection at handshake
    4031,  # disconnected by the server for inactivity
}


def _error_code(exc: BaseException) -> int | None:
    cause = exc.__cause__ or exc
    args = getattr(cause, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class ReplicaErrorWrapper(DatabaseErrorWrapper):
    def __exit__(self, exc_type, exc_value, traceback):
        try:
            super().__exit__(exc_type, exc_value, traceback)
        except Exception as exc:
            if _error_code(exc) in CONNECTION_ERRORS:
                alias = self.wrapper.alias
                health.mark_down(alias, f"query failed: {exc}")
                exc.replica_alias = alias
            raise


class DatabaseWrapper(base.DatabaseWrapper):
    @cached_property
    def wrap_database_errors(self):
        return ReplicaErrorWrapper(self)
