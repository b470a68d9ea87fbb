"""Make (once) two people to post as in the posting benchmark: one with no fans, one with N.

Bulk inserts send no signals, so the counts and cached lists of the people made here are
recomputed and invalidated explicitly at the end. Prints one JSON line:
``{"quiet": <username>, "loud": <username>, "fans": <n>}``.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, transaction

from accounts.caching import PEOPLE_LISTS, people_list
from accounts.counts import reconcile_people
from accounts.models import Fanship, User
from cache import idlists
from notes import partitioning

QUIET, LOUD, FAN_PREFIX = "bench_quiet", "bench_loud", "bench_fan"


class Command(BaseCommand):
    help = "Make a person with no fans and one with --fans fans, for the posting benchmark."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fans", type=int, default=5000)
        parser.add_argument("--password", default="pownce-demo")
        parser.add_argument(
            "--inbox-shards",
            type=int,
            default=0,
            help="the loud person's fans have their inboxes on the first N physical inbox shards only"
            " (the loud person is then bench_loud_N)",
        )

    def handle(self, *args, fans: int, password: str, inbox_shards: int, **options) -> None:
        people = User.objects.using(DEFAULT_DB_ALIAS)
        hashed = make_password(password)
        loud_name = f"{LOUD}_{inbox_shards}" if inbox_shards else LOUD
        # Enough candidates that `fans` of them live on the shards asked for.
        pool = fans * len(settings.INBOX_CLUSTERS) // inbox_shards + 1000 if inbox_shards else fans
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            for username in (QUIET, loud_name):
                people.get_or_create(username=username, defaults={"password": hashed, "display_name": username})
            loud = people.get(username=loud_name)
            have = people.filter(username__startswith=FAN_PREFIX).count()
            people.bulk_create(
                [User(username=f"{FAN_PREFIX}{i:06d}", password=hashed) for i in range(have, pool)], batch_size=2000
            )
            candidates = people.filter(username__startswith=FAN_PREFIX).order_by("pk").values_list("pk", flat=True)
            if inbox_shards:
                candidates = [pk for pk in candidates if partitioning.physical_shard(pk) <= inbox_shards]
            fan_ids = list(candidates[:fans])
            known = set(Fanship.objects.using(DEFAULT_DB_ALIAS).filter(idol=loud).values_list("fan_id", flat=True))
            Fanship.objects.using(DEFAULT_DB_ALIAS).bulk_create(
                [Fanship(fan_id=pk, idol=loud) for pk in fan_ids if pk not in known], batch_size=2000
            )
        reconcile_people(using=DEFAULT_DB_ALIAS, fix=True)
        idlists.invalidate([people_list(kind, pk) for pk in (loud.pk, *fan_ids) for kind in PEOPLE_LISTS])
        self.stdout.write(json.dumps({"quiet": QUIET, "loud": loud_name, "fans": len(fan_ids)}))
