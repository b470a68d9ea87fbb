from datetime import timedelta

import pytest
from django.utils import timezone

from notes.templatetags.notes_text import ago


@pytest.mark.parametrize(
    ("elapsed", "shown"),
    [
        (timedelta(seconds=5), "just now"),
        (timedelta(minutes=1, seconds=5), "1 minute ago"),
        (timedelta(minutes=42), "42 minutes ago"),
        (timedelta(hours=3, minutes=59), "3 hours ago"),
        (timedelta(days=2, hours=1), "2 days ago"),
    ],
)
def test_ago_names_one_unit(elapsed, shown):
    assert ago(timezone.now() - elapsed) == shown


def test_ago_gives_the_date_after_a_month():
    moment = timezone.now() - timedelta(days=45)
    assert ago(moment) == moment.strftime("%-d %b %Y")
