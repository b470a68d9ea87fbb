"""The primary/replica database router.

Where a query goes:

* **Writes** always go to the primary (``default``).
* **Reads** go to a healthy replica, chosen at random per query, except:
  - inside ``transaction.atomic`` on the primary, every read goes to the primary, so a
    transaction sees its own writes and reads a consistent snapshot;
  - while the request is **pinned** (read-your-writes): a request whose browser wrote within
    the last ``PIN_SECONDS`` (signed cookie set by :class:`pownce.middleware.ReadYourWritesMiddleware`),
    and every request that is not a safe method (POST, PUT …), reads from the primary;
  - when no replica is healthy, reads fall back to the primary.
* **Migrations** run on the primary only; replicas get the schema through replication.

A replica is *healthy* when it answers, its replication threads are running and
``Seconds_Behind_Master`` is not NULL and at most ``REPLICA_MAX_LAG``. Each process remembers
its last look for ``REPLICA_HEALTH_TTL`` seconds; a query that fails on a replica with a
connection error or a timeout marks it down at once (see :mod:`pownce.db_backend`).

Hung is the common failure, not dead, so no request waits on a health check. Every connection
has connect, read and write timeouts (``POWNCE_DB_*_TIMEOUT``), the check included. Once a look
is older than the TTL, the next read starts a new check in a background thread and meanwhile
routes by the old look; only a process's very first look at a replica is waited for, and for
at most ``REPLICA_FIRST_CHECK_WAIT`` seconds (reads go to the primary if it takes longer).

What is guaranteed:

* A browser sees its own writes for ``PIN_SECONDS`` after each write, whatever the lag —
  provided it sends the cookie back, and its write reached the router (``db_for_write``).
* No read is sent to a replica known (within the health TTL) to be down or lagging.
* A request waits on a hung replica for at most its read timeout once: the query fails, the
  replica is marked down for this process and a safe request is retried on the primary.

What is not guaranteed:

* Monotonic reads across browsers: a second device of the same user, or another user, may read
  a replica that has not yet applied a write, by up to ``REPLICA_MAX_LAG`` plus the health TTL.
* Two reads of one request may go to different replicas.
* A replica that fails between its health check and a query fails that query; for safe
  requests :class:`pownce.middleware.ReplicaFailoverMiddleware` retries the view once on the
  primary, other requests already read from the primary.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

logger = logging.getLogger("pownce.router")

PRIMARY = "default"

# Per request (and per thread, since each thread runs its own context): should reads go to the
# primary, and has this request written anything?
_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar("pownce_pinned", default=False)
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("pownce_wrote", default=False)


def begin_request(pinned: bool) -> tuple[contextvars.Token, contextvars.Token]:
    """Start routing one request; ``pinned`` sends all its reads to the primary."""
    return _pinned.set(pinned), _wrote.set(False)


def end_request(tokens: tuple[contextvars.Token, contextvars.Token]) -> bool:
    """Finish routing one request; return whether it wrote to the database."""
    wrote = _wrote.get()
    _pinned.reset(tokens[0])
    _wrote.reset(tokens[1])
    return wrote


@dataclass
class ReplicaState:
    healthy: bool
    lag: float | None
    reason: str
    checked_at: float


class ReplicaHealth:
    """This process's view of each replica's health, refreshed at most every TTL seconds.

    ``state(alias)`` never blocks on a stale look: it starts one background check per replica
    (never two at once) and returns the look it has. ``state(alias, refresh=True)`` checks now,
    in the caller's thread (status page, readiness, tests)."""

    def __init__(self) -> None:
        self._states: dict[str, ReplicaState] = {}
        self._checking: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def state(self, alias: str, *, refresh: bool = False) -> ReplicaState:
        if refresh:
            return self._record(alias, self._check(alias, time.monotonic()))
        with self._lock:
            cached = self._states.get(alias)
            if cached and time.monotonic() - cached.checked_at < settings.REPLICA_HEALTH_TTL:
                return cached
            done = self._checking.get(alias)
            if done is None:
                done = self._checking[alias] = threading.Event()
                threading.Thread(target=self._check_in_background, args=(alias, done), daemon=True).start()
        if cached:
            return cached
        # The first look of this process: worth a short wait, since the answer is usually quick.
        done.wait(settings.REPLICA_FIRST_CHECK_WAIT)
        with self._lock:
            return self._states.get(alias) or ReplicaState(False, None, "first check still running", 0.0)

    def is_healthy(self, alias: str) -> bool:
        return self.state(alias).healthy

    def mark_down(self, alias: str, reason: str) -> None:
        """Take ``alias`` out of rotation until the next health check (one TTL from now)."""
        with self._lock:
            self._states[alias] = ReplicaState(False, None, reason, time.monotonic())
        logger.warning("replica %s marked down: %s", alias, reason)

    def forget(self) -> None:
        """Drop every remembered state, so the next read checks again (used by tests)."""
        with self._lock:
            self._states.clear()

    def _check_in_background(self, alias: str, done: threading.Event) -> None:
        try:
            self._record(alias, self._check(alias, time.monotonic()))
        finally:
            with self._lock:
                self._checking.pop(alias, None)
            done.set()

    def _record(self, alias: str, state: ReplicaState) -> ReplicaState:
        with self._lock:
            previous = self._states.get(alias)
            self._states[alias] = state
        if previous and previous.healthy != state.healthy:
            verdict = "in rotation" if state.healthy else "out of rotation"
            logger.warning("replica %s is now %s (%s)", alias, verdict, state.reason)
        return state

    @staticmethod
    def _check(alias: str, now: float) -> ReplicaState:
        """One look at ``alias`` over a connection of its own (with the alias's timeouts), so a
        check never shares, or breaks, a connection a request is using."""
        wrapper = connections[alias]
        try:
            raw = wrapper.get_new_connection(wrapper.get_connection_params())
            try:
                cursor = raw.cursor()
                cursor.execute("SHOW SLAVE STATUS")
                row = cursor.fetchone()
                columns = [column[0] for column in cursor.description or ()]
            finally:
                raw.close()
        except Exception as exc:  # any failure to ask means "do not read from it"
            return ReplicaState(False, None, f"unreachable: {exc}", now)
        if row is None:
            return ReplicaState(False, None, "not replicating (no slave status)", now)
        status = dict(zip(columns, row, strict=True))
        lag = status.get("Seconds_Behind_Master")
        if status.get("Slave_IO_Running") != "Yes" or status.get("Slave_SQL_Running") != "Yes" or lag is None:
            io, sql = status.get("Slave_IO_Running"), status.get("Slave_SQL_Running")
            return ReplicaState(False, None, f"replication stopped (io={io}, sql={sql})", now)
        if lag > settings.REPLICA_MAX_LAG:
            return ReplicaState(False, float(lag), f"lagging {lag}s > {settings.REPLICA_MAX_LAG}s", now)
        return ReplicaState(True, float(lag), "ok", now)


health = ReplicaHealth()


class PrimaryBreaker:
    """This process's memory that a primary (the main cluster's, or an inbox shard's) failed at
    the connection level (refused, gone, timed out). One breaker per primary alias
    (:func:`breaker_for`): an inbox shard's primary going away fails fast the writes of that
    shard only.

    While open, opening a connection to the primary fails at once instead of waiting for the
    connect timeout again (see :mod:`pownce.db_backend`): writes answer 503 quickly, and reads
    of recently invalidated cache keys fall back to a replica (:mod:`cache.protocol`). A
    background thread of this process tries the primary every ``PRIMARY_RETRY_AFTER`` seconds
    over a connection of its own (with the alias's timeouts); the first success closes it.

    Guaranteed: a hung primary holds a request of this process once (the failure that opened
    the breaker), never again while it stays away. Not guaranteed: that connections opened
    before the failure, in other requests already running, do not wait their own timeout."""

    def __init__(self, alias: str = PRIMARY) -> None:
        self.alias = alias
        self._open = False
        self._probing = False
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return self._open

    def trip(self, reason: str) -> None:
        with self._lock:
            if self._open:
                return
            self._open = True
            start_probe = not self._probing
            self._probing = True
        logger.warning("%s unreachable, failing fast until it answers again: %s", self.alias, reason)
        if start_probe:
            threading.Thread(target=self._probe, name=f"primary-probe-{self.alias}", daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self._open = False

    def _probe(self) -> None:
        while True:
            time.sleep(settings.PRIMARY_RETRY_AFTER)
            if self._reachable():
                with self._lock:
                    self._open = self._probing = False
                logger.warning("%s answers again", self.alias)
                return

    def _reachable(self) -> bool:
        wrapper = connections[self.alias]
        try:
            raw = wrapper.get_new_connection(wrapper.get_connection_params())
            try:
                raw.cursor().execute("SELECT 1")
            finally:
                raw.close()
        except Exception:  # any failure to answer means "still away"
            return False
        return True


primary_breaker = PrimaryBreaker()
_breakers = {PRIMARY: primary_breaker}
_breakers_lock = threading.Lock()


def breaker_for(alias: str) -> PrimaryBreaker | None:
    """The breaker of ``alias`` if it is a primary (the main one or an inbox shard's), else
    None: replicas leave rotation through :data:`health` instead."""
    if alias in _breakers:
        return _breakers[alias]
    if alias not in settings.INBOX_PRIMARY_ALIASES:
        return None
    with _breakers_lock:
        return _breakers.setdefault(alias, PrimaryBreaker(alias))


class PrimaryReplicaRouter:
    """Send writes to the primary and reads to a healthy replica (see the module docstring)."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias(PRIMARY, settings.REPLICA_ALIASES)

    def db_for_write(self, model, **hints) -> str:
        _wrote.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        """Migrations run on primaries only. With the inbox partitioned, the inbox primaries get
        only the operations that carry the ``inbox`` hint (notes/migrations/0007 creates the
        inbox table there), and the main primary everything else (its own inbox table stays,
        empty and unused: nothing reads it, tests/notes/test_partitioning.py checks)."""
        if not settings.INBOX_PARTITIONED:
            return db == PRIMARY
        if db in settings.INBOX_ALIASES:
            # The task queue's own migrations (django-tasks-db 0019) look at their table on
            # every database they run on, routers or not: the inbox databases carry it, unused.
            wanted = bool(hints.get("inbox")) or app_label == "django_tasks_database"
            return db not in settings.INBOX_REPLICA_ALIASES and wanted
        return db == PRIMARY and not hints.get("inbox")


def read_alias(primary: str, replicas: list[str]) -> str:
    """Where a read of the cluster (``primary``, ``replicas``) goes: a healthy replica, except
    when the request is pinned, the cluster's primary is inside ``transaction.atomic``, or no
    replica is healthy (then the primary). The same rules for the main cluster and each inbox
    shard."""
    if not replicas or _pinned.get() or connections[primary].in_atomic_block:
        return primary
    healthy = [alias for alias in replicas if health.is_healthy(alias)]
    return random.choice(healthy) if healthy else primary


def mark_wrote() -> None:
    """Count a write that did not pass through ``db_for_write`` (an explicit ``using``), so the
    browser that made it is pinned to the primaries for its next reads."""
    _wrote.set(True)
