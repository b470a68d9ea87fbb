"""Finding people by name: the search terms, how names become terms, and the one lookup.

A person is found by a prefix of their username or of their display name, whatever the letter
case or accents: "ada", "Lovel", "@ada_l" and "lovelace" all find ``ada_lovelace``, "Ada
Lovelace". To make that ONE indexed lookup on MariaDB and on SQLite alike (no ``LIKE '%q%'``,
no scan, no join), every shown person has a few rows in ``SearchTerm``:

1. **Terms** (:func:`terms_of`): the username; each part of it between underscores; the whole
   display name; each word of the display name — all :func:`normalize`\\ d (compatibility
   forms folded, accents removed, case folded, spaces collapsed), at most ``TERM_MAX``
   characters.
2. **The lookup** (:func:`matching_people`): the terms that start with the normalized query,
   in index order ``(term, person)``, one range over the unique index on those two columns
   (``term__prefix``, :class:`Prefix`: ``LIKE 'q%'`` on MariaDB, whose collation-aware range
   the index serves; ``term >= q AND term < q⁺`` on SQLite, whose ``LIKE`` cannot use a plain
   index). An exact name sorts before longer ones, so "bob" comes before "bobby".
3. **Who has terms**: people who are active and not suspended. A user's terms follow their
   saves (``connect``: the ``post_save`` signal of ``User``); bulk changes that send no signal
   — suspending, unsuspending, deactivating, seeding — call :func:`people_index` themselves.

Guaranteed: a shown person whose saved username or display name starts with the query (after
normalization, word by word) is among the matches, once the write that named them committed.
Not guaranteed: that MariaDB and SQLite agree on every non-ASCII letter (MariaDB's collation may
match a little more, e.g. ``ß`` and ``ss``); that a person suspended a moment ago is not
matched (their terms go in the suspension's transaction; readers also drop them when they load
the person, ``accounts.selectors.people_search``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Lookup
from django.db.models.signals import post_save

from accounts.models import SearchTerm, User

TERM_MAX = SearchTerm._meta.get_field("term").max_length
# The fields a term is made of, or that decide whether a person has terms at all.
INDEXED_FIELDS = frozenset({"username", "display_name", "is_active", "is_suspended"})
_WORD = re.compile(r"[^\W_]+")
INDEX_BATCH = 1000


def normalize(text: str) -> str:
    """``text`` as terms and queries are compared: compatibility forms folded (fullwidth ``Ａ``
    is ``a``), accents removed (``é`` is ``e``), case folded, runs of spaces made one."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = unicodedata.normalize("NFKC", bare.casefold())
    return " ".join(folded.split())


def terms_of(user: User) -> set[str]:
    """The terms ``user`` is found by (empty for a person who is not shown)."""
    if not user.is_active or user.is_suspended:
        return set()
    username = normalize(user.username)
    name = normalize(user.display_name)
    terms = {username, name, *_WORD.findall(username), *_WORD.findall(name)}
    return {term[:TERM_MAX] for term in terms if term}


def _user_saved(sender: Any, instance: User, raw: bool = False, update_fields=None, **kwargs: Any) -> None:
    # A log-in saves last_login only: nothing a term is made of.
    if raw or (update_fields is not None and not INDEXED_FIELDS & set(update_fields)):
        return
    people_index([instance])


def people_index(people: Iterable[User | int]) -> None:
    """Make the terms of these people (users, or ids to read again — for bulk changes that
    bypassed the model's save) what :func:`terms_of` says: missing terms added, stale ones
    removed; idempotent. ``INDEX_BATCH`` people at a time."""
    people = list(people)
    for start in range(0, len(people), INDEX_BATCH):
        chunk = people[start : start + INDEX_BATCH]
        ids = [person for person in chunk if isinstance(person, int)]
        users = [person for person in chunk if not isinstance(person, int)]
        users += list(User.objects.filter(pk__in=ids)) if ids else []
        if users:
            _index(users)


def _index(users: list[User]) -> None:
    wanted = {(term, user.pk) for user in users for term in terms_of(user)}
    with transaction.atomic():
        stored = set(SearchTerm.objects.filter(person__in=[user.pk for user in users]).values_list("term", "person_id"))
        for term, person in stored - wanted:
            SearchTerm.objects.filter(term=term, person_id=person).delete()
        SearchTerm.objects.bulk_create(
            [SearchTerm(term=term, person_id=person) for term, person in sorted(wanted - stored)],
            batch_size=INDEX_BATCH,
            ignore_conflicts=True,
        )


def matching_people(query: str, *, limit: int) -> list[int]:
    """Ids of the people with a term starting with ``query`` (already normalized), best first
    (the shortest matching term first, then by term), each once, at most ``limit``: ONE query,
    reading at most ``limit × 4`` index entries (a person matches by up to a few terms)."""
    rows = SearchTerm.objects.filter(term__prefix=query).order_by("term", "person_id")
    found: list[int] = []
    for person in rows.values_list("person_id", flat=True)[: limit * 4]:
        if person not in found:
            found.append(person)
    return found[:limit]


class Prefix(Lookup):
    """``term__prefix=q``: the values that start with ``q``, as a range an ordinary B-tree index
    on the column serves. MariaDB: ``LIKE 'q%'`` (``%``, ``_`` and ``\\`` in ``q`` escaped),
    which its optimizer turns into a range in the column's collation. SQLite: its ``LIKE`` is
    case-insensitive and uses an index only if the index is ``COLLATE NOCASE``, so the range is
    spelled out — ``>= q`` and ``<`` the first string after every string starting with ``q``
    (the last character's code point plus one; SQLite compares text by code point)."""

    lookup_name = "prefix"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        pattern = connection.ops.prep_for_like_query(self.rhs) + "%"
        return f"{lhs} LIKE %s", [*params, pattern]

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        upper = _after_prefix(self.rhs)
        if upper is None:
            return f"{lhs} >= %s", [*params, self.rhs]
        return f"{lhs} >= %s AND {lhs} < %s", [*params, self.rhs, upper]


def _after_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (None if
    there is none: the prefix is all U+10FFFF, the last code point)."""
    stem = prefix.rstrip("\U0010ffff")
    return stem[:-1] + chr(ord(stem[-1]) + 1) if stem else None


def connect() -> None:
    SearchTerm._meta.get_field("term").register_lookup(Prefix)
    post_save.connect(_user_saved, sender=User, dispatch_uid="accounts.user.search_terms")
