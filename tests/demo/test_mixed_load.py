"""The mixed workload's logic (deploy/mixedlib.py): the request mix, the Zipf picker, who writes
from which page, and the stale-read checker — which must count a write that a page does not
show, on the site's real pages too. And ``manage.py bench_people``: signed-in sessions that work.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from notes import services

ROOT = Path(__file__).resolve().parents[2]
# deploy/ is not a package: load the module from its file (dataclasses need it in sys.modules).
_spec = importlib.util.spec_from_file_location("deploy_mixedlib", ROOT / "deploy" / "mixedlib.py")
mixedlib = sys.modules.setdefault("deploy_mixedlib", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(mixedlib)


# --- what the load asks for ----------------------------------------------------------------------


def test_request_mix_is_nine_reads_to_one_write_and_home_half_of_the_reads():
    shares = mixedlib.request_shares()
    reads = sum(share for name, share in shares.items() if name in mixedlib.READS)
    writes = sum(share for name, share in shares.items() if name in mixedlib.WRITES)
    assert reads == pytest.approx(0.90) and writes == pytest.approx(0.10)
    assert shares["home"] == pytest.approx(0.5 * reads)
    assert mixedlib.WRITES == {"post", "reply", "star", "befriend"}
    assert set(mixedlib.FORM_PAGE) == mixedlib.WRITES and set(mixedlib.FORM_PAGE.values()) <= mixedlib.READS


def test_request_shares_count_the_follow_up_reads():
    shares = mixedlib.request_shares({"note": 1.0, "reply": 1.0, "post": 1.0})
    assert shares == {
        "note": pytest.approx(2 / 5),
        "reply": pytest.approx(1 / 5),
        "post": pytest.approx(1 / 5),
        "home": pytest.approx(1 / 5),
    }


def test_weighted_picker_draws_in_proportion():
    picker = mixedlib.WeightedPicker(mixedlib.MIX)
    rng = random.Random(1)
    draws = Counter(picker.pick(rng) for _ in range(100_000))
    total = sum(mixedlib.MIX.values())
    for name, weight in mixedlib.MIX.items():
        assert draws[name] / 100_000 == pytest.approx(weight / total, abs=0.005), name
    with pytest.raises(ValueError):
        mixedlib.WeightedPicker({"a": 0.0})


def test_zipf_picker_follows_one_over_rank():
    picker = mixedlib.ZipfPicker(2000)
    harmonic = sum(1 / k for k in range(1, 2001))
    assert sum(picker.probability(rank) for rank in range(2000)) == pytest.approx(1.0)
    assert picker.probability(0) == pytest.approx(1 / harmonic)
    assert picker.probability(0) / picker.probability(9) == pytest.approx(10.0)
    rng = random.Random(7)
    draws = Counter(picker.pick(rng) for _ in range(200_000))
    assert set(draws) <= set(range(2000))
    for rank in (0, 1, 4, 19):
        assert draws[rank] / 200_000 == pytest.approx(picker.probability(rank), rel=0.05), rank
    # The long tail: the less popular half still gets its (small) share, the top 20 get 44 %.
    assert sum(count for rank, count in draws.items() if rank < 20) / 200_000 == pytest.approx(0.44, abs=0.01)
    assert sum(count for rank, count in draws.items() if rank >= 1000) / 200_000 == pytest.approx(
        sum(picker.probability(rank) for rank in range(1000, 2000)), abs=0.005
    )


class P:
    def __init__(self, username):
        self.username = username


def test_a_write_comes_from_the_newest_free_reader_of_its_form_page():
    pages = mixedlib.OpenPages()
    ann, bob, cat = P("ann"), P("bob"), P("cat")
    pages.opened("note", ann, (1, "zed"))
    pages.opened("note", bob, (2, "zed"))
    pages.opened("home", cat)
    pages.opened("note", cat, (3, "zed"))  # cat moved on from home to a note page
    assert pages.take("home", busy=set()) is None
    assert pages.take("note", busy={"cat"}) == (bob, (2, "zed"))
    assert pages.take("note", busy=set()) == (cat, (3, "zed"))
    assert pages.take("note", busy=set()) == (ann, (1, "zed"))
    assert pages.take("note", busy=set()) is None
    assert pages.take("profile", busy=set()) is None


def test_csrf_token_is_read_from_the_page():
    page = '<a href="/notes/12/">x</a><form><input type="hidden" name="csrfmiddlewaretoken" value="tok123"></form>'
    assert mixedlib.csrf_token(page) == "tok123"
    assert mixedlib.csrf_token("<p>no form</p>") is None


# --- the stale-read checker ----------------------------------------------------------------------


def claim(marker="mxabc", author="ann", at=100.0, shared=True, parties=()):
    return mixedlib.Claim("/notes/1/", marker, author, at, shared, parties)


def test_own_read_without_the_note_is_stale():
    checker = mixedlib.StaleChecker(bound=3)
    written = claim()
    assert checker.check_own(written, 200, "<p>Mixed load mxabc</p>") == "ok"
    assert checker.check_own(written, 200, "<p>an older page</p>") == "stale"
    assert checker.check_own(written, 404, "Not found") == "stale"
    assert checker.check_own(written, 503, "try again") == "error"
    assert (checker.own_checks, checker.own_stale, checker.errors, checker.stale) == (4, 2, 1, 2)
    assert checker.summary()["examples"][0] == {"check": "own", "url": "/notes/1/", "marker": "mxabc", "status": 200}


def test_shared_writes_are_due_to_other_readers_only_after_the_bound():
    checker = mixedlib.StaleChecker(bound=3)
    first, second = claim("mx1", at=100.0), claim("mx2", author="bob", at=101.0, parties=("cat",))
    checker.wrote(first)
    checker.wrote(second)
    checker.wrote(claim("mx3", at=100.5, shared=False))  # friends only: the author's own check alone
    assert checker.due(102.9, "dan") is None  # not yet: the replica may lag that long
    assert checker.due(103.0, "ann") is None  # ann wrote it; bob's note is not due yet
    assert checker.due(103.0, "dan") is first
    assert checker.due(103.5, "dan") is None  # each write is checked once
    blocked = {frozenset(("dan", "cat"))}  # cat wrote the note bob replied under, and blocked dan
    assert checker.due(104.0, "dan", blocked) is None
    assert checker.due(104.0, "bob") is None and checker.due(104.0, "cat") is None
    assert checker.due(104.0, "eve", blocked) is second
    assert checker.summary()["unchecked_shared"] == 0


def test_a_note_that_is_not_there_counts_as_a_stale_read():
    checker = mixedlib.StaleChecker(bound=0)
    checker.wrote(claim("mxreal"))
    checker.wrote(claim("mxphantom"))  # announced, never written: what MIXED_FAULT=phantom does
    page = "<p>Mixed load mxreal</p>"
    for _ in range(2):
        assert checker.check_shared(checker.due(200.0, "dan"), 200, page) in ("ok", "stale")
    assert (checker.shared_checks, checker.shared_stale) == (2, 1)
    assert checker.summary()["stale"] == 1


# --- on the real site ----------------------------------------------------------------------------


@pytest.mark.stack
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_checker_on_real_pages_and_sessions_from_bench_people(tmp_path):
    """bench_people's sessions are signed in; the checker finds a posted note's marker on its
    page, and counts a note that reader may not see (a 404) or a marker never written as stale."""
    call_command("seed_demo", users=12, notes=40, stdout=open("/dev/null", "w"))
    plan_file = tmp_path / "plan.json"
    call_command("bench_people", users=10, out=str(plan_file), stdout=open("/dev/null", "w"))
    plan = json.loads(plan_file.read_text())
    assert len(plan["people"]) == len(plan["ranked"]) == 10
    assert {p["username"] for p in plan["people"]} == set(plan["ranked"])
    fans = [User.objects.get(username=name).fanships_in.count() for name in plan["ranked"]]
    assert fans == sorted(fans, reverse=True)
    assert all(author["notes"] for author in plan["note_authors"])

    author, reader = plan["people"][0], plan["people"][1]
    browser = Client()
    browser.cookies["sessionid"] = reader["session"]
    home = browser.get("/")  # signed in: home with the composer, not the welcome page
    assert home.status_code == 200 and 'action="/notes/new/"' in home.content.decode()
    assert mixedlib.csrf_token(home.content.decode())

    writer = User.objects.get(username=author["username"])
    public = services.note_create(author=writer, kind="message", audience="public", body="Mixed load mxpublic1")
    stranger = User.objects.create_user("mixstranger", "mixstranger@example.com", "a-long-password-1")
    private = services.note_create(author=writer, kind="message", audience="friends", body="Mixed load mxfriends1")
    checker = mixedlib.StaleChecker(bound=0)
    outsider = Client()
    outsider.force_login(stranger)

    def read(note, marker):
        response = outsider.get(f"/notes/{note.pk}/")
        return checker.check_shared(claim(marker), response.status_code, response.content.decode())

    assert read(public, "mxpublic1") == "ok"
    assert read(public, "mxneverwritten") == "stale"
    assert read(private, "mxfriends1") == "stale"  # a 404: not shown to this reader
    assert (checker.shared_checks, checker.shared_stale) == (3, 2)
