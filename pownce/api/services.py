"""Writes for the API: what a Mastodon request asks, turned into Pownce's own services.

Every write goes through ``notes.services`` or ``accounts.services``, which decide by
notes/visibility.py who may do what; nothing here grants more than the site's forms do.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accounts.models import User
from accounts.selectors import friend_set_of, user_by_username
from notes import services as notes_services
from notes.models import Note, Reply
from notes.services import clean_file_name
from pownce.api.models import AppScopes, MediaUpload
from pownce.api.scopes import DEFAULT as DEFAULT_SCOPES
from pownce.api.scopes import normalized

logger = logging.getLogger("pownce.api")

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,30})(?:@[\w.-]+)?")


class Unsupported(ValueError):
    """Asked for something Pownce cannot do (an unlisted note): refused, never widened."""


def app_register(*, name: str, redirect_uris: str, scopes: str, website: str) -> tuple[Application, str]:
    """Register a client (``POST /api/v1/apps``): a confidential authorization-code app, limited
    to ``scopes`` (``read`` when none are given; pownce/api/scopes.py). Returns it and its
    secret, which is shown this once (only a hash is stored)."""
    from oauthlib.common import generate_token

    secret = generate_token(48)
    app = Application(
        name=(name or "").strip()[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris.split()),
        client_secret=secret,
    )
    errors = {}
    if not app.name:
        errors["client_name"] = ["Give the app a name."]
    if not app.redirect_uris:
        errors["redirect_uris"] = ["Give at least one redirect URI."]
    scopes = normalized(scopes) or DEFAULT_SCOPES
    unknown = set(scopes.split()) - set(settings.OAUTH2_PROVIDER["SCOPES"])
    if unknown:
        errors["scopes"] = [f"Unknown scopes: {', '.join(sorted(unknown))}."]
    if errors:
        raise ValidationError(errors)
    app.full_clean(exclude=["client_secret", "user"])
    with transaction.atomic():
        app.save()
        AppScopes.objects.create(application=app, scopes=scopes)
    return app, secret


def app_access_revoke(user: User, application_id: int) -> int:
    """Take back every token ``user`` gave one app; returns how many access tokens went. The
    tokens' cached lookups go with their rows (pownce/api/tokens.py)."""
    with transaction.atomic():
        tokens = list(AccessToken.objects.filter(user=user, application_id=application_id))
        for refresh in RefreshToken.objects.filter(user=user, application_id=application_id, revoked__isnull=True):
            refresh.revoke()
        for token in tokens:
            token.revoke()
    return len(tokens)


def _audience(author: User, visibility: str, text: str, set_id) -> tuple[str, dict]:
    """Mastodon's visibility (and Pownce's set extension) as a note's audience."""
    if set_id not in (None, ""):
        friend_set = friend_set_of(author, int(set_id)) if str(set_id).isdigit() else None
        if friend_set is None:
            raise ValidationError({"pownce_set_id": ["Choose one of your sets."]})
        return Note.Audience.SET, {"friend_set": friend_set}
    if visibility in ("", "public"):
        return Note.Audience.PUBLIC, {}
    if visibility == "private":
        return Note.Audience.FRIENDS, {}
    if visibility == "direct":
        names = {name.lower() for name in MENTION.findall(text)}
        if len(names) != 1:
            raise ValidationError("A direct note goes to one friend: mention exactly one (@name).")
        recipient = user_by_username(names.pop())
        if recipient is None:
            raise ValidationError("A direct note goes to one of your friends.")
        return Note.Audience.FRIEND, {"recipient": recipient}
    if visibility == "unlisted":
        raise Unsupported("Pownce has no unlisted notes: choose public, private or direct.")
    raise ValidationError("Visibility is one of public, private or direct.")


def status_post(
    *,
    author: User,
    text: str,
    visibility: str = "",
    in_reply_to: str = "",
    media_ids: list[str] = (),
    set_id=None,
    link: str = "",
    idempotency_key: str = "",
) -> Note | Reply:
    """``POST /api/v1/statuses``: a reply when ``in_reply_to`` names a note (or a reply, which
    answers its note); otherwise a note — a file note when one media id is given, a link note
    with ``link`` (Pownce's extension), a message else — to the audience ``visibility`` says."""
    if in_reply_to:
        note_id = _note_id_replied_to(author, in_reply_to)
        return notes_services.reply_create(author=author, note_id=note_id, body=text)
    audience, addressed = _audience(author, visibility, text, set_id)
    key = hashlib.sha256(idempotency_key.encode()).hexdigest()[:64] if idempotency_key else ""
    if media_ids:
        if len(media_ids) > 1:
            raise ValidationError("A Pownce note holds one file: attach one media.")
        return _file_note(author, media_ids[0], text, audience, addressed, key)
    kind = Note.Kind.LINK if link else Note.Kind.MESSAGE
    return notes_services.note_create(
        author=author, kind=kind, audience=audience, body=text, url=link, idempotency_key=key, **addressed
    )


def _note_id_replied_to(author: User, in_reply_to: str) -> int:
    from pownce.api.selectors import reply_in_thread

    in_reply_to = str(in_reply_to)
    if in_reply_to.startswith("r") and in_reply_to[1:].isdigit():
        reply, _ = reply_in_thread(author, int(in_reply_to[1:]))
        return reply.note_id
    if not in_reply_to.isdigit():
        raise ValidationError("in_reply_to_id names no status.")
    return int(in_reply_to)


def _file_note(author: User, media_id: str, text: str, audience: str, addressed: dict, key: str) -> Note:
    media = MediaUpload.objects.filter(pk=int(media_id) if str(media_id).isdigit() else 0, owner=author).first()
    if media is None or media.note_id is not None or not media.file.name:
        raise ValidationError("That media is not yours to attach, or is already in a note.")
    stored = default_storage.open(media.file.name, "rb")
    try:
        upload = UploadedFile(stored, name=media.file_name, size=media.file_size)
        note = notes_services.note_create(
            author=author,
            kind=Note.Kind.FILE,
            audience=audience,
            body=text,
            upload=upload,
            idempotency_key=key,
            **addressed,
        )
    finally:
        stored.close()
    waiting = media.file.name
    media.note = note
    media.file = ""
    media.save(update_fields=["note", "file"])
    default_storage.delete(waiting)
    return note


def media_upload(*, owner: User, upload: UploadedFile, description: str = "") -> MediaUpload:
    """Keep an upload for the status that will use it (pownce/api/models.py), with the site's
    size limit; what the file is, and its preview, are decided when the note is made
    (notes/files.py), as for the site's form."""
    if upload is None:
        raise ValidationError({"file": ["Choose a file to upload."]})
    if upload.size > settings.MAX_UPLOAD_BYTES:
        limit_mb = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
        raise ValidationError({"file": [f"That file is too big: the limit is {limit_mb:g} MB."]})
    media = MediaUpload(owner=owner, file_name=clean_file_name(upload.name), file_size=upload.size)
    media.description = (description or "")[:1500]
    media.file.save(media.file_name, upload, save=False)
    media.save()
    return media


# How long an upload waits for the status that uses it before `media_sweep` may delete it.
UNUSED_MEDIA_KEPT = timedelta(hours=24)


def sweep_unused_media() -> None:
    """The task worker's hourly job (settings.WORKER_PERIODIC_JOBS): uploads no status used
    within ``UNUSED_MEDIA_KEPT`` go."""
    if count := media_sweep(older_than=timezone.now() - UNUSED_MEDIA_KEPT):
        logger.info("deleted %d API upload(s) no status used", count)


def media_sweep(*, older_than) -> int:
    """Delete uploads made before ``older_than`` that no status used, with their files. Run by
    every task worker each hour (pownce/management/commands/task_worker.py) and by
    `manage.py api_media_sweep`; two sweeps at once delete nothing twice."""
    swept = 0
    for media in MediaUpload.objects.filter(note__isnull=True, created__lt=older_than).only("pk", "file"):
        # The row first, and only while no status has it: of two sweeps only one deletes it,
        # and a status that took the upload in the meantime keeps it.
        deleted, _ = MediaUpload.objects.filter(pk=media.pk, note__isnull=True).delete()
        if deleted and media.file.name:
            default_storage.delete(media.file.name)
        swept += deleted
    return swept
