"""Sessions kept in the database and read through the cache, that keep working when the cache fails.

Django's `cached_db` engine writes every session to the database and keeps a copy in the cache
(Redis) for fast reads. It already survives a failed cache read, but not a failed write: with Redis
down, loading a session from the database and copying it back to the cache raised, and so did
logging in and out, so every page answered 500. Here each cache call that fails is logged and
skipped, and the database answers alone until Redis is back.
"""

import logging

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)


class _Forgiving:
    """The session cache, whose failures are logged instead of raised."""

    def __init__(self, cache):
        self._cache = cache

    def get(self, key, default=None):
        try:
            return self._cache.get(key, default)
        except Exception:
            logger.warning("Session cache unavailable; reading the session from the database.", exc_info=True)
            return default

    def set(self, key, value, timeout=None):
        try:
            self._cache.set(key, value, timeout)
        except Exception:
            logger.warning(
                "Session cache unavailable; the session is saved in the database only.", exc_info=True
            )

    def delete(self, key):
        try:
            self._cache.delete(key)
        except Exception:
            # The database row is gone, so the session is over; only a copy that outlived the
            # outage in a persistent Redis could still be read, until it expires.
            logger.error("Session cache unavailable: could not delete %s from it.", key, exc_info=True)

    def __contains__(self, key):
        try:
            return key in self._cache
        except Exception:
            logger.warning("Session cache unavailable; asking the database.", exc_info=True)
            return False

    def __str__(self):
        return str(self._cache)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _Forgiving(self._cache)
