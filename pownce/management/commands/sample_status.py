"""``manage.py sample_status [--every SECONDS]``: sample the status page's figures.

Once, or every SECONDS until stopped (deploy/stack.sh runs it that way next to the app
servers), keeping the last hour in Redis for the charts of /admin/status/ (pownce/status.py). With
``--metrics ADDR:PORT`` (or ``POWNCE_STATUS_METRICS``) it also serves its newest sample to
Prometheus at ``http://ADDR:PORT/metrics`` (pownce/status_metrics.py).
Sampling every SECONDS, a round that fails (Redis out of reach) is reported on stderr and the
next round tries again: an outage leaves a gap in the charts, not a dead sampler.
"""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pownce import status, status_metrics


class Command(BaseCommand):
    help = "Sample load, CPU, I/O, databases, memcached, Redis, the task queue and HAProxy for the status page."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0, help="keep sampling every this many seconds")
        parser.add_argument(
            "--metrics",
            metavar="ADDR:PORT",
            default=None,
            help="serve the newest sample to Prometheus there (default: POWNCE_STATUS_METRICS; empty: nowhere)",
        )

    def handle(self, *args, every: float = 0, metrics: str | None = None, **options) -> None:
        stopping = False
        bind = settings.STATUS_METRICS_BIND if metrics is None else metrics
        exported = None
        if bind:
            try:
                exported, _ = status_metrics.serve(bind)
            except (ValueError, OSError) as exc:
                raise CommandError(f"cannot serve metrics on {bind}: {exc}") from exc
            self.stdout.write(f"serving the newest sample at http://{bind}/metrics")

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        while True:
            started = time.monotonic()
            try:
                sample = status.take_sample()
                if exported is not None:
                    # Prometheus still gets the newest figures while Redis (the charts' store) is away.
                    exported.update(sample)
                status.store(sample)
            except Exception as exc:  # Redis (where samples live) out of reach: the next round tries again
                if every <= 0:
                    raise
                self.stderr.write(f"could not sample or store ({exc.__class__.__name__}: {exc}); trying again")
            else:
                failed = sorted(name for name, value in sample.items() if isinstance(value, dict) and "error" in value)
                missing = f"; unavailable: {', '.join(failed)}" if failed else ""
                self.stdout.write(f"sampled at {sample['t']:.0f}{missing}")
            if every <= 0:
                return
            while not stopping and time.monotonic() - started < every:
                time.sleep(0.2)
            if stopping:
                return
