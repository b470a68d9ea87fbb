"""The one adapter over pymemcache (cache/client.py), pinned to the version it was checked on."""

import inspect
import re
from pathlib import Path

import pymemcache
import pytest
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheIllegalInputError, MemcacheServerError
from pymemcache.serde import CompressedSerde

from cache.client import CONNECTION_ERRORS, PYMEMCACHE_VERSION, ServerClient
from tests.cache.wire import Wire

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
ADDRESS = "127.0.0.1:9"


@pytest.fixture
def scripted():
    wire = Wire()
    server = wire.script(ADDRESS)
    return ServerClient(ADDRESS, connect_timeout=0.2, timeout=0.2, socket_module=wire), server


def test_installed_pymemcache_is_the_pinned_version_the_adapter_was_checked_on():
    pinned = re.search(r"^pymemcache==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE).group(1)
    assert pymemcache.__version__ == pinned == PYMEMCACHE_VERSION


def test_private_store_command_keeps_the_signature_add_many_calls():
    parameters = list(inspect.signature(Client._store_cmd).parameters)
    assert parameters == ["self", "name", "values", "expire", "noreply", "flags", "cas"]


def test_add_many_is_one_request_of_add_commands_and_returns_the_keys_stored(scripted):
    client, server = scripted
    server.store_replies = [b"STORED", b"NOT_STORED"]
    assert client.add_many({"o:1:fresh": 7, "o:1:taken": "x"}, 60) == {"o:1:fresh"}
    assert server.requests == 1
    assert server.commands == [(b"add", [b"o:1:fresh"]), (b"add", [b"o:1:taken"])]


def test_add_many_sends_serialized_values_with_their_expiry(scripted):
    client, server = scripted
    sent = []
    original = server.receive
    server.receive = lambda data: sent.append(data) or original(data)
    client.add_many({"k": "v" * 500}, 30)
    data, flags = CompressedSerde(min_compress_len=400).serialize("k", "v" * 500)
    assert sent == [b"add k %d 30 %d\r\n%s\r\n" % (flags, len(data), data)]


def test_keys_travel_as_utf8(scripted):
    client, server = scripted
    client.set_many({"v:1:username-id:jösé": 1}, 60)
    assert server.commands == [(b"set", ["v:1:username-id:jösé".encode()])]


def test_set_many_returns_the_keys_stored(scripted):
    client, server = scripted
    server.store_replies = [b"NOT_STORED", b"STORED"]
    assert client.set_many({"a": 1, "b": 2}, 60) == {"b"}


@pytest.mark.stack
def test_adapter_on_real_memcached():
    from tests.stack import MEMCACHED_PORTS

    client = ServerClient(f"127.0.0.1:{MEMCACHED_PORTS[0]}", connect_timeout=1, timeout=1)
    try:
        client.flush_all()
        assert client.add_many({"a": 1, "Iñtërnâtiônàlizætiøn": 2}, 60) == {"a", "Iñtërnâtiônàlizætiøn"}
        assert client.add_many({"a": 3, "b": 4}, 60) == {"b"}
        assert client.get_many(["a", "b", "Iñtërnâtiônàlizætiøn"]) == {"a": 1, "b": 4, "Iñtërnâtiônàlizætiøn": 2}
        assert client.set_many({"a": 5}, 60) == {"a"}
        value, cas_id = client.gets_many(["a"])["a"]
        assert value == 5 and client.cas("a", 6, cas_id, 60) and not client.cas("a", 7, cas_id, 60)
        assert client.incr("a", 2) == 8 and client.incr("a", -10) == 0 and client.incr("missing", 1) is None
        assert client.delete("a") is True and client.delete("a") is False
    finally:
        client.flush_all()
        client.close()


def test_private_parts_the_reads_use_are_still_there():
    client = Client(("127.0.0.1", 9))
    assert client.sock is None and callable(client._connect) and callable(client._raise_errors)
    assert list(inspect.signature(Client._raise_errors).parameters) == ["self", "line", "name"]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_reads_parse_any_split_of_the_reply(scripted, monkeypatch, chunk):
    client, server = scripted
    awkward = b"VALUE k 0 3\r\nEND\r\n\r\n"  # looks like the end of a reply
    server.hold("o:1:a", {"pickled": [1, 2]}, cas_id=41)
    server.hold("v:o:1:a", "tok-en")
    server.hold("o:1:text", "x" * 500)  # compressed
    server.hold("o:1:bytes", awkward)
    client.get_many(["warm"])  # connect
    sock = client._client.sock
    original = sock.recv
    monkeypatch.setattr(sock, "recv", lambda size: original(min(size, chunk)))
    keys = ["o:1:a", "v:o:1:a", "missing", "o:1:text", "o:1:bytes"]
    assert client.get_many(keys) == {
        "o:1:a": {"pickled": [1, 2]},
        "v:o:1:a": "tok-en",
        "o:1:text": "x" * 500,
        "o:1:bytes": awkward,
    }
    assert client.gets_many(["o:1:a"]) == {"o:1:a": ({"pickled": [1, 2]}, b"41")}
    assert server.commands[-2:] == [(b"get", [key.encode() for key in keys]), (b"gets", [b"o:1:a"])]


def test_reads_check_keys_as_pymemcache_does(scripted):
    client, server = scripted
    for bad in ["has space", "nul\0", "k" * 251, " lead", "trail ", "\ttab", "new\nline"]:
        with pytest.raises(MemcacheIllegalInputError):
            client.get_many(["fine", bad])
    assert server.requests == 0
    assert client.get_many([]) == {}


@pytest.mark.parametrize("mode", ["close", "hang", "reset"])
def test_a_read_cut_off_raises_a_connection_error_and_reconnects(scripted, mode):
    client, server = scripted
    server.hold("k", 1)
    assert client.get_many(["k"]) == {"k": 1}
    server.mode = mode
    with pytest.raises(CONNECTION_ERRORS):
        client.get_many(["k"])
    assert client._client.sock is None  # closed: the next read connects again
    server.mode = "up"
    assert client.get_many(["k"]) == {"k": 1}
    assert server.connects == 2


def test_a_server_error_is_raised_and_the_connection_closed(scripted):
    client, server = scripted
    server.mode = "error"
    with pytest.raises(MemcacheServerError):
        client.get_many(["k"])
    assert client._client.sock is None
