"""OAuth 2 around django-oauth-toolkit: registering apps, the consent page, and the settings
page where people see and take back the apps that can use their account.

The token and revoke endpoints are the toolkit's own (``/oauth/token``, ``/oauth/revoke``).
Authorization code is the only grant an app registered here gets; PKCE is required of public
clients (no secret), and optional for confidential ones, as Mastodon's clients send none.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from oauth2_provider.models import AccessToken, Application
from oauth2_provider.views import AuthorizationView

from pownce.api import scopes, services
from pownce.api.http import Answer, endpoint, params


def pkce_required(client_id: str) -> bool:
    app = Application.objects.filter(client_id=client_id).only("client_type").first()
    return app is None or app.client_type == Application.CLIENT_PUBLIC


def _spaced(value) -> str:
    """A list parameter as Mastodon takes it: space-separated, or a JSON array (``scopes``,
    ``redirect_uris``)."""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value or "")


@endpoint()
def apps_create(request: HttpRequest, bearer) -> Answer:
    """``POST /api/v1/apps``: the app, its secret (shown this once) and the scopes it registered
    with, the most its tokens can ever carry (pownce/api/scopes.py)."""
    given = params(request)
    app, secret = services.app_register(
        name=str(given.get("client_name", "")),
        redirect_uris=_spaced(given.get("redirect_uris")),
        scopes=_spaced(given.get("scopes")),
        website=str(given.get("website", "")),
    )
    uris = app.redirect_uris.split()
    return Answer(
        {
            "id": str(app.pk),
            "name": app.name,
            "website": str(given.get("website") or "") or None,
            "scopes": scopes.registered(app),
            "redirect_uri": "\n".join(uris),
            "redirect_uris": uris,
            "client_id": app.client_id,
            "client_secret": secret,
            "client_secret_expires_at": 0,
            "vapid_key": "",
        }
    )


class ConsentView(AuthorizationView):
    """The consent page ("Let this app use your Pownce account?") in the site's look."""

    template_name = "api/authorize.html"


@login_required
def authorized_apps(request: HttpRequest) -> HttpResponse:
    """Settings: "Apps that can use your account", each with what it may do and a way to stop it."""
    apps: dict[int, dict] = {}
    tokens = AccessToken.objects.filter(user=request.user).select_related("application").order_by("-created")
    for token in tokens:
        if token.application_id is None or token.is_expired():
            continue
        entry = apps.setdefault(
            token.application_id, {"application": token.application, "scopes": set(), "since": token.created}
        )
        entry["scopes"].update(token.scope.split())
        entry["since"] = min(entry["since"], token.created)
    listed = [{**entry, "scopes": sorted(entry["scopes"])} for entry in apps.values()]
    return render(request, "api/authorized_apps.html", {"apps": listed})


@login_required
@require_POST
def authorized_app_revoke(request: HttpRequest, application_id: int) -> HttpResponse:
    if services.app_access_revoke(request.user, application_id):
        messages.success(request, "That app can no longer use your account.")
    return redirect("api_authorized_apps")


@endpoint()
def server_metadata(request: HttpRequest, bearer) -> dict:
    """RFC 8414 metadata (``/.well-known/oauth-authorization-server``), which Mastodon's clients
    read to find the endpoints and learn that only the authorization-code grant is offered."""
    root = request.build_absolute_uri("/").rstrip("/")
    return {
        "issuer": root + "/",
        "authorization_endpoint": root + "/oauth/authorize",
        "token_endpoint": root + "/oauth/token",
        "revocation_endpoint": root + "/oauth/revoke",
        "app_registration_endpoint": root + "/api/v1/apps",
        "scopes_supported": list(settings.OAUTH2_PROVIDER["SCOPES"]),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "service_documentation": root + "/",
    }
