"""manage.py bench_audience: the people the posting benchmark posts as."""

import io
import json

from django.core.management import call_command

from accounts.models import Fanship, User, UserCounts
from accounts.selectors import fan_ids


def make(fans: int) -> dict:
    out = io.StringIO()
    call_command("bench_audience", "--fans", str(fans), stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_makes_a_quiet_and_a_loud_person_once(db):
    made = make(30)
    loud = User.objects.get(username=made["loud"])
    assert made["fans"] == 30
    assert Fanship.objects.filter(idol=loud).count() == 30
    assert not Fanship.objects.filter(idol__username=made["quiet"]).exists()
    assert UserCounts.objects.get(pk=loud.pk).fans == 30
    assert len(fan_ids(loud, limit=100)) == 30  # the cached list was invalidated
    make(30)  # a second run adds nobody
    assert Fanship.objects.filter(idol=loud).count() == 30
    assert User.objects.filter(username__startswith="bench_fan").count() == 30
