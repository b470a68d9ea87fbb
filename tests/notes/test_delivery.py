"""Delivery (notes/delivery.py): what the request does is the same for any audience; the worker
plans the rest by keyset, in steps that survive a worker dying, and delivers exactly once.

These tests put tasks in the database queue (django_tasks_db, on SQLite or the MariaDB primary)
and run them in this process, so they hold on the embedded default and on the stack alike; the
real worker process is tests/notes/test_fanout_tasks.py's.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from accounts import services as accounts_services
from accounts.models import Fanship, User
from notes import delivery, services
from notes.models import Note
from tests.inbox import after_commit, deliveries, delivery_rows
from tests.notes.conftest import befriend

INLINE = 5
BATCH = 10


@pytest.fixture(autouse=True)
def queued(settings):
    """Tasks wait in the database queue until :func:`run_queue` runs them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.FANOUT_INLINE_MAX = INLINE
    settings.FANOUT_BATCH_SIZE = BATCH
    # The shard map is reloaded once older than its TTL (1 s): a reload inside a measured post
    # would count as one of its queries.
    settings.INBOX_MAP_TTL = 3600


def person_with_fans(make_user, name: str, fans: int) -> tuple[User, list[int]]:
    idol = make_user(name)
    User.objects.bulk_create([User(username=f"{name}-fan{i:04d}", password="!") for i in range(fans)])
    fan_ids = sorted(User.objects.filter(username__startswith=f"{name}-fan").values_list("pk", flat=True))
    Fanship.objects.bulk_create([Fanship(fan_id=pk, idol=idol) for pk in fan_ids])
    return idol, fan_ids


def post(author: User, body: str = "hello") -> Note:
    with after_commit():
        return services.note_create(author=author, kind="message", audience="public", body=body)


def queue() -> list[tuple[str, list]]:
    return sorted((row.task.name, row.args_kwargs["args"]) for row in DBTaskResult.objects.filter(status="READY"))


def run_queue() -> list[tuple[str, list]]:
    """Run queued tasks here, as a worker would, until none is left; returns what ran."""
    ran = []
    while (row := DBTaskResult.objects.filter(status="READY").order_by("enqueued_at").first()) is not None:
        args = row.args_kwargs["args"]
        row.delete()
        row.task.call(*args)
        ran.append((row.task.name, args))
    return ran


def test_posting_to_many_fans_costs_the_request_what_posting_to_none_costs(make_user, sql_by_alias):
    quiet, _ = person_with_fans(make_user, "quiet", 0)
    loud, fan_ids = person_with_fans(make_user, "loud", 250)
    for person in (quiet, loud):
        post(person, "first")  # one-time work (counter rows…) out of the way
    run_queue()
    queries = {}
    for person in (quiet, loud):
        with sql_by_alias() as sql:
            note = post(person)
        # The main cluster's statements, and each inbox shard's (notes/partitioning.py): the
        # note's deliveries cost one insert (and its transaction) per shard they land on.
        main = sum(len(statements) for alias, statements in sql.items() if alias not in settings.INBOX_ALIASES)
        inbox = {alias: len(statements) for alias, statements in sql.items() if alias in settings.INBOX_ALIASES}
        per_shard = sorted(set(inbox.values()) - {0})
        queries[person.username] = (main, per_shard)
        # The request wrote the author's delivery and the first page's, and queued one plan.
        expected = {person.pk, *(fan_ids[:INLINE] if person == loud else [])}
        assert deliveries(note) == dict.fromkeys(expected, 1)
        assert queue() == [("note_fanout_plan", [note.pk, fan_ids[INLINE - 1] if person == loud else 0, True])]
        run_queue()
    assert queries["quiet"][0] == queries["loud"][0], queries
    if settings.INBOX_PARTITIONED:
        assert queries["quiet"][1] == queries["loud"][1] and len(queries["loud"][1]) == 1, queries


def test_a_small_audience_is_delivered_in_the_request(make_user):
    ann, fan_ids = person_with_fans(make_user, "ann", INLINE)
    note = post(ann)
    assert deliveries(note) == dict.fromkeys([ann.pk, *fan_ids], 1)
    assert run_queue() == [("note_fanout_plan", [note.pk, fan_ids[-1], True])]  # …which finds nobody left


def test_the_worker_plans_in_steps_and_delivers_each_fan_once(make_user, monkeypatch):
    monkeypatch.setattr(delivery, "PLAN_PAGES", 4)
    ann, fan_ids = person_with_fans(make_user, "ann", 97)
    note = post(ann)
    ran = run_queue()
    plans = [args for name, args in ran if name == "note_fanout_plan"]
    batches = sorted(args[1:] for name, args in ran if name == "note_deliver_batch")
    # 92 fans after the request's 5: 10 batches of at most 10, planned 4 at a time.
    assert [args[1] for args in plans] == [fan_ids[INLINE - 1], fan_ids[INLINE + 39], fan_ids[INLINE + 79]]
    assert batches == [[fan_ids[INLINE - 1 + 10 * i], fan_ids[min(INLINE + 9 + 10 * i, 96)]] for i in range(10)]
    assert deliveries(note) == dict.fromkeys([ann.pk, *fan_ids], 1)


def test_a_plan_step_that_dies_before_its_commit_queues_nothing_and_its_rerun_queues_once(make_user, monkeypatch):
    ann, fan_ids = person_with_fans(make_user, "ann", 45)
    note = post(ann)
    ((_, plan_args),) = queue()
    DBTaskResult.objects.all().delete()

    real_enqueue, calls = DatabaseBackend.enqueue, []

    def dies_on_third_batch(backend, task, args, kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return real_enqueue(backend, task, args, kwargs)

    monkeypatch.setattr(DatabaseBackend, "enqueue", dies_on_third_batch)
    with pytest.raises(SystemExit):
        delivery.note_fanout_plan.call(*plan_args)
    assert queue() == []  # the two batches queued before the death went with its transaction
    monkeypatch.undo()

    delivery.note_fanout_plan.call(*plan_args)  # queued again after the death: runs again
    assert [name for name, _ in queue()] == ["note_deliver_batch"] * 4
    delivery.note_fanout_plan.call(*plan_args)  # ran after its commit, then died: harmless
    assert len(queue()) == 8
    run_queue()
    assert deliveries(note) == dict.fromkeys([ann.pk, *fan_ids], 1)


def test_batches_read_their_range_when_they_run(make_user, django_capture_on_commit_callbacks):
    ann, fan_ids = person_with_fans(make_user, "ann", 30)
    note = post(ann)
    late = User.objects.get(pk=fan_ids[20])
    accounts_services.block(late, ann)  # after the request, before the worker
    doomed = post(ann, "soon deleted")
    with django_capture_on_commit_callbacks(execute=True):  # inbox shards: deleted after the commit
        services.note_delete(user=ann, note_id=doomed.pk)
    run_queue()
    assert set(deliveries(note)) == {ann.pk, *fan_ids} - {late.pk}
    assert not delivery_rows(note_id=doomed.pk)


def test_friends_and_set_audiences_are_planned_like_the_public(make_user):
    ann = make_user("ann")
    friends = [make_user(f"friend{i}") for i in range(12)]
    for friend in friends:
        befriend(ann, friend)
    with after_commit():
        note = services.note_create(author=ann, kind="message", audience="friends", body="hi all")
    assert len(deliveries(note)) == 1 + INLINE
    run_queue()
    assert deliveries(note) == dict.fromkeys([ann.pk, *(friend.pk for friend in friends)], 1)


NOTES = Path(__file__).resolve().parents[2] / "notes"


def imported_notes_modules(path: Path) -> set[str]:
    """The ``notes.*`` modules a file imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("notes"):
            names = [node.module] if node.module != "notes" else [f"notes.{a.name}" for a in node.names]
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("notes."))
    return found


def test_services_tasks_and_delivery_import_one_way():
    graph = {name: imported_notes_modules(NOTES / f"{name}.py") for name in ("services", "tasks", "delivery")}
    assert "notes.tasks" not in graph["services"] and "notes.services" not in graph["tasks"]
    assert not graph["delivery"] & {"notes.services", "notes.tasks"}


def test_tasks_queued_under_their_old_paths_still_run():
    """Rows queued before the tasks moved name ``notes.tasks.<task>``: the worker still finds them."""
    from django.utils.module_loading import import_string

    from notes import files

    assert import_string("notes.tasks.note_deliver_batch") is delivery.note_deliver_batch
    assert import_string("notes.tasks.note_thumbnail_make") is files.note_thumbnail_make
