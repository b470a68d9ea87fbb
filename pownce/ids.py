"""Ids made by the app, not by the database: 64-bit, time-ordered (Snowflake, as Twitter and
Instagram made theirs).

Why: once a table is split over several databases (the inbox, notes/partitioning.py), no one
database's AUTO_INCREMENT can number its rows, and rows moved between databases must keep their
ids. So the app numbers them.

Layout of an id (a positive signed 64-bit integer, so BIGINT and SQLite's INTEGER hold it)::

    0 | 41 bits: milliseconds since EPOCH | 12 bits: generator | 10 bits: sequence

* **Time first**, so ordering by id is ordering by creation time (to the millisecond, and
  exactly within one generator): "newest first" stays "highest id first" and keyset paging by
  ``?before=<id>`` is unchanged. 41 bits of milliseconds last until 2093.
* **The generator** (0-4095) is ``node * SLOTS + slot``: ``node`` (0-127) comes from the app
  server's configuration (``POWNCE_ID_NODE``, one per host); ``slot`` (0-31) is claimed by each
  process on that host by locking ``VAR_DIR/ids/node-N/slot-S`` (``flock``), so the gunicorn
  workers, the task worker and ``manage.py`` commands of one host never share a generator. The
  lock dies with its process; the file stays, and holds the slot's clock lease (below).
* **The sequence** counts ids within one millisecond (1,024 per ms per generator); when it runs
  out the generator waits for the next millisecond.

Why duplicates cannot happen:

1. Two generators differ in their generator bits (distinct nodes by configuration, distinct
   slots by the lock).
2. One generator never issues the same (millisecond, sequence) twice *within a process*: it
   remembers the last millisecond it used and only moves forward. When the clock steps back
   (NTP, a VM restored), it waits for the clock to pass its last millisecond if that takes at
   most ``ID_MAX_CLOCK_WAIT`` seconds, and otherwise refuses (:class:`ClockWentBackwards`)
   rather than risk a duplicate.
3. ... *nor across restarts*: before issuing an id at millisecond ``t`` it makes sure the slot's
   file holds a lease ``>= t`` (it writes ``t + LEASE_MS`` when the lease runs out, so at most
   one small write per ``LEASE_MS``). A new process on that slot reads the lease and treats it
   as its last millisecond: rule 2 then applies across the restart, even if the clock went back
   while the process was down.

Not guaranteed: that ids of *different* generators are ordered within a few milliseconds of
each other (their clocks differ by as much as the hosts' clocks do); that ids are dense or
guessable-proof (they leak creation times, as a ``created`` column does); that they are safe as
JavaScript numbers (they exceed 2**53; the pages only ever put them in URLs and forms as text).
Two hosts configured with the same node break rule 1: the node is part of the deployment's
inventory, like a port.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.conf import settings

# 2024-01-01T00:00:00Z: every id made before Pownce's first app-made id would be smaller.
EPOCH_MS = 1_704_067_200_000
TIME_BITS, GENERATOR_BITS, SEQUENCE_BITS = 41, 12, 10
SLOT_BITS = 5
SLOTS = 1 << SLOT_BITS
NODES = 1 << (GENERATOR_BITS - SLOT_BITS)
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_GENERATOR = (1 << GENERATOR_BITS) - 1
# How far ahead of its last id a slot's file promises: the most a restarted process may have to
# wait before its first id, and the least time between two writes of the file.
LEASE_MS = 200


class ClockWentBackwards(RuntimeError):
    """The clock is behind the last millisecond this generator used by more than it may wait."""


class NoFreeSlot(RuntimeError):
    """Every generator slot of this node is held by another process on this host."""


def compose(ms: int, generator: int, sequence: int) -> int:
    """The id of ``sequence`` at ``ms`` milliseconds after EPOCH from ``generator``."""
    if not (0 <= ms < 1 << TIME_BITS and 0 <= generator <= MAX_GENERATOR and 0 <= sequence <= MAX_SEQUENCE):
        raise ValueError(f"id parts out of range: ms={ms} generator={generator} sequence={sequence}")
    return (ms << (GENERATOR_BITS + SEQUENCE_BITS)) | (generator << SEQUENCE_BITS) | sequence


def parts(id_: int) -> tuple[int, int, int]:
    """(milliseconds since EPOCH, generator, sequence) of an id."""
    return id_ >> (GENERATOR_BITS + SEQUENCE_BITS), (id_ >> SEQUENCE_BITS) & MAX_GENERATOR, id_ & MAX_SEQUENCE


def lowest_id_at(moment: datetime) -> int:
    """The smallest id any generator can make at ``moment`` (for "ids made after ..." bounds)."""
    return compose(int(moment.timestamp() * 1000) - EPOCH_MS, 0, 0)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000 - EPOCH_MS


class Lease:
    """A slot's file: the highest millisecond the slot may have used, surviving its process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def try_lock(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def read(self) -> int:
        assert self.fd is not None
        raw = os.pread(self.fd, 32, 0).strip()
        return int(raw) if raw else -1

    def write(self, ms: int) -> None:
        assert self.fd is not None
        data = f"{ms:020d}\n".encode()
        os.pwrite(self.fd, data, 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


class IdGenerator:
    """Makes ids for one generator number. Thread-safe; one per process (see :func:`new_id`).

    ``lease`` (a :class:`Lease` already locked, or None for a generator that need not survive
    its process, as in tests) carries the last millisecond across restarts. ``clock`` returns
    milliseconds since EPOCH; ``sleep`` waits seconds (both replaceable for tests)."""

    def __init__(
        self,
        generator: int,
        *,
        lease: Lease | None = None,
        max_wait: float = 1.0,
        clock: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 <= generator <= MAX_GENERATOR:
            raise ValueError(f"generator {generator} out of range 0-{MAX_GENERATOR}")
        self.generator = generator
        self.lease = lease
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        # A restarted slot starts after everything its predecessors may have issued.
        self._last_ms = lease.read() if lease else -1
        self._leased_until = self._last_ms
        self._sequence = MAX_SEQUENCE  # so the first id moves to a fresh millisecond

    def next_id(self) -> int:
        return self.next_ids(1)[0]

    def next_ids(self, count: int) -> list[int]:
        """``count`` new ids, ascending."""
        out: list[int] = []
        with self._lock:
            while len(out) < count:
                now = self.clock()
                # A new millisecond starts a new sequence: an id always carries the time it was
                # made (to the ms), so ids of different generators stay in time order.
                if now > self._last_ms or self._sequence >= MAX_SEQUENCE:
                    self._next_millisecond(now)
                take = min(count - len(out), MAX_SEQUENCE - self._sequence)
                first = self._sequence + 1
                out.extend(compose(self._last_ms, self.generator, seq) for seq in range(first, first + take))
                self._sequence += take
        return out

    def _next_millisecond(self, now: int) -> None:
        """Move to a millisecond after the last one used (waiting or refusing on a clock that
        went back), and make sure the lease covers it before any id of it leaves."""
        if now <= self._last_ms:
            behind = (self._last_ms - now + 1) / 1000
            if behind > self.max_wait:
                raise ClockWentBackwards(
                    f"clock is {behind:.3f}s behind generator {self.generator}'s last id; refusing to make ids"
                )
            deadline = time.monotonic() + self.max_wait + 0.05
            while now <= self._last_ms:
                if time.monotonic() > deadline:
                    raise ClockWentBackwards(f"clock did not pass generator {self.generator}'s last id in time")
                self.sleep(max(0.001, (self._last_ms - now + 1) / 1000))
                now = self.clock()
        if self.lease is not None and now > self._leased_until:
            self._leased_until = now + LEASE_MS
            self.lease.write(self._leased_until)
        self._last_ms = now
        self._sequence = -1


_process_generator: IdGenerator | None = None
_process_pid: int | None = None
_process_lock = threading.Lock()


def claim_generator(node: int, directory: Path, *, max_wait: float) -> IdGenerator:
    """This process's generator: the first free slot of ``node`` on this host."""
    if not 0 <= node < NODES:
        raise ValueError(f"POWNCE_ID_NODE must be 0-{NODES - 1}, not {node}")
    for slot in range(SLOTS):
        lease = Lease(directory / f"node-{node}" / f"slot-{slot}")
        if lease.try_lock():
            return IdGenerator(node * SLOTS + slot, lease=lease, max_wait=max_wait)
    raise NoFreeSlot(f"all {SLOTS} id slots of node {node} are in use under {directory}")


def process_generator() -> IdGenerator:
    """The generator of this process, claimed on first use (after a fork, the child claims its
    own: a gunicorn worker never shares its parent's slot)."""
    global _process_generator, _process_pid
    with _process_lock:
        if _process_generator is None or _process_pid != os.getpid():
            if _process_generator is not None and _process_generator.lease is not None:
                # The parent's lock is the parent's: the child's copy of the descriptor must not
                # release it, so it is only forgotten here.
                _process_generator.lease.fd = None
            _process_generator = claim_generator(
                settings.ID_NODE, Path(settings.VAR_DIR) / "ids", max_wait=settings.ID_MAX_CLOCK_WAIT
            )
            _process_pid = os.getpid()
        return _process_generator


def new_id() -> int:
    """A new id from this process's generator (the default of app-numbered primary keys)."""
    return process_generator().next_id()


def new_ids(count: int) -> list[int]:
    return process_generator().next_ids(count)
