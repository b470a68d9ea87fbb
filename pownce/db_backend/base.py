"""MySQL backend for every alias: a hung server fails a request once, quickly, and a replica
that fails leaves rotation at once.

Same as Django's MySQL backend, plus:

* **A hung server is not waited for twice.** With ``CONN_HEALTH_CHECKS`` Django pings a reused
  connection before a request's first query and, if the ping fails, opens a new one. When the
  ping failed because the server *did not answer in time* (error 2013 after the read timeout),
  a new connection would hang just as long (connect timeout, then the query's read timeout), so
  the failure is raised at once instead. A ping that fails because the connection is gone
  (2006: the server restarted) still reconnects, as in Django.
* **Primaries** (the main one and each inbox shard's): a connection-level failure trips that
  primary's breaker (:func:`pownce.router.breaker_for`); while it is open, opening a connection
  to it fails at once (error 2003) instead of waiting for the connect timeout on a server known
  to be away.
* **Replicas** (of the main cluster and of the inbox shards): when connecting or a query fails with a
  connection-level error (:data:`pownce.unavailable.CONNECTION_ERRORS`: refused, gone, timed
  out), the router's health record marks the replica down at once instead of waiting for the
  next health check, and the raised exception carries ``replica_alias`` so
  :class:`pownce.middleware.ReplicaFailoverMiddleware` retries a safe request on the primary.

Other errors (bad SQL, constraint violations) are untouched.
"""

from django.conf import settings
from django.db.backends.mysql import base
from django.db.utils import DatabaseErrorWrapper
from django.utils.functional import cached_property

from pownce.router import breaker_for, health
from pownce.unavailable import CONNECTION_ERRORS, db_error_code

LOST_DURING_QUERY = 2013  # what a read timeout looks like


class ErrorWrapper(DatabaseErrorWrapper):
    def __exit__(self, exc_type, exc_value, traceback):
        try:
            super().__exit__(exc_type, exc_value, traceback)
        except Exception as exc:
            alias = self.wrapper.alias
            if db_error_code(exc) in CONNECTION_ERRORS:
                breaker = breaker_for(alias)
                if breaker is not None:
                    breaker.trip(str(exc))
                elif alias in settings.REPLICA_ALIASES or alias in settings.INBOX_REPLICA_ALIASES:
                    health.mark_down(alias, f"query failed: {exc}")
                    exc.replica_alias = alias
            raise


class DatabaseWrapper(base.DatabaseWrapper):
    @cached_property
    def wrap_database_errors(self):
        return ErrorWrapper(self)

    def ensure_connection(self):
        if self.connection is None:
            breaker = breaker_for(self.alias)
            if breaker is not None and breaker.is_open():
                with self.wrap_database_errors:
                    raise base.Database.OperationalError(
                        2003, f"{self.alias} unreachable; waiting for it to answer again"
                    )
        super().ensure_connection()

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        try:
            self.connection.ping()
        except base.Database.Error as exc:
            self.close()
            if db_error_code(exc) == LOST_DURING_QUERY:
                with self.wrap_database_errors:
                    raise
        self.health_check_done = True
