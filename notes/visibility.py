"""Who may see a note, who receives it, and who may act on it: Pownce's visibility rules.

This module is the only place the rules are written. Pages, streams, downloads, the cached
lists' fills, writes that start from a note, account lists, the admin and the API ask it;
nothing re-derives a rule.

The rules:

1. **Hidden notes** (a moderator's ``Note.is_hidden``) are shown to nobody, their author
   included, on any page, stream or download. A forward of a hidden note goes with it.
2. **Suspended people** are shown nowhere: not in people lists, not as authors of notes or
   replies. A forward of a suspended person's note goes too, and so do the replies under a note
   whose author is suspended. (A suspended person cannot sign in, so is never a viewer.)
3. **Public notes** reach everyone, signed in or not.
4. **Any other note** reaches its author and the people it was **delivered** to. Deliveries are
   decided when the note is sent (rule 6), or when its author is added (rule 10), and are the
   truth afterwards: ending a
   friendship or leaving a set changes who receives the *next* note, not who may read the ones
   already received. Staff get nothing extra here: moderation happens in the admin.
5. **Blocks** cut every non-public note between two people, whichever of them blocked the other,
   and whenever the note was sent: a block takes back what was delivered before it (one of rule
   4's two exceptions; rule 10 is the other). Public notes stay public.
6. **Who receives a note** (their inbox gets a delivery): the author always; for *the public*,
   every fan of the author (friends are fans too); for *all my friends*, every current friend;
   for *a set*, the set's members who are still friends; for *one friend*, that friend — minus,
   in every case, anybody on either side of a block with the author (rule 5).
7. **One friend** may be chosen as a note's audience only if the two are friends and neither
   has blocked the other.
8. **Acting on a note** the viewer may see (rules 1-5): any signed-in viewer may reply to it,
   star it, or report it unless they wrote it; forwarding takes a public note, or one's own
   (someone else's non-public note cannot be forwarded: its author chose who reads it). Replies
   are seen by whoever sees their note (and are subject to rule 2 themselves) — rule 9 aside.
9. **Blocks stop people acting on each other** (whichever of the two blocked the other): neither
   may reply to, star or forward the other's notes (public ones included), nor add the other as
   a friend (``accounts.services.friend_add``), nor hear about each other (no notification
   names one to the other); and nothing either writes reaches the other —
   their notes leave the other's home stream (public ones too), their replies leave the
   other's replies stream and the replies under every note the other reads. Public notes stay
   on the public stream and profile pages: anyone signed out sees them anyway. Reporting stays
   allowed (a block must not hide abuse from the moderators).
10. **Adding someone brings their recent notes (the backfill).** Whenever a fanship between two
    people is made or ended, each one's inbox is brought in line with the other's newest
    ``BACKFILL_MAX`` notes: those rule 6 would deliver to them *now* (public notes once they are
    a fan, friends-only and set notes once friends, one-friend notes addressed to them — never
    across a block) are delivered, marked as backfilled from the author; and every note marked
    so that rule 6 no longer delivers to them is taken back. This is rule 4's second exception:
    a delivery made when a note was sent is never marked, so it is never taken back this way —
    a note sent to you, or received while you were a fan, stays when the friendship ends, as
    rule 4 says; only what the adding brought leaves with it.

Where each rule is applied:

* in SQL on the main cluster plus one look at the viewer's inbox shard, :func:`reaching_ids`
  (rules 3-5: :func:`audience_filter`, then :func:`keep_reaching`; the inbox lives on its own
  cluster and is never joined) fills every cached ID list and answers every page older than
  the lists hold; :func:`notes_visible_to` adds rules 1-2 for readers that use the ORM alone
  (``Note.objects.visible_to``);
* on loaded objects, :func:`note_reaches` (rules 3-5, with the viewer's cached inbox) and
  :func:`is_shown` (rules 1-2, once the related objects are attached) — the cached path;
* :func:`people_reached` (rules 1-5, many people and one note) decides who may be told about a
  note (notes/notifications.py): a notification never names a note its recipient may not see;
* :func:`recipient_ids` (rule 6) is the audience that ``notes.delivery`` pages through;
  :func:`backfill_note_ids` (rule 10) is rule 6 turned around — one author's notes that one
  reader receives now — which ``notes.delivery.inbox_backfill`` brings the inbox in line with;
* rule 9: the ``may_*`` functions (services, views, the cards' star button) and
  :func:`blocks_hide` on loaded items (the replies under a note); in SQL, :func:`not_blocked_with`
  fills the home stream's lists. A viewer's blocks come from their cached ``blocks:<id>`` list
  (``accounts.selectors.blocks_of``), so a page of cards asks no query per card.

The cached lists hold what rules 3-5 admit, hidden or not; rules 1-2 are applied when the note
and user objects are loaded. So hiding a note or suspending someone invalidates only their
objects, and undoing it costs nothing more.

Guaranteed: every path that shows a note (note page, streams, profile, file, thumbnail,
``.ics``, replies, forwards) gives the same answer for the same viewer, note and state, once
the write that changed the state has committed and invalidated its cache keys (the protocol
of ``cache/protocol.py``); ``tests/notes/test_visibility_matrix.py`` walks them all. A block
reaches the cached inboxes at once (the Block signals invalidate both people's lists).

Not guaranteed: that a note is seen by exactly the people rule 6 names at the moment of
reading — deliveries are written once, and a large audience is written by the task worker a
little later (``notes.delivery``); someone who becomes a fan after a note was sent gets it only
if it is among the author's ``BACKFILL_MAX`` newest they may receive (rule 10), and a moment
later (the backfill is a task). A file already downloaded, or a page still open, is not taken
back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Block, Fanship, FriendSet, User
from accounts.selectors import are_friends, is_blocked, person_shown
from notes import partitioning
from notes.models import Note, Reply

# --- Rules 1-2: hidden notes and suspended people ------------------------------------------
# Rule 2's test of a person (``person_shown``) is the accounts app's: its lists of people apply
# the same test, and accounts cannot import notes.


def is_shown(item: Note | Reply) -> bool:
    """Rules 1-2 on a loaded note or reply, with what it points at attached
    (``notes.selectors.attach_related``): its author is shown, a note is not hidden nor a
    forward of a hidden note or of a suspended person's, a reply's note is not hidden and the
    note's author is shown. A forward whose original no longer exists stays."""
    if not person_shown(item.author):
        return False
    known = item._state.fields_cache
    if isinstance(item, Note):
        if item.is_hidden:
            return False
        original = known.get("forwarded_from")
        credited = known.get("forwarded_from_author")
        if original is not None and original.is_hidden:
            return False
        return credited is None or not credited.is_suspended
    note, note_author = known.get("note"), known.get("note_author")
    if note_author is not None and note_author.is_suspended:
        return False
    return note is None or not note.is_hidden


def shown_filter() -> Q:
    """Rules 1-2 in SQL, on ``Note`` rows."""
    return (
        Q(is_hidden=False)
        & Q(author__is_suspended=False)
        & ~Q(forwarded_from__is_hidden=True)
        & ~Q(forwarded_from_author__is_suspended=True)
    )


# --- Rules 3-5: whose audience a note reaches ----------------------------------------------


def signed_in(viewer) -> bool:
    return viewer is not None and viewer.is_authenticated


def _blocked_either_way(person, column: str) -> Exists:
    """Whether ``person`` and the user at ``column`` of the outer row have blocked each other."""
    return Exists(
        Block.objects.filter(Q(blocker=OuterRef(column), blocked=person) | Q(blocker=person, blocked=OuterRef(column)))
    )


def audience_filter(viewer, note: str = "") -> Q:
    """Rules 3-5 in SQL as far as the main cluster can tell, on ``Note`` rows (or on the note
    at ``note``, e.g. ``"note__"`` from ``Reply``): public, the viewer's own, or — not on either
    side of a block with its author — *possibly* delivered to the viewer. Whether it was is in
    the viewer's inbox, on another cluster (notes/partitioning.py), so it is never joined:
    :func:`reaching_ids` asks the inbox for the rows this filter lets through."""
    if not signed_in(viewer):
        return Q(**{f"{note}audience": Note.Audience.PUBLIC})
    return (
        Q(**{f"{note}audience": Note.Audience.PUBLIC})
        | Q(**{f"{note}author": viewer})
        | ~Q(_blocked_either_way(viewer, f"{note}author"))
    )


def keep_reaching(viewer, rows: list[tuple[int, int, str, int]], *, using: str | None = None) -> list[int]:
    """Rule 4 on rows ``(item id, note id, audience, author id)`` that passed
    :func:`audience_filter`: the item ids whose note is public, the viewer's, or in the viewer's
    inbox — one query on the viewer's inbox shard for the rest (none when nothing is unsure)."""
    unsure = {note_id for _, note_id, audience, author in rows if audience != Note.Audience.PUBLIC}
    unsure -= {note_id for _, note_id, _, author in rows if author == viewer.pk}
    received = partitioning.delivered_among(viewer.pk, unsure, using=using)
    return [pk for pk, note_id, _, _ in rows if note_id not in unsure or note_id in received]


def reaching_ids(items: QuerySet, viewer, *, note: str = "", limit: int | None, using: str | None = None) -> list[int]:
    """Rules 3-5: the ids of ``items`` (notes, or rows pointing at a note through ``note``,
    e.g. replies with ``"note__"``) whose note reaches ``viewer``, in the queryset's order
    (newest first), at most ``limit``. Two queries per step — candidates from the main cluster,
    then which of them are in the viewer's inbox — in steps of growing size until ``limit`` is
    reached or the candidates run out; never a join across clusters. ``items`` must be ordered
    by descending pk."""
    items = items.filter(audience_filter(viewer, note))
    if not signed_in(viewer):
        ids = items.values_list("pk", flat=True)
        return list(ids[:limit] if limit is not None else ids)
    fields = ("pk", f"{note}id" if note else "pk", f"{note}audience", f"{note}author_id")
    found: list[int] = []
    cursor, step = None, max(limit or 0, 20)
    while limit is None or len(found) < limit:
        page = items.filter(pk__lt=cursor) if cursor else items
        rows = list(page.values_list(*fields)[:step])
        found += keep_reaching(viewer, rows, using=using)
        if len(rows) < step:
            break
        cursor, step = rows[-1][0], min(step * 4, 2000)
    return found[:limit] if limit is not None else found


def notes_reaching(notes: QuerySet, viewer) -> QuerySet:
    """``notes`` narrowed to rules 3-5 (``Note.objects.reaching``), for readers that want a
    queryset: the ids are found by :func:`reaching_ids` (two queries per step, no join) and the
    queryset filters by them. Streams use :func:`reaching_ids` directly, with a limit."""
    return notes.filter(pk__in=reaching_ids(notes.order_by("-pk"), viewer, limit=None))


def notes_visible_to(notes: QuerySet, viewer) -> QuerySet:
    """``notes`` narrowed to every rule, 1-5 (``Note.objects.visible_to``)."""
    return notes_reaching(notes.filter(shown_filter()), viewer)


def note_reaches(viewer, note: Note, *, inbox: Callable[[], Collection[int]]) -> bool:
    """Rules 3-5 for one loaded note. ``inbox()`` gives the ids in the viewer's cached inbox,
    which was filled by :func:`reaching_ids` and is invalidated by deliveries and blocks:
    a note found there needs no query. Anything else asks the viewer's inbox shard, then the
    main cluster for blocks."""
    if note.is_public:
        return True
    if not signed_in(viewer):
        return False
    if note.author_id == viewer.pk or note.pk in inbox():
        return True
    if not partitioning.delivered_among(viewer.pk, [note.pk]):
        return False
    return Note.objects.filter(pk=note.pk).filter(audience_filter(viewer)).exists()


def people_reached(note: Note, person_ids: Collection[int], *, using: str | None = None) -> set[int]:
    """Rules 1-5 for one note and many people: which of ``person_ids`` may see ``note`` now.
    Nobody if it is hidden or its author suspended (or a forward of such); everyone for a public
    note; otherwise its author and the people it was delivered to who are not on either side
    of a block with the author — at most one query per inbox shard and one for blocks."""
    people = set(person_ids)
    if not people or note.is_hidden or not person_shown(note.author):
        return set()
    original = note.forwarded_from if note.forwarded_from_id else None
    if original is not None and (original.is_hidden or not person_shown(original.author)):
        return set()
    if note.is_public:
        return people
    reached = people & {note.author_id}
    received = partitioning.delivered_to(note.pk, people - reached, using=using)
    if received:
        pairs = blocked_pairs({note.author_id, *received})
        received = {pk for pk in received if frozenset((pk, note.author_id)) not in pairs}
    return reached | received


# --- Rules 6-7: who receives a note ---------------------------------------------------------


def _friends_of(person_id: int, column: str) -> Q:
    """Whether the user at ``column`` and ``person_id`` have added each other."""
    return Q(Exists(Fanship.objects.filter(fan_id=person_id, idol=OuterRef(column)))) & Q(
        Exists(Fanship.objects.filter(fan=OuterRef(column), idol_id=person_id))
    )


def recipient_ids(
    note: Note, *, after: int = 0, upto: int | None = None, limit: int | None = None, using: str | None = None
) -> list[int]:
    """Rule 6: who receives ``note`` besides its author, ascending by id — only the ids in
    ``(after, upto]``, at most ``limit`` of them. One query over an index that ends in the
    person's id, so a large audience is read one keyset page at a time."""
    author_id = note.author_id
    if note.audience == Note.Audience.PUBLIC:
        rows, column = Fanship.objects.filter(idol_id=author_id), "fan"
    elif note.audience == Note.Audience.FRIENDS:
        rows, column = Fanship.objects.filter(fan_id=author_id).filter(_friends_of(author_id, "idol")), "idol"
    elif note.audience == Note.Audience.SET:
        if note.friend_set_id is None:
            return []
        members = FriendSet.members.through.objects.filter(friendset_id=note.friend_set_id)
        rows, column = members.filter(_friends_of(author_id, "user")), "user"
    elif note.recipient_id is not None:
        rows, column = User.objects.filter(pk=note.recipient_id), "id"
    else:
        return []
    key = column if column == "id" else f"{column}_id"
    rows = rows.using(using).filter(**{f"{key}__gt": after}).exclude(**{key: author_id})
    if upto is not None:
        rows = rows.filter(**{f"{key}__lte": upto})
    ids = rows.filter(~Q(_blocked_either_way(author_id, key))).order_by(key).values_list(key, flat=True)
    return list(ids[:limit] if limit is not None else ids)


# Rule 10: how many of an author's newest notes adding them brings into an inbox.
BACKFILL_MAX = 50


def backfill_note_ids(
    author_id: int, reader_id: int, *, limit: int | None = BACKFILL_MAX, among: Collection[int] | None = None
) -> list[int]:
    """Rule 10: ``author_id``'s notes that rule 6 delivers to ``reader_id`` as things stand now,
    newest first, at most ``limit`` (of those ``among``, if given): public ones if the reader
    is the author's fan, friends-only ones and those to a set the reader is in if they are
    friends, and those sent to the reader alone; none across a block. A few small queries on
    the main cluster; the notes' own over the (author, id) index."""
    if (
        author_id == reader_id
        or Block.objects.filter(
            Q(blocker_id=author_id, blocked_id=reader_id) | Q(blocker_id=reader_id, blocked_id=author_id)
        ).exists()
    ):
        return []
    fans = set(
        Fanship.objects.filter(
            Q(fan_id=reader_id, idol_id=author_id) | Q(fan_id=author_id, idol_id=reader_id)
        ).values_list("fan_id", flat=True)
    )
    receives = Q(audience=Note.Audience.FRIEND, recipient_id=reader_id)
    if reader_id in fans:
        receives |= Q(audience=Note.Audience.PUBLIC)
        if author_id in fans:
            sets = FriendSet.objects.filter(owner_id=author_id, members=reader_id).values("pk")
            receives |= Q(audience=Note.Audience.FRIENDS) | Q(audience=Note.Audience.SET, friend_set__in=sets)
    notes = Note.objects.filter(author_id=author_id).filter(receives)
    if among is not None:
        notes = notes.filter(pk__in=list(among))
    ids = notes.order_by("-pk").values_list("pk", flat=True)
    return list(ids[:limit] if limit is not None else ids)


def may_address(author: User, recipient: User | None) -> bool:
    """Rule 7: whether ``author`` may send a note to ``recipient`` alone."""
    return recipient is not None and are_friends(author, recipient) and not is_blocked(author, recipient)


def reply_recipient_ids(note: Note, replier: User) -> list[int]:
    """Who a new reply is announced to (their home stream's replies): the note's author, everyone
    who replied to it before, and the replier. Rules 1-5 still decide, when they read, whether
    they see it."""
    earlier = set(Reply.objects.filter(note=note).values_list("author_id", flat=True))
    return sorted(earlier | {note.author_id, replier.pk})


# --- Rules 8-9: acting on a note, and blocks ------------------------------------------------
# Each takes a note the viewer may see: one that came from ``notes.selectors.visible_note``.
# ``blocks`` is the set of people on either side of a block with the viewer
# (``accounts.selectors.blocks_of``); without it, one query asks.


def _blocked_with_author(viewer, note: Note, blocks: Collection[int] | None) -> bool:
    if note.author_id == viewer.pk:
        return False
    if blocks is not None:
        return note.author_id in blocks
    return Block.objects.filter(
        Q(blocker_id=viewer.pk, blocked_id=note.author_id) | Q(blocker_id=note.author_id, blocked_id=viewer.pk)
    ).exists()


def may_reply(viewer, note: Note, *, blocks: Collection[int] | None = None) -> bool:
    return signed_in(viewer) and not _blocked_with_author(viewer, note, blocks)


def may_star(viewer, note: Note, *, blocks: Collection[int] | None = None) -> bool:
    return signed_in(viewer) and not _blocked_with_author(viewer, note, blocks)


def may_report(viewer, note: Note) -> bool:
    return signed_in(viewer) and note.author_id != viewer.pk


def may_forward(viewer, note: Note, *, blocks: Collection[int] | None = None) -> bool:
    return (
        signed_in(viewer)
        and (note.is_public or note.author_id == viewer.pk)
        and not _blocked_with_author(viewer, note, blocks)
    )


def blocks_hide(item: Note | Reply, blocks: Collection[int]) -> bool:
    """Rule 9 on a loaded note or reply: whether its author is on the other side of a block
    with the viewer whose ``blocks`` these are."""
    return item.author_id in blocks


def blocked_pairs(people: Collection[int]) -> set[frozenset[int]]:
    """Rule 9 among ``people``: every pair of them on the two sides of a block, as
    ``frozenset((a, b))`` — one query (none for fewer than two people)."""
    people = set(people)
    if len(people) < 2:
        return set()
    rows = Block.objects.filter(blocker_id__in=people, blocked_id__in=people).values_list("blocker_id", "blocked_id")
    return {frozenset(pair) for pair in rows}


def not_blocked_with(viewer) -> Q:
    """Rule 9 in SQL, on ``Note`` or ``Reply`` rows: written by nobody on either side of a
    block with ``viewer``."""
    return ~Q(_blocked_either_way(viewer, "author"))
