"""Loupe settings. Every value comes from the environment; see README "Configuration".

Secure by default: DEBUG is off unless set, and without DEBUG Loupe refuses to serve without
a SECRET_KEY. `make run` sets DEBUG=1 for local development.
"""

from pathlib import Path

import dj_database_url

from config.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Only DEBUG gets a fallback key. Without DEBUG an unset SECRET_KEY stays empty: Django refuses
# every use of it (sessions, CSRF, signing) and the WSGI/ASGI entry points refuse to boot
# (config.env.require_secret_key), while offline commands that sign nothing still run.
SECRET_KEY = env_str("SECRET_KEY") or ("insecure-development-key-only-used-with-DEBUG" if DEBUG else "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # pg_trgm lookups for the product search (inert on SQLite)
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "catalog",
    "annotator",
    "validation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.SessionIdleMiddleware",
    "config.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "catalog.context_processors.roles",
            ],
        },
    }
]

# Database: embedded SQLite by default (zero set-up for `make run`), PostgreSQL in
# production and tests via DATABASE_URL=postgres://...
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'loupe.sqlite3'}",
        # Persistent by default (the work API prepares its hot statements once per connection);
        # the health check makes the first request after a database restart reconnect instead
        # of failing on the dead connection with a 500 in every process that held one.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
    # failing with "database is locked" half-way through a claim.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: Loupe's statements are short, and PostgreSQL's cost estimate for the claim (whose
    # per-candidate probes it cannot size) passes jit_above_cost, so each claim would spend
    # ~200 ms compiling itself. The dashboard's aggregates run as fast or faster without it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if test_name := env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": test_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The dashboard's covering indexes carry INCLUDE columns for PostgreSQL index-only scans;
# SQLite builds the same indexes without them, which is harmless for the embedded database.
# security.W021: HSTS preload is the domain owner's decision (see SECURE_HSTS_PRELOAD).
SILENCED_SYSTEM_CHECKS = ["models.W040", "security.W021"]

# Django's four validators: a password like the username, short, common or all digits is refused
# (`add_user --password`, the admin's password forms).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# Media goes through Django's storage API: the filesystem by default, any S3-compatible
# object store when AWS_STORAGE_BUCKET_NAME is set (required with more than one machine).
# boto3 reads the rest from its usual variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
# (or an instance role), AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL for a store other than AWS
# (tests/test_several_machines.py runs on moto's server that way). A name already taken gets
# a new one, as on the filesystem, instead of replacing the object (django-storages' default).
_bucket = env_str("AWS_STORAGE_BUCKET_NAME")
STORAGES = {
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": _bucket, "file_overwrite": False}}
        if _bucket
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG else "config.storage.StaticStorage"
        )
    },
}

# Uploads: JSON bodies up to 8 MB (a full bulk of visits); snippets are streamed to a
# temporary file and checked against SNIPPET_MAX_BYTES by the intake service.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 8 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
SNIPPET_MAX_BYTES = env_int("SNIPPET_MAX_BYTES", 50 * 1024 * 1024)
SNIPPET_MAX_SECONDS = env_int("SNIPPET_MAX_SECONDS", 120)
SNIPPET_MAX_WIDTH = env_int("SNIPPET_MAX_WIDTH", 1920)
SNIPPET_MAX_HEIGHT = env_int("SNIPPET_MAX_HEIGHT", 1080)
SNIPPET_PROBE_TIMEOUT_S = env_int("SNIPPET_PROBE_TIMEOUT_S", 20)
# Decoding, face detection and re-encoding of one upload (annotator.redaction), on the
# `redaction` worker after the upload request has answered: about a CPU-minute for 120 s of
# 1080p, several times that in wall time on a busy machine; a clip past it fails.
SNIPPET_REDACT_TIMEOUT_S = env_int("SNIPPET_REDACT_TIMEOUT_S", 600)
# A redaction holds a lease this long (the timeout, plus fetching the held upload, the poster
# and storing the results); once it has run out (its worker died) `snippets_recover` queues it
# again, at most SNIPPET_REDACT_ATTEMPTS attempts in all, then the snippet is `failed`.
SNIPPET_REDACT_LEASE_S = env_int("SNIPPET_REDACT_LEASE_S", SNIPPET_REDACT_TIMEOUT_S + 180)
SNIPPET_REDACT_ATTEMPTS = env_int("SNIPPET_REDACT_ATTEMPTS", 3)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes missing credentials a 401. DRF's token
        # authentication, reading the user's roles in the same query (catalog.roles).
        "catalog.roles.RoleTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["infra.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.LoupeAutoSchema",
    "EXCEPTION_HANDLER": "infra.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loupe API",
    "DESCRIPTION": "Human-in-the-loop validation and annotation for checkout-free retail.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1 for `webhooks`: the receipts Loupe sends to billing are part of the contract too.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": ["config.openapi.RECEIPT_ISSUED", "config.openapi.RECEIPT_CORRECTED"],
    # Visits' and snippets' statuses, named once (ingest and read answers share them).
    "ENUM_NAME_OVERRIDES": {
        "VisitStatusEnum": "validation.models.Visit.Status",
        "SnippetStatusEnum": "annotator.models.Snippet.Status",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.add_operations"],
}

# Background work: Django's Tasks API on the database. Tasks enqueued inside a transaction
# commit with it (transactional outbox); `manage.py worker` (every queue) runs them. Each slow
# kind has workers of its own (README "Workers"): `exports` (dataset builds, minutes) and
# `redaction` (a minute of CPU per long clip), so neither delays `webhooks` (billing) nor
# each other.
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "webhooks", "exports", "redaction"],
    }
}
# What each queue carries, in the words of the supervisor's console ("Receipts: no worker...").
TASK_QUEUE_TITLES = {
    "webhooks": "Receipts",
    "exports": "Exports",
    "redaction": "Redactions",
    "default": "Other background work",
}

# Every `manage.py worker` writes a heartbeat this often (annotator.WorkerBeat); one not seen
# for WORKER_ALIVE_S seconds counts as gone on /readyz and the supervisor's console.
WORKER_BEAT_S = env_int("WORKER_BEAT_S", 5)
WORKER_ALIVE_S = env_int("WORKER_ALIVE_S", 30)

# Billing webhooks go only to public addresses (SSRF guard, validation.outbound). Loopback,
# link-local, metadata and private addresses need an explicit entry here: host names, IPs or
# CIDRs in WEBHOOK_ALLOWED_HOSTS; WEBHOOK_ALLOW_PRIVATE_NETWORKS opens RFC 1918 / ULA ranges.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS")
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)

# Prometheus scrapers present `Authorization: Bearer <METRICS_TOKEN>` at /metrics (all stores);
# unset, /metrics answers only supervisors' and integrations' sessions and tokens.
METRICS_TOKEN = env_str("METRICS_TOKEN")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Sessions end after SESSION_COOKIE_AGE seconds without a request of the person's (idle
# timeout, not a fixed lifetime).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
# A person's request stamps the session at most once a SESSION_TOUCH_S, which saves it with a
# new expiry; the page's own polls and heartbeats do not (config.middleware.SessionIdleMiddleware).
SESSION_TOUCH_S = 60
# Seconds between the self-refreshes (htmx polls) of the associate's work home and of the
# supervisor's console and its panels: fresher figures cost one request per open page each time.
WORK_REFRESH_S = env_int("WORK_REFRESH_S", 10, minimum=1)
CONSOLE_REFRESH_S = env_int("CONSOLE_REFRESH_S", 5, minimum=1)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
# HTTPS only unless DEBUG: plain-HTTP requests are redirected and browsers are told to remember
# it (HSTS, a year). Not the paths machines call on each instance directly, past the TLS proxy:
# the load balancer's health probes and Prometheus' scrapes (which would follow the redirect to
# an HTTPS port the instance does not have).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading commits the whole registrable domain and is submitted by its owner, not by one
# site on it: off unless asked for, and its deploy-check reminder (W021) silenced below.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# Hardening: limits that keep uploads, clients and background builds from stalling the site.
# Snippets: frames per second and frames in all (the default: the longest clip at the highest
# rate); a clip past either is 413 video_too_large, and its frames are not counted further.
SNIPPET_MAX_FPS = env_int("SNIPPET_MAX_FPS", 120)
SNIPPET_MAX_FRAMES = env_int("SNIPPET_MAX_FRAMES", SNIPPET_MAX_SECONDS * SNIPPET_MAX_FPS)

# Sign-in: after LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that
# pair is refused (429, even with the right password) for LOGIN_LOCKOUT_MINUTES (django-axes;
# attempts are rows in the database, so every web server sees them).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15) / 60  # axes reads a float as hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are what a lockout needs; sessions already say who is in
AXES_CLIENT_IP_CALLABLE = "infra.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "catalog.views.signin.login_locked_out"

# The API's rate limits (infra.throttling): per user or token, and per address for anonymous
# callers; an empty value turns one off. X-Forwarded-For is believed only for the last
# TRUSTED_PROXY_COUNT hops (0: the peer's address), by the throttles and the sign-in lockout.
# Their history lives in the default cache, the database one so that every web server shares
# it; `migrate` creates its table (catalog.apps).
REST_FRAMEWORK |= {
    "DEFAULT_THROTTLE_CLASSES": ["infra.throttling.UserRateThrottle", "infra.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("API_THROTTLE_USER", "100/s"),
        "anon": env_rate("API_THROTTLE_ANON", "60/min"),
    },
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0),
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "loupe_cache",
        # Django counts the table on every write: keep it small. Throttle entries expire with
        # their window (a second, a minute), and culling deletes the expired ones first.
        "OPTIONS": {"MAX_ENTRIES": 2_000},
    }
}

# Visits (and their events) that ended longer ago than this are refused (400 `too_old`): a
# visit's deadline is its exit plus the store's SLA, so one from 1970 went to the head of its
# queue and stayed breached for ever. Billing has long settled such a visit.
VISIT_MAX_AGE_DAYS = env_int("VISIT_MAX_AGE_DAYS", 30)

# Dataset builds hold a lease that their worker extends after every batch; once it has run out
# (the worker died), a later run, a retry or `datasets_recover` takes the build over.
DATASET_BUILD_LEASE_S = env_int("DATASET_BUILD_LEASE_S", 300)
# A build still writing after DATASET_BUILD_TIMEOUT_S fails ("took longer than its time
# budget") instead of holding the exports worker forever.
DATASET_BUILD_TIMEOUT_S = env_int("DATASET_BUILD_TIMEOUT_S", 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
