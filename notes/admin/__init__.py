"""The notes admin: notes and replies (notes.py), the moderation queue of reports (reports.py),
and the moderation actions they share (moderating.py)."""

from notes.admin import notes, reports

__all__ = ["notes", "reports"]
