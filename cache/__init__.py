"""Pownce's cache layer: model instances and lists of ids in memcached, invalidated correctly.

A library: it knows nothing of notes or accounts. Start with :mod:`cache.protocol` (the rules
every cached value follows), then :mod:`cache.objects`, :mod:`cache.idlists` and
:mod:`cache.batch` (several reads in one call); :mod:`cache.pages` keeps whole pages by the
versions of what they show (key-based expiration) and answers conditional GETs;
:mod:`cache.cluster` says how servers are
chosen, fail and come back; :mod:`cache.backends` is the Django cache backend over them.
(:mod:`cache.keys` holds every key format and default; it imports nothing else of the layer, so
settings can read its defaults.)
"""

from typing import Any

__all__ = ["Batch"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that importing cache.keys (from settings) loads no Django apps.
    if name == "Batch":
        from cache.batch import Batch

        return Batch
    raise AttributeError(name)
