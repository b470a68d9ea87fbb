"""The instance's description, as Mastodon's clients read it before anything else."""

from __future__ import annotations

from django.http import HttpRequest

from pownce.api import mapping
from pownce.api.http import endpoint


@endpoint()
def v1(request: HttpRequest, bearer):
    return mapping.instance(mapping.Base(request), version=1)


@endpoint()
def v2(request: HttpRequest, bearer):
    return mapping.instance(mapping.Base(request), version=2)


@endpoint()
def custom_emojis(request: HttpRequest, bearer):
    return []
