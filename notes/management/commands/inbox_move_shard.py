"""``manage.py inbox_move_shard L --to N``: move logical inbox shard L to physical shard N while
the site runs (notes/shard_moves.py tells the steps and what they guarantee)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from notes import shard_moves


class Command(BaseCommand):
    help = "Move one logical inbox shard to another physical inbox shard, online."

    def add_arguments(self, parser):
        parser.add_argument("logical", type=int, help="the logical shard (recipient id mod their number)")
        parser.add_argument("--to", type=int, required=True, dest="target", help="the physical shard, 1-based")

    def handle(self, *args, logical: int, target: int, **options):
        try:
            shard_moves.move(logical, target, say=self.stdout.write)
        except shard_moves.MoveError as exc:
            raise CommandError(str(exc)) from None
