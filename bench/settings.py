"""Settings for the benchmarks only: the product's settings with DEBUG off (no query logging),
plain HTTP on 127.0.0.1, and bench/urls.py (the product URLs plus the bare /bench-ok/ view).

Never used by the product or its tests. The environment defaults below apply only when unset.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-7d1f0c9a2b4e")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

from clinic.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
# Served over plain HTTP on 127.0.0.1 (gunicorn without a proxy, the test client).
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# The dispatcher figure sends through its own loop; no Celery kicks after commit.
OUTBOX_KICK_ON_COMMIT = False
