"""Bearer tokens: the cached lookup every API request makes, and its invalidation.

A warm API read must cost no SQL, as the pages it mirrors, so the token is found through the
cache layer like everything else (cache/protocol.py):

1. ``api_token:<sha256 of the token>`` is an ID list holding the ``AccessToken``'s id (or
   nothing); it is filled from the **primary**, because a client uses a token the moment the
   token endpoint wrote it, before a replica may have it;
2. the ``AccessToken`` row comes from the object cache, which invalidates it on every save and
   delete (``objects.register``); django-oauth-toolkit revokes a token by deleting its row, so a
   revoked token is refused by the next request on every app server;
3. the user comes from the object cache too (``accounts`` registers ``User``).

Creating a token invalidates its hash's list, so an earlier "no such token" is never served
for a token that now exists. The raw token is never stored (RFC 9700 storage,
``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``) and never used as a key: only its hash is.

Guaranteed: once the revoking request has committed, no app server accepts the token (the
tombstones of both keys are written after commit; an answer stored from a read of them is not
served again, pownce/api/caching.py). Not guaranteed: an expiry is checked
against the app server's clock at each request, not pushed; a request already past its check
when the token is revoked completes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_delete, post_save
from oauth2_provider.models import AccessToken

from accounts.models import User
from cache import idlists, objects, pages
from pownce.router import PRIMARY


def token_list(checksum: str) -> str:
    return f"api_token:{checksum}"


def checksum_of(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Bearer:
    """Who a valid token speaks for, and what it may do."""

    user: User
    scopes: frozenset[str]
    token_id: int
    application_id: int | None


def _token_ids(checksum: str):
    def load(using: str | None, limit: int) -> list[int]:
        rows = AccessToken.objects.using(PRIMARY).filter(token_checksum=checksum)
        return list(rows.values_list("pk", flat=True)[:1])

    return load


def bearer_for(raw: str) -> Bearer | None:
    """The person and scopes behind ``raw`` if it is a live token of an active, unsuspended
    person; None otherwise. Three cache reads when warm, no SQL."""
    if not raw or len(raw) > 512:
        return None
    checksum = checksum_of(raw)
    ids = idlists.get(token_list(checksum), _token_ids(checksum))
    if not ids:
        return None
    token = objects.get(AccessToken, ids[0])
    if token is None:
        # Written a moment ago and not on the replica yet (the list came from the primary).
        token = AccessToken.objects.using(PRIMARY).filter(pk=ids[0]).first()
    if token is None or token.token_checksum != checksum or token.is_expired() or token.user_id is None:
        return None
    if token.expires is not None:  # an answer stored from this read is not served past it
        pages.changes_in(token.expires.timestamp() - time.time())
    user = objects.get(User, token.user_id)
    if user is None or not user.is_active or user.is_suspended:
        return None
    return Bearer(
        user=user, scopes=frozenset(token.scope.split()), token_id=token.pk, application_id=token.application_id
    )


def _token_saved(sender: Any, instance: AccessToken, using: str, **kwargs: Any) -> None:
    idlists.invalidate([token_list(instance.token_checksum)], using=using)


def connect() -> None:
    objects.register(AccessToken)
    post_save.connect(_token_saved, sender=AccessToken, dispatch_uid="api.token.save")
    post_delete.connect(_token_saved, sender=AccessToken, dispatch_uid="api.token.delete")
