"""People, and how they are connected: fans, friends, blocks and sets.

Pownce's graph: adding someone makes you their **fan** (a ``Fanship`` from you to them). When
they add you back, the two fanships make you **friends**. A fanship the other side has not
answered is a pending friend request, which they can accept (add back) or ignore.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import URLValidator
from django.db import models
from django.templatetags.static import static
from django.urls import reverse

from accounts.timezones import DEFAULT as DEFAULT_TIME_ZONE
from accounts.timezones import validate_time_zone
from accounts.usernames import USERNAME_MAX_LENGTH, validate_username

DEFAULT_PHOTO = "img/avatar.svg"


class PownceUserManager(UserManager):
    def get_by_natural_key(self, username):
        # Usernames are unique regardless of case, so "Alice" logs in as "alice".
        user = self.filter(username__iexact=username).order_by("pk").first()
        if user is None:
            raise self.model.DoesNotExist(f"no user named {username!r}")
        return user


class User(AbstractUser):
    username = models.CharField(
        "username",
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[validate_username],
        help_text="3–30 letters, digits or underscores.",
        error_messages={"unique": "That username is taken."},
    )
    display_name = models.CharField(max_length=80, blank=True)
    bio = models.CharField(max_length=280, blank=True)
    location = models.CharField(max_length=80, blank=True)
    website = models.URLField(max_length=200, blank=True, validators=[URLValidator(schemes=["http", "https"])])
    photo = models.ImageField(upload_to="photos/original/", blank=True)
    photo_small = models.ImageField(upload_to="photos/small/", blank=True)
    photo_medium = models.ImageField(upload_to="photos/medium/", blank=True)
    # Set by moderators: a suspended person cannot log in, and their notes and profile are gone
    # for every reader (the streams drop notes whose author is suspended when they load authors).
    is_suspended = models.BooleanField("suspended", default=False, db_index=True)
    # The "Send to" the person's note form chose last ("public", "friends", "set:<id>",
    # "friend:<id>"; notes/forms.py), which the form offers again: after a private note the
    # next one is not silently public. Part of the user row, so of every cached page's identity
    # (cache/pages.py): a page showing the form changes with it.
    last_audience = models.CharField(max_length=40, blank=True, default="")
    # An IANA name (accounts/timezones.py): event times are entered and shown in it. On the user
    # row, so a change reaches the identity of every cached page of this person.
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone])

    objects = PownceUserManager()

    class Meta(AbstractUser.Meta):
        permissions = [("suspend_user", "Can suspend and unsuspend people")]

    def __str__(self) -> str:
        return self.username

    def get_absolute_url(self) -> str:
        # The profile page is /<username>/ (served by the notes app, last in the URLconf).
        return f"/{self.username}/"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def website_link(self) -> str:
        """The website if it is safe to put in an href (http/https only), else ""."""
        website = self.website.strip()
        return website if website.lower().startswith(("http://", "https://")) else ""

    def _photo_url(self, field: models.ImageField, size: str) -> str:
        if not field.name and self.photo.name:
            # The thumbnails are made by a task: until then, the photo itself.
            field, size = self.photo, "original"
        if not field.name:
            return static(DEFAULT_PHOTO)
        return reverse("photo", kwargs={"size": size, "name": field.name.rsplit("/", 1)[-1]})

    @property
    def photo_small_url(self) -> str:
        return self._photo_url(self.photo_small, "small")

    @property
    def photo_medium_url(self) -> str:
        return self._photo_url(self.photo_medium, "medium")


class Fanship(models.Model):
    """``fan`` added ``idol`` as a friend. Mutual fanships make two people friends."""

    fan = models.ForeignKey(User, on_delete=models.CASCADE, related_name="fanships_out")
    idol = models.ForeignKey(User, on_delete=models.CASCADE, related_name="fanships_in")
    # The idol chose "ignore" on this request: it stays a fanship but leaves the pending list.
    ignored = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fan", "idol"], name="fanship_unique"),
            models.CheckConstraint(condition=~models.Q(fan=models.F("idol")), name="fanship_not_self"),
        ]
        indexes = [models.Index(fields=["idol", "fan"], name="fanship_idol_fan")]

    def __str__(self) -> str:
        return f"{self.fan} → {self.idol}"


class Block(models.Model):
    """``blocker`` blocked ``blocked``: no non-public notes, no notes sent, no friend requests."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_out")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_in")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker} blocks {self.blocked}"


class FriendSet(models.Model):
    """A named group of the owner's friends, used as a note's audience."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="friend_sets")
    name = models.CharField(max_length=60)
    members = models.ManyToManyField(User, related_name="in_friend_sets", blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="friendset_owner_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.owner}: {self.name}"


class UserCounts(models.Model):
    """A person's denormalized counts, in a small row of their own.

    Kept apart from ``User`` so a new fan does not invalidate the user object every page reads.
    ``friends``, ``fans`` and ``fan_of`` follow the fanship signals (accounts/counts.py),
    ``notes`` follows the note signals (notes/counts.py); ``manage.py reconcile_counts``
    recomputes all of them from the source tables.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="counts")
    notes = models.IntegerField(default=0)
    # What a visitor is told: counting every note would tell them how many they may not see.
    public_notes = models.IntegerField(default=0)
    friends = models.IntegerField(default=0)
    fans = models.IntegerField(default=0)
    fan_of = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "user counts"

    def __str__(self) -> str:
        return f"counts of user {self.user_id}"


class SearchTerm(models.Model):
    """``person`` is found by searches for prefixes of ``term``: a normalized word or whole name
    of theirs (accounts/search.py says which, and keeps these rows)."""

    term = models.CharField(max_length=80)
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

    class Meta:
        # The one index a search reads: a range of terms, in (term, person) order.
        constraints = [models.UniqueConstraint(fields=["term", "person"], name="searchterm_term_person")]

    def __str__(self) -> str:
        return f"{self.term!r} → user {self.person_id}"


class Suggestion(models.Model):
    """``person`` is suggested to ``for_user`` — or, with ``for_user`` NULL, to everyone (the
    popular people). Rows are written by the task worker only (accounts/suggestions.py), a
    person's whole list at once, and read through the cache."""

    class Reason(models.TextChoices):
        FRIENDS = "friends", "Friends of your friends"
        SAME_NOTES = "same_notes", "Starred or replied to the same notes as you"
        POPULAR = "popular", "Popular on Pownce"

    # Indexed by the (for_user, rank) index below, which a person's list is read by.
    for_user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    # What the reason counts: mutual friends, notes in common, or everyone who added them.
    weight = models.IntegerField(default=0)
    rank = models.PositiveSmallIntegerField()
    computed = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["for_user", "rank"], name="suggestion_for_user_rank")]

    def __str__(self) -> str:
        return f"{self.person_id} for {self.for_user_id or 'everyone'} ({self.reason})"
