"""The API's URLs: Mastodon's paths (``/api/v1``, ``/api/v2``), OAuth and the settings page.
Included before the accounts and notes URLs; "api" and "oauth" are reserved usernames."""

import re

from django.urls import path, re_path
from oauth2_provider import views as oauth_views

from pownce.api import oauth
from pownce.api.http import methods
from pownce.api.views import accounts, instance, media, notifications, statuses, timelines


def api(route: str, view, **kwargs):
    """A Mastodon path, with or without a trailing slash (clients send both)."""
    pattern = re.sub(r"<str:(\w+)>", r"(?P<\1>[^/]+)", route)
    return re_path(rf"^{pattern}/?$", view, **kwargs)


urlpatterns = [
    api("api/v1/apps", methods(POST=oauth.apps_create), name="api_apps"),
    path(".well-known/oauth-authorization-server", methods(GET=oauth.server_metadata)),
    path("oauth/authorize", oauth.ConsentView.as_view(), name="oauth_authorize"),
    path("oauth/token", oauth_views.TokenView.as_view(), name="oauth_token"),
    path("oauth/revoke", oauth_views.RevokeTokenView.as_view(), name="oauth_revoke"),
    path("settings/apps/", oauth.authorized_apps, name="api_authorized_apps"),
    path("settings/apps/<int:application_id>/revoke/", oauth.authorized_app_revoke, name="api_authorized_app_revoke"),
    api("api/v1/instance", methods(GET=instance.v1)),
    api("api/v2/instance", methods(GET=instance.v2)),
    api("api/v1/custom_emojis", methods(GET=instance.custom_emojis)),
    api("api/v1/accounts/verify_credentials", methods(GET=accounts.verify_credentials)),
    api("api/v1/accounts/relationships", methods(GET=accounts.relationships)),
    api("api/v1/accounts/lookup", methods(GET=accounts.lookup)),
    api("api/v1/accounts/<str:account_id>", methods(GET=accounts.show)),
    api("api/v1/accounts/<str:account_id>/statuses", methods(GET=accounts.statuses)),
    api("api/v1/accounts/<str:account_id>/followers", methods(GET=accounts.followers)),
    api("api/v1/accounts/<str:account_id>/following", methods(GET=accounts.following)),
    api("api/v1/accounts/<str:account_id>/follow", methods(POST=accounts.follow)),
    api("api/v1/accounts/<str:account_id>/unfollow", methods(POST=accounts.unfollow)),
    api("api/v1/accounts/<str:account_id>/block", methods(POST=accounts.block)),
    api("api/v1/accounts/<str:account_id>/unblock", methods(POST=accounts.unblock)),
    api("api/v2/search", methods(GET=accounts.search)),
    api("api/v1/statuses", methods(POST=statuses.create)),
    api("api/v1/statuses/<str:status_id>", methods(GET=statuses.show, DELETE=statuses.delete)),
    api("api/v1/statuses/<str:status_id>/context", methods(GET=statuses.context)),
    api("api/v1/statuses/<str:status_id>/favourite", methods(POST=statuses.favourite)),
    api("api/v1/statuses/<str:status_id>/unfavourite", methods(POST=statuses.unfavourite)),
    api("api/v1/statuses/<str:status_id>/reblog", methods(POST=statuses.reblog)),
    api("api/v1/statuses/<str:status_id>/favourited_by", methods(GET=statuses.favourited_by)),
    api("api/v1/media", methods(POST=media.upload)),
    api("api/v2/media", methods(POST=media.upload)),
    api("api/v1/media/<str:media_id>", methods(GET=media.show)),
    api("api/v1/timelines/home", methods(GET=timelines.home)),
    api("api/v1/timelines/public", methods(GET=timelines.public)),
    api("api/v1/notifications", methods(GET=notifications.index)),
    api("api/v1/notifications/clear", methods(POST=notifications.clear)),
    api("api/v1/notifications/unread_count", methods(GET=notifications.unread_count)),
    api("api/v1/notifications/<str:notification_id>", methods(GET=notifications.show)),
    api("api/v1/notifications/<str:notification_id>/dismiss", methods(POST=notifications.dismiss)),
]
