"""Pownce's cache layer: model instances and lists of ids in memcached, invalidated correctly.

A library: it knows nothing of notes or accounts. Start with :mod:`cache.protocol` (the rules
every cached value follows), then :mod:`cache.objects`, :mod:`cache.idlists` and
:mod:`cache.batch` (several reads in one call); :mod:`cache.cluster` says how servers are
chosen, fail and come back; :mod:`cache.backends` is the Django cache backend over them.
"""

from cache.batch import Batch

__all__ = ["Batch"]
