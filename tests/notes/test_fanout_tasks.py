"""A note to 5,000 fans is delivered by the task worker, in batches, exactly once.

These tests use the real queue (django_tasks_db on the MariaDB primary) and the real worker
process (`manage.py task_worker`), started against the test database: the request delivers the
first page of the audience and queues one plan, the worker plans the batches and delivers them,
a second run changes nothing, and a worker killed while a batch is stuck half-way leaves a task
its restart finishes, with no duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import MySQLdb
import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from accounts.models import Fanship, User
from notes import delivery, partitioning, services
from notes.models import Delivery, Note
from notes.streams import home_page
from pownce import ids, router, task_queue
from tests.inbox import deliveries, delivery_rows
from tests.stack import ROOT, root_execute, wait_until

FANS = 5000
INLINE = 200
BATCH = 1000
WORKER_TIMEOUT = 60
pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.fixture(autouse=True)
def reads_on_primary():
    """The worker writes on the primary; this test reads there too (no replica lag to wait for)."""
    tokens = router.begin_request(pinned=True)
    yield
    router.end_request(tokens)


@pytest.fixture
def task_queue_backend(settings):
    """Enqueued tasks go to the database queue (tests otherwise run them at once)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.FANOUT_INLINE_MAX = INLINE
    settings.FANOUT_BATCH_SIZE = BATCH


@pytest.fixture
def star_with_fans(task_queue_backend) -> tuple[User, list[int]]:
    star = User.objects.create_user(username="star", password="correct-horse-9")
    User.objects.bulk_create([User(username=f"fan{i:04d}", password="!") for i in range(FANS)], batch_size=1000)
    fan_ids = sorted(User.objects.filter(username__startswith="fan").values_list("pk", flat=True))
    Fanship.objects.bulk_create([Fanship(fan_id=pk, idol=star) for pk in fan_ids], batch_size=1000)
    return star, fan_ids


def worker_env() -> dict[str, str]:
    """The environment of a worker serving this test's database (pytest's test_… name)."""
    name = connection.settings_dict["NAME"]
    env = dict(os.environ, POWNCE_TASKS_BACKEND="django_tasks_db.DatabaseBackend")
    for var in ("POWNCE_DB_PRIMARY", "POWNCE_DB_REPLICAS", "POWNCE_DB_INBOX_PRIMARY", "POWNCE_DB_INBOX_REPLICAS"):
        if env.get(var):
            env[var] = ",".join(
                "|".join(f"{url.rsplit('/', 1)[0]}/{name}" for url in entry.split("|")) for entry in env[var].split(",")
            )
    return env


class Worker:
    """`manage.py task_worker` in a subprocess, with a worker id of its own."""

    def __init__(self, log_path) -> None:
        self.worker_id = f"test-worker-{os.getpid()}"
        self.log_path = log_path

    def start(self, *args: str) -> subprocess.Popen:
        command = [sys.executable, "manage.py", "task_worker", "--worker-id", self.worker_id]
        command += ["--interval", "0.1", "--no-startup-delay", *args]
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(command, cwd=ROOT, env=worker_env(), stdout=log, stderr=subprocess.STDOUT)

    def run_until_empty(self) -> float:
        """Run a worker until the queue is empty (``--batch``); returns how long it took."""
        started = time.monotonic()
        process = self.start("--batch")
        try:
            returncode = process.wait(timeout=WORKER_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert returncode == 0, self.log()
        return time.monotonic() - started

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


@pytest.fixture
def worker(tmp_path) -> Worker:
    return Worker(tmp_path / "worker.log")


def stream_note_ids(user: User) -> list[int]:
    return [item.pk for item in home_page(user).page.items if isinstance(item, Note)]


def batch_args() -> list[list]:
    return sorted(r.args_kwargs["args"] for r in DBTaskResult.objects.filter(task_path__endswith="note_deliver_batch"))


def expected_batches(note: Note, fan_ids: list[int]) -> list[list[int]]:
    """The ranges after the request's first page: (after, upto] of BATCH fans each."""
    rest = fan_ids[INLINE - 1 :]
    return [[note.pk, rest[i], rest[min(i + BATCH, len(rest) - 1)]] for i in range(0, len(rest) - 1, BATCH)]


def lock_waits(recipient_id: int) -> int:
    """Transactions waiting for a row lock on the primary holding ``recipient_id``'s inbox."""
    query = "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"
    instance = f"inbox{partitioning.physical_shard(recipient_id)}" if django_settings.INBOX_PARTITIONED else "primary"
    return int(root_execute(instance, query)[0][0])


def test_a_note_to_5000_fans_is_queued_in_the_request_and_delivered_once_by_the_worker(client, star_with_fans, worker):
    star, fan_ids = star_with_fans
    first_fan, last_fan = (User.objects.get(pk=pk) for pk in (fan_ids[0], fan_ids[-1]))
    assert stream_note_ids(first_fan) == []  # the fan's inbox is now cached, empty

    client.force_login(star)
    started = time.monotonic()
    response = client.post("/notes/new/", {"kind": "message", "audience": "public", "body": "Hello, fans!"})
    request_seconds = time.monotonic() - started
    assert response.status_code == 302
    note = Note.objects.get(author=star)

    # The request returned with the author's and the first page's deliveries, and one plan queued.
    assert deliveries(note) == dict.fromkeys([star.pk, *fan_ids[:INLINE]], 1)
    assert stream_note_ids(star) == [note.pk] and stream_note_ids(first_fan) == [note.pk]
    assert stream_note_ids(last_fan) == []
    assert [r.args_kwargs["args"] for r in DBTaskResult.objects.all()] == [[note.pk, fan_ids[INLINE - 1], True]]

    worker_seconds = worker.run_until_empty()
    delivered = deliveries(note)
    assert len(delivered) == FANS + 1 and set(delivered.values()) == {1}
    assert set(delivered) == {star.pk, *fan_ids}
    # The plan, then five batches of the 4,800 fans left.
    assert task_queue.queue_figures() == {"READY": 0, "RUNNING": 0, "SUCCESSFUL": 6, "FAILED": 0}
    assert batch_args() == expected_batches(note, fan_ids)
    # Each batch tombstoned the inboxes it wrote to: the fan's cached empty inbox is gone.
    assert stream_note_ids(first_fan) == [note.pk] and stream_note_ids(last_fan) == [note.pk]
    results = DBTaskResult.objects.all()
    running = max(r.finished_at for r in results) - min(r.started_at for r in results)
    print(
        f"\n{FANS:,} fans: request {request_seconds * 1000:.0f} ms; plan and 5 batches run in "
        f"{running.total_seconds() * 1000:.0f} ms; worker process start to exit {worker_seconds:.2f} s"
    )

    # Running every batch again (queued again, then by the worker) changes nothing.
    rows_before = {(row.id, row.recipient_id) for row in delivery_rows(note_id=note.pk)}
    delivery.note_fanout_plan.enqueue(note.pk, fan_ids[INLINE - 1])
    assert task_queue.queue_length() == 1
    worker.run_until_empty()
    assert {(row.id, row.recipient_id) for row in delivery_rows(note_id=note.pk)} == rows_before
    # …and so does running one batch in this process.
    assert delivery.note_deliver_batch.call(*batch_args()[0]) == BATCH
    assert {(row.id, row.recipient_id) for row in delivery_rows(note_id=note.pk)} == rows_before


def test_a_worker_killed_half_way_is_restarted_and_completes_the_delivery_once(star_with_fans, worker):
    star, fan_ids = star_with_fans
    note = services.note_create(author=star, kind="message", audience="public", body="Hello, fans!")
    assert task_queue.queue_length() == 1  # the plan
    stuck_fan = fan_ids[2500]  # in the third batch: (fan 2199, fan 3199]

    # Another transaction holds an uncommitted delivery to one fan of the third batch: the
    # worker's insert of that batch waits for it, half-way through the fan-out.
    settings = connections[partitioning.primary_of(partitioning.physical_shard(stuck_fan))].settings_dict
    blocker = MySQLdb.connect(
        host=settings["HOST"],
        port=int(settings["PORT"]),
        user=settings["USER"],
        password=settings["PASSWORD"],
        database=settings["NAME"],
    )
    try:
        blocker.autocommit(False)
        with blocker.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Delivery._meta.db_table} (id, recipient_id, note_id) VALUES (%s, %s, %s)",
                (ids.new_id(), stuck_fan, note.pk),
            )
        process = worker.start()
        try:
            wait_until(
                # Two batches, and of the third at most the part on the other inbox shard.
                lambda: (
                    1 + INLINE + 2000 <= len(delivery_rows(note_id=note.pk)) < 1 + INLINE + 3000
                    and DBTaskResult.objects.filter(status="RUNNING").count() == 1
                    and lock_waits(stuck_fan) == 1
                ),
                timeout=30,
                message="two batches delivered and the third waiting for the held row lock",
            )
            assert not delivery_rows(note_id=note.pk, recipient_id=stuck_fan)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        stuck = DBTaskResult.objects.get(status="RUNNING")
        assert stuck.args_kwargs["args"][1] < stuck_fan <= stuck.args_kwargs["args"][2]
        assert stuck.worker_ids[-1] == worker.worker_id
    finally:
        blocker.rollback()
        blocker.close()

    # The dead worker's task is RUNNING for ever unless taken back: its restart does that.
    worker.run_until_empty()
    delivered = deliveries(note)
    assert len(delivered) == FANS + 1 and set(delivered.values()) == {1}, worker.log()
    assert "queued again 1 task(s)" in worker.log()
    assert task_queue.queue_figures()["SUCCESSFUL"] == 6 and task_queue.queue_length() == 0
