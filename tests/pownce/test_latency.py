"""Request latency per view (p50/p99) on the staff status page, from the latency histogram."""

from __future__ import annotations

import pytest

from accounts.models import User
from pownce.metrics import bucket_quantile, latency_by_view
from tests.pownce.metrics_helpers import figures

INF = float("inf")


def test_quantiles_interpolate_inside_the_bucket_they_fall_in():
    # 50 requests up to 100 ms, 50 more between 100 and 500 ms.
    buckets = [(0.1, 50.0), (0.5, 100.0), (INF, 100.0)]
    assert bucket_quantile(0.5, buckets) == pytest.approx(0.1)
    assert bucket_quantile(0.99, buckets) == pytest.approx(0.1 + 0.4 * 49 / 50)
    assert bucket_quantile(0.25, buckets) == pytest.approx(0.05)


def test_a_quantile_past_the_last_bound_is_that_bound_and_nothing_counted_is_none():
    assert bucket_quantile(0.99, [(0.1, 10.0), (10.0, 10.0), (INF, 100.0)]) == 10.0
    assert bucket_quantile(0.5, [(0.1, 0.0), (INF, 0.0)]) is None
    assert bucket_quantile(0.5, []) is None


@pytest.mark.django_db
def test_status_page_shows_p50_and_p99_of_each_view(client):
    before = latency_by_view().get("public", {}).get("count", 0)
    for _ in range(5):
        assert client.get("/public/").status_code == 200
    client.force_login(User.objects.create_user(username="operator", password="correct-horse-9", is_staff=True))
    page = client.get("/admin/status/").content.decode()
    found = figures(page)
    assert float(found["latency.public.count"]) - before == 5
    p50, p99 = float(found["latency.public.p50"]), float(found["latency.public.p99"])
    assert 0 < p50 <= p99
    # Each figure is the histogram's, in milliseconds.
    now = latency_by_view()["public"]
    assert p50 == pytest.approx(now["p50"] * 1000) and p99 == pytest.approx(now["p99"] * 1000)
    assert "Request latency per view" in page
