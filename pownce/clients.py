"""Who is asking: the client's address, and whether a caller is local (an operator on the machine).

Behind the stack a request crosses HAProxy -> nginx -> gunicorn. HAProxy appends the address
it saw to ``X-Forwarded-For`` (``option forwardfor``); nginx passes that header on unchanged;
gunicorn sees nginx's address (127.0.0.1) in ``REMOTE_ADDR``. Anyone can *send* an
``X-Forwarded-For`` header, so it is believed only as far as the proxies we run:

1. ``REMOTE_ADDR`` is not a trusted proxy -> the header is ignored, ``REMOTE_ADDR`` is the
   client (someone who reached an app server directly cannot pick their address by rotating
   the header, and so cannot slip past the per-address limits);
2. otherwise the header is read from the right: each hop a trusted proxy added is skipped,
   and the first address that is not a trusted proxy is the client. What the client put in
   front of it is never read.

Trusted proxies are ``POWNCE_TRUSTED_PROXIES`` (addresses or networks): by default the
loopback addresses, where HAProxy and nginx talk to gunicorn on one machine. Behind a load
balancer on another host, list its (private) address.

Not guaranteed: a trusted proxy that forwards a client's header without appending the address
it saw (nginx reached directly instead of through HAProxy) makes the client's header the
answer. nginx must therefore only be reachable from HAProxy (README, "Security").

A *local caller* (``/metrics``, ``/readyz``'s details) is one that connected from loopback and
came through no proxy at all: no ``X-Forwarded-For``. nginx sends none unless HAProxy did, so a
scraper on the machine (``curl 127.0.0.1:8001/metrics``) is local and anyone through HAProxy
is not.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

LOCAL_ADDRESSES = {"127.0.0.1", "::1"}


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in net for net in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The client's address (module docstring, rules 1-2)."""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded or not is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if _address(hop) is None:
            # Not an address: whoever wrote it is not one of our proxies. The last good hop
            # (or the proxy itself) is as far as the chain can be believed.
            break
        if not is_trusted_proxy(hop):
            return hop
        remote = hop
    return remote


def is_local_caller(request: HttpRequest) -> bool:
    """Connected from loopback and through no proxy (module docstring)."""
    return request.META.get("REMOTE_ADDR") in LOCAL_ADDRESSES and "HTTP_X_FORWARDED_FOR" not in request.META
