"""``manage.py reconcile_counts [--check]``: recompute every denormalized count (people's notes,
friends, fans, fan-of; notes' replies and stars) from the source tables, report how far the
stored counts had drifted, and fix them (invalidating the cached rows it fixed)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from notes.counts import reconcile_all
from pownce import router


class Command(BaseCommand):
    help = "Recompute the denormalized counts from the source tables, report the drift and fix it."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report the drift only; exit 1 if there is any")

    def handle(self, *args, check: bool, **options):
        tokens = router.begin_request(pinned=True)  # count what the primary holds
        try:
            drifts = reconcile_all(using="default", fix=not check)
        finally:
            router.end_request(tokens)
        for drift in drifts:
            self.stdout.write(drift.describe())
        off = sum(drift.rows_off + drift.missing for drift in drifts)
        if not off:
            self.stdout.write(self.style.SUCCESS("No drift."))
        elif check:
            raise CommandError(f"{off} counts row(s) drifted.")
        else:
            self.stdout.write(self.style.WARNING(f"Fixed {off} counts row(s)."))
