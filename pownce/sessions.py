"""Sessions: the database holds them, Redis caches them — people stay signed in when Redis fails.

Django's ``cached_db`` engine with Redis as the cache, made outage-proof:

* A read asks Redis first; on a miss, or when Redis is unreachable
  (:class:`pownce.redis_cache.RedisUnavailable`), it reads the session row from the database (a
  replica, like any read) and puts it back in Redis if it can. A Redis that restarts empty, is
  stopped or hangs costs database reads, never a signed-out page.
* A write (log-in, log-out, a changed session) goes to the primary first; updating Redis is
  best effort.

Guaranteed: a session is never lost because Redis lost it, and a person signed in keeps being
recognised while Redis is down or hung (each process waits for a hung Redis at most one socket
timeout per ``REDIS_RETRY_AFTER``). Not guaranteed: a session ended (log-out) *while Redis was
hung* is still in Redis' copy when that same Redis resumes, until its cache entry expires
(``SESSION_CACHE_SECONDS``); the cookie itself was deleted from the browser that logged out.
A log-in while the *primary* is unreachable fails with a 503 (the session row cannot be written).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends import cached_db

from pownce.redis_cache import RedisUnavailable


class SessionStore(cached_db.SessionStore):
    def _cache_get(self) -> dict | None:
        try:
            return self._cache.get(self.cache_key)
        except RedisUnavailable:
            return None

    def _cache_set(self, data: dict, age: int) -> None:
        try:
            self._cache.set(self.cache_key, data, min(age, settings.SESSION_CACHE_SECONDS))
        except RedisUnavailable:
            pass

    def load(self) -> dict:
        data = self._cache_get()
        if data is None:
            row = self._get_session_from_db()
            if row is None:
                return {}
            data = self.decode(row.session_data)
            self._cache_set(data, self.get_expiry_age(expiry=row.expire_date))
        return data

    def exists(self, session_key: str) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except RedisUnavailable:
            pass
        return super(cached_db.SessionStore, self).exists(session_key)

    def save(self, must_create: bool = False) -> None:
        super(cached_db.SessionStore, self).save(must_create)
        self._cache_set(self._session, self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        super(cached_db.SessionStore, self).delete(session_key)
        session_key = session_key or self.session_key
        if session_key:
            try:
                self._cache.delete(self.cache_key_prefix + session_key)
            except RedisUnavailable:
                pass
