"""The staff status page in the admin (``/admin/status/``): the talk's "Measure" list at a glance.

Each figure is the difference between the sample taken when the page is loaded and the newest
stored one at least a second older (:mod:`pownce.status`); each chart is the same figure over
the stored samples of the last hour, drawn here as an inline SVG sparkline (no scripts, no CDN).
Every figure carries ``data-figure="<section>.<row>.<column>"`` and ``data-value`` so scripts and
tests can read the page back.

Request latency per view (p50/p99) is the one section not taken from the samples: it is read
from the latency histogram of the app server that serves the page (every worker's, since that
server started; :func:`pownce.metrics.latency_by_view`). Percentiles over a chosen window and
across every app server are Prometheus' job (README, "Monitoring").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache

from pownce import metrics, status

# A stored sample newer than this is not stored again when the page is loaded.
STORE_AFTER_SECONDS = 5


def _delta(prev: dict, cur: dict, *path: str) -> float | None:
    a, b = _at(prev, *path), _at(cur, *path)
    return None if a is None or b is None else b - a


def _at(sample: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(sample, dict) or name not in sample:
            return None
        sample = sample[name]
    return sample


def _ratio(part: float | None, whole: float | None, scale: float = 100.0) -> float | None:
    return None if part is None or not whole else scale * part / whole


def figures(prev: dict, cur: dict) -> dict[str, dict[str, dict[str, Any]]]:
    """``{section: {row: {column: value}}}`` for the interval between two samples."""
    dt = max(cur["t"] - prev["t"], 1e-6)

    def rate(*path: str) -> float | None:
        change = _delta(prev, cur, *path)
        return None if change is None or change < 0 else change / dt

    out: dict[str, dict[str, dict[str, Any]]] = {}
    if "error" not in cur["host"]:
        if _at(prev, "host", "name") != cur["host"]["name"]:
            # Stored by the sampler on another machine: its CPU and disk counters are not ours.
            prev = {**prev, "host": {}}
        cpu_prev, cpu_cur = _at(prev, "host", "cpu"), cur["host"]["cpu"]
        ticks = [b - a for a, b in zip(cpu_prev, cpu_cur, strict=True)] if cpu_prev else []
        total = sum(ticks)
        out["host"] = {
            "this machine": {
                "load1": cur["host"]["load"][0],
                "load5": cur["host"]["load"][1],
                "cpu_busy": _ratio(total - ticks[3] - ticks[4], total) if ticks else None,
                "iowait": _ratio(ticks[4], total) if ticks else None,
                "disk_read_bps": rate("host", "disk", "read_bytes"),
                "disk_write_bps": rate("host", "disk", "write_bytes"),
                "disk_busy": _ratio(rate("host", "disk", "io_ms"), 1000.0),
            }
        }
    out["db"] = {
        alias: {
            "qps": rate("db", alias, "questions"),
            "threads": db.get("threads"),
            "lag": db.get("lag"),
            "state": db.get("reason", "primary") if "error" not in db else db["error"],
        }
        for alias, db in _rows(cur["db"])
    }
    out["memcached"] = {}
    for node, mc in _rows(cur["memcached"]):
        hits = _delta(prev, cur, "memcached", node, "get_hits")
        misses = _delta(prev, cur, "memcached", node, "get_misses")
        out["memcached"][node] = {
            "qps": rate("memcached", node, "commands"),
            "hit_rate": _ratio(hits, (hits or 0) + (misses or 0)),
            "hit_rate_total": _ratio(mc.get("get_hits"), mc.get("get_hits", 0) + mc.get("get_misses", 0)),
            "evictions": mc.get("evictions"),
            "mb_used": _ratio(mc.get("bytes"), 1024 * 1024, 1.0),
            "items": mc.get("items"),
            "state": mc.get("error", "up"),
        }
    if "error" not in cur["redis"]:
        out["redis"] = {
            "redis": {
                "ops": rate("redis", "commands"),
                "mb_used": _ratio(cur["redis"]["memory"], 1024 * 1024, 1.0),
                "clients": cur["redis"]["clients"],
            }
        }
    if "error" not in cur["tasks"]:
        out["tasks"] = {"queue": dict(cur["tasks"])}
    out["haproxy"] = {
        server: {
            "status": hp.get("status", hp.get("error")),
            "check": hp.get("check_status"),
            "req_s": rate("haproxy", server, "stot"),
            "sessions": hp.get("scur"),
            "resp_ms": hp.get("rtime"),
        }
        for server, hp in _rows(cur["haproxy"])
    }
    return out


def _rows(source: dict) -> list[tuple[str, dict]]:
    if "error" in source and not isinstance(source["error"], dict):
        return []
    return [(name, value) for name, value in source.items() if isinstance(value, dict)]


# What each section shows: (column, heading, format); charted columns have a sparkline.
COLUMNS = {
    "host": [
        ("load1", "load 1m", "{:.2f}"),
        ("load5", "load 5m", "{:.2f}"),
        ("cpu_busy", "CPU busy", "{:.0f} %"),
        ("iowait", "I/O wait", "{:.1f} %"),
        ("disk_read_bps", "disk read", "bytes"),
        ("disk_write_bps", "disk write", "bytes"),
        ("disk_busy", "disk busy", "{:.0f} %"),
    ],
    "db": [
        ("qps", "queries/s", "{:.1f}"),
        ("lag", "replica lag (s)", "{:.0f}"),
        ("threads", "connections", "{}"),
        ("state", "state", "{}"),
    ],
    "memcached": [
        ("qps", "commands/s", "{:.1f}"),
        ("hit_rate", "hit rate (interval)", "{:.1f} %"),
        ("hit_rate_total", "hit rate (since start)", "{:.1f} %"),
        ("evictions", "evictions", "{}"),
        ("mb_used", "MB used", "{:.2f}"),
        ("items", "items", "{}"),
        ("state", "state", "{}"),
    ],
    "redis": [("ops", "commands/s", "{:.1f}"), ("mb_used", "MB used", "{:.2f}"), ("clients", "clients", "{}")],
    "tasks": [("queued", "queued", "{}"), ("running", "running", "{}"), ("failed", "failed", "{}")],
    "haproxy": [
        ("status", "status", "{}"),
        ("check", "check", "{}"),
        ("req_s", "requests/s", "{:.1f}"),
        ("sessions", "sessions now", "{}"),
        ("resp_ms", "response ms (avg)", "{}"),
    ],
}
CHARTED = {
    "host": ("load1", "cpu_busy", "disk_write_bps"),
    "db": ("qps", "lag"),
    "memcached": ("qps", "hit_rate"),
    "redis": ("ops",),
    "tasks": ("queued",),
    "haproxy": ("req_s",),
}
TITLES = {
    "host": "Server load, CPU and I/O",
    "db": "Databases",
    "memcached": "memcached",
    "redis": "Redis",
    "tasks": "Task queue",
    "haproxy": "HAProxy's view of the app servers",
}


def _text(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "bytes":
        for unit in ("B/s", "kB/s", "MB/s"):
            if value < 1024 or unit == "MB/s":
                return f"{value:.0f} {unit}" if unit == "B/s" else f"{value:.1f} {unit}"
            value /= 1024
    return fmt.format(value) if not isinstance(value, str) else value


def sparkline(
    points: list[tuple[float, float | None]], start: float, end: float, label: str, width: int = 160, height: int = 30
) -> SafeString:
    """An inline SVG line of ``points`` (time, value) over [start, end]; gaps where value is None."""
    values = [v for _, v in points if v is not None]
    if not values:
        empty = '<svg class="spark" width="{}" height="{}" aria-label="{}: no data"></svg>'
        return format_html(empty, width, height, label)
    low, high = min(0.0, min(values)), max(values)
    span = (high - low) or 1.0
    lines, current = [], []
    for t, v in points:
        if v is None:
            lines, current = ([*lines, current] if current else lines), []
            continue
        x = (t - start) / max(end - start, 1) * width
        y = height - 2 - (v - low) / span * (height - 4)
        current.append(f"{x:.1f},{y:.1f}")
    lines = [*lines, current] if current else lines
    polylines = format_html_join("", '<polyline points="{}"/>', ((" ".join(line),) for line in lines))
    return format_html(
        '<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        '<title>{label}: max {high}</title><g fill="none" stroke="#417690" stroke-width="1.5">{lines}</g></svg>',
        w=width,
        h=height,
        label=label,
        high=f"{high:.4g}",
        lines=polylines,
    )


@dataclass
class Section:
    key: str
    title: str
    headings: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def sections(now: dict, prev: dict, samples: list[dict]) -> list[Section]:
    current = figures(prev, now)
    timeline = [(b["t"], figures(a, b)) for a, b in zip(samples, samples[1:], strict=False)]
    end, start = now["t"], now["t"] - status.WINDOW_SECONDS
    result = []
    for key, columns in COLUMNS.items():
        charted = CHARTED[key]
        headings = {column: heading for column, heading, _ in columns}
        section = Section(key, TITLES[key], [*headings.values(), *(f"{headings[c]}, last hour" for c in charted)])
        for row, values in current.get(key, {}).items():
            cells = [
                {
                    "figure": f"{key}.{row}.{column}",
                    "value": "" if values.get(column) is None else values[column],
                    "text": _text(values.get(column), fmt),
                }
                for column, _, fmt in columns
            ]
            charts = [
                sparkline(
                    [(t, f.get(key, {}).get(row, {}).get(column)) for t, f in timeline], start, end, f"{row} {column}"
                )
                for column in charted
            ]
            section.rows.append({"name": row, "cells": cells, "charts": charts})
        result.append(section)
    return result


LATENCY_COLUMNS = [("count", "requests", "{:.0f}"), ("p50", "p50 (ms)", "{:.1f}"), ("p99", "p99 (ms)", "{:.1f}")]
# The busiest views; the rest are in /metrics.
LATENCY_ROWS = 30


def latency_section(by_view: dict[str, dict[str, float | None]]) -> Section:
    """Requests, p50 and p99 (milliseconds) per view, the busiest first."""
    section = Section(
        "latency",
        f"Request latency per view ({settings.SERVER_NAME}, since it started)",
        [heading for _, heading, _ in LATENCY_COLUMNS],
    )
    busiest = sorted(by_view.items(), key=lambda item: (-(item[1]["count"] or 0), item[0]))[:LATENCY_ROWS]
    for view, figures_ in busiest:
        values = {
            "count": figures_["count"],
            **{q: None if figures_[q] is None else figures_[q] * 1000 for q in ("p50", "p99")},
        }
        cells = [
            {
                "figure": f"latency.{view}.{column}",
                "value": "" if values[column] is None else values[column],
                "text": _text(values[column], fmt),
            }
            for column, _, fmt in LATENCY_COLUMNS
        ]
        section.rows.append({"name": view, "cells": cells, "charts": []})
    return section


def current_samples() -> tuple[dict, dict, list[dict]]:
    """A fresh sample, the one to compare it with, and the hour's history (the fresh one stored)."""
    now = status.take_sample()
    samples = status.history(now["t"])
    older = [s for s in samples if s["t"] <= now["t"] - 1]
    if older:
        prev = older[-1]
    else:  # nothing stored yet: measure one second ourselves
        prev = now
        time.sleep(1)
        now = status.take_sample()
    if not samples or now["t"] - samples[-1]["t"] >= STORE_AFTER_SECONDS:
        status.store(now)
        samples.append(now)
    return now, prev, samples


@never_cache
def status_view(request: HttpRequest) -> HttpResponse:
    now, prev, samples = current_samples()
    context = {
        **admin.site.each_context(request),
        "title": "Status",
        "sections": [*sections(now, prev, samples), latency_section(metrics.latency_by_view())],
        "interval": now["t"] - prev["t"],
        "sample_count": len(samples),
        "taken_at": now["t"],
    }
    return TemplateResponse(request, "admin/pownce/status.html", context)


view = admin.site.admin_view(status_view)
