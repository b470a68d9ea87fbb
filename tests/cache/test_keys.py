"""Key formats and rules (cache/keys.py), and Django's cache contract on ClusterCache.

The contract tests run on whatever cache the environment configures: the in-process stand-in
on a bare checkout, the memcached servers under ``make test``.
"""

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import InvalidCacheKey
from django.core.exceptions import ImproperlyConfigured

from accounts.models import User
from cache import batch, idlists, keys, objects
from cache.backends import ClusterCache
from cache.stats import stats


def test_keys_of_plain_parts_are_the_documented_formats_byte_for_byte():
    assert keys.object_key("accounts.user", "0123abcd", 7, version=1) == "o:1:accounts.user:0123abcd:7"
    assert keys.list_key("inbox:42", version=1) == "l:1:inbox:42"
    assert keys.list_key("public", version=3) == "l:3:public"
    assert keys.value_key("note-counts", 9, version=1) == "v:1:note-counts:9"
    assert keys.lease_key("l:1:inbox:42") == "l:1:inbox:42:lease"
    assert keys.RECOVERY_MARKER == "pownce:recovered"


def test_the_layers_build_their_keys_here_with_the_configured_version(settings):
    digest = objects.schema_digest(User)
    assert objects.key_for(User, 5) == f"o:1:accounts.user:{digest}:5"
    assert idlists.key_for("fans:5") == "l:1:fans:5"
    assert batch.value_key("username-id", "ann") == "v:1:username-id:ann"
    settings.POWNCE_CACHE = {**settings.POWNCE_CACHE, "VERSION": 2}
    assert (objects.key_for(User, 5), idlists.key_for("fans:5")) == (f"o:2:accounts.user:{digest}:5", "l:2:fans:5")


def test_non_ascii_ids_are_kept_as_they_are():
    assert keys.value_key("username-id", "jösé", version=1) == "v:1:username-id:jösé"


@pytest.mark.parametrize("ident", ["x" * 300, "名" * 80, "two words", "tab\tand\nnewline", "#looks-like-a-digest"])
def test_long_or_unprintable_ids_become_a_digest_that_is_valid_distinct_and_keeps_its_kind(ident):
    key = keys.value_key("username-id", ident, version=1)
    listed = keys.list_key(f"inbox:{ident}", version=1)
    for digested, head in ((key, "v:1:username-id:#"), (listed, "l:1:inbox:#")):
        assert digested.startswith(head) and len(digested) == len(head) + 64
        assert len(digested.encode()) <= keys.MAX_DATA_KEY_BYTES
        assert keys.problem(keys.lease_key(digested)) is None
    assert keys.kind_of(key) == "value:username-id" and keys.kind_of(listed) == "list:inbox"
    assert key != keys.value_key("username-id", ident + "!", version=1)


def test_a_key_exactly_at_the_limit_is_kept_and_one_byte_more_is_digested():
    head = "v:1:k:"
    fits = "é" * ((keys.MAX_DATA_KEY_BYTES - len(head)) // 2)
    assert keys.value_key("k", fits, version=1) == head + fits
    assert keys.value_key("k", fits + "a", version=1).startswith(head + "#")


def test_a_head_that_is_not_a_plain_word_raises():
    with pytest.raises(InvalidCacheKey):
        keys.value_key("two words", 1, version=1)


def test_kind_of_names_what_a_key_caches():
    assert keys.kind_of("o:1:notes.note:ab12cd34:7") == "object:notes.note"
    assert keys.kind_of("l:1:inbox:42") == "list:inbox"
    assert keys.kind_of("v:1:note-counts:3") == "value:note-counts"


# --- Django's contract, on the configured backend -----------------------------------------


def test_non_ascii_keys_work():
    cache.set("Iñtërnâtiônàlizætiøn", 1)
    assert cache.get("Iñtërnâtiônàlizætiøn") == 1
    assert cache.get_many(["Iñtërnâtiônàlizætiøn", "名前"]) == {"Iñtërnâtiônàlizætiøn": 1}


@pytest.mark.parametrize("key", ["key with spaces", "key\x00null", "key\x7fdel", "newline\n", "k" * 248, "é" * 124])
def test_keys_memcached_refuses_raise_invalid_cache_key_in_every_method(key):
    # "k" * 248 and "é" * 124 (248 bytes) pass alone, but not with the ":1:" of prefix and version.
    calls = [
        lambda: cache.get(key),
        lambda: cache.set(key, 1),
        lambda: cache.add(key, 1),
        lambda: cache.delete(key),
        lambda: cache.get_many([key]),
        lambda: cache.set_many({key: 1}),
        lambda: cache.has_key(key),
        lambda: cache.incr(key),
        lambda: cache.touch(key),
    ]
    for call in calls:
        with pytest.raises(InvalidCacheKey):
            call()


def test_a_key_of_250_bytes_after_prefix_and_version_works():
    key = "é" * 123 + "x"  # 247 bytes + ":1:" = 250
    assert len(cache.make_key(key).encode()) == 250
    cache.set(key, "fits")
    assert cache.get(key) == "fits"


def test_delete_is_one_call_and_says_whether_the_key_existed():
    cache.set("doomed", 1)
    with stats.measure() as first:
        assert cache.delete("doomed") is True
    assert first["calls"] == 1 and first.get("round_trips", 1) == 1
    assert cache.delete("doomed") is False
    assert cache.get("doomed") is None


def test_location_accepts_semicolons_and_commas():
    backend = ClusterCache("127.0.0.1:11211;127.0.0.1:11212, 127.0.0.1:11213", {})
    assert [node.address for node in backend.cluster.nodes] == ["127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"]


def test_a_key_prefix_of_the_cache_layers_own_namespaces_is_refused():
    with pytest.raises(ImproperlyConfigured):
        ClusterCache("", {"KEY_PREFIX": "o"})
