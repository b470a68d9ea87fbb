"""Reading Prometheus text and the status page back, for the measure tests."""

from __future__ import annotations

import csv
import io
import re
import urllib.error
import urllib.request
from email.message import Message

from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import APP_PORTS, HAPROXY_STATS, wait_until

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in samples.items() if sample == name and wanted <= have)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much ``name`` (summed over the samples matching ``labels``) grew between two scrapes."""
    return total(after, name, **labels) - total(before, name, **labels)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(have)[label] for (sample, have), _ in samples.items() if sample == name and label in dict(have)}


def get(url: str, cookie: str = "", headers: dict | None = None) -> tuple[int, str, Message]:
    request = urllib.request.Request(url, headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), error.headers


def session_cookie(user) -> str:
    """A session cookie for ``user``, stored where every app server looks (Redis)."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


FIGURE = re.compile(r'data-figure="([^"]+)" data-value="([^"]*)"')


def figures(page: str) -> dict[str, str]:
    """``{"memcached.127.0.0.1:11321.hit_rate_total": "93.1", …}`` from the status page."""
    return dict(FIGURE.findall(page))


HAPROXY_STATS_CSV = HAPROXY_STATS + "/;csv"


def haproxy_states() -> dict[str, str]:
    """HAProxy's state of each app server: ``{"app1": "UP", …}``."""
    status, body, _ = get(HAPROXY_STATS_CSV)
    rows = csv.DictReader(io.StringIO(body.removeprefix("# "))) if status == 200 else []
    return {row["svname"]: row["status"] for row in rows if row["pxname"] == "app_servers"}


def wait_for_app_servers_up() -> None:
    """HAProxy marks a server UP after two good health checks; until then it answers 503."""
    wait_until(
        lambda: {haproxy_states().get(name) for name in ("app1", "app2")} == {"UP"},
        timeout=20,
        message="HAProxy to see app1 and app2 UP",
    )


def scrape_sql_by_alias() -> dict[str, float]:
    """SQL statements sent so far per database alias, summed over every app server (/metrics)."""
    out: dict[str, float] = {}
    for port in APP_PORTS:
        status, body, _ = get(f"http://127.0.0.1:{port}/metrics")
        if status != 200:
            continue
        samples = parse(body)
        for alias in label_values(samples, "pownce_sql_queries_total", "alias"):
            out[alias] = out.get(alias, 0) + total(samples, "pownce_sql_queries_total", alias=alias)
    return out
