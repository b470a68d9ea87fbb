"""What an app may ask for: the scopes it registered with, as Mastodon limits them.

An app names its scopes once, when it registers (``POST /api/v1/apps``, default ``read``;
stored in :class:`pownce.api.models.AppScopes`). From then on:

1. an authorization request (``GET /oauth/authorize``, and the consent form posted back) for
   any scope outside them is refused with ``invalid_scope``: the browser goes back to the
   app's redirect URI with ``error=invalid_scope`` and a description naming what the app
   registered, as RFC 6749 §4.1.2.1 says (an unknown app or redirect URI gets the error page
   instead, never a redirect);
2. a request without ``scope`` asks for the default, ``read`` — refused the same way by an app
   that did not register it, as Mastodon does;
3. the consent page lists what was asked, which is then within what was registered, and the
   token carries exactly that (a refresh may narrow it, never widen it: oauthlib's check).

"Within" is the rule the API's endpoints use (:func:`pownce.api.http.scope_allows`): an
umbrella scope covers its granular ones (``read`` covers ``read:statuses``), and ``follow``
covers ``read:follows``, ``write:follows``, ``read:blocks`` and ``write:blocks``. So an app
registered for ``read`` may ask for ``read:statuses``, never for ``write:media``.

django-oauth-toolkit asks :class:`RegisteredScopes` (``SCOPES_BACKEND_CLASS``) which scopes
an application may have, and checks the request against that; :class:`ScopeValidator`
(``OAUTH2_VALIDATOR_CLASS``) only words the refusal.

Not covered: tokens issued before an app's scopes were recorded keep what they were granted
(the migration gives apps registered before then every umbrella scope, which they could ask
for at the time).
"""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from oauthlib.oauth2.rfc6749.errors import InvalidScopeError

from pownce.api.http import scope_allows

DEFAULT = "read"


def normalized(scopes: str) -> str:
    """Scopes as stored and answered: space-separated, each once, in the order given."""
    return " ".join(dict.fromkeys(scopes.split()))


def registered(application) -> list[str]:
    """The scopes ``application`` registered with (the default for an app without a record)."""
    from pownce.api.models import AppScopes

    try:
        return application.registered_scopes.scopes.split()
    except AppScopes.DoesNotExist:
        return DEFAULT.split()


class RegisteredScopes(SettingsScopes):
    """The toolkit's scopes backend: every scope the site knows, but for an application only
    those within the ones it registered."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        known = super().get_available_scopes(application, request, *args, **kwargs)
        if application is None:  # the server's metadata: everything offered
            return known
        own = frozenset(registered(application))
        return [scope for scope in known if scope_allows(own, scope)]


class ScopeValidator(OAuth2Validator):
    """The toolkit's validator, with a refusal that says what the app registered."""

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        if super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return True
        description = (
            f"The app registered for the scopes {' '.join(registered(client))} "
            f"and asked for {' '.join(scopes)}: ask only for scopes within those it registered."
        )
        raise InvalidScopeError(description=description, request=request)
