"""``manage.py seed_demo --users N --notes M``: a believable Pownce to click around in and to
benchmark against.

The graph is lopsided like the real one: a few popular people whom a large share of everyone
follows (thousands of fans once N is in the tens of thousands), and everyone else with a handful
of friends and fans. Notes come in every kind and audience, with their deliveries, replies and
stars. A second run tops up to N people and M notes; ``--if-empty`` does nothing when notes
exist already.

Speed: notes and people are written with ``bulk_create`` in large batches (no signals, no
per-row save), with ids made here (pownce/ids.py) so deliveries can point at them without reading anything
back; the narrow, numerous rows (deliveries, stars, fanships) skip model instances altogether
and go in as plain multi-row INSERTs. A million notes take minutes on MySQL.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Max
from django.utils import timezone

from accounts import suggestions
from accounts.models import Block, Fanship, FriendSet, User
from accounts.search import people_index
from demo import content
from notes import partitioning
from notes.counts import reconcile_all
from notes.models import Delivery, Note, Reply, ReplyDelivery, Star
from pownce import ids, router

DEMO_EMAIL_DOMAIN = "demo.pownce.invalid"
DEMO_PASSWORD = "pownce-demo"
CHUNK = 5000
KINDS = [(Note.Kind.MESSAGE, 60), (Note.Kind.LINK, 20), (Note.Kind.FILE, 8), (Note.Kind.EVENT, 12)]
AUDIENCES = [
    (Note.Audience.PUBLIC, 55),
    (Note.Audience.FRIENDS, 25),
    (Note.Audience.SET, 8),
    (Note.Audience.FRIEND, 12),
]


def insert_rows(model, fields: list[str], rows: list[tuple], using: str = DEFAULT_DB_ALIAS) -> None:
    """INSERT plain tuples into ``model``'s table, CHUNK rows per statement batch."""
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[start : start + CHUNK])


def weighted(rng: random.Random, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


class Graph:
    """Fans, friends, sets and blocks of the demo people, in memory while notes are made."""

    def __init__(self):
        self.fans: dict[int, set[int]] = defaultdict(set)  # idol -> fans (friends included)
        self.idols: dict[int, set[int]] = defaultdict(set)  # fan -> idols
        self.sets: dict[int, list[tuple[int, list[int]]]] = defaultdict(list)  # owner -> [(set id, members)]
        self.blocked: dict[int, set[int]] = defaultdict(set)  # either side -> the other side

    def add_fanship(self, fan: int, idol: int) -> None:
        self.fans[idol].add(fan)
        self.idols[fan].add(idol)

    def friends(self, user: int) -> set[int]:
        return self.fans[user] & self.idols[user]

    @classmethod
    def load(cls, user_ids: list[int]) -> Graph:
        graph = cls()
        for fan, idol in Fanship.objects.filter(idol__in=user_ids).values_list("fan_id", "idol_id").iterator():
            graph.add_fanship(fan, idol)
        for set_id, owner, member in FriendSet.members.through.objects.filter(
            friendset__owner__in=user_ids
        ).values_list("friendset_id", "friendset__owner_id", "user_id"):
            for existing_id, members in graph.sets[owner]:
                if existing_id == set_id:
                    members.append(member)
                    break
            else:
                graph.sets[owner].append((set_id, [member]))
        for blocker, blocked in Block.objects.filter(blocker__in=user_ids).values_list("blocker_id", "blocked_id"):
            graph.blocked[blocker].add(blocked)
            graph.blocked[blocked].add(blocker)
        return graph


class Command(BaseCommand):
    help = "Create demo people, a fan graph and notes of every kind and audience (tops up if seeded)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=30)
        parser.add_argument("--notes", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2007, help="random seed, for repeatable data")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if there are notes already")

    def handle(self, *args, users: int, notes: int, seed: int, if_empty: bool, **options):
        if users < 2 or notes < 0:
            raise CommandError("--users must be at least 2 and --notes not negative")
        # Seeding reads back what it has just written (people, then their ids and graph): read
        # the primary throughout, a replica may not have applied the writes yet.
        tokens = router.begin_request(pinned=True)
        try:
            self._seed(users=users, notes=notes, seed=seed, if_empty=if_empty)
        finally:
            router.end_request(tokens)

    def _seed(self, *, users: int, notes: int, seed: int, if_empty: bool) -> None:
        if if_empty and Note.objects.exists():
            self.stdout.write("Notes exist already; not seeding (drop --if-empty to top up).")
            return
        self.rng = random.Random(seed)
        started = time.monotonic()
        demo_users = User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN)
        have_users = demo_users.count()
        if have_users < users:
            with transaction.atomic():
                self._create_people(users - have_users, first_number=have_users)
        user_ids = list(demo_users.order_by("pk").values_list("pk", flat=True))
        have_notes = Note.objects.filter(author__in=demo_users).count()
        if have_notes >= notes and have_users >= users:
            self.stdout.write(f"Already seeded: {have_users} demo people, {have_notes} of their notes.")
        elif notes > have_notes:
            self._create_notes(Graph.load(user_ids), user_ids, notes - have_notes)
        # Bulk inserts send no signals: the denormalized counts are recomputed once, at the end.
        for drift in reconcile_all(using=DEFAULT_DB_ALIAS):
            self.stdout.write(f"Counts: {drift.table}: {drift.missing} rows created, {drift.rows_off} fixed.")
        # Nor do the search terms follow, nor the popular people (accounts/search.py, suggestions.py).
        if have_users < users:
            people_index(user_ids)
            self.stdout.write(f"Search terms of {len(user_ids)} people written.")
        self.stdout.write(f"Popular people found: {suggestions.popular_refresh()}.")
        if have_users < users or notes > have_notes:
            # Nor do they invalidate the cached lists (inboxes, the public stream …) they change:
            # a demo seeding starts the cache afresh rather than tombstoning every list by name.
            caches["default"].clear()
            self.stdout.write("Cache emptied: the seeded rows were written without invalidation.")
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))
        self._print_people(user_ids)

    # --- People and the graph --------------------------------------------------------------------

    def _create_people(self, count: int, *, first_number: int) -> None:
        rng = self.rng
        password = make_password(DEMO_PASSWORD)  # one hash for everyone: hashing is the slow part
        next_id = (User.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        taken = set(User.objects.values_list("username", flat=True))
        people = []
        for number in range(first_number, first_number + count):
            username = content.username(number)
            if username in taken:
                username = f"{username}_{number}"
            first, last = content.person_name(rng)
            people.append(
                User(
                    pk=next_id + len(people),
                    username=username,
                    email=f"{username}@{DEMO_EMAIL_DOMAIN}",
                    password=password,
                    display_name=f"{first} {last}",
                    bio=rng.choice(content.BIOS),
                    location=rng.choice(content.PLACES),
                )
            )
        User.objects.bulk_create(people, batch_size=CHUNK)
        new_ids = [person.pk for person in people]
        all_ids = list(User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN).values_list("pk", flat=True))
        self._create_graph(new_ids, all_ids)
        self.stdout.write(f"Created {count} people.")

    def _create_graph(self, new_ids: list[int], all_ids: list[int]) -> None:
        rng = self.rng
        existing = Graph.load(all_ids)
        # A few popular people, whom a large share of everyone follows.
        popular = all_ids[: 3 + len(all_ids) // 2000]
        pairs: set[tuple[int, int]] = set()
        for fan in new_ids:
            for idol in popular:
                if idol != fan and rng.random() < 0.4:
                    pairs.add((fan, idol))
                    if rng.random() < 0.03:
                        pairs.add((idol, fan))
            # Most people add a handful of others; about half add them back.
            for _ in range(min(int(rng.paretovariate(1.6) * 3), 40)):
                idol = rng.choice(all_ids)
                if idol != fan:
                    pairs.add((fan, idol))
                    if rng.random() < 0.55:
                        pairs.add((idol, fan))
        pairs -= {(fan, idol) for idol, fans in existing.fans.items() for fan in fans}
        now = timezone.now()
        insert_rows(
            Fanship, ["fan", "idol", "ignored", "created"], [(fan, idol, False, now) for fan, idol in sorted(pairs)]
        )
        for fan, idol in pairs:
            existing.add_fanship(fan, idol)

        next_set = (FriendSet.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        sets, members = [], []
        for owner in new_ids:
            friends = sorted(existing.friends(owner))
            if len(friends) >= 3 and rng.random() < 0.4:
                sets.append(FriendSet(pk=next_set, owner_id=owner, name=rng.choice(content.SET_NAMES)))
                members += [(next_set, member) for member in rng.sample(friends, max(2, len(friends) // 2))]
                next_set += 1
        FriendSet.objects.bulk_create(sets, batch_size=CHUNK)
        insert_rows(FriendSet.members.through, ["friendset", "user"], members)
        # Now and then someone blocks a person who was not connected to them.
        blocks = set()
        for blocker in rng.sample(new_ids, max(1, len(new_ids) // 100)):
            other = rng.choice(all_ids)
            if other != blocker and other not in existing.fans[blocker] and other not in existing.idols[blocker]:
                blocks.add((blocker, other))
        Block.objects.bulk_create([Block(blocker_id=a, blocked_id=b) for a, b in blocks])

    # --- Notes -------------------------------------------------------------------------------------

    def _create_notes(self, graph: Graph, user_ids: list[int], count: int) -> None:
        rng = self.rng
        files = content.demo_files()
        activity = [min(rng.paretovariate(1.3), 50) for _ in user_ids]
        next_reply = (Reply.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        now = timezone.now()
        # Spread over 90 days, oldest first, so ids and times both grow.
        step = timedelta(days=90) / max(count, 1)
        start = now - timedelta(days=90)
        made = deliveries_made = 0
        while made < count:
            size = min(CHUNK, count - made)
            notes, deliveries, replies, reply_deliveries, stars = [], [], [], [], []
            authors = rng.choices(user_ids, weights=activity, k=size)
            for offset, author in enumerate(authors):
                created = start + step * (made + offset)
                note, recipients = self._note(graph, author, ids.new_id(), created, files)
                notes.append(note)
                deliveries.extend((r, note.pk) for r in recipients)
                readers = [r for r in recipients if r != author] or (user_ids if note.is_public else [])
                for _ in range(int(rng.random() < 0.3) + int(rng.random() < 0.1)):
                    if not readers:
                        break
                    replier = rng.choice(readers)
                    if note.is_public and replier in graph.blocked[author]:
                        continue
                    replies.append(
                        Reply(
                            pk=next_reply,
                            note_id=note.pk,
                            author_id=replier,
                            note_author_id=author,
                            body=content.reply(rng),
                            created=created,
                        )
                    )
                    for recipient in {author, replier}:
                        reply_deliveries.append((recipient, next_reply))
                    next_reply += 1
                for starrer in {rng.choice(readers) for _ in range(int(rng.random() * 3))} if readers else ():
                    stars.append((starrer, note.pk, created))
            with transaction.atomic():
                Note.objects.bulk_create(notes, batch_size=CHUNK)
                self._insert_deliveries(deliveries)
                Reply.objects.bulk_create(replies, batch_size=CHUNK)
                insert_rows(ReplyDelivery, ["recipient", "reply"], reply_deliveries)
                insert_rows(Star, ["user", "note", "created"], stars)
            made += size
            deliveries_made += len(deliveries)
            self.stdout.write(f"  {made}/{count} notes, {deliveries_made} deliveries")

    @staticmethod
    def _insert_deliveries(deliveries: list[tuple[int, int]]) -> None:
        """(recipient, note) rows, each on its recipient's inbox shard (notes/partitioning.py)."""
        by_shard: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for (recipient, note), pk in zip(deliveries, ids.new_ids(len(deliveries)), strict=True):
            for physical in partitioning.write_shards(recipient):
                by_shard[physical].append((pk, recipient, note))
        for physical, rows in by_shard.items():
            alias = partitioning.primary_of(physical)
            with transaction.atomic(using=alias):
                insert_rows(Delivery, ["id", "recipient", "note"], rows, using=alias)

    def _note(self, graph: Graph, author: int, pk: int, created, files) -> tuple[Note, set[int]]:
        rng = self.rng
        kind = weighted(rng, KINDS)
        audience = weighted(rng, AUDIENCES)
        friends = graph.friends(author)
        note = Note(pk=pk, author_id=author, kind=kind, audience=audience, created=created)
        if audience == Note.Audience.SET and graph.sets[author]:
            set_id, members = rng.choice(graph.sets[author])
            note.friend_set_id = set_id
            recipients = set(members) & friends
        elif audience == Note.Audience.FRIEND and friends:
            note.recipient_id = rng.choice(sorted(friends))
            recipients = {note.recipient_id}
        elif audience == Note.Audience.FRIENDS:
            recipients = set(friends)
        else:
            note.audience = Note.Audience.PUBLIC
            recipients = set(graph.fans[author])
        content.fill(note, rng, files)
        return note, (recipients - graph.blocked[author]) | {author}

    def _print_people(self, user_ids: list[int]) -> None:
        popular = User.objects.filter(pk__in=user_ids[:3])
        others = User.objects.filter(pk__in=user_ids[3:8])
        self.stdout.write(f"Demo people (password for all: {DEMO_PASSWORD}):")
        for person in popular:
            self.stdout.write(f"  {person.username:<16} popular, {Fanship.objects.filter(idol=person).count()} fans")
        for person in others:
            self.stdout.write(f"  {person.username}")
