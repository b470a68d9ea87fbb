"""Signing in through the site's own log-in page, as a person in a browser does."""

from __future__ import annotations


def log_in(page, username: str, password: str) -> None:
    """Log ``username`` in on ``page`` and wait until the site has sent them on."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
