"""Production settings refuse to serve without a secret, yet offline commands still run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# On one worker under `--dist loadgroup`, so that the tests reading the settings of one
# environment share its subprocess (`settings_under`).
pytestmark = pytest.mark.xdist_group("settings_subprocesses")


def run(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    # Not DJANGO_ALLOW_ASYNC_UNSAFE either: the browser tests' session fixture sets it in this
    # process, and `check --deploy` rightly fails a deployment that has it.
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in unset}
    base.update(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("entry", ["config.wsgi", "config.asgi"])
def test_the_server_refuses_to_boot_without_a_secret_key(entry, tmp_path):
    booted = run(f"import {entry}", tmp_path)
    assert booted.returncode != 0
    assert "SECRET_KEY must be set to serve Loupe" in booted.stderr


def test_the_server_boots_with_a_secret_key(tmp_path):
    assert run("import config.wsgi", tmp_path, SECRET_KEY="s3cret-for-this-test").returncode == 0


def test_offline_commands_run_without_a_secret_key(tmp_path):
    checked = run(
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('makemigrations', '--check', '--dry-run', verbosity=0)",
        tmp_path,
    )
    assert checked.returncode == 0, checked.stderr


# The production environment README "Deploying on several machines" documents.
PRODUCTION = {
    "SECRET_KEY": "x7Rq-production-like-secret-key-of-fifty-or-more-characters-9fK2mZ",
    "ALLOWED_HOSTS": "loupe.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://loupe.example.com",
    "BEHIND_TLS_PROXY": "1",
    "DATABASE_CONN_MAX_AGE": "600",
    "AWS_STORAGE_BUCKET_NAME": "loupe-media",
}


def test_the_deploy_check_is_clean_with_the_documented_production_environment(tmp_path):
    checked = run(
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        tmp_path,
        **PRODUCTION,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout, checked.stdout + checked.stderr


# The settings the tests below read, by name: each environment's are read in one subprocess
# (starting Python and importing Django costs about a second of CPU).
SHOWN = {
    "SECURE_SSL_REDIRECT": "settings.SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS": "settings.SECURE_HSTS_SECONDS",
    "CONN_MAX_AGE": "settings.DATABASES['default']['CONN_MAX_AGE']",
    "CONN_HEALTH_CHECKS": "settings.DATABASES['default']['CONN_HEALTH_CHECKS']",
    "SESSION_COOKIE_AGE": "settings.SESSION_COOKIE_AGE",
    "SESSION_SAVE_EVERY_REQUEST": "settings.SESSION_SAVE_EVERY_REQUEST",
    "idle sessions end": "'config.middleware.SessionIdleMiddleware' in settings.MIDDLEWARE",
}


def settings_values(tmp_path, **env: str) -> dict[str, str]:
    """The repr() of each setting of SHOWN under `env`, from one subprocess."""
    shown = ", ".join(f"{name!r}: repr({expression})" for name, expression in SHOWN.items())
    code = f"import django, json; django.setup(); from django.conf import settings; print(json.dumps({{{shown}}}))"
    ran = run(code, tmp_path, **env)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


@pytest.fixture(scope="module")
def settings_under(tmp_path_factory):
    """`settings_under(**env)`: `settings_values` under `env`, read once per environment for the module."""
    tmp_path = tmp_path_factory.mktemp("settings")
    read: dict[tuple, dict[str, str]] = {}

    def under(**env: str) -> dict[str, str]:
        key = tuple(sorted(env.items()))
        if key not in read:
            read[key] = settings_values(tmp_path, **env)
        return read[key]

    return under


def test_production_redirects_to_https_and_sends_hsts(settings_under):
    shown = settings_under(**PRODUCTION)
    assert shown["SECURE_SSL_REDIRECT"] == "True"
    assert shown["SECURE_HSTS_SECONDS"] == str(365 * 24 * 3600)


def test_plain_http_is_redirected_but_for_probes_and_scrapes(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["loupe.example.com"]

    home = client.get("/", HTTP_HOST="loupe.example.com")
    assert (home.status_code, home.headers["Location"]) == (301, "https://loupe.example.com/")
    assert client.get("/api/v1/metrics/", HTTP_HOST="loupe.example.com").status_code == 301
    for path in ("/healthz", "/readyz"):
        assert client.get(path, HTTP_HOST="loupe.example.com").status_code == 200, path
    assert client.get("/metrics", HTTP_HOST="loupe.example.com").status_code == 401  # answered, not redirected


def test_development_neither_redirects_nor_sends_hsts(settings_under):
    shown = settings_under(DEBUG="1")
    assert (shown["SECURE_SSL_REDIRECT"], shown["SECURE_HSTS_SECONDS"]) == ("False", "0")


def test_database_connections_persist_and_are_health_checked_by_default(settings_under):
    shown = settings_under(SECRET_KEY="s3cret-for-this-test")
    assert (shown["CONN_MAX_AGE"], shown["CONN_HEALTH_CHECKS"]) == ("60", "True")


def test_sessions_expire_after_eight_idle_hours_by_default(settings_under):
    shown = settings_under(DEBUG="1")
    assert (shown["SESSION_COOKIE_AGE"], shown["SESSION_SAVE_EVERY_REQUEST"], shown["idle sessions end"]) == (
        str(8 * 3600),
        "False",
        "True",
    )
