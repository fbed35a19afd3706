"""Project-wide fixtures: staff users by role, logged-in clients, a real SMTP server, and the skip
rules for real services."""

import asyncio
import email
import logging
import os
import socket
import threading
from email import policy

import pytest
from django.conf import settings

from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER
from clinic.seeds import seed_roles_and_clinic_defaults
from clinic.tests.factories import UserFactory
from consents.seeds import seed_consent_template_and_permissions
from patients.seeds import seed_allergen_groups_and_permissions
from scheduling.seeds import seed_protocol_bands_and_permissions
from treatments.seeds import seed_ingredient_catalogue_and_permissions


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (runs in .ci/run's second pass)")
    skip_redis = pytest.mark.skip(reason="needs a real Redis: set REDIS_URL (runs in .ci/run's second pass)")
    for item in items:
        if "postgres" in item.keywords and not settings.DB_IS_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or any(
        name in item.fixturenames for name in ("transactional_db", "live_server")
    )


# What the data migrations seed (each app's seeds.py), in migration order; a transactional test's
# flush empties those tables too.
SEEDS = (
    seed_roles_and_clinic_defaults,
    seed_allergen_groups_and_permissions,
    seed_ingredient_catalogue_and_permissions,
    seed_protocol_bands_and_permissions,
    seed_consent_template_and_permissions,
)


def reseed(apps) -> None:
    for seed in SEEDS:
        seed(apps)


@pytest.fixture(autouse=True)
def _reseed_after_flush(request):
    """Transactional tests (live server, real Celery processes, concurrency) empty every table when
    they end, including the rows data migrations seed (role groups and their permissions, clinic
    settings, counters, allergen groups, the ingredient catalogue, protocol bands). Seed them again
    before each such test, so that none depends on running first."""
    if not _is_transactional(request.node):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    reseed(apps)


@pytest.fixture(autouse=True)
def _fragment_cache_on(settings):
    """Every test runs with the patient page's fragment cache on (clinic/fragments.py), so a change
    that failed to retire a cached page shows up as a stale page in the test that made it. A memory
    cache starts empty for each test; Redis (the PostgreSQL run) is never flushed, because it holds
    the Celery broker's queues too: its keys carry fresh random generations instead."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    settings.FRAGMENT_CACHE_SECONDS = 300
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()


@pytest.fixture(autouse=True)
def _no_outbox_kick(settings):
    """Tests dispatch the outbox themselves; enqueue() must not post tasks to the broker."""
    settings.OUTBOX_KICK_ON_COMMIT = False


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(request, monkeypatch):
    """`client.force_login(user)` stands for a finished sign-in, second factor included: the session
    is marked as having passed it (clinic/security.py, SECOND_FACTOR_KEY), so tests of other pages
    need not enrol a device for every clinic admin. Tests of the second factor itself are marked
    `real_second_factor` and sign in through the pages."""
    if "real_second_factor" in request.keywords:
        return
    from django.test.client import ClientMixin

    from clinic.security import SECOND_FACTOR_KEY

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        session[SECOND_FACTOR_KEY] = "test"
        session.save()

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


@pytest.fixture
def front_desk(db):
    return UserFactory(username="frontdesk", role=FRONT_DESK)


@pytest.fixture
def practitioner(db):
    return UserFactory(username="practitioner", first_name="Inês", last_name="Moura", role=PRACTITIONER)


@pytest.fixture
def clinic_admin(db):
    return UserFactory(username="admin", role=CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def client_as(client):
    """`client_as(user)`: the test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


class SmtpRecorder:
    """An aiosmtpd handler that keeps what it receives and can be told to misbehave.

    `fail_next(n, "451 4.3.0 Try later")` answers the next n DATA commands with that reply;
    `refuse(address, "550 5.1.1 No such user")` refuses that recipient; `delay` (seconds) slows
    every DATA answer, so a test can kill a sender in the middle of a batch; `drop_next(n)` hangs up
    instead of answering the next n DATA commands (the sender cannot know whether they arrived).
    """

    def __init__(self):
        self.envelopes = []
        self.delay = 0.0
        self._fail_replies: list[str] = []
        self._drops = 0
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def fail_next(self, count: int, reply: str = "451 4.3.0 Temporary failure, try again later") -> None:
        with self._lock:
            self._fail_replies.extend([reply] * count)

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._drops += count

    def refuse(self, address: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        self._refused[address.lower()] = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._refused.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self._drops:
                self._drops -= 1
                server.transport.close()
                return "421 4.3.0 Closing"  # never reaches the sender: the line is down
            if self._fail_replies:
                return self._fail_replies.pop(0)
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list:
        """What arrived, parsed (email.message.EmailMessage), in order of arrival."""
        with self._lock:
            envelopes = list(self.envelopes)
        return [email.message_from_bytes(e.original_content, policy=policy.default) for e in envelopes]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for this test, with Django's SMTP backend pointed
    at it. Yields the SmtpRecorder; `.host`/`.port` say where it listens (for subprocesses)."""
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    recorder.host, recorder.port = controller.hostname, controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield recorder
    finally:
        controller.stop()
