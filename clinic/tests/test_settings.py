"""Production settings pass Django's deployment checks; the embedded default needs no server."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from clinic.settings import env_bool, env_int, env_seconds, env_url

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never has it.
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 20 + "a-long-random-production-secret-0123456789",
        DJANGO_ALLOWED_HOSTS="clinic.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_content_security_policy_allows_nothing_from_other_hosts():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]


# --- Environment values: what is not understood stops start-up, naming the variable ---------------


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", " on "])
def test_env_bool_reads_yes(monkeypatch, value):
    monkeypatch.setenv("MESOCLINIC_TEST_FLAG", value)
    assert env_bool("MESOCLINIC_TEST_FLAG", False) is True


@pytest.mark.parametrize("value", ["0", "false", "False", "NO", "off"])
def test_env_bool_reads_no(monkeypatch, value):
    monkeypatch.setenv("MESOCLINIC_TEST_FLAG", value)
    assert env_bool("MESOCLINIC_TEST_FLAG", True) is False


@pytest.mark.parametrize("value", [None, "", "  "])
def test_env_bool_unset_or_empty_is_the_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MESOCLINIC_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("MESOCLINIC_TEST_FLAG", value)
    assert env_bool("MESOCLINIC_TEST_FLAG", True) is True
    assert env_bool("MESOCLINIC_TEST_FLAG", False) is False


@pytest.mark.parametrize("value", ["ture", "flase", "2", "y", "enabled", "-1"])
def test_env_bool_refuses_what_it_does_not_understand(monkeypatch, value):
    monkeypatch.setenv("EMAIL_USE_TLS", value)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_bool("EMAIL_USE_TLS", False)
    message = str(refused.value)
    assert "EMAIL_USE_TLS" in message and repr(value) in message
    assert "1, true, yes, on" in message and "0, false, no, off" in message


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 25), ("", 25), ("587", 587), (" 2525 ", 2525), ("65535", 65535)]
)
def test_env_int_reads_whole_numbers(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("EMAIL_PORT", raising=False)
    else:
        monkeypatch.setenv("EMAIL_PORT", value)
    assert env_int("EMAIL_PORT", 25, minimum=1, maximum=65535) == expected


@pytest.mark.parametrize("value", ["abc", "25.0", "0", "-5", "70000", "2_5x"])
def test_env_int_refuses_what_it_does_not_understand(monkeypatch, value):
    monkeypatch.setenv("EMAIL_PORT", value)
    with pytest.raises(ImproperlyConfigured, match=r"EMAIL_PORT=.* whole number from 1 to 65535"):
        env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_env_seconds_refuses_what_it_does_not_understand(monkeypatch, value):
    monkeypatch.setenv("OUTBOX_DISPATCH_EVERY_SECONDS", value)
    with pytest.raises(ImproperlyConfigured, match="OUTBOX_DISPATCH_EVERY_SECONDS=.* seconds above 0"):
        env_seconds("OUTBOX_DISPATCH_EVERY_SECONDS", 60.0)


def test_env_seconds_reads_fractions(monkeypatch):
    monkeypatch.setenv("OUTBOX_DISPATCH_EVERY_SECONDS", "0.5")
    assert env_seconds("OUTBOX_DISPATCH_EVERY_SECONDS", 60.0) == 0.5


@pytest.mark.parametrize(
    "value",
    ["redis://127.0.0.1:6379/6", "rediss://:secret@cache.example.com:6380/0", "unix:///run/redis.sock"],
)
def test_env_url_reads_urls(monkeypatch, value):
    monkeypatch.setenv("REDIS_URL", value)
    assert env_url("REDIS_URL", "", ("redis", "rediss", "unix")) == value


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1:6379", "redis//127.0.0.1", "http://127.0.0.1:6379", "redis://:pw@host:port/0", "redis:///0"],
)
def test_env_url_refuses_what_it_does_not_understand_without_repeating_it(monkeypatch, value):
    monkeypatch.setenv("REDIS_URL", value)
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL is not understood") as refused:
        env_url("REDIS_URL", "", ("redis", "rediss", "unix"))
    assert value not in str(refused.value)  # a URL may carry a password


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DJANGO_DEBUG", "ture", "DJANGO_DEBUG='ture' is not understood"),
        ("EMAIL_PORT", "smtp", "EMAIL_PORT='smtp' is not understood"),
        ("OUTBOX_BATCH_SIZE", "0", "OUTBOX_BATCH_SIZE='0' is not understood"),
        ("OUTBOX_DISPATCH_EVERY_SECONDS", "1m", "OUTBOX_DISPATCH_EVERY_SECONDS='1m' is not understood"),
        ("SITE_URL", "clinic.example.com", "SITE_URL is not understood"),
        ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL is not understood"),
    ],
)
def test_a_setting_not_understood_stops_start_up_with_its_name(variable, value, said):
    result = run_manage("check", **{variable: value})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {said}" in result.stderr


def test_a_database_url_not_understood_stops_start_up_without_repeating_it():
    result = run_manage("check", DATABASE_URL="postgress://clinic:s3cret@db.example.com/clinic")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not understood" in result.stderr
    assert "s3cret" not in result.stderr


def _release(**env) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "RELEASE"} | env
    return subprocess.run(
        [sys.executable, "-c", "import clinic.settings as s; print(s.RELEASE)"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
    )


def test_the_release_is_what_the_deploy_sets():
    assert _release(RELEASE="4f1c2e9a").stdout.strip() == "4f1c2e9a"


def test_without_a_release_each_process_gets_its_own_so_none_serves_another_codes_pages():
    first, second = _release().stdout.strip(), _release().stdout.strip()
    assert first.startswith("started-") and second.startswith("started-")
    assert first != second


def test_a_release_not_understood_stops_start_up():
    result = _release(RELEASE="v1.2 (hotfix)")
    assert result.returncode != 0
    assert "ImproperlyConfigured: RELEASE is not understood" in result.stderr
