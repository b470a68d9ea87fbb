"""What a production app server refuses to start with (deploy/gunicorn.conf.py asks).

The settings fail open for the embedded default (`make run`: DEBUG on, a fixed development
key, ``ALLOWED_HOSTS=*``), so a gunicorn started with none of the environment set would serve
tracebacks to the world and sign sessions with a key anyone can read in this repository.
gunicorn therefore refuses:

1. ``DEBUG`` on (``POWNCE_DEBUG`` unset or 1);
2. the development ``SECRET_KEY``;
3. several worker processes without memcached (``POWNCE_MEMCACHED`` unset): each process would
   keep its own in-process cache, and an invalidation in one (a block, a hidden note) would not
   reach the others, which would keep serving what the change took away. One worker is fine.

Not covered: a gunicorn started without ``-c deploy/gunicorn.conf.py``.
"""

from __future__ import annotations


def refusals(settings, *, workers: int) -> list[str]:
    """Why an app server with ``settings`` and ``workers`` processes must not start; [] if it may."""
    problems = []
    if settings.DEBUG:
        problems.append("DEBUG is on: set POWNCE_DEBUG=0 (make run is the development server).")
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        problems.append("SECRET_KEY is the development key: set POWNCE_SECRET_KEY to a long random secret.")
    if workers > 1 and not settings.MEMCACHED_SERVERS:
        problems.append(
            f"{workers} workers with the in-process cache: each would serve what the others invalidated."
            " Set POWNCE_MEMCACHED, or run one worker (POWNCE_GUNICORN_WORKERS=1)."
        )
    return problems


def refuse_unsafe(*, workers: int) -> None:
    """Exit with the reasons if this app server must not start (gunicorn's configuration calls
    it before it binds a socket, writes a pid file or forks)."""
    from django.conf import settings

    problems = refusals(settings, workers=workers)
    if problems:
        raise SystemExit("pownce: refusing to start gunicorn:\n  " + "\n  ".join(problems))
