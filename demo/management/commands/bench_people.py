"""``manage.py bench_people --users N --out FILE``: who `make bench`'s mixed workload plays.

Writes a JSON plan (deploy/bench_mixed.py, deploy/locustfile.py):

* ``people``: the first N demo people (seed_demo), each with a session created here as a log-in
  would (user id, backend, password hash digest), so the load starts signed in instead of
  spending its run on log-in POSTs (and on the log-in rate limits, which fail closed);
* ``ranked``: the same people, most fans first: popularity rank for whom the load reads,
  befriends and stars (Zipf-distributed over this order);
* ``note_authors``: the people with public notes, most fans first, each with their newest
  public note ids: what note pages, stars and replies aim at;
* ``blocked``: pairs of people of whom one blocked the other (either way), whose notes the
  other may not see: the load never sends one to the other's note.

Sessions are written through the session engine (the primary, then Redis), like a log-in.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils.module_loading import import_string

from accounts.models import Block, User
from demo.management.commands.seed_demo import DEMO_EMAIL_DOMAIN
from notes.models import Note
from pownce import router

NOTES_PER_AUTHOR = 5


class Command(BaseCommand):
    help = "Create signed-in sessions for N demo people and write the mixed workload's plan."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=2000)
        parser.add_argument("--out", required=True)

    def handle(self, *args, users: int, out: str, **options):
        tokens = router.begin_request(pinned=True)  # read what seeding just wrote: the primary
        try:
            plan = self._plan(users)
        finally:
            router.end_request(tokens)
        Path(out).write_text(json.dumps(plan))
        self.stdout.write(
            f"{len(plan['people'])} people signed in, {len(plan['note_authors'])} of them with public notes"
        )

    def _plan(self, users: int) -> dict:
        people = list(
            User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN, is_active=True)
            .order_by("pk")
            .annotate(fans=Count("fanships_in", distinct=True))[:users]
        )
        store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
        backend = settings.AUTHENTICATION_BACKENDS[0]
        signed_in = []
        for person in people:
            session = store_class()
            session[SESSION_KEY] = str(person.pk)
            session[BACKEND_SESSION_KEY] = backend
            session[HASH_SESSION_KEY] = person.get_session_auth_hash()
            session.create()
            signed_in.append({"username": person.username, "session": session.session_key})
        ranked = sorted(people, key=lambda person: (-person.fans, person.pk))
        by_author: dict[int, list[int]] = {}
        ids = [person.pk for person in people]
        for author, note in (
            Note.objects.public()
            .filter(author__in=ids, is_hidden=False)
            .order_by("-pk")
            .values_list("author_id", "pk")
            .iterator()
        ):
            notes = by_author.setdefault(author, [])
            if len(notes) < NOTES_PER_AUTHOR:
                notes.append(note)
        names = {person.pk: person.username for person in people}
        blocked = [
            [names.get(a), names.get(b)]
            for a, b in Block.objects.filter(blocker__in=ids).values_list("blocker_id", "blocked_id")
            if a in names and b in names
        ]
        return {
            "people": signed_in,
            "ranked": [person.username for person in ranked],
            "note_authors": [
                {"username": person.username, "notes": by_author[person.pk]}
                for person in ranked
                if person.pk in by_author
            ],
            "blocked": blocked,
        }
