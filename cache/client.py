"""One memcached server, through pymemcache: the only module of the cache layer that calls it.

:class:`ServerClient` is what :mod:`cache.cluster` needs of one server, each method one request
(one round trip): multi-get with or without cas ids, multi-``add``, multi-``set``, ``cas``,
``delete``, ``incr``/``decr``, ``touch``, ``flush_all``. Replies are always awaited (no
``noreply``), so every store says whether it stored.

pymemcache has a public multi-key ``set`` but no multi-key ``add``; :meth:`ServerClient.add_many`
calls its private ``Client._store_cmd``, here and nowhere else. That is safe only for the
version pinned in requirements.txt (:data:`PYMEMCACHE_VERSION`): tests/cache/test_client.py
checks the installed version, the method's signature and the exact bytes it sends and the
replies it maps back, and fails on any other version until someone has checked it again.

Keys travel as UTF-8 (pymemcache's ``allow_unicode_keys``, as Django's ``PyMemcacheCache``
sets it); which keys are valid is :mod:`cache.keys`' business, and pymemcache's own check of
them stays as a last guard.

Failures: what cannot reach the server — refused, reset, timed out (``connect_timeout``,
``timeout``), closed mid-reply — raises one of :data:`CONNECTION_ERRORS`, and the connection is
closed (the next request reconnects). Everything else (an illegal key, a server error) raises
pymemcache's own exception.
"""

from __future__ import annotations

import socket
from types import ModuleType
from typing import Any

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheUnexpectedCloseError
from pymemcache.serde import CompressedSerde

PYMEMCACHE_VERSION = "4.0.0"

# Refused, reset, unreachable and timed out (socket.timeout is TimeoutError) are all OSError.
CONNECTION_ERRORS = (OSError, MemcacheUnexpectedCloseError)


class ServerClient:
    def __init__(
        self,
        address: str,
        *,
        connect_timeout: float,
        timeout: float,
        min_compress_len: int = 400,
        socket_module: ModuleType = socket,
    ) -> None:
        host, _, port = address.rpartition(":")
        self._client = Client(
            (host, int(port)),
            serde=CompressedSerde(min_compress_len=min_compress_len),
            connect_timeout=connect_timeout,
            timeout=timeout,
            no_delay=True,
            default_noreply=False,
            allow_unicode_keys=True,
            socket_module=socket_module,
        )

    def gets_many(self, keys: list[str]) -> dict[str, tuple[Any, Any]]:
        """``{key: (value, cas id)}`` for the keys present."""
        return self._client.gets_many(keys)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return self._client.get_many(keys)

    def add_many(self, values: dict[str, Any], expire: int) -> set[str]:
        """``add`` every key in one request; the keys stored (those that were absent)."""
        replies = self._client._store_cmd(b"add", values, expire, False)
        return {key for key, stored in replies.items() if stored}

    def set_many(self, values: dict[str, Any], expire: int) -> set[str]:
        """``set`` every key in one request; the keys stored."""
        failed = self._client.set_many(values, expire=expire, noreply=False)
        return set(values).difference(failed)

    def cas(self, key: str, value: Any, cas_id: Any, expire: int) -> bool:
        """Store only if ``key`` still has ``cas_id``; False if it changed or is gone."""
        return bool(self._client.cas(key, value, cas_id, expire=expire, noreply=False))

    def delete(self, key: str) -> bool:
        """True if the key existed."""
        return self._client.delete(key, noreply=False)

    def delete_many(self, keys: list[str]) -> None:
        self._client.delete_many(keys, noreply=False)

    def incr(self, key: str, delta: int) -> int | None:
        """Add ``delta`` (negative: subtract, stopping at 0); None if the key is absent."""
        if delta >= 0:
            return self._client.incr(key, delta, noreply=False)
        return self._client.decr(key, -delta, noreply=False)

    def touch(self, key: str, expire: int) -> bool:
        return self._client.touch(key, expire, noreply=False)

    def flush_all(self) -> None:
        self._client.flush_all(noreply=False)

    def close(self) -> None:
        self._client.close()
