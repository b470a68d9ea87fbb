"""`manage.py task_worker`: the background worker — django_tasks_db's ``db_worker``, plus:

* every read on the primary: the queue lives there, and a task must see the rows committed
  with it (a replica may not have them yet);
* at start, the tasks this worker id had claimed and not finished are queued again (the
  previous process with this id died running them), and every minute any task running for
  longer than TASK_ABANDONED_SECONDS is (see ``pownce.task_queue``);
* the periodic jobs the apps ask for in ``settings.WORKER_PERIODIC_JOBS`` (named by dotted
  path: this module imports no app), each in a thread of its own — today the API's sweep of
  uploads no status used within a day, at start and every hour (``pownce.api.services``, also
  ``manage.py api_media_sweep``): cheap, and safe to run from every worker at once;
* the primary out of reach (restarted, hung, cut off the network) does not end the worker: it
  waits ``RETRY_SECONDS`` and starts polling again (a task that was running is taken back by
  the abandoned-task sweep, as if its worker had died).

Give each worker a stable id, unique across machines (``--worker-id``, default
``<host name>-worker``), so a restarted worker takes back exactly its own tasks.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from pownce import router, task_queue

logger = logging.getLogger("pownce.tasks")

SWEEP_SECONDS = 60
RETRY_SECONDS = 1


def _requeue_abandoned() -> None:
    if count := task_queue.requeue_abandoned(older_than=settings.TASK_ABANDONED_SECONDS):
        logger.warning("queued again %d task(s) running for over %ss", count, settings.TASK_ABANDONED_SECONDS)


def _every(stop: threading.Event, seconds: float, job, *, at_start: bool) -> None:
    """Run ``job`` every ``seconds`` (and once at once with ``at_start``) until ``stop``."""
    if not at_start and stop.wait(seconds):
        return
    while True:
        try:
            job()
        except Exception:  # a database hiccup must not stop the next runs
            logger.exception("periodic job %s failed", job.__name__)
        finally:
            connections.close_all()
        if stop.wait(seconds):
            return


class Command(DBWorkerCommand):
    help = "Run the background task worker (db_worker that takes back the tasks of dead workers)"

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(worker_id=f"{socket.gethostname()}-worker"[:64], reload=False)

    def handle(self, *args, worker_id: str, **options) -> None:
        router.begin_request(pinned=True)  # this whole process reads from the primary
        requeued = task_queue.requeue_abandoned(worker_id=worker_id, older_than=settings.TASK_ABANDONED_SECONDS)
        if requeued:
            logger.warning("worker %s queued again %d task(s) a dead worker had claimed", worker_id, requeued)
        logger.info("worker %s: reads on the primary, %d task(s) waiting", worker_id, task_queue.queue_length())
        stop = threading.Event()
        periodic = [("abandoned-tasks", SWEEP_SECONDS, _requeue_abandoned, False)]  # at start: done above
        for name, (path, seconds) in settings.WORKER_PERIODIC_JOBS.items():
            periodic.append((name, seconds, import_string(path), True))
        for name, seconds, job, at_start in periodic:
            threading.Thread(
                target=_every, args=(stop, seconds, job), kwargs={"at_start": at_start}, name=name, daemon=True
            ).start()
        try:
            while True:
                try:
                    super().handle(*args, worker_id=worker_id, **options)
                    return
                except DatabaseError as exc:  # SIGTERM still ends it: db_worker's handler exits
                    logger.warning(
                        "worker %s: the database is out of reach (%s); polling again in %ss",
                        worker_id,
                        exc,
                        RETRY_SECONDS,
                    )
                    connections.close_all()
                    time.sleep(RETRY_SECONDS)
        finally:
            stop.set()
