"""The task queue: its figures, and putting back the tasks of workers that died.

The queue is a table on the primary (``django_tasks_db``'s ``DBTaskResult``): ``enqueue()``
inserts a READY row; a worker (`manage.py task_worker`) claims one under ``SELECT … FOR UPDATE
SKIP LOCKED`` by marking it RUNNING with its worker id, runs it, and marks it SUCCESSFUL or
FAILED. Several workers, on any machines, share the table safely.

A worker killed while it runs a task (``kill -9``, a machine lost) leaves that row RUNNING
forever: nothing in ``django_tasks_db`` takes it back. ``requeue_abandoned`` does, and the
worker calls it at start (for the tasks it had claimed under its own id, which it cannot be
running any more) and every minute (for tasks any worker has been running for longer than
TASK_ABANDONED_SECONDS). This is safe only because every Pownce task is idempotent: a task
put back while a slow worker still runs it just runs twice.

Figures are read on the primary, the only place the queue is exact.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

PRIMARY = "default"


def _results():
    return DBTaskResult.objects.using(PRIMARY)


def queue_length() -> int:
    """How many tasks wait in the queue: READY, whether due now or deferred."""
    return _results().filter(status=TaskResultStatus.READY).count()


def queue_figures() -> dict[str, int]:
    """Tasks by state, in one query: ``{"READY": …, "RUNNING": …, "SUCCESSFUL": …, "FAILED": …}``
    (every state present, 0 when none). Finished rows stay until `manage.py
    prune_db_task_results` removes them, so SUCCESSFUL and FAILED count since the last prune."""
    counts = dict(_results().order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in TaskResultStatus.values}


def requeue_abandoned(*, worker_id: str | None = None, older_than: float | None = None) -> int:
    """Put RUNNING tasks back in the queue; returns how many. ``worker_id``: the tasks last
    claimed by that worker; ``older_than``: the tasks started more than that many seconds ago."""
    if worker_id is None and older_than is None:
        raise ValueError("say which tasks are abandoned: worker_id, older_than or both")
    running = list(_results().filter(status=TaskResultStatus.RUNNING).only("id", "worker_ids", "started_at"))
    cutoff = timezone.now() - timedelta(seconds=older_than) if older_than is not None else None
    abandoned = [
        result.pk
        for result in running
        if (worker_id is not None and result.worker_ids and result.worker_ids[-1] == worker_id)
        or (cutoff is not None and result.started_at is not None and result.started_at < cutoff)
    ]
    if not abandoned:
        return 0
    # Only rows still RUNNING: one that finished in the meantime stays finished.
    return (
        _results()
        .filter(pk__in=abandoned, status=TaskResultStatus.RUNNING)
        .update(status=TaskResultStatus.READY, started_at=None)
    )
