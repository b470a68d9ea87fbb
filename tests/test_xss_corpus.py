"""The shared XSS check (tests/xss.py) fails on live markup and passes escaped text, so the page
tests that use it can fail."""

import pytest

from tests.xss import assert_inert

LIVE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<p><a href="/x" onmouseover="alert(1)">x</a></p>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "<form action=data:text/html,hi></form>",
]


@pytest.mark.parametrize("html", LIVE)
def test_live_markup_fails_the_check(html):
    with pytest.raises(AssertionError):
        assert_inert(html)


def test_escaped_payloads_pass_the_check():
    assert_inert('<input value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">')
    assert_inert("<p>&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(1)</p>")
    assert_inert('<a href="https://example.com/?next=javascript:x" rel="nofollow">ok</a>')
