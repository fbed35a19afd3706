"""Login throttling counts the failures of every web worker: two processes, each failing a few
times, lock the account together (django-axes' database handler, on the real PostgreSQL)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.real_second_factor]

FAIL_THREE_TIMES = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
django.setup()
from django.test import Client
client = Client(SERVER_NAME="localhost", REMOTE_ADDR=os.environ["FROM_ADDRESS"])
statuses = [
    client.post("/accounts/login/", {"username": "frontdesk", "password": "wrong"}).status_code
    for _ in range(3)
]
print(" ".join(map(str, statuses)))
"""


def test_failures_in_two_processes_lock_the_account_together(client, front_desk):
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FAIL_THREE_TIMES],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": url, "FROM_ADDRESS": f"10.0.1.{n}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    statuses = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
        statuses += out.split()
    # Three tries from each process and address, fewer than the limit of five each: only counted
    # together do they reach it. The fifth failure, whichever process makes it, is answered with
    # the lockout, and so is the sixth.
    assert sorted(statuses) == ["200"] * 4 + ["429"] * 2, statuses
    response = client.post(reverse("login"), {"username": "frontdesk", "password": "mesoclinic"})
    assert response.status_code == 429
