"""Moderation: readers report notes; moderators hide, unhide and delete notes, suspend and
unsuspend people, and resolve reports. The admin's actions (notes/admin/) only call these.

Deciding about a note — hiding or deleting it, suspending its author — resolves every open
report of it (:func:`reports_resolve_on_notes`), whichever report the moderator acted from.

Every action reaches every reader at once, caches included, at the cost of invalidating the
objects it changed: hiding invalidates the notes' objects and suspending (accounts/moderation.py)
the people's user objects — one ``UPDATE`` through ``cache.objects.CachedQuerySet``, which
tombstones each changed row now and after commit — and every read drops hidden notes and
suspended people's notes and replies when it loads those objects (``notes.visibility.is_shown``).
The cached ID lists are left alone, so undoing an action is just as cheap. Deleting goes through
``notes.services.note_destroy``, the one way a note is deleted. A suspended person's session stops resolving
(accounts/backends.py) and their profile is gone (``accounts.selectors.user_by_username``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from notes import services, visibility
from notes.models import Note, Report
from notes.selectors import visible_note
from pownce import ratelimit
from pownce.flags import set_flag

REASON_MAX = 500
REPORTS_PER_WINDOW = 10
REPORT_WINDOW_SECONDS = 60 * 60
ALREADY_REPORTED = "You have reported this note already; a moderator will look at it."


def report_create(*, reporter: User, note_id: int, reason: str) -> Report:
    """``reporter`` asks the moderators to look at a note they can see. One open report per
    person and note; at most ``REPORTS_PER_WINDOW`` reports per person per hour."""
    note = visible_note(reporter, note_id)
    reason = " ".join((reason or "").split())
    if services.is_blank(reason):
        raise ValidationError({"reason": ["Say what is wrong with this note."]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"Keep it under {REASON_MAX} characters."]})
    if not visibility.may_report(reporter, note):
        raise ValidationError("This is your own note: you can delete it instead.")
    if Report.objects.open().filter(note=note, reporter=reporter).exists():
        raise ValidationError(ALREADY_REPORTED)
    if not ratelimit.hit("report", str(reporter.pk), limit=REPORTS_PER_WINDOW, window=REPORT_WINDOW_SECONDS):
        raise ValidationError("You have sent many reports lately. Please wait an hour and try again.")
    try:
        with transaction.atomic():
            return Report.objects.create(note=note, reporter=reporter, reason=reason)
    except IntegrityError:  # the same person reported it in a concurrent request
        raise ValidationError(ALREADY_REPORTED) from None


def notes_hide(note_ids: Iterable[int]) -> list[int]:
    """Hide notes from every stream, page and download, for everyone; returns the ids that
    were not hidden yet."""
    return set_flag(Note, "is_hidden", note_ids, True)


def notes_unhide(note_ids: Iterable[int]) -> list[int]:
    return set_flag(Note, "is_hidden", note_ids, False)


def notes_delete(notes: Iterable[Note]) -> int:
    """Delete notes (with their replies, stars and deliveries) and take them out of the cached
    inboxes; their reports stay, pointing at no note."""
    deleted = 0
    for note in notes:
        services.note_destroy(note)
        deleted += 1
    return deleted


def reports_resolve(report_ids: Iterable[int], *, by: User) -> list[int]:
    """Close the open reports among ``report_ids``; returns the ids closed."""
    return _close(Report.objects.filter(pk__in=list(report_ids)), by)


def reports_resolve_on_notes(note_ids: Iterable[int], *, by: User) -> list[int]:
    """Close every open report on these notes; returns the ids closed. A decision about a note
    (hiding or deleting it, suspending its author) answers everyone who reported it, not only
    the report the moderator had open: two reports of one note are one piece of work."""
    return _close(Report.objects.filter(note_id__in=list(note_ids)), by)


def _close(reports, by: User) -> list[int]:
    with transaction.atomic():
        closing = list(reports.select_for_update().open().values_list("pk", flat=True))
        Report.objects.filter(pk__in=closing).update(is_open=None, resolved_by=by, resolved_at=timezone.now())
    return closing
