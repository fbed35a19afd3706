"""Project-wide fixtures: staff users by role, logged-in clients, and the skip rules for real services."""

import os

import pytest
from django.conf import settings

from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER
from clinic.tests.factories import UserFactory


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


@pytest.fixture(autouse=True)
def _no_outbox_kick(settings):
    """Tests dispatch the outbox themselves; enqueue() must not post tasks to the broker."""
    settings.OUTBOX_KICK_ON_COMMIT = False


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
