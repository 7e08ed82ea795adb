# Loupe: the two commands are `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=
# pytest-xdist processes of `make test` (0: one process, as before).
TEST_PG_PROCESSES ?= 3
TEST_SQLITE_PROCESSES ?= 0

PROMTOOL := var/tools/promtool

.PHONY: run test test-postgres test-sqlite test-browser lint bench venv chromium nginx promtool clean

$(PY):
	@echo "==> creating virtualenv in $(VENV)"
	if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
	  echo "==> python venv support missing; installing python3-venv"; \
	  rm -rf $(VENV); \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; \
	  $(PYTHON) -m venv $(VENV); \
	fi

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	@echo "==> installing Python requirements"
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	# pip byte-compiles what it installs one file at a time (about 40 s here); compileall does
	# the same on every core (about 20 s). Compiled now, not by the first test run's several
	# processes each compiling the same modules at once.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "==> installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  echo "==> installing Debian's nginx-light for the slow-client test (deploy/nginx/loupe.conf)"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx-light >/dev/null; \
	fi

# Prometheus's promtool checks /metrics (tests/validation/test_metrics_api.py): unpacked from
# Debian's prometheus package into var/tools, so no Prometheus server is installed or started.
# Without it the test skips and says why; `make test` goes on.
$(PROMTOOL):
	@echo "==> unpacking promtool from Debian's prometheus package into var/tools"
	mkdir -p var/tools
	debs=$$(mktemp -d)
	trap 'rm -rf "$$debs"' EXIT
	if (cd "$$debs" && { apt-get download prometheus >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; }); then
	  dpkg-deb --fsys-tarfile "$$debs"/prometheus_*.deb | tar -xO ./usr/bin/promtool >$@.part
	  chmod +x $@.part && mv $@.part $@
	else
	  echo "==> could not download Debian's prometheus package; the promtool test will skip"
	fi

promtool: $(PROMTOOL)

run: $(STAMP)
	@mkdir -p var/static
	export DEBUG=$${DEBUG:-1}
	echo "==> applying migrations"
	$(PY) manage.py migrate --noinput
	echo "==> loading demo data (only into an empty database)"
	$(PY) manage.py seed_demo --if-empty
	echo "==> starting the task workers and the web server (Ctrl-C stops all)"
	# Three workers, so billing webhooks never wait behind a dataset export or a snippet's
	# redaction, and a redaction (its snippet's task waits for it) never behind an export.
	$(PY) manage.py worker --exclude-queues exports,redaction --no-reload --interval 0.2 &
	worker=$$!
	$(PY) manage.py worker --queue-name exports --no-reload --interval 0.2 &
	exporter=$$!
	$(PY) manage.py worker --queue-name redaction --no-reload --interval 0.2 &
	redactor=$$!
	# Takes up dataset builds whose worker died (their lease ran out).
	$(PY) manage.py datasets_recover --every 60 &
	datasets=$$!
	# The same for snippet redactions (and fails them after SNIPPET_REDACT_ATTEMPTS).
	$(PY) manage.py snippets_recover --every 60 &
	snippets=$$!
	# Re-queues webhook deliveries whose worker died mid-flight (django-tasks-db does not).
	$(PY) manage.py webhooks_recover --every 60 &
	recover=$$!
	# Deletes media past each store's retention (media_retention_days), hourly.
	$(PY) manage.py purge_media --every 3600 &
	purger=$$!
	# Samples every queue's depth once a minute for the supervisor's depth chart.
	$(PY) manage.py queue_depth_sample --every 60 &
	sampler=$$!
	# Stop the helpers with the server, and wait for them, so nothing outlives `make run`.
	trap 'kill $$worker $$exporter $$redactor $$datasets $$snippets $$purger $$recover $$sampler 2>/dev/null || true; wait $$worker $$exporter $$redactor $$datasets $$snippets $$purger $$recover $$sampler 2>/dev/null || true' EXIT INT TERM
	$(PY) manage.py demo_logins --url "http://$(HOST):$(PORT)/"
	# DEBUG=1: runserver serves static files (app and vendored assets) straight from the finders.
	$(PY) manage.py runserver --noreload "$(HOST):$(PORT)"

test: $(STAMP) chromium nginx promtool
	@mkdir -p var/static
	# pytest rewrites every test module's asserts; let it keep them between runs (~10 s a process).
	export PYTHONDONTWRITEBYTECODE=
	echo "==> lint (ruff)"
	$(VENV)/bin/ruff check .
	echo "==> migrations match the models"
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run >/dev/null
	echo "==> tests on PostgreSQL (concurrency and browser tests included) and, side by side, on SQLite"
	# Several processes (pytest-xdist), each on a test database of its own; the browser tests
	# stay together on one of them (tests/conftest.py). Much of the PostgreSQL run waits
	# (browsers, subprocesses, PostgreSQL itself), so the SQLite run (PostgreSQL-only and
	# browser tests skipped) goes at the same time; its report follows the PostgreSQL one.
	sqlite_log=var/test-sqlite.log
	DEBUG=1 DATABASE_URL=sqlite:///var/test.sqlite3 $(VENV)/bin/pytest -n $(TEST_SQLITE_PROCESSES) --dist loadgroup \
	  --basetemp var/pytest-sqlite -m "not postgres_only and not browser" $(PYTEST_ARGS) >$$sqlite_log 2>&1 &
	sqlite=$$!
	trap 'kill $$sqlite 2>/dev/null || true' EXIT INT TERM
	postgres_status=0
	DEBUG=1 DATABASE_URL=$(TEST_PG_URL) TEST_DATABASE_NAME=test_loupe_$$$$ $(VENV)/bin/pytest -n $(TEST_PG_PROCESSES) \
	  --dist loadgroup --basetemp var/pytest-postgres $(PYTEST_ARGS) || postgres_status=$$?
	sqlite_status=0
	wait $$sqlite || sqlite_status=$$?
	echo "==> tests on SQLite (ran beside the PostgreSQL ones; log: $$sqlite_log)"
	cat $$sqlite_log
	echo "==> PostgreSQL run: exit $$postgres_status; SQLite run: exit $$sqlite_status"
	[ $$postgres_status -eq 0 ] && [ $$sqlite_status -eq 0 ]

test-postgres: $(STAMP)
	@DEBUG=1 DATABASE_URL=$(TEST_PG_URL) TEST_DATABASE_NAME=test_loupe_$$$$ $(VENV)/bin/pytest $(PYTEST_ARGS)

test-sqlite: $(STAMP)
	@DEBUG=1 DATABASE_URL=sqlite:///var/test.sqlite3 $(VENV)/bin/pytest -m "not postgres_only and not browser" $(PYTEST_ARGS)

test-browser: $(STAMP) chromium
	@DEBUG=1 DATABASE_URL=$(TEST_PG_URL) TEST_DATABASE_NAME=test_loupe_$$$$ $(VENV)/bin/pytest -m browser $(PYTEST_ARGS)

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) var/test.sqlite3 var/tools
