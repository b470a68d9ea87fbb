"""Forms only read what people typed; the rules a note must follow live in notes.services."""

from __future__ import annotations

import re
import uuid

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts.models import FriendSet, User
from accounts.selectors import AudienceOptions, audience_options
from notes.models import Note

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def audience_marker(choice: str, label: str) -> str:
    """What the note form says next to "Send it" about who will read the note, for the "Send
    to" ``choice`` whose label is ``label``."""
    kind, _, _ = (choice or "").partition(":")
    if kind == Note.Audience.PUBLIC:
        return "Public: anyone can see it"
    if kind == Note.Audience.FRIENDS:
        return "Only your friends"
    if kind == Note.Audience.SET:
        return f"Only your set {label}"
    if kind == Note.Audience.FRIEND:
        return f"Private to {label.rsplit(' (@', 1)[0]}"
    return "Choose who it goes to"


class AudienceSelect(forms.Select):
    """The "Send to" select; each option carries its marker (``data-marker``) for the script
    that keeps the marker next to "Send it" true when the choice changes (static/js/notes.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["data-marker"] = audience_marker(str(value), str(label))
        return option


class AudienceMixin:
    """An "audience" select: the public, all friends, one of the author's sets, or one friend.

    Set and friend choices carry their id ("set:12", "friend:34"); ``audience_kwargs()`` turns
    the choice into the ``audience=``, ``friend_set=`` and ``recipient=`` of the services.
    """

    def _audience_field(
        self,
        author: User,
        options: AudienceOptions | None = None,
        *,
        remembered: str = "",
        widget: forms.Select | None = None,
    ) -> forms.ChoiceField:
        """With ``remembered`` (the author's last choice), that choice is offered first if it
        still exists; if it does not (the set was deleted, the friend is no longer one), no
        audience is chosen and the form asks for one, rather than falling back to the public."""
        options = options or audience_options(author)
        sets = [(f"set:{s.pk}", s.name) for s in options.sets]
        friends = [(f"friend:{u.pk}", f"{u.name} (@{u.username})") for u in options.friends]
        choices = [(Note.Audience.PUBLIC, "The public"), (Note.Audience.FRIENDS, "All my friends")]
        if sets:
            choices.append(("A set", sets))
        if friends:
            choices.append(("One friend (private)", friends))
        initial = Note.Audience.PUBLIC
        if remembered:
            if remembered in {value for value, _ in [*choices[:2], *sets, *friends]}:
                initial = remembered
            else:
                choices.insert(0, ("", "Choose who it goes to…"))
                initial = ""
        return forms.ChoiceField(
            label="Send to",
            choices=choices,
            initial=initial,
            widget=widget or forms.Select(),
            error_messages={"required": "Choose who the note goes to."},
        )

    def audience_kwargs(self) -> dict:
        choice = self.cleaned_data["audience"]
        audience, _, pk = choice.partition(":")
        if audience == Note.Audience.SET:
            return {"audience": audience, "friend_set": FriendSet.objects.filter(pk=pk).first()}
        if audience == Note.Audience.FRIEND:
            return {"audience": audience, "recipient": User.objects.filter(pk=pk).first()}
        return {"audience": audience}

    @property
    def audience_marker(self) -> str:
        """The marker for the choice the form shows now (the one sent back, or the initial one)."""
        choice = str(self["audience"].value() or "")
        labels = dict(_flat(self.fields["audience"].choices))
        return audience_marker(choice, str(labels.get(choice, "")))

    @property
    def audience_kind(self) -> str:
        """The kind of audience the form shows now (``public``, ``set``…; "" for none), for styles."""
        kind = str(self["audience"].value() or "").partition(":")[0]
        return kind if kind in Note.Audience.values else ""


def _flat(choices) -> list[tuple]:
    flat = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            flat.extend(label)
        else:
            flat.append((value, label))
    return flat


class NoteForm(AudienceMixin, forms.Form):
    kind = forms.ChoiceField(choices=Note.Kind.choices, initial=Note.Kind.MESSAGE, widget=forms.RadioSelect)
    body = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    url = forms.CharField(label="Link", required=False, max_length=2000, widget=forms.URLInput)
    file = forms.FileField(label="File", required=False)
    event_name = forms.CharField(label="Event", required=False, max_length=120)
    event_place = forms.CharField(label="Where", required=False, max_length=200)
    event_start = forms.DateTimeField(
        label="When",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    # A fresh key each time the form is shown (rendered outside the reusable composer HTML, in
    # notes/_composer.html); sent back with the note, it makes a retried send harmless.
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, author: User, audience: AudienceOptions | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The marker next to "Send it" (notes/_composer_fields.html) describes the choice.
        select = AudienceSelect(attrs={"aria-describedby": "audience-marker"})
        self.fields["audience"] = self._audience_field(author, audience, remembered=author.last_audience, widget=select)
        # The date and time typed mean the author's wall clock (the zone the request activated,
        # accounts/timezones.py): the field turns them into the true instant.
        self.fields["event_start"].label = f"When ({timezone.get_current_timezone_name()})"
        if not self.is_bound:
            self.initial["idempotency_key"] = uuid.uuid4().hex
            # In the form's initial values, which key its reused HTML (notes/cards.py).
            self.initial.setdefault("audience", self.fields["audience"].initial)

    def clean_idempotency_key(self) -> str:
        # Only the form's own keys count; anything else sends the note without one.
        key = self.cleaned_data["idempotency_key"]
        return key if IDEMPOTENCY_KEY.fullmatch(key) else ""

    @property
    def max_upload_bytes(self) -> int:
        return settings.MAX_UPLOAD_BYTES

    @property
    def max_upload_mb(self) -> str:
        return f"{settings.MAX_UPLOAD_BYTES / (1024 * 1024):g}"

    def note_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "body": data["body"],
            "url": data["url"],
            "upload": data["file"],
            "event_name": data["event_name"],
            "event_place": data["event_place"],
            "event_start": data["event_start"],
            "idempotency_key": data["idempotency_key"],
            **self.audience_kwargs(),
        }


class ForwardForm(AudienceMixin, forms.Form):
    def __init__(self, *args, author: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"] = self._audience_field(author)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Reply", widget=forms.Textarea(attrs={"rows": 2}))


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this note?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500, "placeholder": "Spam, abuse, someone else's work…"}),
    )
