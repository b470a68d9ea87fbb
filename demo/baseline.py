"""The home stream as plain Django ORM, with no object cache: the baseline `make bench` compares
the cached home page with (``/bench/home-orm``, served only when ``settings.BENCH_VIEWS`` is on).

The same page as ``/`` for a logged-in user — the same template, the 20 newest notes of their
inbox with authors through ``select_related``, reply and star counts from ORM aggregates, the
note form's sets and friends from the ORM, every card rendered anew — the way an ordinary
Django app would build it: every request asks the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import FriendSet, User, UserCounts
from accounts.profiles import SIDE_REQUESTS_SHOWN, OwnSummary
from accounts.selectors import AudienceOptions, people_counts_from, people_loader
from cache import idlists
from notes import notifications, partitioning, visibility
from notes.forms import NoteForm
from notes.models import Note, Reply, Star

PAGE_SIZE = 20
# The filter links the home page shows (only their labels matter here: this view has no filters).
FILTERS = {
    "all": "All",
    "notes": "Notes",
    "replies": "Replies",
    "private": "Private",
    "sent": "Sent",
    **{kind: f"{label}s" for kind, label in Note.Kind.choices},
}


@dataclass
class Counts:
    replies: int = 0
    stars: int = 0
    starred: bool = False
    # The card's star button asks visibility rule 9 with these (notes.selectors.CardCounts);
    # the benchmark's reader blocks nobody.
    blocks: frozenset = frozenset()


@dataclass
class OrmPage:
    """What ``notes/_stream.html`` reads from a page."""

    notes: list[Note]
    counts: dict[int, Counts]
    has_more: bool = False
    before: int | None = None
    before_reply: int | None = None
    entries: list[tuple[Note, Counts]] = field(init=False)

    def __post_init__(self) -> None:
        self.entries = [(note, self.counts[note.pk]) for note in self.notes]


@login_required
def home_orm(request: HttpRequest) -> HttpResponse:
    user = request.user
    # The inbox lives on its own cluster (notes/partitioning.py): note ids from there, then the
    # notes by id — a join is not possible, so even the plain-ORM page takes two steps.
    inbox = partitioning.inbox_note_ids(user.pk, limit=4 * (PAGE_SIZE + 1))
    notes = list(
        Note.objects.filter(pk__in=inbox)
        .filter(visibility.shown_filter() & visibility.not_blocked_with(user))
        .newest_first()
        .select_related("author", "friend_set", "recipient")[: PAGE_SIZE + 1]
    )
    more = len(notes) > PAGE_SIZE
    notes = notes[:PAGE_SIZE]
    ids = [note.pk for note in notes]
    counts = {pk: Counts() for pk in ids}
    if ids:
        for pk, n in Reply.objects.filter(note__in=ids).values("note").annotate(n=Count("pk")).values_list("note", "n"):
            counts[pk].replies = n
        for pk, n in Star.objects.filter(note__in=ids).values("note").annotate(n=Count("pk")).values_list("note", "n"):
            counts[pk].stars = n
        for pk in Star.objects.filter(note__in=ids, user=user).values_list("note", flat=True):
            counts[pk].starred = True
    page = OrmPage(notes=notes, counts=counts, has_more=more, before=ids[-1] if more else None)
    # The note form's choices from the ORM too, and no reused HTML (notes/cards.py): an ordinary
    # Django page renders every card every time.
    audience = AudienceOptions(
        sets=list(FriendSet.objects.filter(owner=user).order_by("name", "pk")),
        friends=sorted(
            User.objects.filter(fanships_in__fan=user, fanships_out__idol=user), key=lambda u: u.name.lower()
        ),
    )
    context = {"page": page, "show": "all", "filters": FILTERS, "form": NoteForm(author=user, audience=audience)}
    # The side column's counts and friend requests from the database too.
    waiting = tuple(people_loader("pending", user)(None, idlists.cap()))
    shown = {person.pk: person for person in User.objects.filter(pk__in=waiting[:SIDE_REQUESTS_SHOWN])}
    context["own"] = OwnSummary(
        person=user,
        counts=people_counts_from(user, UserCounts.objects.filter(user=user).first(), waiting),
        requests=[shown[pk] for pk in waiting[:SIDE_REQUESTS_SHOWN] if pk in shown],
    )
    # The top bar's unread count from the database as well, not from the cache.
    context["notifications_badge"] = notifications.Badge(user.pk, count=notifications.unread_from_database(user.pk))
    return render(request, "notes/home.html", {**context, "reuse_html": False})
