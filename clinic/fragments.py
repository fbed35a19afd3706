"""Cached HTML fragments: the parts of a page that read many tables but rarely change (figure 6).

A fragment is cached under its own key together with the *generations* of the scopes it depends
on (say "patient:42" and "reference"). A change to anything in a scope gives the scope a new
generation, so every fragment cached under the old one is retired at once: nothing is ever served
after a change that it does not show, whatever process made the change, and nothing has to know
which fragments exist.

A generation is a random token in the shared cache (Redis in production). It is renewed twice for
each change: at once, inside the writer's transaction, and again after the commit. A reader that
renders from the database between the two may store what it read before the commit, but only
under the first new generation, which the second retires. A generation evicted from the cache comes
back as a new random token, which retires its fragments too.

Renewals come from `track(model, scopes_of)`: post_save, post_delete and m2m_changed of the models a
fragment shows. They are model signals on purpose: a cache must hear of every write (services,
the admin, a data fix in the shell), and these receivers hold no business rule.

Time is the one thing no write announces: a fragment that shows "upcoming" appointments calls
`expires_at(moment)` while it renders, and is not served past that moment. FRAGMENT_CACHE_SECONDS
bounds everything else (0 turns caching off: the embedded default has no cache shared between
processes).
"""

import contextvars
import datetime
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

logger = logging.getLogger(__name__)

REFERENCE = "reference"  # names and labels many fragments show: staff, rooms, ingredients, bands
_GENERATION = "fragment-generation:"
_FRAGMENT = "fragment:"

T = TypeVar("T")

_expiry: contextvars.ContextVar = contextvars.ContextVar("fragment_expiry", default=None)


def enabled() -> bool:
    return settings.FRAGMENT_CACHE_SECONDS > 0


def expires_at(moment: datetime.datetime) -> None:
    """Called while a fragment renders: what it shows stops being true at `moment`."""
    current = _expiry.get()
    if current is not None and (not isinstance(current, datetime.datetime) or moment < current):
        _expiry.set(moment)


def cached(key: Iterable, scopes: Iterable[str], render: Callable[[], T]) -> T:
    """What `render()` gives (HTML, or a tuple of the parts of a page), from the cache while no
    scope in `scopes` has changed. An exception from `render()` (Http404, say) is not cached.

    One cache round trip on a hit (the scopes' generations and the fragment together). Any cache
    error renders from the database instead: the cache is never needed for a page to work.
    """
    if not enabled():
        return render()
    scopes = list(scopes)
    # The deployed version: a deploy that changes what a fragment holds, or how it is rendered,
    # never meets the copies the previous code stored (settings.RELEASE says where it comes from).
    fragment_key = _FRAGMENT + ":".join([settings.RELEASE, *(str(part) for part in key)])
    generation_keys = [_GENERATION + scope for scope in scopes]
    try:
        found = cache.get_many([*generation_keys, fragment_key])
        missing = {k: uuid.uuid4().hex for k in generation_keys if k not in found}
        if missing:
            for k, token in missing.items():
                # add(): two processes filling the same evicted generation agree on one token.
                if not cache.add(k, token, timeout=None):
                    missing[k] = cache.get(k) or token
            found.update(missing)
        generations = tuple(found[k] for k in generation_keys)
        hit = found.get(fragment_key)
        if hit is not None and hit[0] == generations:
            return hit[1]
    except Exception:
        logger.warning("Fragment cache unavailable; rendering %s uncached.", fragment_key, exc_info=True)
        return render()

    marker = object()
    token = _expiry.set(marker)
    try:
        html = render()
        until = _expiry.get()
    finally:
        _expiry.reset(token)
    seconds = settings.FRAGMENT_CACHE_SECONDS
    if isinstance(until, datetime.datetime):
        seconds = min(seconds, int((until - timezone.now()).total_seconds()))
    if seconds > 0:
        try:
            cache.set(fragment_key, (generations, html), timeout=seconds)
        except Exception:
            logger.warning("Could not store fragment %s.", fragment_key, exc_info=True)
    return html


def renew(scopes: Iterable[str]) -> None:
    """Retire every fragment cached under `scopes`: now, and again when the transaction commits."""
    if not enabled():
        return
    keys = [_GENERATION + scope for scope in scopes]
    _renew(keys)
    transaction.on_commit(lambda: _renew(keys))


def _renew(keys: list[str]) -> None:
    try:
        cache.set_many({k: uuid.uuid4().hex for k in keys}, timeout=None)
    except Exception:
        # The fragments stay until FRAGMENT_CACHE_SECONDS: say so loudly, do not fail the write.
        logger.error("Could not retire cached fragments %s.", keys, exc_info=True)


_tracked: dict[type, Callable] = {}
_ignored_fields: dict[type, frozenset[str]] = {}


def track(model: type, scopes_of: Callable[[object], Iterable[str]], *, ignore_fields: Iterable[str] = ()):
    """Renew `scopes_of(instance)` whenever an instance of `model` is saved or deleted, or one of its
    many-to-many relations changes; a save of only `ignore_fields` (a user's last_login) is not a
    change any fragment shows."""
    _tracked[model] = scopes_of
    _ignored_fields[model] = frozenset(ignore_fields)
    uid = f"fragments:{model._meta.label}"
    post_save.connect(_on_change, sender=model, dispatch_uid=uid + ":save")
    post_delete.connect(_on_change, sender=model, dispatch_uid=uid + ":delete")
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        m2m_changed.connect(_on_m2m_change, sender=through, dispatch_uid=f"{uid}:{field.name}")


def tracked_models() -> frozenset[type]:
    return frozenset(_tracked)


def _on_change(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata
        return
    update_fields = kwargs.get("update_fields")
    if update_fields and frozenset(update_fields) <= _ignored_fields[sender]:
        return
    renew(_tracked[sender](instance))


def _on_m2m_change(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_") and type(instance) in _tracked:
        renew(_tracked[type(instance)](instance))
