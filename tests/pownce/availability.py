"""Shared pieces of the availability tests: a small world of signed-in people, faults done to
real processes, and the figures each scenario reports (README, "What survives what")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from contextlib import contextmanager

from django.conf import settings

from accounts.models import Fanship, User
from notes.models import Note
from tests.inbox import delivery_rows
from tests.pownce.traffic import Browser, Outcome, Readers, Writer
from tests.stack import PROFILE_NAME, ROOT, run_dir, wait_until


def people(count: int) -> list[User]:
    """``count`` people; the first is a fan of every other (so each one's notes have an audience)."""
    users = [User.objects.create_user(f"ha{i}", password="correct-horse-9") for i in range(count)]
    for user in users[1:]:
        Fanship.objects.get_or_create(fan=users[0], idol=user)
    return users


def reader_paths(users: list[User]) -> list[str]:
    """Pages that read the database on every view for a signed-in reader (other people's
    profiles), plus the cached streams."""
    return [f"/{user.username}/" for user in users] + ["/public/", "/"]


def pid_of(name: str) -> int:
    return int((run_dir() / f"{name}.pid").read_text())


@contextmanager
def frozen(name: str):
    """``kill -STOP`` the process of ``name`` (its pid file), ``kill -CONT`` on the way out."""
    pid = pid_of(name)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


def kill_9(name: str) -> None:
    """kill -9 the process of ``name`` and wait until it is gone."""
    pid = pid_of(name)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not is_running(pid), timeout=30, message=f"{name} (pid {pid}) gone")


def kill_app_server(name: str) -> None:
    """kill -9 the gunicorn master and its workers: the app server's Django dies at once."""
    master = pid_of(name)
    workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    for pid in [master, *map(int, workers)]:
        os.kill(pid, signal.SIGKILL)


def hold(seconds: float, readers: Readers, *, at_least: int) -> None:
    """Keep a fault in place for ``seconds`` (the scenario's length, not a wait for a state),
    and check the readers really ran meanwhile (``at_least`` is set well below what an idle
    machine does: a loaded CI machine reads less, and the point is that reads happened)."""
    before = readers.count()
    time.sleep(seconds)
    assert readers.count() - before >= at_least, f"only {readers.count() - before} reads during the fault"


def notes_by_body(prefix: str) -> Counter:
    return Counter(Note.objects.using("default").filter(body__startswith=prefix).values_list("body", flat=True))


def assert_every_acknowledged_post_once(writer: Writer) -> None:
    """Every post the client saw succeed exists exactly once, with its author's delivery and its
    fan's; no post exists twice."""
    saved = notes_by_body(writer.prefix)
    assert [body for body, count in saved.items() if count > 1] == []
    assert [body for body in writer.acknowledged if body not in saved] == []
    notes = Note.objects.using("default").filter(body__in=writer.acknowledged)
    for note in notes:
        inboxes = {row.recipient_id for row in delivery_rows(note_id=note.pk)}
        assert note.author_id in inboxes and len(inboxes) >= 2, f"{note.body}: deliveries {inboxes}"


def report(scenario: str, **figures) -> None:
    """Keep the scenario's figures in var/<profile>/availability.json (quoted in the README)."""
    path = ROOT / "var" / PROFILE_NAME / "availability.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[scenario] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(scenario, figures)


def figures(readers: Readers | None = None, writer: Writer | None = None) -> dict:
    out: dict = {}
    if readers is not None:
        out.update(
            reads=len(readers.outcomes),
            failed_reads=len(readers.failures()),
            slowest_read_s=round(readers.slowest(), 2),
        )
    if writer is not None:
        out.update(
            posts_acknowledged=len(writer.acknowledged),
            post_attempts=len(writer.attempts),
            failed_post_attempts=sum(1 for o in writer.attempts if o.status != 302),
            slowest_post_s=round(max((o.seconds for o in writer.attempts), default=0), 2),
        )
    return out


def is_signed_in_page(outcome: Outcome) -> bool:
    return outcome.status == 200 and 'class="nav-me"' in outcome.text


def browsers(users: list[User]) -> list[Browser]:
    return [Browser(user) for user in users]


DB_TIMEOUT = settings.DB_READ_TIMEOUT
