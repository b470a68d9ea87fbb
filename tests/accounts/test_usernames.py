"""No username can shadow a page of the site."""

import re

import pytest
from django.urls import URLResolver, get_resolver

from accounts.usernames import RESERVED_USERNAMES, USERNAME_RE, validate_username


def first_segments(patterns, prefix: str = "") -> set[str]:
    """The literal first path segment of every URL pattern, includes followed."""
    segments = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        # The route up to its first converter or regex syntax is what the URL starts with.
        literal = re.split(r"[<(\[\\$?*+.]", route, maxsplit=1)[0]
        if isinstance(pattern, URLResolver) and "/" not in literal:
            segments |= first_segments(pattern.url_patterns, route)
            continue
        segment = literal.split("/", 1)[0]
        if segment:
            segments.add(segment)
    return segments


def test_every_first_path_segment_is_reserved():
    segments = first_segments(get_resolver().url_patterns)
    assert {"admin", "login", "signup", "settings", "sets", "friends", "photos", "healthz"} <= segments
    could_be_usernames = {segment for segment in segments if USERNAME_RE.fullmatch(segment)}
    assert could_be_usernames - RESERVED_USERNAMES == set()


@pytest.mark.parametrize("name", sorted(RESERVED_USERNAMES))
def test_reserved_names_fail_validation_in_any_case(name):
    from django.core.exceptions import ValidationError

    for variant in (name, name.upper(), name.capitalize()):
        if USERNAME_RE.fullmatch(variant):
            with pytest.raises(ValidationError):
                validate_username(variant)
