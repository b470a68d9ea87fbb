"""Reads about people: who is whose friend or fan, blocks, sets, and a profile's summary.

The graph is stored as fanships (``fan`` → ``idol``). Two fanships in opposite directions make
two people **friends**; a one-way fanship makes the fan a **fan** of the idol.

People lists are answered in two steps so an ID-list cache can sit in front of the first and an
object cache in front of the second: ``*_ids()`` returns user ids, newest account first (by
descending id, which the fanship indexes serve directly, and which is a stable keyset for
``?before=<id>`` paging); ``users_by_ids()`` turns a page of ids into users, in that order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts import search
from accounts.caching import USERNAME_IDS, blocks_list, people_list, sets_list
from accounts.counts import user_counts_from_source
from accounts.models import Block, Fanship, FriendSet, User, UserCounts
from accounts.usernames import USERNAME_RE
from cache import idlists, objects
from cache.batch import Batch

PEOPLE_PAGE_SIZE = 60
# The most people one search shows: a longer list is cut, and the page says to type more.
SEARCH_RESULTS_MAX = 30
# Longer than any name a person can have (display names are at most 80 characters).
SEARCH_QUERY_MAX = 100
# Longer than any username, old or new: not worth a query.
USERNAME_LOOKUP_MAX = 150
PENDING_REQUESTS_MAX = 500


def person_shown(person: User | None) -> bool:
    """Whether a person may appear anywhere at all (a list of people, an author of something
    shown): they exist and are not suspended. ``notes.visibility`` applies this same rule to
    notes and replies (its rule 2); account pages apply it to their lists of people."""
    return person is not None and not person.is_suspended


def shown_people(people: Iterable[User]) -> list[User]:
    return [person for person in people if person_shown(person)]


def user_by_username(username: str) -> User | None:
    """The active, unsuspended user with this username in any letter case, or None.

    Names of the usual shape go through the cache (name → id, then the user object); the user
    found must still carry that name, since a rename leaves the old name's entry behind until
    it expires. Other names — and misses — ask the database."""
    if len(username) > USERNAME_LOOKUP_MAX:
        return None
    if USERNAME_RE.fullmatch(username):
        name = username.lower()
        batch = Batch()
        found = batch.values(USERNAME_IDS, [name], _user_ids_by_name)
        batch.run()
        user = objects.get(User, found.result[name]) if name in found.result else None
        if user is not None and user.username.lower() == name:
            return user if user.is_active and not user.is_suspended else None
    return User.objects.filter(username__iexact=username, is_active=True, is_suspended=False).order_by("pk").first()


def _user_ids_by_name(names: list[str], using: str | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in names:
        pk = User.objects.using(using).filter(username__iexact=name).order_by("pk").values_list("pk", flat=True).first()
        if pk is not None:
            found[name] = pk
    return found


def users_by_ids(ids: list[int]) -> list[User]:
    """Users for ``ids`` in the same order, from the object cache (misses in one query); ids
    with no user are skipped."""
    return objects.ordered(User, ids)


# --- The fan graph -----------------------------------------------------------------------------


def _mutual(fanship_field: str, user: User) -> Exists:
    """Whether the person at ``fanship_field`` of a fanship row has also added ``user``."""
    return Exists(Fanship.objects.filter(fan=OuterRef(fanship_field), idol=user))


def _back_to(user: User, fanship_field: str) -> Exists:
    """Whether ``user`` has added the person at ``fanship_field`` of a fanship row."""
    return Exists(Fanship.objects.filter(fan=user, idol=OuterRef(fanship_field)))


def _friends(user: User) -> QuerySet[Fanship]:
    return Fanship.objects.filter(fan=user).filter(_mutual("idol", user))


def _fans(user: User) -> QuerySet[Fanship]:
    return Fanship.objects.filter(idol=user).exclude(_back_to(user, "fan"))


def _fan_of(user: User) -> QuerySet[Fanship]:
    return Fanship.objects.filter(fan=user).exclude(_mutual("idol", user))


def _page(fanships: QuerySet[Fanship], person: str, before: int | None, limit: int) -> list[int]:
    if before is not None:
        fanships = fanships.filter(**{f"{person}__lt": before})
    return list(fanships.order_by(f"-{person}").values_list(person, flat=True)[:limit])


# Each people list as (fanships, the person column): the database side of the cached lists.
_LISTS = {
    "friends": (_friends, "idol_id"),
    "fans": (_fans, "fan_id"),
    "fan_of": (_fan_of, "idol_id"),
    "pending": (lambda user: _fans(user).filter(ignored=False), "fan_id"),
}


def people_loader(kind: str, user: User):
    """Fills ``<kind>:<user>``, one of the people lists (friends, fans, fan_of, pending)."""
    fanships, person = _LISTS[kind]
    return lambda using, limit: _page(fanships(user).using(using), person, None, limit)


def _cached_lists(user: User, kinds: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """Several of ``user``'s cached people lists in one cache call."""
    found = idlists.get_many({people_list(kind, user.pk): people_loader(kind, user) for kind in kinds})
    return {kind: found[people_list(kind, user.pk)] for kind in kinds}


def _people_ids(kind: str, user: User, before: int | None, limit: int) -> list[int]:
    ids, complete = idlists.page(_cached_lists(user, (kind,))[kind], before=before, size=limit)
    if complete:
        return ids
    fanships, person = _LISTS[kind]
    return _page(fanships(user), person, before, limit)


def friend_ids(user: User, *, before: int | None = None, limit: int = PEOPLE_PAGE_SIZE) -> list[int]:
    """Ids of ``user``'s friends (both added each other), descending, below ``before``."""
    return _people_ids("friends", user, before, limit)


def friend_ids_all(user: User) -> list[int]:
    """Every friend's id (for choosing set members and note audiences)."""
    cached = _cached_lists(user, ("friends",))["friends"]
    if len(cached) < idlists.cap():
        return list(cached)
    return list(_friends(user).order_by("-idol_id").values_list("idol_id", flat=True))


def fan_ids(user: User, *, before: int | None = None, limit: int = PEOPLE_PAGE_SIZE) -> list[int]:
    """Ids of ``user``'s fans who are not also friends, descending, below ``before``."""
    return _people_ids("fans", user, before, limit)


def fan_of_ids(user: User, *, before: int | None = None, limit: int = PEOPLE_PAGE_SIZE) -> list[int]:
    """Ids of people ``user`` is a fan of who have not added ``user`` back."""
    return _people_ids("fan_of", user, before, limit)


def pending_request_ids(user: User) -> list[int]:
    """Ids of people who added ``user`` and are waiting for an answer (not ignored, not friends)."""
    return _people_ids("pending", user, None, PENDING_REQUESTS_MAX)


def friends_of(user: User, *, before: int | None = None, limit: int = PEOPLE_PAGE_SIZE) -> list[User]:
    return users_by_ids(friend_ids(user, before=before, limit=limit))


def fans_of(user: User, *, before: int | None = None, limit: int = PEOPLE_PAGE_SIZE) -> list[User]:
    return users_by_ids(fan_ids(user, before=before, limit=limit))


def fan_of(user: User, *, before: int | None = None, limit: int = PEOPLE_PAGE_SIZE) -> list[User]:
    return users_by_ids(fan_of_ids(user, before=before, limit=limit))


def pending_requests(user: User) -> list[User]:
    return users_by_ids(pending_request_ids(user))


def are_friends(a: User, b: User) -> bool:
    return Fanship.objects.filter(Q(fan=a, idol=b) | Q(fan=b, idol=a)).count() == 2


def is_blocked(a: User, b: User) -> bool:
    """Whether either of ``a`` and ``b`` has blocked the other."""
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


def _block_ids(user: User, using: str | None, limit: int | None) -> list[int]:
    rows = Block.objects.using(using).filter(Q(blocker=user) | Q(blocked=user)).values_list("blocker_id", "blocked_id")
    others = sorted({blocked if blocker == user.pk else blocker for blocker, blocked in rows}, reverse=True)
    return others[:limit] if limit is not None else others


def blocks_loader(user: User):
    """Fills ``blocks:<id>``: the people on either side of a block with ``user``."""
    return lambda using, limit: _block_ids(user, using, limit)


def blocks_from(cached: tuple[int, ...], user: User) -> frozenset[int]:
    """Everyone on either side of a block with ``user``, from the cached list when it is whole."""
    if len(cached) < idlists.cap():
        return frozenset(cached)
    return frozenset(_block_ids(user, None, None))


def blocks_of(user) -> frozenset[int]:
    """The people on either side of a block with ``user`` (nobody for a signed-out reader)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    return blocks_from(idlists.get(blocks_list(user.pk), blocks_loader(user)), user)


def blocked_ids(user: User) -> list[int]:
    """Ids of the people ``user`` has blocked, most recent block first."""
    return list(Block.objects.filter(blocker=user).order_by("-id").values_list("blocked_id", flat=True))


@dataclass(frozen=True)
class PeopleCounts:
    friends: int
    fans: int
    fan_of: int
    pending: int = 0
    notes: int = 0
    public_notes: int = 0


def people_counts(user: User, *, pending: bool = True) -> PeopleCounts:
    """How many friends, fans (not friends), fan-of (not friends back) and notes ``user`` has,
    from the denormalized ``UserCounts`` row in the object cache (accounts/counts.py); with
    ``pending``, also their open friend requests (from the cached list) — in one cache call."""
    batch = Batch()
    stored = batch.objects(UserCounts, [user.pk])
    waiting = batch.list(people_list("pending", user.pk), people_loader("pending", user)) if pending else None
    batch.run()
    return people_counts_from(user, stored.result.get(user.pk), waiting.result if waiting is not None else None)


def people_counts_from(user: User, row: UserCounts | None, waiting: tuple[int, ...] | None) -> PeopleCounts:
    """:class:`PeopleCounts` from what :func:`people_counts` read: ``user``'s counts row (None
    if it has none) and their cached ``pending`` list (None: open requests not wanted)."""
    # A person written by a bulk insert has no row until reconcile_counts: count from the source.
    values = (
        {name: getattr(row, name) for name in ("friends", "fans", "fan_of", "notes", "public_notes")}
        if row is not None
        else user_counts_from_source([user.pk], None).get(user.pk, {})
    )
    requests = 0
    if waiting is not None:
        requests = len(waiting) if len(waiting) < idlists.cap() else pending_request_count(user)
    return PeopleCounts(
        friends=values.get("friends", 0),
        fans=values.get("fans", 0),
        fan_of=values.get("fan_of", 0),
        pending=requests,
        notes=values.get("notes", 0),
        public_notes=values.get("public_notes", 0),
    )


def pending_request_count(user: User) -> int:
    return _fans(user).filter(ignored=False).count()


# --- Sets --------------------------------------------------------------------------------------


def friend_sets_of(owner: User) -> QuerySet[FriendSet]:
    """The owner's sets by name, each with ``member_count``."""
    return FriendSet.objects.filter(owner=owner).annotate(member_count=Count("members")).order_by("name", "pk")


def friend_set_of(owner: User, set_id: int) -> FriendSet | None:
    """The set ``set_id`` if ``owner`` owns it, else None (other people's sets do not exist for them)."""
    return FriendSet.objects.filter(owner=owner, pk=set_id).first()


def friend_set_member_ids(friend_set: FriendSet) -> list[int]:
    return list(friend_set.members.order_by("-pk").values_list("pk", flat=True))


# --- Who a note can be sent to ----------------------------------------------------------------


@dataclass(frozen=True)
class AudienceOptions:
    """The author's sets (by name) and friends (by name), for the "Send to" choice."""

    sets: list[FriendSet]
    friends: list[User]


class AudienceReads:
    """The reads behind :class:`AudienceOptions`, in two steps so a page can add them to its own
    cache batches (cache/batch.py) instead of paying two more cache calls."""

    def __init__(self, user: User, first: Batch) -> None:
        self.user = user
        self._friend_ids = first.list(people_list("friends", user.pk), people_loader("friends", user))
        self._set_ids = first.list(sets_list(user.pk), _sets_loader(user))

    def second(self, batch: Batch) -> None:
        ids = list(self._friend_ids.result)
        if len(ids) >= idlists.cap():  # the cached list may be cut: ask the database
            ids = friend_ids_all(self.user)
        self._ids = ids
        self._friends = batch.objects(User, ids)
        self._sets = batch.objects(FriendSet, self._set_ids.result)

    def result(self) -> AudienceOptions:
        friends = [self._friends.result[pk] for pk in self._ids if pk in self._friends.result]
        sets = [self._sets.result[pk] for pk in self._set_ids.result if pk in self._sets.result]
        return AudienceOptions(sets=sets, friends=sorted(friends, key=lambda person: person.name.lower()))


def _sets_loader(user: User):
    return lambda using, limit: list(
        FriendSet.objects.using(using).filter(owner=user).order_by("name", "pk").values_list("pk", flat=True)[:limit]
    )


def audience_options(user: User) -> AudienceOptions:
    first, second = Batch(), Batch()
    reads = AudienceReads(user, first)
    first.run()
    reads.second(second)
    second.run()
    return reads.result()


# --- Finding people by name -------------------------------------------------------------------


@dataclass(frozen=True)
class PeopleFound:
    """What a search for ``query`` found: ``people`` best first, ``message`` saying why there is
    nothing to show (an empty or too long query) or "", and whether the list was ``capped``."""

    query: str
    people: list[User]
    message: str = ""
    capped: bool = False


def search_query_clean(raw: str) -> tuple[str, str]:
    """The query as it is looked up (:func:`accounts.search.normalize`d, a leading ``@`` and
    control characters dropped), and "" — or "" and what to tell the person instead."""
    text = "".join(ch for ch in raw if ch.isprintable() or ch.isspace()).strip().lstrip("@")
    if len(raw) > SEARCH_QUERY_MAX * 4 or len(text) > SEARCH_QUERY_MAX:
        return "", f"That is longer than any name here ({SEARCH_QUERY_MAX} characters at most): try its first letters."
    query = search.normalize(text)[: search.TERM_MAX]
    if not query:
        return "", "Type the first letters of a username or a name."
    return query, ""


def people_search(viewer, raw_query: str, *, limit: int = SEARCH_RESULTS_MAX) -> PeopleFound:
    """People whose username or display name starts with ``raw_query`` (word by word, any case
    or accents; accounts/search.py), best first, at most ``limit``: ONE indexed lookup, then
    the people from the object cache. Suspended and deactivated people are left out, and so is
    anybody on either side of a block with ``viewer`` (from their cached blocks list)."""
    query, message = search_query_clean(raw_query)
    if message:
        return PeopleFound(query=raw_query.strip()[:SEARCH_QUERY_MAX], people=[], message=message)
    # A few more than asked, for the people dropped below; one more tells the list was cut.
    ids = search.matching_people(query, limit=limit + 1 + limit // 2)
    hidden = blocks_of(viewer)
    found = [person for person in users_by_ids(ids) if person.pk not in hidden and person.is_active]
    found = shown_people(found)
    return PeopleFound(query=query, people=found[:limit], capped=len(found) > limit)
