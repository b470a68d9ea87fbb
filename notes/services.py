"""Writes of notes: sending, replying, forwarding, starring, deleting.

Who may do what, and who receives a note, is decided by notes/visibility.py; sending a note
hands it to notes/delivery.py, which writes the deliveries the readers (``notes.selectors``)
then only ever look at. Every write that starts from a note the writer was shown loads it with
``selectors.visible_note``, so nobody acts on a note they may not see.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts import suggestions
from accounts.models import FriendSet, User
from notes import caching, delivery, files, notifications, partitioning, visibility
from notes.models import Note, Reply, ReplyDelivery, Star
from notes.selectors import visible_note
from pownce import ratelimit
from pownce.router import PRIMARY

BODY_MAX = 4000
REPLY_MAX = 2000
# Notes and replies one person may post per window, across all app servers.
POSTS_PER_WINDOW = 30
POST_WINDOW_SECONDS = 60
DELIVERY_BATCH = 1000

link_validator = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting with http:// or https://."
)


# Characters that print nothing though Unicode calls them letters or symbols: the Hangul and
# Braille fillers people use to post "empty" text.
BLANK_LOOKING = {"\u115f", "\u1160", "\u2800", "\u3164", "\uffa0"}
# Events far outside any calendar's range would post and then break the .ics (datetime
# overflows past year 9999) or sort nonsensically.
EVENT_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
EVENT_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only spaces, line breaks, zero-width and other format or
    control characters, combining marks with nothing to combine with, or blank-looking fillers."""
    return all(
        ch.isspace() or ch in BLANK_LOOKING or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me")
        for ch in text or ""
    )


def _aware(moment: datetime) -> datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


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
    if note.kind == Note.Kind.MESSAGE and is_blank(note.body):
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
        if is_blank(note.event_name):
            errors.setdefault("event_name", []).append("Give the event a name.")
        if note.event_start is None:
            errors.setdefault("event_start", []).append("Give the event a date and time.")
        elif not EVENT_EARLIEST <= _aware(note.event_start) < EVENT_LATEST:
            errors.setdefault("event_start", []).append(
                f"Choose a date between {EVENT_EARLIEST.year} and {EVENT_LATEST.year - 1}."
            )
    elif note.kind not in Note.Kind.values:
        errors.setdefault("kind", []).append("Choose what kind of note this is.")


def _validate_audience(note: Note, errors: dict[str, list[str]]) -> None:
    author = note.author
    if note.audience == Note.Audience.SET:
        if note.friend_set is None or note.friend_set.owner_id != author.pk:
            errors.setdefault("audience", []).append("Choose one of your sets.")
    elif note.audience == Note.Audience.FRIEND:
        if not visibility.may_address(author, note.recipient):
            errors.setdefault("audience", []).append("Choose one of your friends.")
    elif note.audience not in (Note.Audience.PUBLIC, Note.Audience.FRIENDS):
        errors.setdefault("audience", []).append("Choose who the note goes to.")


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
    if idempotency_key and (sent := _sent_with_key(author, idempotency_key)):
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
            delivery.note_deliver(note)
    except IntegrityError:
        # The same form, sent twice at once: the other send made the note.
        sent = idempotency_key and _sent_with_key(author, idempotency_key)
        if not sent:
            raise
        if note.file:
            files.delete_unused([note.file.name])
        return sent
    if kind == Note.Kind.FILE and files.is_inline(note):
        files.note_thumbnail_make.enqueue(note.pk)
    return note


def _sent_with_key(author: User, idempotency_key: str) -> Note | None:
    # On the primary whoever calls (a request, a test, a worker): the note sent a moment ago
    # with this key may not be on a replica yet.
    return Note.objects.using(PRIMARY).filter(author=author, idempotency_key=idempotency_key).first()


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
    if not visibility.may_forward(user, original):
        if original.is_public or original.author_id == user.pk:
            raise ValidationError("You can't forward this note.")
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
        image_width=original.image_width,
        image_height=original.image_height,
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
        delivery.note_deliver(note)
    return note


def note_delete(*, user: User, note_id: int) -> None:
    """Delete one of ``user``'s own notes (with its replies, stars and deliveries)."""
    note = Note.objects.filter(pk=note_id, author=user).first()
    if note is None:
        raise Http404("No such note")
    note_destroy(note)


def note_destroy(note: Note) -> None:
    """Delete a note with its replies, stars and deliveries, take it out of every cached list
    that held it, and delete its stored files once committed unless a forward shares them.
    The one way a note is deleted, by its author or by a moderator."""
    stored = [name for name in (note.file.name, note.thumbnail.name) if name]
    note_id = note.pk
    with transaction.atomic():
        recipients = partitioning.note_recipient_ids(note_id)
        note.delete()
        caching.note_delivered(
            author_id=note.author_id,
            public=note.is_public,
            recipient_ids=recipients,
            event=note.kind == Note.Kind.EVENT,
        )
        transaction.on_commit(lambda: files.delete_unused(stored))
        # The deliveries go once the note is gone for good: on the main cluster in its
        # transaction, on inbox clusters after it commits (a delivery whose note does not exist
        # is never shown, while a note without its deliveries would be lost to its readers).
        if settings.INBOX_PARTITIONED:
            transaction.on_commit(lambda: partitioning.note_deliveries_delete(note_id))
        else:
            partitioning.note_deliveries_delete(note_id)
        notifications.note_deleted(note_id)


def reply_create(*, author: User, note_id: int, body: str) -> Reply:
    """Reply under a note ``author`` can see; the note's author and everyone who replied
    before (and the replier) get it in the "replies" part of their home stream, and the note's
    author and the earlier repliers a notification (notes/notifications.py)."""
    note = visible_note(author, note_id)
    if not visibility.may_reply(author, note):
        raise PermissionDenied("You can't reply to this note.")
    body = (body or "").strip()
    if is_blank(body):
        raise ValidationError({"body": ["Write a reply."]})
    if len(body) > REPLY_MAX:
        raise ValidationError({"body": [f"Keep replies under {REPLY_MAX} characters."]})
    _check_post_rate(author)
    with transaction.atomic():
        reply = Reply.objects.create(note=note, author=author, note_author_id=note.author_id, body=body)
        recipients = visibility.reply_recipient_ids(note, author)
        ReplyDelivery.objects.bulk_create(
            [ReplyDelivery(recipient_id=pk, reply=reply) for pk in recipients], batch_size=DELIVERY_BATCH
        )
        caching.reply_changed(note_id=note.pk, recipient_ids=recipients)
        suggestions.refresh_soon(author.pk)  # who else replied to it may be worth knowing
        delivery.reply_notify(reply, note)
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
        notifications.note_deleted(reply.note_id, reply_id=reply_id)
    return reply


def star_add(*, user: User, note_id: int) -> Star:
    """Star a note ``user`` can see; starring twice keeps one star."""
    note = visible_note(user, note_id)
    if not visibility.may_star(user, note):
        raise PermissionDenied("You can't star this note.")
    try:
        with transaction.atomic():
            star, created = Star.objects.get_or_create(user=user, note=note)
            if created:
                caching.star_changed(note_id=note.pk, user_id=user.pk)
                suggestions.refresh_soon(user.pk)  # and so may who else starred it
                delivery.notifications_send(notifications.for_star(user.pk, note), note=note)
    except IntegrityError:  # the same user starred it in a concurrent request
        star = Star.objects.get(user=user, note=note)
    return star


def star_remove(*, user: User, note_id: int) -> None:
    with transaction.atomic():
        if Star.objects.filter(user=user, note_id=note_id).delete()[0]:
            caching.star_changed(note_id=note_id, user_id=user.pk)
