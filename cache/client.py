"""One memcached server, through pymemcache: the only module of the cache layer that calls it.

:class:`ServerClient` is what :mod:`cache.cluster` needs of one server, each method one request
(one round trip): multi-get with or without cas ids, multi-``add``, multi-``set``, ``cas``,
``delete``, ``incr``/``decr``, ``touch``, ``flush_all``. Replies are always awaited (no
``noreply``), so every store says whether it stored.

pymemcache has a public multi-key ``set`` but no multi-key ``add``; :meth:`ServerClient.add_many`
calls its private ``Client._store_cmd``. Reads (``get_many``, ``gets_many``) send the command on
pymemcache's connection (its ``sock``, ``_connect``, ``_raise_errors`` and serde) and parse the
reply here, in bulk. Those private parts are used here and nowhere else, which is safe only for
the version pinned in requirements.txt (:data:`PYMEMCACHE_VERSION`): tests/cache/test_client.py
checks the installed version, the signatures and the exact bytes sent and the replies mapped
back, and fails on any other version until someone has checked it again.

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
from pymemcache.exceptions import MemcacheUnexpectedCloseError, MemcacheUnknownError
from pymemcache.serde import FLAG_TEXT, CompressedSerde

PYMEMCACHE_VERSION = "4.0.0"

# Refused, reset, unreachable and timed out (socket.timeout is TimeoutError) are all OSError.
CONNECTION_ERRORS = (OSError, MemcacheUnexpectedCloseError)
# What one recv asks for: a page entry and its versions usually arrive in one or two.
RECV_SIZE = 256 * 1024
# What bytes.split() splits on, and NUL.
NOT_IN_KEYS = b" \t\n\r\x0b\x0c\x00"


def _received(sock) -> bytes:
    chunk = sock.recv(RECV_SIZE)
    if not chunk:
        raise MemcacheUnexpectedCloseError()
    return chunk


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
        return self._fetch(b"gets", keys, with_cas=True)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return self._fetch(b"get", keys, with_cas=False)

    def _fetch(self, verb: bytes, keys: list[str], *, with_cas: bool) -> dict[str, Any]:
        """One ``get``/``gets`` of every key, its reply parsed in bulk.

        A page's multi-get carries a hundred small version keys; pymemcache reads its reply a
        line and a value at a time in Python (about 10 µs a key), this reads the whole reply in
        few ``recv`` calls and slices it. Same result, same key checks, same failures: any
        error closes the connection, as pymemcache does."""
        if not keys:
            return {}
        client = self._client
        encoded = [key.encode("utf-8") for key in keys]
        joined = b" ".join(encoded)
        # pymemcache's key rules (at most 250 bytes, no whitespace, no NUL), checked on all the
        # keys at once: only the spaces between them may go when those bytes are taken out.
        # On a failure its own check names the key at fault.
        if len(joined.translate(None, NOT_IN_KEYS)) != len(joined) - len(keys) + 1 or max(map(len, encoded)) > 250:
            for key in keys:
                client.check_key(key, key_prefix=b"")
        original = dict(zip(encoded, keys, strict=True))
        try:
            if client.sock is None:
                client._connect()
            sock = client.sock
            sock.sendall(verb + b" " + joined + b"\r\n")
            return self._read_values(sock, verb, original, with_cas)
        except Exception:
            client.close()
            raise

    def _read_values(self, sock, verb: bytes, original: dict[bytes, str], with_cas: bool) -> dict[str, Any]:
        deserialize = self._client.serde.deserialize
        found: dict[str, Any] = {}
        buf, pos = b"", 0
        while True:
            end_of_line = buf.find(b"\r\n", pos)
            if end_of_line < 0:
                buf, pos = buf[pos:] + _received(sock), 0
                continue
            line = buf[pos:end_of_line]
            if not line.startswith(b"VALUE "):
                if line == b"END":
                    return found
                self._client._raise_errors(line, verb)
                raise MemcacheUnknownError(line[:32])
            parts = line.split()
            start = end_of_line + 2
            stop = start + int(parts[3])
            while len(buf) < stop + 2:
                buf += _received(sock)
            key = original[parts[1]]
            flags = int(parts[2])
            data = buf[start:stop]
            # Version tokens are text: decoded here, not through the serde's layers of checks.
            value = data.decode("utf-8") if flags == FLAG_TEXT else deserialize(key, data, flags)
            found[key] = (value, parts[4]) if with_cas else value
            pos = stop + 2

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
