"""Writes for people: sign-up, log-in limits, profiles, photos, the fan/friend graph and sets.

Every change to who is whose fan, friend or set member goes through here, so the rules hold in
one place: nobody adds someone who blocked them, a set only ever holds its owner's friends, and
ending a friendship also takes each side out of the other's sets. Rows are saved and deleted
one by one (never ``QuerySet.update()``) so that model signals fire for every change.
"""

from __future__ import annotations

import io
import logging
import secrets
import unicodedata

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts import suggestions, tasks, timezones
from accounts.models import Block, Fanship, FriendSet, User
from accounts.selectors import are_friends, friend_ids_all, is_blocked
from pownce import ratelimit

logger = logging.getLogger("pownce.accounts")

# --- Sign-up and log-in ------------------------------------------------------------------------

LOGIN_WINDOW_SECONDS = 15 * 60
# Failed log-ins allowed per window. One address guessing one account is stopped soon; the
# account's own ceiling is much looser, so someone guessing from elsewhere cannot lock its
# owner out (the owner's address has counts of its own) unless they use many addresses.
LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT = 10
LOGIN_FAILURES_PER_ADDRESS = 30
LOGIN_FAILURES_PER_ACCOUNT = 100
SIGNUPS_PER_IP = 10
SIGNUP_WINDOW_SECONDS = 60 * 60

LOGIN_LIMITED = "Too many log-in attempts. Please wait a few minutes, then try again."
ACCOUNT_LIMITED = (
    "This account has had too many failed log-in attempts from many places, so logging in to it is"
    " paused for a few minutes. If that wasn't you, your password held: nobody got in."
)


def login_name_key(username: str) -> str:
    """The name a log-in is counted under: what the log-in form will look up, so look-alike
    spellings of one account (fullwidth ``ｃarol``, the roman numeral ``ⅽarol``, ``CAROL``) share
    one count. Django's form NFKC-normalizes the name and the lookup ignores case."""
    folded = unicodedata.normalize("NFKC", username).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def _login_counts(ip: str, username: str) -> list[tuple[str, str, int]]:
    name = login_name_key(username)
    return [
        ("login-ip-account", f"{ip} {name}", LOGIN_FAILURES_PER_ADDRESS_AND_ACCOUNT),
        ("login-ip", ip, LOGIN_FAILURES_PER_ADDRESS),
        ("login-account", name, LOGIN_FAILURES_PER_ACCOUNT),
    ]


def login_attempt_refusal(*, ip: str, username: str) -> str:
    """Count one log-in attempt as a failure in advance; "" while it may go ahead, else what to
    tell the visitor. :func:`login_succeeded` takes the count back, so only failures count.

    Counting first (not after the password check) keeps the limit exact under concurrent
    attempts: each one's increment is atomic in Redis. The limits fail closed: without Redis,
    :class:`pownce.redis_cache.RedisUnavailable` propagates (a 503), guessing is not allowed."""
    refusal = ""
    for scope, ident, limit in _login_counts(ip, username):
        allowed = ratelimit.hit(scope, ident, limit=limit, window=LOGIN_WINDOW_SECONDS, fail_closed=True)
        if not allowed and not refusal:
            refusal = ACCOUNT_LIMITED if scope == "login-account" else LOGIN_LIMITED
    return refusal


def login_succeeded(*, ip: str, username: str) -> int:
    """Take back the attempt :func:`login_attempt_refusal` counted; returns how many failed
    attempts on the account the current window still holds, to tell its owner."""
    for scope, ident, _limit in _login_counts(ip, username):
        ratelimit.undo(scope, ident, window=LOGIN_WINDOW_SECONDS)
    return ratelimit.count("login-account", login_name_key(username), window=LOGIN_WINDOW_SECONDS)


def signup_attempt_allowed(*, ip: str) -> bool:
    return ratelimit.hit("signup-ip", ip, limit=SIGNUPS_PER_IP, window=SIGNUP_WINDOW_SECONDS, fail_closed=True)


def user_sign_up(*, username: str, email: str, password: str, time_zone: str = timezones.DEFAULT) -> User:
    """Create an account. The username must be free in any letter case. ``time_zone`` is the
    browser's guess: a name this server does not know starts the person in UTC instead of
    refusing the sign-up (they can change it in settings)."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken."})
    return User.objects.create_user(
        username=username, email=email, password=password, time_zone=timezones.zone_or_default(time_zone)
    )


PROFILE_FIELDS = ["display_name", "bio", "location", "website"]


def profile_update(
    user: User, *, display_name: str, bio: str, location: str, website: str, time_zone: str | None = None
) -> User:
    """Save the profile's fields (and the time zone, when given); ValidationError by field."""
    user.display_name = display_name
    user.bio = bio
    user.location = location
    user.website = website
    fields = list(PROFILE_FIELDS)
    if time_zone is not None:
        user.time_zone = time_zone
        fields.append("time_zone")
    # Only the fields changed here are checked: an account made before today's username rules
    # must still be able to edit its profile.
    others = [field.name for field in User._meta.fields if field.name not in fields]
    user.full_clean(validate_unique=False, exclude=others)
    user.save(update_fields=fields)
    return user


def audience_remember(user: User, choice: str) -> None:
    """Keep ``choice`` as the audience ``user``'s note form offers next (``User.last_audience``).
    Written only when it changes; the save invalidates the cached user (and so the pages that
    show the form) like any other change of the row."""
    if user.last_audience != choice:
        user.last_audience = choice
        user.save(update_fields=["last_audience"])


# --- Photos ------------------------------------------------------------------------------------

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Pixels are what decoding costs: a tiny file can claim to be 50000×50000.
PHOTO_MAX_PIXELS = 40_000_000
# The stored "original" is re-encoded too, no larger than this on its longer side.
PHOTO_ORIGINAL_MAX_SIDE = 1600
PHOTO_THUMBNAIL_SIDES = {"small": 48, "medium": 128}
PHOTO_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


def _photo_decode(upload: UploadedFile) -> Image.Image:
    """Read an upload as a still RGB image, or raise a ValidationError that says why not."""
    if upload.size is not None and upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(
            f"That photo is {upload.size / 1024 / 1024:.1f} MB; photos can be at most "
            f"{PHOTO_MAX_BYTES // 1024 // 1024} MB.",
            code="too_large",
        )
    not_an_image = ValidationError(
        "That file isn't a photo we can read. Please upload a JPEG, PNG, GIF or WebP image.", code="not_image"
    )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise not_an_image
            width, height = probe.size
            if width * height > PHOTO_MAX_PIXELS:
                raise ValidationError("That photo has too many pixels. Please upload a smaller one.", code="too_big")
            probe.verify()
        # verify() leaves the image unusable: open it again to decode the pixels.
        upload.seek(0)
        with Image.open(upload) as image:
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            return _flatten(image)
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise not_an_image from None


def photo_validate(upload: UploadedFile) -> None:
    """Raise a ValidationError saying why ``upload`` can't be a photo; store nothing."""
    _photo_decode(upload)
    upload.seek(0)


def _flatten(image: Image.Image) -> Image.Image:
    """An RGB copy, transparent parts on white (JPEG has no transparency)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    # Only decoded pixels are written: no metadata, comments or trailing bytes of the upload
    # survive, so a file that is also HTML or a script (a polyglot) comes out as a plain JPEG.
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def user_photo_set(user: User, upload: UploadedFile) -> User:
    """Replace the user's photo with a re-encoded copy of ``upload`` and make its thumbnails.

    Raises ValidationError (nothing is stored) if the upload is not an acceptable image.
    """
    image = _photo_decode(upload)
    image.thumbnail((PHOTO_ORIGINAL_MAX_SIDE, PHOTO_ORIGINAL_MAX_SIDE), Image.Resampling.LANCZOS)
    old_names = [f.name for f in (user.photo, user.photo_small, user.photo_medium) if f.name]
    # A new random name per upload: photo URLs never change meaning, so they can be cached forever.
    user.photo.save(f"{user.pk}-{secrets.token_hex(8)}.jpg", ContentFile(_jpeg_bytes(image, 88)), save=False)
    # Until the task has made the new thumbnails, pages show the new photo itself.
    user.photo_small = user.photo_medium = ""
    user.save(update_fields=["photo", "photo_small", "photo_medium"])
    tasks.user_photo_thumbnails_make.enqueue(user.pk)
    user.refresh_from_db(fields=["photo", "photo_small", "photo_medium"])
    transaction.on_commit(lambda: _photo_files_delete(old_names))
    return user


def photo_thumbnails_make(user_id: int) -> None:
    """Make the small and medium square thumbnails of a user's stored photo.

    Takes an id and reads everything from storage, so it runs in the task worker
    (``accounts.tasks``). Idempotent: a photo whose thumbnails exist is left alone (a new photo
    clears them).
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.photo.name or (user.photo_small.name and user.photo_medium.name):
        return
    with default_storage.open(user.photo.name, "rb") as original, Image.open(original) as image:
        image = image.convert("RGB")
        base = user.photo.name.rsplit("/", 1)[-1]
        for size, side in PHOTO_THUMBNAIL_SIDES.items():
            square = ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS)
            field = getattr(user, f"photo_{size}")
            field.save(base, ContentFile(_jpeg_bytes(square, 85)), save=False)
    user.save(update_fields=["photo_small", "photo_medium"])


def user_photo_remove(user: User) -> User:
    old_names = [f.name for f in (user.photo, user.photo_small, user.photo_medium) if f.name]
    user.photo = user.photo_small = user.photo_medium = ""
    user.save(update_fields=["photo", "photo_small", "photo_medium"])
    transaction.on_commit(lambda: _photo_files_delete(old_names))
    return user


def _photo_files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete old photo file %s", name)


# --- Fans and friends --------------------------------------------------------------------------


def friend_add(user: User, other: User) -> bool:
    """``user`` adds ``other`` as a friend: ``user`` becomes ``other``'s fan. If ``other`` had
    already added ``user``, this accepts their request and the two are friends.

    Returns True when the two are friends afterwards. Raises ValidationError if either has
    blocked the other, or if ``user`` is ``other``.
    """
    if user.pk == other.pk:
        raise ValidationError("You can't add yourself as a friend.")
    if Block.objects.filter(blocker=user, blocked=other).exists():
        raise ValidationError(f"You have blocked {other.username}. Unblock them first to add them as a friend.")
    if is_blocked(user, other):
        raise ValidationError(f"You can't add {other.username} as a friend: they aren't accepting requests from you.")
    with transaction.atomic():
        _, created = Fanship.objects.get_or_create(fan=user, idol=other)
        if created:
            # Both people's friends of friends may have changed; the other's recent notes come
            # into the user's inbox by the Fanship signal (notes/delivery.py, the backfill).
            suggestions.refresh_people([user.pk, other.pk])
        return are_friends(user, other)


def friend_request_ignore(user: User, fan: User) -> None:
    """Take ``fan``'s friend request out of ``user``'s pending list; they stay ``user``'s fan."""
    fanship = Fanship.objects.filter(fan=fan, idol=user).first()
    if fanship is not None and not fanship.ignored:
        fanship.ignored = True
        fanship.save(update_fields=["ignored"])


def friend_remove(user: User, other: User) -> None:
    """``user`` stops being ``other``'s fan (or friend).

    If they were friends, ``other`` stays ``user``'s fan, as on Pownce — but not as a pending
    request again: ``user`` has just said no. Each leaves the other's sets, which only ever
    hold friends.
    """
    with transaction.atomic():
        for fanship in Fanship.objects.filter(fan=user, idol=other):
            fanship.delete()
            suggestions.refresh_people([user.pk, other.pk])
        back = Fanship.objects.filter(fan=other, idol=user).first()
        if back is not None and not back.ignored:
            back.ignored = True
            back.save(update_fields=["ignored"])
        _leave_each_others_sets(user, other)


def block(user: User, other: User) -> None:
    """``user`` blocks ``other``: fanships both ways end, each leaves the other's sets, and
    ``other`` can no longer add ``user`` (nor see ``user``'s non-public notes or send notes)."""
    if user.pk == other.pk:
        raise ValidationError("You can't block yourself.")
    with transaction.atomic():
        Block.objects.get_or_create(blocker=user, blocked=other)
        fanships = list(Fanship.objects.filter(Q(fan=user, idol=other) | Q(fan=other, idol=user)))
        for fanship in fanships:
            fanship.delete()
        if fanships:
            suggestions.refresh_people([user.pk, other.pk])
        _leave_each_others_sets(user, other)


def unblock(user: User, other: User) -> None:
    """Lift ``user``'s block of ``other``. Fanships ended by the block do not come back."""
    for row in Block.objects.filter(blocker=user, blocked=other):
        row.delete()


def _leave_each_others_sets(a: User, b: User) -> None:
    for friend_set in FriendSet.objects.filter(owner=a, members=b):
        friend_set.members.remove(b)
    for friend_set in FriendSet.objects.filter(owner=b, members=a):
        friend_set.members.remove(a)


# --- Sets --------------------------------------------------------------------------------------

FRIEND_SET_NAME_MAX = FriendSet._meta.get_field("name").max_length


def _friend_set_name_clean(owner: User, name: str, *, exclude_pk: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the set a name."})
    if len(name) > FRIEND_SET_NAME_MAX:
        raise ValidationError({"name": f"Set names can be at most {FRIEND_SET_NAME_MAX} characters."})
    taken = FriendSet.objects.filter(owner=owner, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"name": f"You already have a set called “{name}”."})
    return name


def _members_check(owner: User, member_ids: list[int]) -> list[int]:
    member_ids = sorted(set(member_ids))
    friends = set(friend_ids_all(owner))
    strangers = [pk for pk in member_ids if pk not in friends]
    if strangers:
        names = ", ".join(User.objects.filter(pk__in=strangers).order_by("username").values_list("username", flat=True))
        raise ValidationError(
            {"members": f"Only your friends can be in a set; not your friend: {names or 'unknown people'}."}
        )
    return member_ids


def friend_set_create(owner: User, *, name: str, member_ids: list[int] = ()) -> FriendSet:
    name = _friend_set_name_clean(owner, name)
    member_ids = _members_check(owner, list(member_ids))
    with transaction.atomic():
        friend_set = FriendSet.objects.create(owner=owner, name=name)
        friend_set.members.set(member_ids)
    return friend_set


def friend_set_update(friend_set: FriendSet, *, name: str, member_ids: list[int]) -> FriendSet:
    """Rename a set and replace its members (all of whom must be the owner's friends)."""
    owner = friend_set.owner
    errors: dict[str, list[str]] = {}
    try:
        name = _friend_set_name_clean(owner, name, exclude_pk=friend_set.pk)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        member_ids = _members_check(owner, list(member_ids))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if friend_set.name != name:
            friend_set.name = name
            friend_set.save(update_fields=["name"])
        friend_set.members.set(member_ids)
    return friend_set


def friend_set_delete(friend_set: FriendSet) -> None:
    friend_set.delete()
