"""One migrated PostgreSQL test database per run, copied for each pytest-xdist worker.

Migrating a test database costs about 7 CPU-seconds; `make test` runs four PostgreSQL
workers. The first worker to get here migrates `<test name>_template` (under a file lock);
every worker then gets its own database as `CREATE DATABASE ... TEMPLATE`, a file copy, and
pytest-django finds it ready (keepdb). The worker drops its copy at the end, the xdist
controller the template (`drop_template`).
"""

import fcntl
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection

_WORKER_SUFFIX = re.compile(r"_gw\d+$")


def template_name(worker_database: str) -> str:
    return _WORKER_SUFFIX.sub("", worker_database) + "_template"


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def clone_from_template() -> None:
    """Give this worker its test database (pytest-django's name, already suffixed `_gwN`)
    as a copy of the run's migrated template, migrating the template first if no worker has."""
    worker_database = connection.settings_dict["TEST"]["NAME"]
    template = template_name(worker_database)
    lock_path = Path(tempfile.gettempdir()) / f"loupe-{template}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with connection._nodb_cursor() as cursor:
            template_ready = _exists(cursor, template)
        if not template_ready:
            _migrate_template(template, worker_database)
        with connection._nodb_cursor() as cursor:
            if _exists(cursor, worker_database):  # left by a run that was killed
                cursor.execute(f"DROP DATABASE {_quoted(worker_database)}")
            cursor.execute(f"CREATE DATABASE {_quoted(worker_database)} TEMPLATE {_quoted(template)}")


def _migrate_template(template: str, worker_database: str) -> None:
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = template
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        connection.close()  # nobody may be connected to a template while it is copied
    finally:
        # create_test_db pointed the connection and the settings at the template.
        connection.settings_dict["TEST"]["NAME"] = worker_database
        connection.settings_dict["NAME"] = name
        settings.DATABASES[connection.alias]["NAME"] = name


def drop_worker_database() -> None:
    """Drop this worker's copy (pytest-django keeps a database it found ready)."""
    worker_database = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(worker_database)}")


def drop_template(test_database: str) -> None:
    """Drop the run's template (the xdist controller, once every worker has finished)."""
    template = template_name(test_database)
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(template)}")
    (Path(tempfile.gettempdir()) / f"loupe-{template}.lock").unlink(missing_ok=True)
