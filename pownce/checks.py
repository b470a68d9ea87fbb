"""System checks tying the cache protocol to the router's tolerance for replica lag."""

from django.conf import settings
from django.core.checks import Error, register

from cache.keys import DEFAULT_TOMBSTONE_TTL


@register()
def tombstone_outlives_replica_lag(app_configs, **kwargs):
    """A tombstone must outlive the worst lag of a replica still in rotation (cache/protocol.py,
    rule 4): otherwise a reader can refill a key from a replica that lacks the write."""
    tolerated = settings.REPLICA_MAX_LAG + settings.REPLICA_HEALTH_TTL
    ttl = settings.POWNCE_CACHE.get("TOMBSTONE_TTL", DEFAULT_TOMBSTONE_TTL)
    if settings.REPLICA_ALIASES and ttl <= tolerated:
        return [
            Error(
                f"POWNCE_CACHE_TOMBSTONE_TTL ({ttl}s) must exceed POWNCE_REPLICA_MAX_LAG + "
                f"POWNCE_REPLICA_HEALTH_TTL ({tolerated}s).",
                id="pownce.E001",
            )
        ]
    return []
