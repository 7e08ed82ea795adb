"""Production settings refuse to serve without a secret, yet offline commands still run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
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
