"""Notifications (notes/notifications.py, written by notes/delivery.py): every kind is told to
whom it should be and to nobody else — never to oneself, never across a block, never about a
note its recipient may not see — and writing one twice (a retried task, a repeated step)
writes it once. Runs on the embedded default and, with ``make test``, on the partitioned
inbox (notifications on their recipient's inbox shard, written after the main commit)."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from accounts import services as accounts_services
from notes import delivery, moderation, notifications, partitioning, services
from notes.models import Note, Notification, Reply
from tests.inbox import after_commit, notification_rows, told
from tests.notes.conftest import befriend, make_set

Kind = Notification.Kind


def act(action, *args, **kwargs):
    """Run a service as a request would, its after-commit writes included."""
    with after_commit():
        return action(*args, **kwargs)


def public_note(author, body="a public note"):
    return act(services.note_create, author=author, kind="message", audience="public", body=body)


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("ann", "bob", "cat", "dan")}


def test_a_friend_request_and_its_acceptance_are_told(people):
    ann, bob = people["ann"], people["bob"]
    act(accounts_services.friend_add, ann, bob)
    assert told(bob) == [("friend_request", "ann")]
    assert told(ann) == []
    act(accounts_services.friend_add, bob, ann)
    assert told(ann) == [("friend_accepted", "bob")]
    assert told(bob) == [("friend_request", "ann")]


def test_a_reply_tells_the_author_and_the_earlier_repliers_but_not_the_replier(people):
    ann, bob, cat, dan = people["ann"], people["bob"], people["cat"], people["dan"]
    note = public_note(ann)
    act(services.reply_create, author=bob, note_id=note.pk, body="first")
    assert told(ann) == [("reply", "bob")] and told(bob) == []
    act(services.reply_create, author=cat, note_id=note.pk, body="second")
    assert told(ann) == [("reply", "bob"), ("reply", "cat")]
    assert told(bob) == [("thread_reply", "cat")] and told(cat) == []
    act(services.reply_create, author=ann, note_id=note.pk, body="the author answers")
    assert told(bob) == [("thread_reply", "ann"), ("thread_reply", "cat")]
    assert told(cat) == [("thread_reply", "ann")]
    assert told(ann) == [("reply", "bob"), ("reply", "cat")]  # nothing about her own reply
    assert told(dan) == []
    (row,) = notification_rows(recipient_id=ann.pk, actor_id=cat.pk)
    assert row.note_id == note.pk and row.reply_id == Reply.objects.get(body="second").pk


def test_a_star_is_told_once_and_never_for_ones_own_note(people):
    ann, bob = people["ann"], people["bob"]
    note = public_note(ann)
    act(services.star_add, user=bob, note_id=note.pk)
    act(services.star_remove, user=bob, note_id=note.pk)
    act(services.star_add, user=bob, note_id=note.pk)
    act(services.star_add, user=ann, note_id=note.pk)
    assert told(ann) == [("star", "bob")]
    assert notification_rows(recipient_id=ann.pk)[0].note_id == note.pk


def test_a_private_note_tells_its_recipient_and_a_friends_note_tells_nobody(people):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    act(befriend, ann, bob)
    act(befriend, ann, cat)
    before = {person.username: told(person) for person in (ann, bob, cat)}
    private = act(services.note_create, author=ann, kind="message", audience="friend", recipient=bob, body="psst")
    act(services.note_create, author=ann, kind="message", audience="friends", body="hello all")
    assert told(bob) == [*before["bob"], ("private_note", "ann")]
    assert told(cat) == before["cat"] and told(ann) == before["ann"]
    (row,) = notification_rows(recipient_id=bob.pk, kind=Kind.PRIVATE_NOTE)
    assert row.note_id == private.pk


def test_a_forward_is_told_only_when_the_forward_reaches_the_author(people):
    """A forward names the forward: the author hears of it only if they may see it."""
    ann, bob, cat, dan = people["ann"], people["bob"], people["cat"], people["dan"]
    act(befriend, bob, ann)
    act(befriend, bob, cat)
    act(befriend, dan, cat)
    note = public_note(ann, "worth passing on")
    hidden_from_ann = make_set(bob, "just cat", [cat])
    act(services.note_forward, user=bob, note_id=note.pk, audience="set", friend_set=hidden_from_ann)
    act(services.note_forward, user=dan, note_id=note.pk, audience="friends")  # ann is not dan's friend
    assert [row for row in notification_rows(recipient_id=ann.pk) if row.kind == Kind.FORWARD] == []
    to_friends = act(services.note_forward, user=bob, note_id=note.pk, audience="friends")
    in_public = act(services.note_forward, user=cat, note_id=note.pk, audience="public")
    forwards = sorted((row.actor_id, row.note_id) for row in notification_rows(recipient_id=ann.pk, kind=Kind.FORWARD))
    assert forwards == sorted([(bob.pk, to_friends.pk), (cat.pk, in_public.pk)])
    act(services.note_forward, user=ann, note_id=note.pk, audience="public")  # her own: no news
    assert len(notification_rows(recipient_id=ann.pk, kind=Kind.FORWARD)) == 2


def test_blocked_people_hear_nothing_of_each_other(people):
    ann, bob, cat, dan = people["ann"], people["bob"], people["cat"], people["dan"]
    note = public_note(ann)
    act(services.reply_create, author=bob, note_id=note.pk, body="bob was here")
    act(services.reply_create, author=dan, note_id=note.pk, body="dan was here")
    act(accounts_services.block, cat, bob)  # cat blocks bob: bob never hears of cat's reply
    act(accounts_services.block, ann, dan)  # the note's author and dan: dan hears nothing of her note
    act(services.reply_create, author=cat, note_id=note.pk, body="cat replies later")
    assert ("thread_reply", "cat") not in told(bob) and told(dan) == []
    assert ("reply", "cat") in told(ann)
    # A request made around a block (the service refuses; a row made anyway tells nothing).
    from accounts.models import Fanship

    act(Fanship.objects.create, fan=bob, idol=cat)
    assert ("friend_request", "bob") not in told(cat)


def test_a_block_takes_back_what_the_two_were_told_of_each_other(people):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    note = public_note(ann)
    act(services.star_add, user=bob, note_id=note.pk)
    act(services.star_add, user=cat, note_id=note.pk)
    act(accounts_services.friend_add, ann, bob)
    assert told(ann) == [("star", "bob"), ("star", "cat")] and told(bob) == [("friend_request", "ann")]
    act(accounts_services.block, bob, ann)
    assert told(ann) == [("star", "cat")] and told(bob) == []


def test_no_notification_names_a_note_its_recipient_may_not_see(people):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    act(befriend, ann, bob)
    friends_only = act(services.note_create, author=ann, kind="message", audience="friends", body="for friends")
    rows = [
        notifications.notice(Kind.STAR, recipient_id=pk, actor_id=ann.pk, note_id=friends_only.pk)
        for pk in (bob.pk, cat.pk)
    ]
    assert [row.recipient_id for row in notifications.allowed(rows, note=friends_only)] == [bob.pk]
    moderation.notes_hide([friends_only.pk])
    friends_only.refresh_from_db()
    assert notifications.allowed(rows, note=friends_only) == []


def test_deleting_a_note_or_a_reply_takes_its_notifications_back(people):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    note = public_note(ann)
    act(services.star_add, user=bob, note_id=note.pk)
    reply = act(services.reply_create, author=cat, note_id=note.pk, body="soon gone")
    act(services.reply_create, author=bob, note_id=note.pk, body="stays")
    assert told(ann) == [("reply", "bob"), ("reply", "cat"), ("star", "bob")]
    act(services.reply_delete, user=cat, reply_id=reply.pk)
    assert told(ann) == [("reply", "bob"), ("star", "bob")]
    act(services.note_delete, user=ann, note_id=note.pk)
    assert told(ann) == [] and notification_rows(note_id=note.pk) == []


def test_writing_a_notification_twice_writes_it_once(people):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    act(befriend, ann, bob)
    note = public_note(ann)
    rows = notifications.for_star(bob.pk, note)
    for _ in range(3):
        act(delivery.notifications_send, rows, note=note)
    assert told(ann) == [("friend_accepted", "bob"), ("star", "bob")]
    private = act(services.note_create, author=ann, kind="message", audience="friend", recipient=bob, body="once")
    for _ in range(2):  # the plan's first step writes the request's page again
        act(delivery.note_fanout_plan.call, private.pk, bob.pk, True)
        act(delivery.deliveries_write, private, [ann.pk, bob.pk])
    assert len(notification_rows(recipient_id=bob.pk, kind=Kind.PRIVATE_NOTE)) == 1
    act(services.reply_create, author=cat, note_id=note.pk, body="earlier")
    reply = act(services.reply_create, author=bob, note_id=note.pk, body="later")
    for _ in range(2):  # a retried task
        act(delivery.reply_notify_thread.call, reply.pk, 0)
    assert told(cat) == [("thread_reply", "bob")]


def test_the_rest_of_a_long_thread_is_told_by_tasks_in_pages_once_each(make_user, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.FANOUT_INLINE_MAX = 3
    settings.FANOUT_BATCH_SIZE = 4
    ann = make_user("ann")
    repliers = [make_user(f"replier{i:02d}") for i in range(10)]
    note = public_note(ann)
    for person in repliers:
        act(services.reply_create, author=person, note_id=note.pk, body=f"{person.username} says hi")
    DBTaskResult.objects.all().delete()
    last = make_user("latecomer")
    act(services.reply_create, author=last, note_id=note.pk, body="late")
    thread = sorted(repliers, key=lambda person: person.pk)
    told_now = {row.recipient_id for row in notification_rows(actor_id=last.pk)}
    assert told_now == {ann.pk, *(person.pk for person in thread[:3])}
    ran = []
    # Only the thread's paged task: a reply queues other work too (who to suggest to whom).
    thread_steps = DBTaskResult.objects.filter(status="READY", task_path__endswith=".reply_notify_thread")
    while (row := thread_steps.order_by("enqueued_at").first()) is not None:
        row.delete()
        args = row.args_kwargs["args"]
        ran.append(args[1])
        act(row.task.call, *args)
        act(row.task.call, *args)  # every step run twice: a worker that died after its work
    assert ran[0] == thread[2].pk and thread[6].pk in ran
    rows = notification_rows(actor_id=last.pk)
    assert sorted(row.recipient_id for row in rows) == sorted([ann.pk, *(person.pk for person in repliers)])
    assert {row.kind for row in rows if row.recipient_id != ann.pk} == {Kind.THREAD_REPLY}


@pytest.mark.skipif(not partitioning.settings.INBOX_PARTITIONED, reason="needs the inbox shards: run `make test`")
def test_notifications_live_on_their_recipients_inbox_shard(make_user):
    ann = make_user("ann")
    fans = [make_user(f"fan{i}") for i in range(6)]
    note = public_note(ann)
    for fan in fans:
        act(services.star_add, user=fan, note_id=note.pk)
        act(accounts_services.friend_add, ann, fan)
    rows = notification_rows()
    assert {row.shard for row in rows} == set(partitioning.physical_shards())
    for row in rows:
        assert row.shard == partitioning.physical_shard(row.recipient_id)
    assert Notification.objects.using("default").count() == 0  # the main database's table stays empty


def test_a_note_hidden_or_its_actor_suspended_is_not_shown_when_read(people):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    starred, replied = public_note(ann, "starred"), public_note(ann, "replied")
    act(services.star_add, user=bob, note_id=starred.pk)
    act(services.reply_create, author=cat, note_id=replied.pk, body="hi")
    page = notifications.notifications_page(ann)
    assert [(item.kind, item.actor.username) for item in page.items] == [("reply", "cat"), ("star", "bob")]
    assert all(item.unread for item in page.items)
    moderation.notes_hide([starred.pk])
    cat.is_suspended = True
    cat.save(update_fields=["is_suspended"])
    assert notifications.notifications_page(ann).items == []
    assert Note.objects.filter(pk=starred.pk, is_hidden=True).exists()
