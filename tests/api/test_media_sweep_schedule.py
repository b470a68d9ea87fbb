"""Uploads no status used are swept without anyone running a command: every task worker sweeps
them at start and each hour (pownce/management/commands/task_worker.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pownce import router
from pownce.api import services
from pownce.api.models import MediaUpload
from pownce.management.commands import task_worker
from tests.stack import ROOT, wait_until

WORKER_START_TIMEOUT = 30


def uploads(owner) -> tuple[MediaUpload, MediaUpload, MediaUpload]:
    """An upload unused for two days, one used by a status two days ago, one made just now."""
    old = services.media_upload(owner=owner, upload=SimpleUploadedFile("old.txt", b"old"))
    used = services.media_upload(owner=owner, upload=SimpleUploadedFile("used.txt", b"used"))
    services.status_post(author=owner, text="with a file", media_ids=[str(used.pk)])
    fresh = services.media_upload(owner=owner, upload=SimpleUploadedFile("fresh.txt", b"fresh"))
    MediaUpload.objects.filter(pk__in=[old.pk, used.pk]).update(created=timezone.now() - timedelta(days=2))
    return old, used, fresh


@pytest.mark.django_db
def test_the_workers_sweep_deletes_only_uploads_unused_for_a_day(person):
    old, used, fresh = uploads(person("ann"))
    services.sweep_unused_media()
    assert set(MediaUpload.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert not default_storage.exists(old.file.name)
    assert default_storage.exists(fresh.file.name)
    assert services.media_sweep(older_than=timezone.now()) == 1  # fresh; a second sweep finds nothing else
    assert services.media_sweep(older_than=timezone.now()) == 0


def test_a_periodic_job_runs_at_start_then_every_period_until_stopped():
    runs = []
    ran_twice = threading.Event()

    def job():
        runs.append(1)
        if len(runs) == 2:
            ran_twice.set()
        if len(runs) == 3:
            raise RuntimeError("a failing run does not end the schedule")

    stop = threading.Event()
    thread = threading.Thread(target=task_worker._every, args=(stop, 0.01, job), kwargs={"at_start": True})
    thread.start()
    assert ran_twice.wait(5)
    wait_until(lambda: len(runs) >= 4, timeout=5, message="runs after a failing one")
    stop.set()
    thread.join(5)
    assert not thread.is_alive()

    later = []
    stop = threading.Event()
    stop.set()
    task_worker._every(stop, 3600, lambda: later.append(1), at_start=False)
    assert later == []  # stopped before its first period: never ran


@pytest.mark.stack
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_real_worker_sweeps_unused_uploads_when_it_starts(person, settings, tmp_path):
    from tests.notes.test_fanout_tasks import worker_env

    tokens = router.begin_request(pinned=True)  # the worker deletes on the primary; read there
    try:
        old, used, fresh = uploads(person("ann"))
        env = dict(worker_env(), POWNCE_MEDIA_ROOT=str(settings.MEDIA_ROOT))
        log_path = tmp_path / "worker.log"
        command = [sys.executable, "manage.py", "task_worker", "--worker-id", "test-media-sweep", "--interval", "0.5"]
        with open(log_path, "ab") as log:
            worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: not MediaUpload.objects.filter(pk=old.pk).exists(),
                timeout=WORKER_START_TIMEOUT,
                message=f"the worker's sweep; its log: {log_path}",
            )
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert set(MediaUpload.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
        assert not default_storage.exists(old.file.name)
        assert default_storage.exists(fresh.file.name)
    finally:
        router.end_request(tokens)
