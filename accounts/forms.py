from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from accounts import services, timezones
from accounts.backends import refused_as_suspended
from accounts.models import User
from accounts.usernames import USERNAME_MAX_LENGTH

WEBSITE_INVALID = "Enter a web address starting with http:// or https://."


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Only used to reach you about your account.")
    # Filled by static/js/timezone.js with the browser's zone; only a guess, never an error
    # (accounts.services.user_sign_up falls back to UTC).
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-guess": "zone"}))

    class Meta:
        model = User
        fields = ("username", "email")
        help_texts = {"username": "3–30 letters, digits or underscores. Your page will be at /yourname/."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "maxlength": USERNAME_MAX_LENGTH, "autocapitalize": "none"}
        )


class LogInForm(AuthenticationForm):
    """Django's log-in form, which tells a suspended person why they cannot log in — once they
    have given the right password, and only then (accounts/backends.py)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "suspended": "This account has been suspended by Pownce's moderators, so it can't log in.",
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and refused_as_suspended(self.request):
                raise ValidationError(self.error_messages["suspended"], code="suspended") from None
            raise


class WebsiteField(forms.URLField):
    # Django's URL validator also accepts ftp:// and ftps://; a profile link may only be a web page.
    default_validators = [URLValidator(schemes=["http", "https"], message=WEBSITE_INVALID)]


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False, label="Name")
    bio = forms.CharField(max_length=280, required=False, label="About you", widget=forms.Textarea(attrs={"rows": 3}))
    location = forms.CharField(max_length=80, required=False)
    website = WebsiteField(
        max_length=200,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": WEBSITE_INVALID},
        help_text="An http:// or https:// address.",
    )
    photo = forms.FileField(
        required=False,
        help_text="JPEG, PNG, GIF or WebP, up to 5 MB. It is cropped to a square.",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_photo = forms.BooleanField(required=False, label="Remove my photo")
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=lambda: [(name, name) for name in timezones.zone_names()],
        help_text="Event times are shown in it, and the times you give events mean it.",
    )

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "time_zone" not in data:
            # A form sent without the zone (a page from before it was offered) keeps the zone.
            data = data.copy()
            data["time_zone"] = (kwargs.get("initial") or {}).get("time_zone", timezones.DEFAULT)
        super().__init__(data, *args, **kwargs)

    def clean_photo(self):
        # Checked here as well as when stored, so a bad photo is reported together with any
        # other mistake in the form instead of only after those are fixed.
        photo = self.cleaned_data["photo"]
        if photo:
            services.photo_validate(photo)
        return photo


class FriendSetForm(forms.Form):
    name = forms.CharField(max_length=60, label="Set name")
    members = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Only your friends can be in a set; someone you picked is no longer your friend."
        },
    )

    def __init__(self, *args, friends: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        # The label is the friend, so the member picker can show their photo and name.
        self.fields["members"].choices = [(friend.pk, friend) for friend in friends]
