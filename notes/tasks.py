"""Background work of notes, run by the task worker (`manage.py task_worker`).

* ``note_deliver_batch`` — one batch of a large fan-out: the note into the inboxes of the
  recipients whose ids are in ``(after, upto]``. ``notes.services.note_deliver`` cuts the
  audience into such keyset ranges when the note is sent, so a batch always means the same
  people, whichever worker runs it and however often.
* ``note_thumbnail_make`` — the thumbnail of an image note.

Every task is idempotent: the worker may run one twice (a worker that died while running it
leaves it to be queued again, see ``pownce.task_queue``). A batch that runs again inserts
nothing new (INSERT IGNORE on the unique (recipient, note) index); one that died half-way
wrote nothing or everything of its one transaction, and its retry writes what is missing.
"""

from __future__ import annotations

from django_tasks import task

from notes import files, services
from notes.models import Note


@task()
def note_deliver_batch(note_id: int, after: int, upto: int) -> int:
    """Deliver note ``note_id`` to its recipients with ids in ``(after, upto]``; returns how many
    inboxes the batch covers (0 when the note was deleted before the batch ran)."""
    note = Note.objects.select_related("author", "friend_set").filter(pk=note_id).first()
    if note is None:
        return 0
    recipients = sorted(services.note_recipient_ids(note, after=after, upto=upto) - {note.author_id})
    services.deliveries_write(note, recipients)
    return len(recipients)


@task()
def note_thumbnail_make(note_id: int) -> bool:
    """Make the thumbnail of image note ``note_id`` unless it has one already."""
    note = Note.objects.filter(pk=note_id).first()
    if note is None or note.thumbnail:
        return False
    return files.thumbnail_create(note)
