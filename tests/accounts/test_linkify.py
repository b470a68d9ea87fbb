"""Links in what people write (accounts/text.py): http(s) addresses and @usernames, escaped,
and nothing else (issue 14, item 17)."""

import pytest

from accounts.text import linkify
from tests.xss import PAYLOADS, assert_inert

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("hi @bob!", 'hi <a class="mention" href="/bob/">@bob</a>!'),
        (
            "(@Ann_2) and @cat.",
            '(<a class="mention" href="/Ann_2/">@Ann_2</a>) and <a class="mention" href="/cat/">@cat</a>.',
        ),
        ("@bob's cake", '<a class="mention" href="/bob/">@bob</a>&#x27;s cake'),
        # Not mentions: an e-mail address, a reserved word, too short or too long, a double @.
        ("mail bob@example.com", "mail bob@example.com"),
        ("see @public and @admin", "see @public and @admin"),
        ("@ab @" + "x" * 31, "@ab @" + "x" * 31),
        ("@@bob", "@@bob"),
        # An address with an @ in it is one link, not a link and a mention.
        (
            "https://example.com/@bob?a=1&b=2.",
            '<a href="https://example.com/@bob?a=1&amp;b=2" rel="nofollow ugc noopener">https://example.com/@bob?a=1&amp;b=2</a>.',
        ),
        ("javascript:alert(1) ftp://x.com", "javascript:alert(1) ftp://x.com"),
        ('@bob"><b>', '<a class="mention" href="/bob/">@bob</a>&quot;&gt;&lt;b&gt;'),
    ],
)
def test_addresses_and_usernames_become_links_and_nothing_else(text, html):
    assert linkify(text) == html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_stay_inert(payload):
    assert_inert(str(linkify(payload)))


def test_a_profile_bio_links_its_addresses_and_people(make_user, client):
    make_user("bob")
    make_user("ann", bio="Photos at https://example.com/ann?x=1&y=2 — friends with @bob. javascript:alert(1)")
    html = client.get("/ann/").content.decode()
    assert (
        '<p class="profile-bio">Photos at <a href="https://example.com/ann?x=1&amp;y=2" rel="nofollow ugc noopener">'
        'https://example.com/ann?x=1&amp;y=2</a> — friends with <a class="mention" href="/bob/">@bob</a>. '
        "javascript:alert(1)</p>"
    ) in html
    assert_inert(html)
