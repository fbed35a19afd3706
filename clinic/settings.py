"""Mesoclinic settings: one module, read from the environment, with safe development defaults.

Production sets DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL and REDIS_URL;
`manage.py check --deploy --fail-level WARNING` then passes.
"""

import datetime
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MESOCLINIC_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


# Each env_* helper refuses a value it does not understand, naming the variable and what it accepts
# (unset or empty means the default): a typo in a deployment's environment stops the process at
# start-up instead of quietly becoming "no" (EMAIL_USE_TLS=ture was a plain-text connection).
# URLs are not repeated in the message: they may carry a password.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not understood: use one of {', '.join(_TRUE)} "
        f"or {', '.join(_FALSE)} (any case), or leave it empty for the default ({int(default)})."
    )


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"from {minimum}" + (f" to {maximum}" if maximum is not None else " up")
        raise ImproperlyConfigured(
            f"{name}={os.environ[name]!r} is not understood: use a whole number {bounds}, "
            f"or leave it empty for the default ({default})."
        )
    return number


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds, fractions allowed."""
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0 or number == float("inf"):
        raise ImproperlyConfigured(
            f"{name}={os.environ[name]!r} is not understood: use a number of seconds above 0, "
            f"or leave it empty for the default ({default:g})."
        )
    return number


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL with one of `schemes` and a host (a socket path for unix://)."""
    value = os.environ.get(name, "").strip() or default
    if not value:
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in schemes
        or not (parts.path if parts.scheme == "unix" else parts.netloc)
    ):
        raise ImproperlyConfigured(
            f"{name} is not understood: use a URL that starts with "
            f"{' or '.join(s + '://' for s in schemes)} and names a host, or leave it empty for the default."
        )
    return value


DEBUG = env_bool("DJANGO_DEBUG", True)

_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production-3f9a1c7e5b"
SECRET_KEY = env("DJANGO_SECRET_KEY") or (_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")

ALLOWED_HOSTS = [
    h.strip()
    for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "phonenumber_field",
    "django_celery_beat",
    "csp",
    # Second factor (docs/design.md, "Signing in"): TOTP apps, recovery codes, WebAuthn passkeys.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    # Login throttling, recorded in the database so every web worker sees the same failures.
    "axes",
    "clinic",
    "patients",
    "treatments",
    "scheduling",
    "outbox",
    "consents",
    "photos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view or the CSRF check reads a form: a charset other than UTF-8 gets the styled 400.
    "clinic.charset.RefuseForeignCharsetMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # A signed-in session that has not passed its second factor reaches only the sign-in steps;
    # sessions end 12 h after sign-in whatever the activity (clinic/security.py). Before the access
    # table, so that such a session is sent to the second step from every page, never told which
    # pages its role may not open.
    "clinic.security.SecondFactorMiddleware",
    # Every URL is checked against the access table in clinic/access.py (deny by default).
    "clinic.access.RoleAccessMiddleware",
    # Last, as django-axes asks: turns a lockout raised by the backend into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
# No DATABASE_URL: an SQLite file (the embedded default). Writers are serialised with
# BEGIN IMMEDIATE so that check-then-insert services (bookings) cannot interleave; WAL lets the web
# server, the worker and beat read while one of them writes.
DATABASE_URL = env("DATABASE_URL").strip()
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    except ValueError as error:  # dj_database_url's UnknownSchemeError and ParseError
        raise ImproperlyConfigured(
            f"DATABASE_URL is not understood ({error}): use, for example, "
            "postgres://user:password@host:5432/name, or leave it empty for the embedded SQLite file."
        ) from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "mesoclinic.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
        }
    }
DB_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and sessions ----------------------------------------------------------------------------
# ASVS 2.1: at least 12 characters, at most 128, not a common password nor close to the user's
# name or e-mail; no composition rules and no forced rotation.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "clinic.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes first (it refuses a locked-out username or address before the password is checked),
# then the ModelBackend that reads the user's roles in the same query as the user (clinic/auth.py).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "clinic.auth.RoleModelBackend"]
# Login throttling (django-axes, database handler): 5 failed sign-ins for one username, or from one
# address, lock that username or address for 15 minutes or until the clinic admin unlocks it. The
# message is the same whether the account exists or not (clinic/security_views.py, locked_out).
AXES_FAILURE_LIMIT = env_int("CLINIC_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("CLINIC_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clinic.security_views.locked_out"
AXES_VERBOSE = False
# A session ends this long after its sign-in, whatever the activity (beside the idle timeout).
SESSION_ABSOLUTE_SECONDS = env_int("CLINIC_SESSION_MAX_HOURS", 12, minimum=1, maximum=24 * 7) * 3600
# Irreversible or bulk actions ask for the password or a second factor again after this long.
REAUTH_SECONDS = env_int("CLINIC_REAUTH_MINUTES", 10, minimum=1, maximum=60) * 60
# WebAuthn (django-otp-webauthn): the relying party is this site.
OTP_WEBAUTHN_RP_NAME = "Mesoclinic"
# Browsers allow WebAuthn over HTTPS, or on http://localhost (development: open the demo there).
_WEBAUTHN_ORIGIN = env("SITE_URL").strip().rstrip("/")
if not _WEBAUTHN_ORIGIN.startswith("https://"):
    _WEBAUTHN_ORIGIN = "http://localhost:8000"
OTP_WEBAUTHN_RP_ID = urlsplit(_WEBAUTHN_ORIGIN).hostname
OTP_WEBAUTHN_ALLOWED_ORIGINS = [_WEBAUTHN_ORIGIN]
OTP_TOTP_ISSUER = "Mesoclinic"
# A passkey is the second step after the password (throttled by django-axes), not a way around it.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# Adding a key is audited and told to the user (clinic/security.py).
OTP_WEBAUTHN_HELPER_CLASS = "clinic.security.ClinicWebAuthnHelper"
# The demo logins of `make run` (clinic/demo.py) sign in without a second factor, in DEBUG only.
MFA_DEMO_EXEMPT_USERNAMES = ("admin", "practitioner", "frontdesk") if DEBUG else ()
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "clinic:dashboard"
LOGOUT_REDIRECT_URL = "login"
# Sessions end after a period of inactivity: the clinic setting session_idle_minutes is applied by
# RoleAccessMiddleware, which renews the session at most once a minute (not a write per request);
# this is the fallback for the very first request.
SESSION_COOKIE_AGE = env_int("CLINIC_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation and time -----------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("CLINIC_TIME_ZONE", "Europe/Lisbon")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env("CLINIC_PHONE_REGION", "PT")
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files (signatures, clinical photos) are health data: never under a public URL. Every file
# is served by a view that checks the role and logs the read (consents/views.py, photos/views.py).
# Default: the filesystem under var/uploads. With STORAGE_S3_BUCKET set: S3-compatible object
# storage through django-storages (README.md, "File storage").
UPLOADS_DIR = VAR_DIR / "uploads"
STORAGE_S3_BUCKET = env("STORAGE_S3_BUCKET").strip()
if STORAGE_S3_BUCKET:
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            "endpoint_url": env_url("STORAGE_S3_ENDPOINT_URL", "", ("https", "http")) or None,
            "region_name": env("STORAGE_S3_REGION") or None,
            "access_key": env("STORAGE_S3_ACCESS_KEY_ID") or None,
            "secret_key": env("STORAGE_S3_SECRET_ACCESS_KEY") or None,
            "location": env("STORAGE_S3_PREFIX", "mesoclinic"),
            # Private objects, read only through our views: no ACL, no public or signed URL handed out.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": UPLOADS_DIR, "base_url": None, "directory_permissions_mode": 0o700},
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ---------------------------------------------------------------------------------------
# Development default: messages are printed by the process that sends them (the Celery worker).
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Mesoclinic <no-reply@mesoclinic.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in e-mails (confirm/cancel/unsubscribe) are built on this.
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000", ("https", "http")).rstrip("/")

# --- Outbox (outbox/services.py) ------------------------------------------------------------------
# A claimed message belongs to its dispatcher run for this long; a message whose worker died while
# sending it is claimed again after it. A run claims one message at a time, just before sending it,
# so the lease only has to outlast one SMTP send (EMAIL_TIMEOUT); it is renewed when half is gone.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300, minimum=1)
# Temporary failures retry after 1, 2, 4, 8, 16 minutes; the 6th failure marks the message failed.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 6, minimum=1)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 60, minimum=1)
# Messages per dispatcher run (one SMTP connection each).
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50, minimum=1)
# Message-IDs are <hash of the idempotency key>@this domain (default: DEFAULT_FROM_EMAIL's domain).
OUTBOX_MESSAGE_ID_DOMAIN = env("OUTBOX_MESSAGE_ID_DOMAIN")
# Ask a worker to send a message that is due now right after its transaction commits (beat would
# pick it up within a minute anyway).
OUTBOX_KICK_ON_COMMIT = env_bool("OUTBOX_KICK_ON_COMMIT", True)

# --- Clinical photos (photos/services.py) ----------------------------------------------------------
# A larger upload is refused with a message saying the limit (a phone photo is 2–8 MB).
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Pixels on the longest side: the stored photo, and the thumbnail of timelines and lists.
PHOTO_MAX_SIDE = env_int("PHOTO_MAX_SIDE", 2400, minimum=200)
PHOTO_THUMBNAIL_SIDE = env_int("PHOTO_THUMBNAIL_SIDE", 320, minimum=64)

# --- Celery ---------------------------------------------------------------------------------------
# No REDIS_URL: kombu's filesystem transport, so `make run` needs no broker server.
# Production Redis: append-only persistence and maxmemory-policy noeviction (docs/design.md).
REDIS_URL = env_url("REDIS_URL", "", ("redis", "rediss", "unix"))
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis hands an unacknowledged task to another worker after this many seconds. It must be
        # longer than any task's hard time limit (CELERY_TASK_TIME_LIMIT), or a task still running
        # would run twice. We schedule nothing with ETA/countdown (they would be redelivered too).
        "visibility_timeout": 3600,
    }
else:
    for sub in ("queue", "processed"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # kombu's default is ./control in the working directory; keep it under var/ too.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }

# --- Cache ----------------------------------------------------------------------------------------
# With Redis (production): one cache every process shares, holding the sessions (cached_db: read
# from Redis, written through to the database, so a Redis restart logs nobody out) and the cached
# parts of the patient page (clinic/fragments.py). Every entry has a timeout, so the cache can live
# in the broker's Redis (noeviction) without filling it. CACHE_URL may point it at another Redis.
# Without Redis (the embedded default): a per-process memory cache, database sessions, and no
# cached fragments, because a memory cache is not shared between processes and a change made in
# one (the worker, another web process) would not retire another's copy.
CACHE_URL = env_url("CACHE_URL", REDIS_URL, ("redis", "rediss", "unix"))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "clinic.cache.RedisCache",  # Django's, reusing its redis-py client
            "LOCATION": CACHE_URL,
            # Per database: two deployments (or the tests and the bench) sharing a Redis never
            # read each other's sessions or pages.
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", f"mesoclinic:{DATABASES['default']['NAME']}"),
            "TIMEOUT": 300,
            # A Redis that stops answering costs a page at most this long per cache call (seconds);
            # pages work without the cache (sessions from the database, fragments rendered).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Django's cached_db, except that a failing cache is logged and skipped (clinic/sessions.py).
    SESSION_ENGINE = "clinic.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "TIMEOUT": 300}}
# Seconds a cached fragment may be served (0: off). A change to what it shows retires it at once;
# this bounds what no change event covers (a server killed between a commit and its cache update).
FRAGMENT_CACHE_SECONDS = env_int("FRAGMENT_CACHE_SECONDS", 300 if CACHE_URL else 0)
# The deployed version (a git commit, an image tag), set by the deploy. Cached fragments are keyed by
# it, so a deploy never serves a page the previous code rendered. Unset, it is this process's start
# time: never stale either, but every process (each web worker, after each restart) starts with
# none of the cached pages, so a deploy should set it.
RELEASE = env("RELEASE").strip() or f"started-{time.time_ns()}"
if not re.fullmatch(r"[\w.+-]{1,64}", RELEASE, flags=re.ASCII):
    raise ImproperlyConfigured(
        "RELEASE is not understood: use at most 64 letters, digits and . _ + - (the git commit, say), "
        "or leave it empty for this process's start time."
    )

CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# Tasks report through the database (the outbox rows and their events), not a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Safety first (see docs/design.md, "The outbox"); every task is safe to run twice:
# - acks late: a task is acknowledged after it ran, so a worker that dies mid-task does not lose it;
CELERY_TASK_ACKS_LATE = True
# - reject on worker lost: if the child process is killed (OOM, SIGKILL) the task goes back to the
#   queue instead of being acknowledged as failed;
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# - a worker that loses its broker connection lets its running tasks finish. Cancelling them (True)
#   would kill the outbox dispatcher between the mail server's acceptance of a message and its
#   mark, and the message would go again; a task redelivered after the reconnection is harmless
#   (it finds nothing due, or the rows the first run left). Set explicitly: Celery 5.4+ warns until it is.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# - prefetch 1: a worker reserves only the task it runs, so a busy or dying worker holds nothing back;
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# - time limits: the soft limit raises inside the task (the outbox row stays claimed and is swept
#   after its lease), the hard limit kills the child. Both well under the visibility timeout.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Exactly one beat process runs. DatabaseScheduler copies the entries below into django_celery_beat's
# tables when beat starts (edit the interval there, or here and restart beat).
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
OUTBOX_DISPATCH_EVERY_SECONDS = env_seconds("OUTBOX_DISPATCH_EVERY_SECONDS", 60.0)
# How often the audit rows written since the last run are sealed into the chain (clinic/audit_chain.py):
# the longest a new row stays outside the tamper-evident chain.
AUDIT_SEAL_EVERY_SECONDS = env_seconds("AUDIT_SEAL_EVERY_SECONDS", 10.0)
CELERY_BEAT_SCHEDULE: dict = {
    "outbox-dispatch": {
        "task": "outbox.tasks.dispatch_outbox",
        "schedule": OUTBOX_DISPATCH_EVERY_SECONDS,
        # A tick that waited in the queue (workers down) is dropped: the next tick does the same work.
        "options": {"expires": max(OUTBOX_DISPATCH_EVERY_SECONDS - 5, 1)},
    },
    # Access-log and change-history rows written since the last run go into the audit chain.
    "audit-seal": {
        "task": "clinic.tasks.seal_audit_trail",
        "schedule": AUDIT_SEAL_EVERY_SECONDS,
        "options": {"expires": max(AUDIT_SEAL_EVERY_SECONDS - 1, 1)},
    },
    # Erased patients whose retention period ended are pseudonymised (patients/gdpr.py); daily.
    "patients-pseudonymise-expired": {
        "task": "patients.tasks.pseudonymise_expired",
        "schedule": 24 * 3600.0,
        "options": {"expires": 12 * 3600},
    },
}
# The request header a trusted reverse proxy sets to the client's address, as Django names it
# (e.g. HTTP_X_REAL_IP); empty: REMOTE_ADDR. Recorded in the access log (clinic/audit.py).
AUDIT_CLIENT_IP_HEADER = env("AUDIT_CLIENT_IP_HEADER", "")

# --- Security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies: only over HTTPS, for this host alone (no Domain), on every path.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # django-axes logs every sign-in at INFO; failures and lockouts are in its tables.
        "axes": {"level": "WARNING"},
    },
}
