from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from pownce import admin_status, health, metrics

# A database or Redis outage answers 503 + Retry-After, anything else the 500 page.
handler500 = "pownce.unavailable.server_error"

admin.site.site_header = "Pownce administration"
admin.site.site_title = "Pownce admin"
admin.site.index_title = "Moderation and people"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/status/", admin_status.view, name="admin_status"),
    # Before the admin's own: its log-in page with the limits of /login/.
    path("admin/login/", include("accounts.admin_urls")),
    path("admin/", admin.site.urls),
    # The client API and OAuth, before the people pages ("api", "oauth" are reserved names).
    path("", include("pownce.api.urls")),
    path("", include("accounts.urls")),
    path("", include("notes.urls")),
]

if settings.BENCH_VIEWS:
    # `make bench` only; see demo/bench.py.
    urlpatterns.insert(0, path("bench/", include("demo.bench")))
