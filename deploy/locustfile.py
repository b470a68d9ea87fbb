"""`make bench`'s mixed workload: 2,000 signed-in people reading and writing through HAProxy.

Run by deploy/bench_mixed.py as ``locust -f deploy/locustfile.py --headless …``; reads its plan
from ``MIXED_PLAN`` (written by ``manage.py bench_people``) and writes what it checked to
``MIXED_OUT`` when the run stops.

Each simulated browser takes the next person of the plan who is not acting elsewhere, makes
one request as them (their own cookies: session, CSRF, the read-your-writes pin) and lets them
go. What it asks for is drawn from :data:`mixedlib.MIX` (by requests: 90 % reads, home half of
them; 10 % writes). Whom a person reads, befriends or stars is Zipf-distributed over popularity
(most fans first). A write is made by someone who has just read the page its form is on, from
that page, as in a browser (:class:`mixedlib.OpenPages`): the site's own form, its CSRF token,
the note or person the page showed. While nobody has that page open yet (the first seconds),
someone opens it instead.

Every note or reply posted carries a unique marker. The author reads the page the form
redirected to at once (``note:own``: read-your-writes), and a public one is read again by
someone else once the staleness bound has passed (``note:check``); a page without the marker
is a stale read (:class:`mixedlib.StaleChecker`). ``MIXED_FAULT=phantom`` also announces, for
each public note, a second marker that was never written: a check that works reports those.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from collections import defaultdict, deque

import mixedlib
from locust import HttpUser, constant, events, task
from requests.cookies import RequestsCookieJar

PLAN = json.loads(open(os.environ["MIXED_PLAN"]).read())
BOUND = float(os.environ.get("MIXED_STALE_BOUND", "3"))
FAULT = os.environ.get("MIXED_FAULT", "")
OUT = os.environ.get("MIXED_OUT", "")

rng = random.Random(int(os.environ.get("MIXED_SEED", "2009")))
checker = mixedlib.StaleChecker(bound=BOUND)
actions = mixedlib.WeightedPicker(mixedlib.MIX)
audiences = mixedlib.WeightedPicker(mixedlib.POST_AUDIENCES)
ranked = PLAN["ranked"]
note_authors = PLAN["note_authors"]
popular = mixedlib.ZipfPicker(len(ranked))
popular_authors = mixedlib.ZipfPicker(len(note_authors))
blocked = {frozenset(pair) for pair in PLAN["blocked"]}
# Per request name: responses, SQL statements on the primary, on replicas, memcached calls (the
# cost headers of demo/bench.py).
costs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])


class Person:
    def __init__(self, username: str, session: str):
        self.username = username
        self.jar = RequestsCookieJar()
        self.jar.set("sessionid", session)
        self.token: str | None = None


idle = deque(Person(p["username"], p["session"]) for p in PLAN["people"])
rng.shuffle(idle)
busy: set[str] = set()
open_pages = mixedlib.OpenPages()


def may_see(reader: str, other: str) -> bool:
    return frozenset((reader, other)) not in blocked


def marker() -> str:
    return "mx" + uuid.uuid4().hex[:16]


def next_idle() -> Person:
    """The person who has waited longest and is not acting in another browser."""
    while True:
        person = idle.popleft()
        idle.append(person)
        if person.username not in busy:
            return person


class Browser(HttpUser):
    wait_time = constant(0)

    @task
    def act(self) -> None:
        action = actions.pick(rng)
        form_page = mixedlib.FORM_PAGE.get(action)
        opened = open_pages.take(form_page, busy) if form_page else None
        if form_page and opened is None:
            action = form_page  # nobody has that form open yet: someone opens its page
        person, context = opened or (next_idle(), None)
        busy.add(person.username)
        try:
            self.client.cookies = person.jar
            if opened:
                getattr(self, action)(person, context)
            else:
                getattr(self, action)(person)
        finally:
            busy.discard(person.username)

    # --- requests ------------------------------------------------------------------------------

    def _count(self, name: str, response) -> None:
        cost = costs[name]
        cost[0] += 1
        cost[1] += int(response.headers.get("X-Pownce-SQL-Primary", 0))
        cost[2] += int(response.headers.get("X-Pownce-SQL-Replica", 0))
        cost[3] += int(response.headers.get("X-Pownce-Cache-Calls", 0))

    def get(self, person: Person, path: str, name: str):
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            self._count(name, response)
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            person.token = mixedlib.csrf_token(response.text) or person.token
        return response

    def send(self, person: Person, path: str, name: str, data: dict):
        data = {"csrfmiddlewaretoken": person.token or "", **data}
        with self.client.post(path, data=data, name=name, allow_redirects=False, catch_response=True) as response:
            self._count(name, response)
            if response.status_code != 302:
                response.failure(f"{response.status_code}")
        return response

    def check(self, claim: mixedlib.Claim, person: Person, name: str, own: bool) -> None:
        with self.client.get(claim.url, name=name, allow_redirects=False, catch_response=True) as response:
            self._count(name, response)
            page = response.text
            judge = checker.check_own if own else checker.check_shared
            verdict = judge(claim, response.status_code, page)
            if verdict != "ok":
                response.failure(f"{verdict}: {response.status_code}, marker {claim.marker}")
            person.token = mixedlib.csrf_token(page) or person.token
        return response

    # --- whom people pick ----------------------------------------------------------------------

    def someone(self, person: Person) -> str:
        for _ in range(10):
            other = ranked[popular.pick(rng)]
            if other != person.username and may_see(person.username, other):
                return other
        return ranked[0] if ranked[0] != person.username else ranked[1]

    def some_note(self, person: Person) -> tuple[int, str]:
        for _ in range(10):
            author = note_authors[popular_authors.pick(rng)]
            if may_see(person.username, author["username"]):
                break
        return rng.choice(author["notes"]), author["username"]

    # --- reads ---------------------------------------------------------------------------------

    def home(self, person: Person) -> None:
        if self.get(person, "/", "home").status_code == 200:
            open_pages.opened("home", person)

    def public(self, person: Person) -> None:
        self.get(person, "/public/", "public")

    def profile(self, person: Person) -> None:
        other = self.someone(person)
        if self.get(person, f"/{other}/", "profile").status_code == 200:
            open_pages.opened("profile", person, other)

    def note(self, person: Person) -> None:
        claim = checker.due(time.time(), person.username, blocked)
        if claim is not None:
            response = self.check(claim, person, "note:check", own=False)
            note = (int(claim.url.strip("/").split("/")[-1]), claim.parties[0] if claim.parties else claim.author)
        else:
            note = self.some_note(person)
            response = self.get(person, f"/notes/{note[0]}/", "note")
        if response.status_code == 200:
            open_pages.opened("note", person, note)

    # --- writes: from the page just read -------------------------------------------------------

    def post(self, person: Person, _context) -> None:
        audience, word = audiences.pick(rng), marker()
        body = {"kind": "message", "audience": audience, "body": f"Mixed load {word}", "idempotency_key": word}
        response = self.send(person, "/notes/new/", "post", body)
        # A sent note goes back to the page it was sent from, at the note: /#note-<id>.
        sent = re.search(r"#note-(\d+)$", response.headers.get("Location", ""))
        if response.status_code == 302 and sent:
            claim = mixedlib.Claim(
                url=f"/notes/{sent.group(1)}/",
                marker=word,
                author=person.username,
                at=time.time(),
                shared=audience == "public",
            )
            self.check(claim, person, "note:own", own=True)
            checker.wrote(claim)
            if FAULT == "phantom" and claim.shared:
                checker.wrote(mixedlib.Claim(claim.url, marker(), person.username, claim.at, True))

    def reply(self, person: Person, note: tuple[int, str]) -> None:
        note_id, author = note
        word = marker()
        response = self.send(person, f"/notes/{note_id}/reply/", "reply", {"body": f"Re: mixed load {word}"})
        if response.status_code == 302:
            claim = mixedlib.Claim(f"/notes/{note_id}/", word, person.username, time.time(), True, (author,))
            self.check(claim, person, "note:own", own=True)
            checker.wrote(claim)

    def star(self, person: Person, note: tuple[int, str]) -> None:
        note_id, _ = note
        self.send(person, f"/notes/{note_id}/star/", "star", {"next": f"/notes/{note_id}/"})

    def befriend(self, person: Person, other: str) -> None:
        self.send(person, f"/friends/{other}/add/", "befriend", {"next": f"/{other}/"})


@events.test_stop.add_listener
def save(environment, **kwargs) -> None:
    if OUT:
        with open(OUT, "w") as out:
            json.dump({"stale": checker.summary(), "sql": dict(costs)}, out)
