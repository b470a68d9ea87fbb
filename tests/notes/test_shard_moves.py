"""Moving a logical inbox shard online (notes/shard_moves.py): under a loop that posts, replies
and reads homes, no delivery or notification is lost, no request fails, every home is right
before, during and after, and the read marks move along."""

from __future__ import annotations

import io
import threading

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client

from accounts import services as accounts_services
from accounts.models import Fanship, User
from notes import notifications, partitioning, selectors, services
from notes.models import InboxShard, Notification, NotificationsRead
from pownce import router
from tests.inbox import delivery_rows, notification_rows

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.skipif(len(settings.INBOX_CLUSTERS) < 2, reason="needs two inbox shards: run `make test`"),
]


@pytest.fixture(autouse=True)
def quick_map(settings, monkeypatch):
    settings.INBOX_MAP_TTL = 0.2
    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 10_000)  # the loop posts as fast as it can
    partitioning.shard_map.forget()
    yield
    partitioning.shard_map.forget()


def pinned(fn):
    """Run ``fn`` as a request pinned to the primaries (read-your-writes), closing this thread's
    connections afterwards."""
    tokens = router.begin_request(pinned=True)
    try:
        return fn()
    finally:
        router.end_request(tokens)


def test_a_logical_shard_moved_under_posting_and_reading_loses_nothing():
    author = User.objects.create_user(username="author", password="correct-horse-9")
    fans = [User.objects.create_user(username=f"fan{i}", password="correct-horse-9") for i in range(12)]
    Fanship.objects.bulk_create([Fanship(fan=fan, idol=author) for fan in fans])
    mover = fans[0]
    logical = partitioning.logical_shard(mover.pk)
    source = partitioning.physical_shard(mover.pk)
    target = 2 if source == 1 else 1
    neighbours = [fan for fan in fans if partitioning.logical_shard(fan.pk) == logical]
    for fan in neighbours:  # each is told the author added them back before the move, and reads it
        accounts_services.friend_add(author, fan)
        notifications.mark_read(fan)
    mover_note = services.note_create(author=mover, kind="message", audience="public", body="reply to me")
    posted: list[int] = []
    replied: list[int] = []
    failures: list[str] = []
    reads = {"before": 0, "during": 0, "after": 0}
    phase = {"now": "before"}
    stop = threading.Event()

    def post_and_read() -> None:
        client = Client()
        client.force_login(mover)
        try:
            while not stop.is_set():
                note = pinned(lambda: services.note_create(author=author, kind="message", audience="public", body="hi"))
                posted.append(note.pk)
                reply = pinned(lambda: services.reply_create(author=author, note_id=mover_note.pk, body="hi"))
                replied.append(reply.pk)
                home = pinned(lambda: selectors.home_note_ids(mover, limit=1000))
                missing = set(posted) - set(home)
                if missing:
                    failures.append(f"{phase['now']}: home of the moving shard lacks {sorted(missing)}")
                response = client.get("/")
                if response.status_code != 200:
                    failures.append(f"{phase['now']}: GET / answered {response.status_code}")
                reads[phase["now"]] += 1
        except Exception as exc:  # any failure of the loop is a failed request
            failures.append(f"{phase['now']}: {exc!r}")
        finally:
            connections.close_all()

    loop = threading.Thread(target=post_and_read)
    loop.start()
    try:
        while reads["before"] < 3 and loop.is_alive():
            stop.wait(0.05)
        phase["now"] = "during"
        call_command("inbox_move_shard", logical, "--to", target, stdout=io.StringIO())
        phase["now"] = "after"
        while reads["after"] < 3 and loop.is_alive():
            stop.wait(0.05)
    finally:
        stop.set()
        loop.join(timeout=60)
    assert not failures, failures
    assert min(reads.values()) >= 3, reads  # the loop read in each phase, the move's included

    partitioning.shard_map.forget()
    assert InboxShard.objects.get(logical=logical).physical == target
    assert InboxShard.objects.get(logical=logical).moving_to is None
    for fan in neighbours:
        rows = delivery_rows(recipient_id=fan.pk)
        assert {row.shard for row in rows} == {target}  # the old shard's copies are gone
        sent = [row.note_id for row in rows if row.note_id != mover_note.pk]  # but the mover's own
        assert sorted(sent) == sorted(posted)  # 0 lost, none twice
        told = notification_rows(recipient_id=fan.pk)
        assert {row.shard for row in told} == {target}
        read = NotificationsRead.objects.using(partitioning.primary_of(target)).get(recipient_id=fan.pk)
        accepted = [row for row in told if row.kind == Notification.Kind.FRIEND_ACCEPTED]
        assert len(accepted) == 1 and read.upto == accepted[0].pk  # the read mark moved along
        assert not NotificationsRead.objects.using(partitioning.primary_of(source)).filter(recipient_id=fan.pk)
    replies_told = [row.reply_id for row in notification_rows(recipient_id=mover.pk, kind=Notification.Kind.REPLY)]
    assert sorted(replies_told) == sorted(replied)  # every reply told once, from every phase
    home = pinned(lambda: selectors.home_note_ids(mover, limit=1000))
    assert home == sorted([*posted, mover_note.pk], reverse=True)


def test_a_move_refuses_unknown_shards():
    with pytest.raises(CommandError):
        call_command("inbox_move_shard", settings.INBOX_LOGICAL_SHARDS, "--to", 1)
    with pytest.raises(CommandError):
        call_command("inbox_move_shard", 0, "--to", len(settings.INBOX_CLUSTERS) + 1)
