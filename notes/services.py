"""Writes of notes: sending, replying, forwarding, starring, deleting.

Sending a note decides its recipients once, at send time, and writes their deliveries; the
readers (``notes.selectors``) then only ever look at deliveries. Who receives:

* the author, always (their home stream shows what they sent);
* **public**: the author's fans (friends are fans too), and the public stream;
* **all my friends**: every current friend;
* **a set**: the set's members who are still friends;
* **one friend**: that friend.

Nobody on either side of a block with the author receives anything.
"""

from __future__ import annotations

import os
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http import Http404

from accounts.models import Block, Fanship, FriendSet, User
from accounts.selectors import are_friends, blocked_ids, friend_ids_all, is_blocked
from notes import caching, files, tasks
from notes.models import Delivery, Note, Reply, ReplyDelivery, Star
from notes.selectors import visible_note
from pownce import ratelimit

BODY_MAX = 4000
REPLY_MAX = 2000
# Notes and replies one person may post per window, across all app servers.
POSTS_PER_WINDOW = 30
POST_WINDOW_SECONDS = 60
DELIVERY_BATCH = 1000

link_validator = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting with http:// or https://."
)


def _check_post_rate(user: User) -> None:
    if not ratelimit.hit("post", str(user.pk), limit=POSTS_PER_WINDOW, window=POST_WINDOW_SECONDS):
        raise ValidationError("You are posting very fast. Please wait a minute and try again.")


def clean_file_name(name: str) -> str:
    """The upload's own name without any directory part or control characters, at most 255 long."""
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext[:20])] + ext[:20]
    return name or "file"


def _validate_content(note: Note, upload: UploadedFile | None, errors: dict[str, list[str]]) -> None:
    if len(note.body) > BODY_MAX:
        errors.setdefault("body", []).append(f"Keep it under {BODY_MAX} characters.")
    if note.kind == Note.Kind.MESSAGE and not note.body.strip():
        errors.setdefault("body", []).append("Write a message.")
    elif note.kind == Note.Kind.LINK:
        if not note.url:
            errors.setdefault("url", []).append("Enter the link's web address.")
        else:
            try:
                link_validator(note.url)
            except ValidationError as error:
                errors.setdefault("url", []).extend(error.messages)
    elif note.kind == Note.Kind.FILE:
        if upload is None:
            errors.setdefault("file", []).append("Choose a file to share.")
        elif upload.size > settings.MAX_UPLOAD_BYTES:
            limit_mb = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
            errors.setdefault("file", []).append(f"That file is too big: the limit is {limit_mb:g} MB.")
    elif note.kind == Note.Kind.EVENT:
        if not note.event_name.strip():
            errors.setdefault("event_name", []).append("Give the event a name.")
        if note.event_start is None:
            errors.setdefault("event_start", []).append("Give the event a date and time.")
    elif note.kind not in Note.Kind.values:
        errors.setdefault("kind", []).append("Choose what kind of note this is.")


def _validate_audience(note: Note, errors: dict[str, list[str]]) -> None:
    author = note.author
    if note.audience == Note.Audience.SET:
        if note.friend_set is None or note.friend_set.owner_id != author.pk:
            errors.setdefault("audience", []).append("Choose one of your sets.")
    elif note.audience == Note.Audience.FRIEND:
        if note.recipient is None or not are_friends(author, note.recipient) or is_blocked(author, note.recipient):
            errors.setdefault("audience", []).append("Choose one of your friends.")
    elif note.audience not in (Note.Audience.PUBLIC, Note.Audience.FRIENDS):
        errors.setdefault("audience", []).append("Choose who the note goes to.")


def _blocked_either_way(user: User) -> set[int]:
    """People ``user`` blocked or who blocked ``user``: no notes travel between them."""
    return set(blocked_ids(user)) | set(Block.objects.filter(blocked=user).values_list("blocker_id", flat=True))


def note_recipient_ids(note: Note, *, after: int = 0, upto: int | None = None) -> set[int]:
    """Everyone whose inbox receives ``note``, the author included; with ``after``/``upto``,
    only the recipients whose id is in ``(after, upto]`` (one batch of a large fan-out)."""
    author = note.author
    if note.audience == Note.Audience.PUBLIC:
        # Every fanship towards the author: fans, and friends (who are fans both ways).
        fanships = Fanship.objects.filter(idol=author, fan_id__gt=after)
        if upto is not None:
            fanships = fanships.filter(fan_id__lte=upto)
        ids = set(fanships.values_list("fan_id", flat=True))
    elif note.audience == Note.Audience.FRIENDS:
        ids = set(friend_ids_all(author))
    elif note.audience == Note.Audience.SET:
        members = note.friend_set.members.values_list("pk", flat=True) if note.friend_set else []
        ids = set(members) & set(friend_ids_all(author))
    else:
        ids = {note.recipient_id} if note.recipient_id else set()
    ids = (ids - _blocked_either_way(author)) | {author.pk}
    return {pk for pk in ids if pk > after and (upto is None or pk <= upto)}


def deliveries_write(note: Note, recipient_ids: list[int]) -> None:
    """Put ``note`` in these inboxes. Idempotent: an inbox that already holds it is left alone
    (the unique (recipient, note) index and INSERT IGNORE), so a batch may run any number of
    times. Invalidates the inboxes after commit (bulk inserts send no signals)."""
    with transaction.atomic():
        Delivery.objects.bulk_create(
            [Delivery(recipient_id=pk, note_id=note.pk) for pk in recipient_ids],
            batch_size=DELIVERY_BATCH,
            ignore_conflicts=True,
        )
        caching.inboxes_changed(recipient_ids)


def fanout_batches(recipient_ids: list[int], size: int) -> list[tuple[int, int]]:
    """Cut sorted recipient ids into keyset ranges ``(after, upto]`` of ``size`` ids each."""
    bounds = []
    after = 0
    for start in range(0, len(recipient_ids), size):
        upto = recipient_ids[min(start + size, len(recipient_ids)) - 1]
        bounds.append((after, upto))
        after = upto
    return bounds


def note_deliver(note: Note) -> int:
    """Write the deliveries of a saved note; returns how many inboxes it goes to.

    The author's own delivery is written here, in the request, so the author sees the note at
    once whatever the queue is doing. An audience of up to FANOUT_INLINE_MAX others is
    delivered here too; a larger one by ``notes.tasks.note_deliver_batch`` tasks of
    FANOUT_BATCH_SIZE recipients each, queued in the same transaction as the note: they reach
    the queue if and only if the note is committed.
    """
    others = sorted(note_recipient_ids(note) - {note.author_id})
    inline = len(others) <= settings.FANOUT_INLINE_MAX
    deliveries_write(note, [note.author_id, *others] if inline else [note.author_id])
    # The author's sent list and the public lists.
    caching.note_delivered(author_id=note.author_id, public=note.is_public, recipient_ids=[])
    if not inline:
        for after, upto in fanout_batches(others, settings.FANOUT_BATCH_SIZE):
            tasks.note_deliver_batch.enqueue(note.pk, after, upto)
    return len(others) + 1


def note_create(
    *,
    author: User,
    kind: str,
    audience: str,
    body: str = "",
    url: str = "",
    upload: UploadedFile | None = None,
    event_name: str = "",
    event_place: str = "",
    event_start=None,
    friend_set: FriendSet | None = None,
    recipient: User | None = None,
    idempotency_key: str = "",
) -> Note:
    """Validate and send a note to its audience. Raises ValidationError (by field) and creates
    nothing when the note is not acceptable.

    With an ``idempotency_key`` (the note form's), sending again what ``author`` already sent
    with that key returns the note already sent and creates nothing: a client that did not see
    the answer (a timeout, a 503 while the primary was away, a double click) may simply retry.
    Two sends racing with one key make one note (the unique index decides)."""
    if idempotency_key and (sent := Note.objects.filter(author=author, idempotency_key=idempotency_key).first()):
        return sent
    note = Note(
        author=author,
        kind=kind,
        audience=audience,
        body=body or "",
        url=(url or "").strip() if kind == Note.Kind.LINK else "",
        event_name=(event_name or "").strip() if kind == Note.Kind.EVENT else "",
        event_place=(event_place or "").strip() if kind == Note.Kind.EVENT else "",
        event_start=event_start if kind == Note.Kind.EVENT else None,
        friend_set=friend_set if audience == Note.Audience.SET else None,
        recipient=recipient if audience == Note.Audience.FRIEND else None,
        idempotency_key=idempotency_key or None,
    )
    errors: dict[str, list[str]] = {}
    _validate_content(note, upload if kind == Note.Kind.FILE else None, errors)
    _validate_audience(note, errors)
    if errors:
        raise ValidationError(errors)
    _check_post_rate(author)

    if kind == Note.Kind.FILE:
        files.attach_upload(note, upload, clean_file_name(upload.name))
    try:
        with transaction.atomic():
            note.save()
            note_deliver(note)
    except IntegrityError:
        # The same form, sent twice at once: the other send made the note.
        sent = idempotency_key and Note.objects.filter(author=author, idempotency_key=idempotency_key).first()
        if not sent:
            raise
        if note.file:
            files.delete_unused([note.file.name])
        return sent
    if kind == Note.Kind.FILE and files.is_inline(note):
        tasks.note_thumbnail_make.enqueue(note.pk)
    return note


def note_forward(
    *,
    user: User,
    note_id: int,
    audience: str,
    friend_set: FriendSet | None = None,
    recipient: User | None = None,
) -> Note:
    """Send a copy of a note ``user`` can see to ``user``'s own audience, credited to the author.

    Someone else's non-public note cannot be forwarded: its author chose who reads it.
    """
    original = visible_note(user, note_id)
    if not original.is_public and original.author_id != user.pk:
        raise ValidationError("Only public notes can be forwarded.")
    credited = original.forwarded_from or original
    note = Note(
        author=user,
        kind=original.kind,
        audience=audience,
        body=original.body,
        url=original.url,
        file=original.file.name,
        file_name=original.file_name,
        file_size=original.file_size,
        file_type=original.file_type,
        thumbnail=original.thumbnail.name,
        event_name=original.event_name,
        event_place=original.event_place,
        event_start=original.event_start,
        friend_set=friend_set if audience == Note.Audience.SET else None,
        recipient=recipient if audience == Note.Audience.FRIEND else None,
        forwarded_from=credited,
        forwarded_from_author_id=credited.author_id,
    )
    errors: dict[str, list[str]] = {}
    _validate_audience(note, errors)
    if errors:
        raise ValidationError(errors)
    _check_post_rate(user)
    with transaction.atomic():
        note.save()
        note_deliver(note)
    return note


def note_delete(*, user: User, note_id: int) -> None:
    """Delete one of ``user``'s own notes (with its replies, stars and deliveries)."""
    note = Note.objects.filter(pk=note_id, author=user).first()
    if note is None:
        raise Http404("No such note")
    stored = [name for name in (note.file.name, note.thumbnail.name) if name]
    with transaction.atomic():
        recipients = list(Delivery.objects.filter(note=note).values_list("recipient_id", flat=True))
        note.delete()
        caching.note_delivered(author_id=note.author_id, public=note.is_public, recipient_ids=recipients)
        transaction.on_commit(lambda: files.delete_unused(stored))


def reply_create(*, author: User, note_id: int, body: str) -> Reply:
    """Reply under a note ``author`` can see; the note's author and everyone who replied
    before (and the replier) get it in the "replies" part of their home stream."""
    note = visible_note(author, note_id)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write a reply."]})
    if len(body) > REPLY_MAX:
        raise ValidationError({"body": [f"Keep replies under {REPLY_MAX} characters."]})
    _check_post_rate(author)
    with transaction.atomic():
        reply = Reply.objects.create(note=note, author=author, note_author_id=note.author_id, body=body)
        earlier = set(Reply.objects.filter(note=note).values_list("author_id", flat=True))
        recipients = sorted(earlier | {note.author_id, author.pk})
        ReplyDelivery.objects.bulk_create(
            [ReplyDelivery(recipient_id=pk, reply=reply) for pk in recipients], batch_size=DELIVERY_BATCH
        )
        caching.reply_changed(note_id=note.pk, recipient_ids=recipients)
    return reply


def reply_delete(*, user: User, reply_id: int) -> Reply:
    """Delete one of ``user``'s own replies; returns it (its note id tells where to go back)."""
    reply = Reply.objects.filter(pk=reply_id, author=user).first()
    if reply is None:
        raise Http404("No such reply")
    with transaction.atomic():
        recipients = list(ReplyDelivery.objects.filter(reply=reply).values_list("recipient_id", flat=True))
        reply.delete()
        caching.reply_changed(note_id=reply.note_id, recipient_ids=recipients)
    return reply


def star_add(*, user: User, note_id: int) -> Star:
    """Star a note ``user`` can see; starring twice keeps one star."""
    note = visible_note(user, note_id)
    try:
        with transaction.atomic():
            star, created = Star.objects.get_or_create(user=user, note=note)
            if created:
                caching.star_changed(note_id=note.pk, user_id=user.pk)
    except IntegrityError:  # the same user starred it in a concurrent request
        star = Star.objects.get(user=user, note=note)
    return star


def star_remove(*, user: User, note_id: int) -> None:
    with transaction.atomic():
        if Star.objects.filter(user=user, note_id=note_id).delete()[0]:
            caching.star_changed(note_id=note_id, user_id=user.pk)
