"""The logic of `make bench`'s mixed workload (deploy/locustfile.py) that does not need locust:
what people do and how often, whom they pick, and the stale-read check.

Kept apart from the locustfile because importing locust monkey-patches the standard library
with gevent; tests import this module (tests/deploy/test_mixedlib.py) without that.
"""

from __future__ import annotations

import bisect
import random
import re
from collections import deque
from dataclasses import dataclass, field

# What the load asks for, in percent of requests: 90 % reads, home being half of them, and 10 %
# writes through the site's own forms. A write is made from the page that holds its form, just
# read by the same person (a post from home, a reply or a star from a note page, a befriending
# from a profile). A post redirects back to the page it was sent from (home), a reply to its note
# page, and the author's browser follows (FOLLOW_UPS): those reads are home and note-page reads,
# so "home" and "note" are drawn that much less often themselves.
MIX: dict[str, float] = {
    "home": 41.0,
    "note": 15.5,
    "profile": 13.5,
    "public": 13.5,
    "post": 4.0,
    "reply": 2.5,
    "star": 2.5,
    "befriend": 1.0,
}
READS = frozenset({"home", "note", "profile", "public"})
WRITES = frozenset(MIX) - READS
FOLLOW_UPS = {"post": "home", "reply": "note"}
# The page a write's form is on.
FORM_PAGE = {"post": "home", "reply": "note", "star": "note", "befriend": "profile"}
# Of the notes posted: to the public, or to all the author's friends.
POST_AUDIENCES = {"public": 60.0, "friends": 40.0}


def request_shares(mix: dict[str, float] = MIX) -> dict[str, float]:
    """The share of requests each page or form gets when actions are drawn from ``mix`` and
    each follow-up read is made: what the load's request mix should come out as."""
    requests = dict(mix)
    for action, page in FOLLOW_UPS.items():
        requests[page] = requests.get(page, 0.0) + mix.get(action, 0.0)
    total = sum(requests.values())
    return {name: count / total for name, count in requests.items()}


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class WeightedPicker:
    """Pick a key of ``weights`` with probability proportional to its weight."""

    def __init__(self, weights: dict[str, float]):
        if not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        self.keys = list(weights)
        self.cumulative = []
        total = 0.0
        for key in self.keys:
            total += weights[key]
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> str:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.keys[min(index, len(self.keys) - 1)]


class ZipfPicker:
    """Ranks 0 … n-1 with P(rank k) proportional to 1 / (k + 1) ** s: rank 0 is the most popular.

    With s = 1 and n = 2,000 the top person draws about 12 % of picks and the top 20 about 44 %,
    while half of all picks go past the top 34: a long tail, as attention on a social site."""

    def __init__(self, n: int, s: float = 1.0):
        if n < 1 or s <= 0:
            raise ValueError("n must be at least 1 and s positive")
        self.n = n
        self.cumulative = []
        total = 0.0
        for rank in range(n):
            total += 1.0 / (rank + 1) ** s
            self.cumulative.append(total)
        self.total = total

    def probability(self, rank: int) -> float:
        previous = self.cumulative[rank - 1] if rank else 0.0
        return (self.cumulative[rank] - previous) / self.total

    def pick(self, rng: random.Random) -> int:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return min(index, self.n - 1)


def csrf_token(page: str) -> str | None:
    """The CSRF token of the first form on ``page`` (every form of a page carries one)."""
    match = CSRF_INPUT.search(page)
    return match.group(1) if match else None


class OpenPages:
    """Who has which page open, newest last: a write is made by someone who just read the page
    its form is on, from that page (the CSRF token, the note or person it shows).

    ``take`` skips people in ``busy`` (acting in another browser) and entries of people who
    have read something else since (each person has one page open: their last)."""

    def __init__(self, keep: int = 500):
        self.keep = keep
        self.pages: dict[str, deque] = {}
        self.last: dict[str, tuple] = {}

    def opened(self, page: str, person, context=None) -> None:
        entry = (page, person, context)
        self.last[person.username] = entry
        self.pages.setdefault(page, deque(maxlen=self.keep)).append(entry)

    def take(self, page: str, busy: set[str]):
        """(person, context) of the newest reader of ``page`` who is free, or None."""
        entries = self.pages.get(page, ())
        for index in range(len(entries) - 1, -1, -1):
            entry = entries[index]
            person = entry[1]
            if person.username in busy or self.last.get(person.username) is not entry:
                continue
            del entries[index]
            return person, entry[2]
        return None


# --- the stale-read check ----------------------------------------------------------------------


@dataclass
class Claim:
    """A write the load was told succeeded: the page ``url`` must show ``marker`` (a unique word
    in the note's or reply's text) to the author at once (read-your-writes) and, when
    ``shared`` (a public note or a reply under one), to anyone once ``bound`` seconds passed.
    ``parties`` are the people a blocked reader may not see (the author, a reply's note author)."""

    url: str
    marker: str
    author: str
    at: float
    shared: bool
    parties: tuple[str, ...] = ()


@dataclass
class StaleChecker:
    """Counts reads that did not show a write they should have.

    ``bound`` is the staleness the router admits for another browser: ``REPLICA_MAX_LAG`` plus
    ``REPLICA_HEALTH_TTL`` (pownce/router.py). The author's own read right after the write must
    show it whatever the lag (the read-your-writes pin). A read is *stale* when the page answered
    404 or 200 without the marker; any other status is an *error* (counted, not stale: the page
    did not say either way)."""

    bound: float
    pending: deque = field(default_factory=deque)
    own_checks: int = 0
    own_stale: int = 0
    shared_checks: int = 0
    shared_stale: int = 0
    errors: int = 0
    examples: list = field(default_factory=list)

    def wrote(self, claim: Claim) -> None:
        if claim.shared:
            self.pending.append(claim)

    def due(self, now: float, reader: str, blocked: frozenset | set = frozenset()) -> Claim | None:
        """The oldest shared write whose bound has passed, that ``reader`` did not write and may
        see (no pair ``frozenset({reader, party})`` in ``blocked``), taken off the list: each is
        checked by one other reader. None if there is none."""
        for index, claim in enumerate(self.pending):
            if claim.at + self.bound > now:
                return None  # the list is in write order: the rest are younger still
            parties = {claim.author, *claim.parties}
            if reader not in parties and not any(frozenset((reader, party)) in blocked for party in parties):
                del self.pending[index]
                return claim
        return None

    def _judge(self, claim: Claim, status: int, page: str, how: str) -> str:
        if status == 404 or (status == 200 and claim.marker not in page):
            if len(self.examples) < 10:
                self.examples.append({"check": how, "url": claim.url, "marker": claim.marker, "status": status})
            return "stale"
        if status != 200:
            self.errors += 1
            return "error"
        return "ok"

    def check_own(self, claim: Claim, status: int, page: str) -> str:
        """The author's read right after the write; returns "ok", "stale" or "error"."""
        self.own_checks += 1
        verdict = self._judge(claim, status, page, "own")
        self.own_stale += verdict == "stale"
        return verdict

    def check_shared(self, claim: Claim, status: int, page: str) -> str:
        """Another person's read, at least ``bound`` seconds after the write."""
        self.shared_checks += 1
        verdict = self._judge(claim, status, page, "shared")
        self.shared_stale += verdict == "stale"
        return verdict

    @property
    def stale(self) -> int:
        return self.own_stale + self.shared_stale

    def summary(self) -> dict:
        return {
            "bound_s": self.bound,
            "own_checks": self.own_checks,
            "own_stale": self.own_stale,
            "shared_checks": self.shared_checks,
            "shared_stale": self.shared_stale,
            "stale": self.stale,
            "errors": self.errors,
            "unchecked_shared": len(self.pending),
            "examples": self.examples,
        }
