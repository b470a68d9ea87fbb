"""Sockets for testing the memcached client and cluster without a memcached: a stand-in for the
``socket`` module (pymemcache's ``socket_module`` option) that sends each address either to a
real socket or to a :class:`ScriptedServer`.

A scripted server stores nothing and knows nothing of memcached's semantics: it records the
commands it receives, answers each with a fixed reply (``END`` to a read, ``STORED`` to a store,
``OK`` to ``flush_all`` …) or with what the test told it to hold, and fails the way the test
sets — refuse, reset, hang (time out at once), close mid-reply, or a server error. What real
memcached does with the commands is tested on real memcached (the ``stack`` tests).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from pymemcache.serde import CompressedSerde

STORAGE = {b"set", b"add", b"cas", b"replace", b"append", b"prepend"}
REPLIES = {b"flush_all": b"OK", b"delete": b"NOT_FOUND", b"touch": b"NOT_FOUND", b"incr": b"NOT_FOUND"}


@dataclass
class ScriptedServer:
    mode: str = "up"  # up | refuse | reset | hang | close | error
    commands: list[tuple[bytes, list[bytes]]] = field(default_factory=list)  # (verb, keys)
    held: dict[bytes, bytes] = field(default_factory=dict)  # key -> "flags len cas\r\ndata"
    store_replies: list[bytes] = field(default_factory=list)  # next replies to stores, in order
    connects: int = 0
    requests: int = 0  # sendall calls: one per request

    def hold(self, key: str, value, cas_id: int = 1) -> None:
        """Answer reads of ``key`` with ``value`` (serialized as the cluster's client does)."""
        data, flags = CompressedSerde().serialize(key, value)
        data = data if isinstance(data, bytes) else str(data).encode()
        self.held[key.encode()] = b"%d %d %d\r\n%s" % (flags, len(data), cas_id, data)

    def verbs(self) -> list[bytes]:
        return [verb for verb, _ in self.commands]

    def receive(self, data: bytes) -> bytes:
        """The reply to ``data`` (every command in it), recording the commands."""
        replies = []
        while data:
            line, _, data = data.partition(b"\r\n")
            verb, *args = line.split()
            if verb in STORAGE:
                length = int(args[3])
                data = data[length + 2 :]
                self.commands.append((verb, args[:1]))
                replies.append(self.store_replies.pop(0) if self.store_replies else b"STORED")
            elif verb in (b"get", b"gets"):
                self.commands.append((verb, args))
                for key in args:
                    if key in self.held:
                        replies.append(b"VALUE " + key + b" " + self._held(verb, key))
                replies.append(b"END")
            else:
                self.commands.append((verb, args[:1]))
                replies.append(REPLIES.get(verb, b"ERROR"))
        return b"".join(reply + b"\r\n" for reply in replies)

    def _held(self, verb: bytes, key: bytes) -> bytes:
        header, _, data = self.held[key].partition(b"\r\n")
        if verb == b"get":
            header = header.rpartition(b" ")[0]  # no cas id
        return header + b"\r\n" + data


class _Socket:
    def __init__(self, wire: Wire, *args) -> None:
        self._wire, self._args = wire, args
        self._real: socket.socket | None = None
        self._server: ScriptedServer | None = None
        self._timeout: float | None = None
        self._pending = b""

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout
        if self._real is not None:
            self._real.settimeout(timeout)

    def setsockopt(self, *args) -> None:
        """Options matter only to a real socket, which is made at connect."""

    def connect(self, address) -> None:
        server = self._wire.servers.get(address)
        if server is None:
            self._real = socket.socket(*self._args)
            self._real.settimeout(self._timeout)
            self._real.connect(address)
            return
        server.connects += 1
        if server.mode == "refuse":
            raise ConnectionRefusedError(111, "Connection refused (scripted)")
        self._server = server

    def sendall(self, data: bytes) -> None:
        if self._real is not None:
            self._real.sendall(data)
            return
        assert self._server is not None, "send on a socket that is not connected"
        server = self._server
        if server.mode in ("refuse", "reset"):
            raise ConnectionResetError(104, "Connection reset by peer (scripted)")
        server.requests += 1
        reply = server.receive(data)
        if server.mode == "error":
            reply = b"SERVER_ERROR out of memory storing object\r\n"
        self._pending += reply

    def recv(self, size: int) -> bytes:
        if self._real is not None:
            return self._real.recv(size)
        assert self._server is not None
        if self._server.mode == "hang":
            raise TimeoutError("timed out (scripted)")
        if self._server.mode == "close":
            return b""
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def close(self) -> None:
        if self._real is not None:
            self._real.close()
        self._real = self._server = None


class Wire:
    """The ``socket`` module with :meth:`socket` routed: scripted addresses go to their
    :class:`ScriptedServer`, every other address to a real socket."""

    def __init__(self) -> None:
        self.servers: dict[tuple[str, int], ScriptedServer] = {}

    def script(self, address: str, **options) -> ScriptedServer:
        host, _, port = address.rpartition(":")
        server = self.servers[(host, int(port))] = ScriptedServer(**options)
        return server

    def socket(self, *args) -> _Socket:
        return _Socket(self, *args)

    def __getattr__(self, name: str):
        return getattr(socket, name)  # constants, getaddrinfo, timeout …


def closed_port() -> str:
    """``127.0.0.1:<port>`` where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"
