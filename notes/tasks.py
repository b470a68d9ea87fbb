"""The background work of notes, as the task worker (`manage.py task_worker`) knows it.

* ``note_fanout_plan`` and ``note_deliver_batch`` — a note's fan-out to a large audience,
  planned and written in the worker (notes/delivery.py tells how, and what happens when a
  worker dies half-way);
* ``note_thumbnail_make`` — the thumbnail of an image note (notes/files.py).

Each task is defined beside the rule it runs, so the request queues it from there and no module
of the request imports this one (``notes.services`` and this module once imported each other).
This list names them for readers, and keeps the path ``notes.tasks.<name>`` of tasks queued
before they moved resolving to the same task.

Every task is idempotent: the worker may run one twice (a worker that died while running it
leaves it to be queued again, see ``pownce.task_queue``).
"""

from __future__ import annotations

from notes.delivery import note_deliver_batch, note_fanout_plan
from notes.files import note_thumbnail_make

__all__ = ["note_deliver_batch", "note_fanout_plan", "note_thumbnail_make"]
