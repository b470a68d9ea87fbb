"""Notes and where they go.

A **note** is one of four kinds (message, link, file, event) sent to an **audience**: the
public, all the author's friends, one of the author's sets, or one friend. Sending a note
writes one **delivery** per recipient (the recipient's inbox); the author gets one too, so a
home stream is simply "my deliveries, newest first". **Replies** hang under a note; each reply
is announced to the note's author and earlier repliers by a **reply delivery**, which feeds
the "replies" filter of their home stream. A **star** marks a note a user liked. A
**notification** tells someone what concerns them (notes/notifications.py); it lives beside
their inbox.

Notes, deliveries and notifications are numbered by the app (pownce/ids.py: 64-bit,
time-ordered), not by AUTO_INCREMENT: deliveries and notifications live on databases of their
own (notes/partitioning.py), where no one database could number them. Ids only grow, so
"newest first" is "highest id first" and every stream pages by ``?before=<id>`` over an index
that ends in the id.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import FriendSet
from pownce import ids


def stored_file_path(note: Note, filename: str) -> str:
    """An unguessable storage path; the original name is kept in ``Note.file_name`` only."""
    token = secrets.token_hex(16)
    return f"notes/{token[:2]}/{token}"


def thumbnail_path(note: Note, filename: str) -> str:
    token = secrets.token_hex(16)
    return f"thumbs/{token[:2]}/{token}.jpg"


class NoteQuerySet(models.QuerySet):
    def public(self) -> NoteQuerySet:
        return self.filter(audience=Note.Audience.PUBLIC)

    def by(self, author) -> NoteQuerySet:
        return self.filter(author=author)

    def of_kind(self, kind: str) -> NoteQuerySet:
        return self.filter(kind=kind)

    def private(self) -> NoteQuerySet:
        return self.filter(audience=Note.Audience.FRIEND)

    def before(self, note_id: int | None) -> NoteQuerySet:
        return self.filter(pk__lt=note_id) if note_id else self

    def newest_first(self) -> NoteQuerySet:
        return self.order_by("-pk")

    def reaching(self, viewer) -> NoteQuerySet:
        """Notes whose audience reaches ``viewer``, hidden or not: what the cached ID lists hold
        (rules 3-5 of notes/visibility.py, which states them)."""
        from notes import visibility  # built on these models

        return visibility.notes_reaching(self, viewer)

    def visible_to(self, viewer) -> NoteQuerySet:
        """Notes ``viewer`` may see, by every rule of notes/visibility.py (1-5): for readers that
        use the ORM alone. The cached readers apply the same rules to loaded objects."""
        from notes import visibility  # built on these models

        return visibility.notes_visible_to(self, viewer)


class Note(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", "Message"
        LINK = "link", "Link"
        FILE = "file", "File"
        EVENT = "event", "Event"

    class Audience(models.TextChoices):
        PUBLIC = "public", "The public"
        FRIENDS = "friends", "All my friends"
        SET = "set", "A set"
        FRIEND = "friend", "One friend"

    id = models.BigIntegerField(primary_key=True, default=ids.new_id, editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MESSAGE)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.PUBLIC)
    # Who a "set" or "one friend" note went to. The deliveries are the truth about who may
    # read it; these only say how the author addressed it.
    friend_set = models.ForeignKey(FriendSet, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(blank=True)
    url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to=stored_file_path, max_length=200, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    file_type = models.CharField(max_length=100, blank=True)
    thumbnail = models.ImageField(upload_to=thumbnail_path, max_length=200, blank=True)
    # An image file's size in pixels, upright (after its EXIF orientation): cards give the
    # picture its box before it loads (notes/files.py, shown_picture_size). NULL for other
    # files, and for images stored before it was recorded that have their thumbnail already.
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    event_name = models.CharField(max_length=120, blank=True)
    event_place = models.CharField(max_length=200, blank=True)
    event_start = models.DateTimeField(null=True, blank=True)
    # A forward is a new note whose content is copied from the original and credited to it.
    forwarded_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="forwards"
    )
    # Who a forward is credited to, copied from the original so a stream can name them without
    # loading the original note first (one cache round trip fewer per page).
    forwarded_from_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    # Hidden by a moderator: gone from every stream, page and download for everyone (rule 1 of
    # notes/visibility.py).
    is_hidden = models.BooleanField("hidden", default=False)
    # The note form's one-time key (notes.services.note_create): the same form sent twice (a
    # retry after a timeout, a double click) makes one note. NULL, not "", for notes without a
    # key: the unique index allows many NULLs (MariaDB has no partial indexes).
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001

    objects = NoteQuerySet.as_manager()

    class Meta:
        permissions = [("hide_note", "Can hide and unhide notes")]
        indexes = [
            models.Index(fields=["audience", "id"], name="note_audience_id"),
            models.Index(fields=["author", "id"], name="note_author_id"),
            # Upcoming events, soonest first (notes.selectors.upcoming_events).
            models.Index(fields=["kind", "event_start", "id"], name="note_kind_event_start"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["author", "idempotency_key"], name="note_author_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} by {self.author_id}"

    @property
    def is_public(self) -> bool:
        return self.audience == self.Audience.PUBLIC

    @property
    def title(self) -> str:
        """A one-line name for the note, for page titles and reply notices."""
        text = {
            self.Kind.LINK: self.url,
            self.Kind.FILE: self.file_name,
            self.Kind.EVENT: self.event_name,
        }.get(self.kind) or self.body
        text = " ".join(text.split())
        return text[:60] + ("…" if len(text) > 60 else "")


class Delivery(models.Model):
    """``note`` is in ``recipient``'s inbox (their home stream).

    Lives on the inbox shard of its recipient (notes/partitioning.py), away from the notes and
    users it points at: so no foreign key constraints, no cascades and no joins. Read and write
    it only through notes/partitioning.py, which picks the database; deleting a note deletes its
    deliveries explicitly (``notes.services.note_destroy``)."""

    id = models.BigIntegerField(primary_key=True, default=ids.new_id, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    note = models.ForeignKey(Note, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    # Set when the note came with adding its author (the backfill, rule 10 of notes/visibility.py):
    # the author's id. NULL for a delivery made when the note was sent, which rule 4 keeps.
    backfilled_from = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        # The unique index (recipient, note) also serves the inbox, newest note first.
        constraints = [models.UniqueConstraint(fields=["recipient", "note"], name="delivery_recipient_note")]
        # What one person's adding brought into one inbox, for taking it back.
        indexes = [models.Index(fields=["recipient", "backfilled_from"], name="delivery_backfilled")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"note {self.note_id} → user {self.recipient_id}"


class Notification(models.Model):
    """``actor`` did something ``recipient`` hears about: asked to be their friend, accepted
    their request, replied to their note or after their reply, starred or forwarded their
    note, or sent them a private note. Who hears about what is notes/notifications.py.

    Per recipient like the inbox, so it lives beside ``Delivery`` on the recipient's inbox shard
    (notes/partitioning.py), with no foreign key constraints and no joins. ``subject`` is what
    the notification is about as one number — the reply for the reply kinds, the note for the
    note kinds, 0 for the friend kinds — so the unique (recipient, kind, actor, subject) index
    makes writing it twice (a retried task) write it once."""

    class Kind(models.TextChoices):
        FRIEND_REQUEST = "friend_request", "Friend request"
        FRIEND_ACCEPTED = "friend_accepted", "Friend request accepted"
        REPLY = "reply", "Reply to your note"
        THREAD_REPLY = "thread_reply", "Reply after yours"
        STAR = "star", "Star"
        FORWARD = "forward", "Forward"
        PRIVATE_NOTE = "private_note", "Private note"

    id = models.BigIntegerField(primary_key=True, default=ids.new_id, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # The note it is about (the forward itself for a forward), and the reply for the reply kinds.
    note = models.ForeignKey(
        Note, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    reply = models.ForeignKey(
        "Reply",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    subject = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "actor", "subject"], name="notification_once")
        ]
        # Newest first per recipient: the page, the unread count (ids above the read mark).
        indexes = [models.Index(fields=["recipient", "id"], name="notification_recipient_id")]

    def __str__(self) -> str:
        return f"{self.kind} from user {self.actor_id} → user {self.recipient_id}"


class NotificationsRead(models.Model):
    """``recipient`` has read every notification up to id ``upto`` ("mark all read"): one row
    per person, beside their notifications on their inbox shard, so marking a thousand read is
    one write and the unread count is one indexed range."""

    recipient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="+"
    )
    upto = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "notifications read"

    def __str__(self) -> str:
        return f"user {self.recipient_id} read up to {self.upto}"


class InboxShard(models.Model):
    """Logical inbox shard ``logical`` lives on physical shard ``physical`` (1-based, the order
    of ``settings.INBOX_CLUSTERS``). Held in the main database; notes/partitioning.py caches it.

    ``moving_to`` is set while ``manage.py inbox_move_shard`` copies the shard: writers then
    write to both places, so the copy misses nothing; ``physical`` changes only at the switch."""

    logical = models.PositiveSmallIntegerField(primary_key=True)
    physical = models.PositiveSmallIntegerField()
    moving_to = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"inbox shard {self.logical} on {self.physical}"


class ReplyQuerySet(models.QuerySet):
    def before(self, reply_id: int | None) -> ReplyQuerySet:
        return self.filter(pk__lt=reply_id) if reply_id else self

    def newest_first(self) -> ReplyQuerySet:
        return self.order_by("-pk")


class Reply(models.Model):
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="replies")
    # The note's author, copied: "replied to Ada's note" needs no load of the note's author.
    note_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    objects = ReplyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "replies"
        indexes = [models.Index(fields=["note", "id"], name="reply_note_id")]

    def __str__(self) -> str:
        return f"reply #{self.pk} on note {self.note_id}"


class ReplyDelivery(models.Model):
    """``reply`` is in ``recipient``'s replies inbox: it answers a note they wrote or replied to."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="deliveries")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "reply"], name="replydelivery_recipient_reply")]
        verbose_name_plural = "reply deliveries"

    def __str__(self) -> str:
        return f"reply {self.reply_id} → user {self.recipient_id}"


class Star(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stars")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="stars")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="star_user_note")]

    def __str__(self) -> str:
        return f"user {self.user_id} ★ note {self.note_id}"


class NoteCounts(models.Model):
    """A note's denormalized reply and star counts, in a small row of their own.

    Kept apart from ``Note`` so that a star does not invalidate the note object every reader
    loads. Updated by the reply and star signals (notes/counts.py) with ``F()`` expressions;
    ``manage.py reconcile_counts`` recomputes them from the source tables.
    """

    note = models.OneToOneField(Note, on_delete=models.CASCADE, primary_key=True, related_name="counts")
    replies = models.IntegerField(default=0)
    stars = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "note counts"

    def __str__(self) -> str:
        return f"counts of note {self.note_id}"


class ReportQuerySet(models.QuerySet):
    def open(self) -> ReportQuerySet:
        return self.filter(is_open=True)


class Report(models.Model):
    """``reporter`` asked the moderators to look at ``note``, saying why.

    ``is_open`` is True while the report waits for a moderator and NULL once resolved: the
    unique index on (note, reporter, is_open) then allows one open report per person and note
    and any number of resolved ones (NULLs never collide), on MySQL and SQLite alike.
    """

    note = models.ForeignKey(Note, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(max_length=500)
    created = models.DateTimeField(default=timezone.now)
    is_open = models.BooleanField(null=True, default=True, editable=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["note", "reporter", "is_open"], name="report_one_open_per_reporter")
        ]
        indexes = [models.Index(fields=["is_open", "id"], name="report_open_id")]

    def __str__(self) -> str:
        return f"report #{self.pk} on note {self.note_id}"

    @property
    def status(self) -> str:
        return "open" if self.is_open else "resolved"
