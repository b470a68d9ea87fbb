"""Links in what people write — notes, replies, bios: web addresses and ``@username``.

Everything else stays text. The input is escaped first and the links are found in the escaped
text, so a link can hold no quote, ``<`` or ``>``: only ``http://`` and ``https://`` addresses
become links (``rel="nofollow ugc noopener"``: the site does not vouch for them), and an
``@username`` becomes a link to that profile when the name has a username's shape and is not a
reserved word (``/public/`` is no one's profile). Whether the person exists is not looked up:
the HTML depends on the text alone, so cards and pages that show it can be reused whatever
happens to the people named (an unknown name leads to the profile page's 404).
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.usernames import USERNAME_PATTERN, is_reserved

# On escaped text: a match stops before an entity like &quot; or &lt; that stood for one of the
# characters a link cannot hold, and before trailing punctuation.
_URL = r"\bhttps?://(?:[^\s&]|&amp;)+?(?=[.,;:!?)\]]*(?:\s|&(?!amp;)|$))"
# Not after a letter, digit, "_" or "@" (an e-mail address) nor "/" (part of a path), nor
# followed by more of a name (a name too long is no username).
_MENTION = rf"(?<![A-Za-z0-9_@/])@(?P<name>{USERNAME_PATTERN})(?![A-Za-z0-9_])"
_LINKS = re.compile(rf"(?P<url>{_URL})|{_MENTION}", re.IGNORECASE)


def _link(match: re.Match) -> str:
    if match.group("url"):
        url = match.group("url")
        return f'<a href="{url}" rel="nofollow ugc noopener">{url}</a>'
    name = match.group("name")
    if is_reserved(name):
        return match.group(0)
    return f'<a class="mention" href="/{name}/">@{name}</a>'


def linkify(text: str) -> SafeString:
    """Escape ``text``, then link its http(s) addresses and ``@usernames``; nothing else."""
    return mark_safe(_LINKS.sub(_link, escape(text)))
