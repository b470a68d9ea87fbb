"""Delete uploads that no status used within a day (``POST /api/v2/media`` with no status after).

Every task worker already does this each hour (pownce/management/commands/task_worker.py); the
command is for a deployment without a worker, or to sweep at once (``--hours`` to choose the age).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from pownce.api.services import UNUSED_MEDIA_KEPT, media_sweep


class Command(BaseCommand):
    help = "Delete API uploads that no status used within --hours hours (default 24)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hours", type=float, default=UNUSED_MEDIA_KEPT.total_seconds() / 3600)

    def handle(self, *args, hours: float, **options) -> None:
        deleted = media_sweep(older_than=timezone.now() - timedelta(hours=hours))
        self.stdout.write(f"deleted {deleted} unused upload(s)")
