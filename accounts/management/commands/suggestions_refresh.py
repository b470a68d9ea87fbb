"""``manage.py suggestions_refresh``: queue a refresh of everybody's suggestions (accounts/suggestions.py).

The worker refreshes a person's suggestions when their fanships change and after they star or
reply; this brings everyone's up to date at once — after a bulk import or a seeding (which send
no signals), or from cron. One task per person, queued in batches; ``--popular`` only finds
the popular people again, at once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import suggestions, tasks
from accounts.models import User

BATCH = 1000


class Command(BaseCommand):
    help = "Queue a refresh of every active person's suggestions (or, with --popular, find the popular people now)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--popular", action="store_true", help="only find the popular people again, now")

    def handle(self, *args, popular: bool, **options) -> None:
        found = suggestions.popular_refresh()
        self.stdout.write(f"Popular people: {found}.")
        if popular:
            return
        queued, after = 0, 0
        people = User.objects.filter(is_active=True, is_suspended=False).order_by("pk")
        while batch := list(people.filter(pk__gt=after).values_list("pk", flat=True)[:BATCH]):
            with transaction.atomic():
                for user_id in batch:
                    tasks.people_suggestions_refresh.enqueue(user_id)
            queued += len(batch)
            after = batch[-1]
        self.stdout.write(self.style.SUCCESS(f"Queued a refresh of {queued} people's suggestions."))
