"""What the API keeps that the site has no need of: files uploaded ahead of their note, and the
scopes each app registered with.

**Media.** A Mastodon client uploads media first (``POST /api/v2/media``) and sends the status that uses
it afterwards. Pownce's file note is made in one go (``notes.services.note_create`` with the
upload), so the file waits here, owned by its uploader, until a status names it; it then becomes
the note's file and the waiting copy is deleted. Nobody but the uploader can see or use it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings


def waiting_path(media: MediaUpload, filename: str) -> str:
    token = secrets.token_hex(16)
    return f"api-media/{token[:2]}/{token}"


class MediaUpload(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(upload_to=waiting_path, max_length=200, blank=True)
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    description = models.CharField(max_length=1500, blank=True)
    # The note the file went into, once a status used it.
    note = models.ForeignKey("notes.Note", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"media #{self.pk} of user {self.owner_id}"


class AppScopes(models.Model):
    """The scopes an app registered with (``POST /api/v1/apps``, ``scopes``), space-separated:
    the most any of its tokens can carry (pownce/api/scopes.py). django-oauth-toolkit's
    ``Application`` has no place for them. An app without a row (made in the admin) has the
    default, ``read``, as a Mastodon app registered without ``scopes``."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="registered_scopes"
    )
    scopes = models.CharField(max_length=500, default="read")

    def __str__(self) -> str:
        return f"scopes of app #{self.application_id}: {self.scopes}"
