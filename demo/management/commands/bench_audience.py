"""Make (once) two people to post as in the posting benchmark: one with no fans, one with N.

Bulk inserts send no signals, so the counts and cached lists of the people made here are
recomputed and invalidated explicitly at the end. Prints one JSON line:
``{"quiet": <username>, "loud": <username>, "fans": <n>}``.
"""

from __future__ import annotations

import json

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, transaction

from accounts.caching import PEOPLE_LISTS, people_list
from accounts.counts import reconcile_people
from accounts.models import Fanship, User
from cache import idlists

QUIET, LOUD, FAN_PREFIX = "bench_quiet", "bench_loud", "bench_fan"


class Command(BaseCommand):
    help = "Make a person with no fans and one with --fans fans, for the posting benchmark."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fans", type=int, default=5000)
        parser.add_argument("--password", default="pownce-demo")

    def handle(self, *args, fans: int, password: str, **options) -> None:
        people = User.objects.using(DEFAULT_DB_ALIAS)
        hashed = make_password(password)
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            for username in (QUIET, LOUD):
                people.get_or_create(username=username, defaults={"password": hashed, "display_name": username})
            loud = people.get(username=LOUD)
            have = people.filter(username__startswith=FAN_PREFIX).count()
            people.bulk_create(
                [User(username=f"{FAN_PREFIX}{i:06d}", password=hashed) for i in range(have, fans)], batch_size=2000
            )
            fan_ids = list(
                people.filter(username__startswith=FAN_PREFIX).order_by("pk").values_list("pk", flat=True)[:fans]
            )
            known = set(Fanship.objects.using(DEFAULT_DB_ALIAS).filter(idol=loud).values_list("fan_id", flat=True))
            Fanship.objects.using(DEFAULT_DB_ALIAS).bulk_create(
                [Fanship(fan_id=pk, idol=loud) for pk in fan_ids if pk not in known], batch_size=2000
            )
        reconcile_people(using=DEFAULT_DB_ALIAS, fix=True)
        idlists.invalidate([people_list(kind, pk) for pk in (loud.pk, *fan_ids) for kind in PEOPLE_LISTS])
        self.stdout.write(json.dumps({"quiet": QUIET, "loud": LOUD, "fans": len(fan_ids)}))
