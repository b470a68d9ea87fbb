"""``manage.py sample_status [--every SECONDS]``: sample the status page's figures.

Once, or every SECONDS until stopped (deploy/stack.sh runs it that way next to the app
servers), keeping the last hour in Redis for the charts of /admin/status/ (pownce/status.py).
Sampling every SECONDS, a round that fails (Redis out of reach) is reported on stderr and the
next round tries again: an outage leaves a gap in the charts, not a dead sampler.
"""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand

from pownce import status


class Command(BaseCommand):
    help = "Sample load, CPU, I/O, databases, memcached, Redis, the task queue and HAProxy for the status page."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0, help="keep sampling every this many seconds")

    def handle(self, *args, every: float = 0, **options) -> None:
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        while True:
            started = time.monotonic()
            try:
                sample = status.take_sample()
                status.store(sample)
            except Exception as exc:  # Redis (where samples live) out of reach: the next round tries again
                if every <= 0:
                    raise
                self.stderr.write(f"could not sample or store ({exc.__class__.__name__}: {exc}); trying again")
            else:
                failed = sorted(name for name, value in sample.items()
                                if isinstance(value, dict) and "error" in value)
                missing = f"; unavailable: {', '.join(failed)}" if failed else ""
                self.stdout.write(f"sampled at {sample['t']:.0f}{missing}")
            if every <= 0:
                return
            while not stopping and time.monotonic() - started < every:
                time.sleep(0.2)
            if stopping:
                return
