"""The partitioned inbox (notes/partitioning.py): each delivery on its recipient's shard, home
reads one shard, nothing joins the inbox with notes, and a crash between the note's commit and
its deliveries loses nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult

from accounts.models import Fanship, User
from notes import partitioning, selectors, services
from notes.models import InboxShard, Note
from tests.inbox import after_commit, deliveries, delivery_rows
from tests.notes.conftest import befriend

two_shards = pytest.mark.skipif(
    len(settings.INBOX_CLUSTERS) < 2, reason="needs two inbox shards: run `make test` (test profile)"
)


def fans_of(idol: User, count: int) -> list[User]:
    User.objects.bulk_create([User(username=f"{idol.username}-fan{i:03d}", password="!") for i in range(count)])
    fans = list(User.objects.filter(username__startswith=f"{idol.username}-fan").order_by("pk"))
    Fanship.objects.bulk_create([Fanship(fan=fan, idol=idol) for fan in fans])
    return fans


def post(author: User, **fields) -> Note:
    fields.setdefault("body", "hello")
    with after_commit():
        return services.note_create(author=author, kind="message", audience=fields.pop("audience", "public"), **fields)


def inbox_statements(sql: dict[str, list[str]]) -> dict[str, list[str]]:
    return {alias: [s for s in statements if "notes_delivery" in s] for alias, statements in sql.items()}


def test_the_map_spreads_logical_shards_over_every_physical_shard(db):
    rows = dict(InboxShard.objects.values_list("logical", "physical"))
    assert sorted(rows) == list(range(settings.INBOX_LOGICAL_SHARDS))
    assert set(rows.values()) == set(partitioning.physical_shards())


@two_shards
def test_a_post_to_fans_on_both_shards_puts_each_delivery_on_its_recipients_shard(make_user):
    ann = make_user("ann")
    fans = fans_of(ann, 40)
    note = post(ann)
    rows = delivery_rows(note_id=note.pk)
    assert sorted(row.recipient_id for row in rows) == sorted([ann.pk, *(fan.pk for fan in fans)])
    for row in rows:
        assert row.shard == partitioning.physical_shard(row.recipient_id)
    assert {row.shard for row in rows} == {1, 2}  # the fans are spread over both


@two_shards
def test_home_reads_one_inbox_shard_and_never_joins_the_inbox(make_user, sql_by_alias, client):
    ann, bob = make_user("ann"), make_user("bob")
    befriend(ann, bob)
    for i in range(3):
        post(ann, body=f"note {i}", audience="friends")
    with sql_by_alias() as sql:
        ids = selectors.home_note_ids(bob)
    assert len(ids) == 3
    touched = {alias for alias, statements in inbox_statements(sql).items() if statements}
    shard = partitioning.physical_shard(bob.pk)
    primary, replicas = settings.INBOX_CLUSTERS[shard - 1]
    assert len(touched) == 1 and touched <= {primary, *replicas}, touched
    assert len(inbox_statements(sql)[touched.pop()]) == 1  # the whole page: one query

    client.force_login(bob)
    with sql_by_alias() as sql:
        for url in ("/", "/?show=private", f"/{ann.username}/", f"/notes/{ids[0]}/"):
            assert client.get(url).status_code == 200
    for alias, statements in sql.items():
        for statement in statements:
            assert not ("notes_delivery" in statement and "notes_note" in statement), (alias, statement)
        if alias not in settings.INBOX_ALIASES:
            assert not any("notes_delivery" in statement for statement in statements), alias


@two_shards
def test_a_crash_after_the_notes_commit_loses_no_delivery(make_user, settings):
    """The note commits on the main cluster; the process dies before its after-commit write to
    the inbox shards. The plan task was queued in the note's transaction: it delivers all."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.FANOUT_INLINE_MAX = 5
    ann = make_user("ann")
    fans = fans_of(ann, 12)
    # No after_commit(): the on-commit callbacks of the test's transaction never run, as if the
    # process died right after the note's commit.
    note = services.note_create(author=ann, kind="message", audience="public", body="hi")
    assert deliveries(note) == {}
    (row,) = DBTaskResult.objects.filter(status="READY")
    row.task.call(*row.args_kwargs["args"])  # the worker runs the queued plan…
    while (row := DBTaskResult.objects.filter(status="READY").order_by("enqueued_at").first()) is not None:
        row.delete()
        row.task.call(*row.args_kwargs["args"])  # …and the batches it queued
    assert deliveries(note) == dict.fromkeys([ann.pk, *(fan.pk for fan in fans)], 1)


@two_shards
def test_deleting_a_note_deletes_its_deliveries_on_every_shard_after_the_commit(make_user):
    ann = make_user("ann")
    fans_of(ann, 10)
    note = post(ann)
    assert {row.shard for row in delivery_rows(note_id=note.pk)} == {1, 2}
    with after_commit():
        services.note_delete(user=ann, note_id=note.pk)
        assert delivery_rows(note_id=note.pk)  # still there until the note's deletion commits
    assert delivery_rows(note_id=note.pk) == []
