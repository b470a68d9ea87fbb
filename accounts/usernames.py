"""What a username may be.

A profile lives at ``/<username>/``, in the same URL space as the site's own pages, so a
username must never be a word the site uses (or may one day use) as a first path segment.
This module is the one place that list is kept; a test checks that every first path segment
in the URLconf is on it.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 30
USERNAME_PATTERN = rf"[A-Za-z0-9_]{{{USERNAME_MIN_LENGTH},{USERNAME_MAX_LENGTH}}}"
USERNAME_RE = re.compile(USERNAME_PATTERN)

RESERVED_USERNAMES = frozenset(
    {
        # Pages the site serves today.
        "admin", "notes", "public", "login", "logout", "signup", "settings", "sets", "friends",
        "photos", "static", "media", "healthz", "readyz", "metrics", "files", "events",
        # Pages it may serve tomorrow, and names that would mislead people.
        "about", "abuse", "account", "accounts", "activity", "api", "assets", "auth", "blog",
        "calendar", "contact", "css", "dashboard", "download", "downloads", "explore", "fans",
        "faq", "favicon", "feed", "feeds", "forward", "help", "home", "hostmaster", "ics", "img",
        "images", "inbox", "invite", "invites", "join", "js", "legal", "me", "messages",
        "moderation", "new", "news", "nobody", "noreply", "notifications", "null", "oauth", "password",
        "people", "pownce", "postmaster", "privacy", "register", "replies", "robots", "root",
        "rss", "search", "security", "signin", "signout", "sitemap", "staff", "stars", "status",
        "stream", "streams", "support", "system", "tasks", "terms", "tos", "undefined", "upload",
        "uploads", "user", "users", "webmaster", "www",
    }
)  # fmt: skip


def is_reserved(username: str) -> bool:
    return username.lower() in RESERVED_USERNAMES


def validate_username(value: str) -> None:
    """Reject usernames of the wrong shape or that a site page already uses."""
    if not USERNAME_RE.fullmatch(value or ""):
        raise ValidationError(
            f"Usernames are {USERNAME_MIN_LENGTH}–{USERNAME_MAX_LENGTH} characters: letters, digits and underscores"
            " only.",
            code="invalid",
        )
    if is_reserved(value):
        raise ValidationError("That username is reserved. Please pick another one.", code="reserved")
