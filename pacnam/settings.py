"""Settings for the Pác Nặm registry, read from the environment (django-environ).

Everything that differs between a laptop, CI and production is an environment
variable; the README lists them all. With nothing set we run on SQLite so that
one can check out the code and it works.
"""

import ipaddress
import os
import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# With DEBUG on, a 404 is still the registry's own page (pacnam.middleware.
# SiteErrorPagesMiddleware); TECHNICAL_ERRORS=1 shows Django's technical 404 instead.
TECHNICAL_ERRORS = env.bool("TECHNICAL_ERRORS", default=False)

# Management commands that sign nothing and serve nothing may run without a
# key (a build step's collectstatic, CI's makemigrations --check): they get a
# throwaway one. The server and everything else refuse to start without it.
KEYLESS_COMMANDS = {
    "makemigrations",
    "showmigrations",
    "collectstatic",
    "makemessages",
    "compilemessages",
    "help",
}
_command = sys.argv[1] if len(sys.argv) > 1 and os.path.basename(sys.argv[0]) == "manage.py" else ""

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and not DEBUG and _command in KEYLESS_COMMANDS:
    SECRET_KEY = secrets.token_urlsafe(50)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the registry refuses to start without one: "
            "set SECRET_KEY to a long random string (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
            "or set DEBUG=1 for local development."
        )
    # Development only: DEBUG is on, so a fixed insecure key is acceptable.
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"

# The audit trail's seals (pacnam.audit.trail, docs/audit.md): an HMAC key that is
# not in the database, so that whoever owns the database cannot reseal a
# rewritten log. Old keys only verify the entries they sealed.
AUDIT_KEY = env.str("AUDIT_KEY", default="")
AUDIT_OLD_KEYS = env.list("AUDIT_OLD_KEYS", default=[])
# The trail's head, appended to a file outside the database every AUDIT_ANCHOR_EVERY
# entries and daily, and checked by audit_verify (pacnam/audit/anchor.py). Empty: off.
AUDIT_ANCHOR_FILE = env.str("AUDIT_ANCHOR_FILE", default="")
AUDIT_ANCHOR_EVERY = env.int("AUDIT_ANCHOR_EVERY", default=100)
if not AUDIT_KEY and not DEBUG and _command in KEYLESS_COMMANDS:
    AUDIT_KEY = secrets.token_urlsafe(32)  # these commands write no audit entry
if not AUDIT_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "AUDIT_KEY is not set. With DEBUG off the registry refuses to start without one: "
            "set AUDIT_KEY to a long random string kept outside the database (for example the "
            "output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`); "
            "docs/audit.md says how to keep and rotate it."
        )
    # Development only (DEBUG is on), like SECRET_KEY: the demo district's log is sealed with it.
    AUDIT_KEY = "development-audit-key-do-not-use-in-production"
elif len(AUDIT_KEY) < 32 and not DEBUG:
    raise ImproperlyConfigured("AUDIT_KEY is too short: use at least 32 random characters.")

# registry_backup encrypts its archives with this passphrase when it is set;
# registry_restore needs it to read them (docs/backups.md).
BACKUP_KEY = env.str("BACKUP_KEY", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# An expired form is said plainly, in the site's layout (not Django's English page).
CSRF_FAILURE_VIEW = "pacnam.views.csrf_failure"

# The project's apps first: Django merges every catalogue into one and the first
# app's wording wins, so Django's own ("Kích hoạt" for "active", "Bản ghi nhớ"
# for "History", "Lưu lại" for "Save") must come after ours.
INSTALLED_APPS = [
    "pacnam",
    "branches",
    "members",
    "meetings",
    "overview",
    "devtools",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "simple_history",
    "pacnam.thirdparty_apps.AxesConfig",
    "django_otp",
    "pacnam.thirdparty_apps.OtpTotpConfig",
    "pacnam.thirdparty_apps.OtpStaticConfig",
    "pacnam.thirdparty_apps.TasksDbConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "pacnam.middleware.VietnameseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the password, a code: a session that still owes one sees only the code page.
    "pacnam.security.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the user and the messages are known: the site's 404 page shows the menu.
    "pacnam.middleware.SiteErrorPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "pacnam.middleware.NoStoreMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pacnam.urls"
WSGI_APPLICATION = "pacnam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                # `scope` for the menus and breadcrumbs (named by string: the base imports no app).
                "branches.context_processors.registry_scope",
            ],
        },
    },
]

# SQLite by default, in IMMEDIATE mode so that a write transaction takes the
# lock when it begins (no "database is locked" half-way through a transfer),
# with a busy timeout so concurrent writers wait instead of failing.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, not Django's default in-memory database: the browser and
    # load tests run a live server in other threads, and an in-memory database
    # would be one connection shared by them all (interleaved transactions).
    DATABASES["default"].setdefault("TEST", {})
    DATABASES["default"]["TEST"].setdefault("NAME", str(BASE_DIR / ".test-db.sqlite3"))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT off: this is an OLTP registry whose queries read a few hundred rows from
    # indexes; JIT only ever fired on plans gone wrong, and then cost more than the
    # query (a commune's totals at 1M members: 774 ms with JIT, 491 ms of it
    # compiling, 215 ms without; docs/benchmarks.md). JIT_ON=1 brings it back.
    # Through PgBouncer in transaction mode (DATABASE_PGBOUNCER=1; README "Many web
    # nodes"): one server connection serves many clients' transactions in turn, so
    # nothing may outlive a transaction: no server-side cursors (iterator() would
    # lose its cursor at the next transaction), no prepared statements (psycopg
    # prepares a query run five times; PgBouncer 1.18 would hand it to a server
    # connection that never saw it), and no startup `options` (PgBouncer refuses
    # them): jit=off is then set on the database (ALTER DATABASE … SET jit = off).
    PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)
    if PGBOUNCER:
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    elif not env.bool("JIT_ON", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"]["options"] = (
            DATABASES["default"]["OPTIONS"].get("options", "") + " -c jit=off"
        ).strip()

# A PostgreSQL streaming replica (optional): GET pages and exports read from it,
# everything else uses the primary, and a browser that has just written reads
# from the primary for REPLICA_STICKY_SECONDS (pacnam.ops.replica says why and how;
# the README, how several nodes share one primary and its replicas).
# REPLICA_READS=0 keeps it configured but reads from the primary only.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
REPLICA_STICKY_SECONDS = env.float("REPLICA_STICKY_SECONDS", default=5)
REPLICA_READS = env.bool("REPLICA_READS", default=True)
if DATABASE_REPLICA_URL:
    replica = environ.Env.db_url_config(DATABASE_REPLICA_URL)
    if (
        replica["ENGINE"] != DATABASES["default"]["ENGINE"]
        or replica["ENGINE"] != "django.db.backends.postgresql"
    ):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL names a PostgreSQL streaming replica of DATABASE_URL: "
            "both must be postgres:// URLs."
        )
    replica.setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    replica["CONN_HEALTH_CHECKS"] = True
    # The same session settings as the primary's (JIT off); the URL's own options
    # (sslmode, ...) stay.
    if "options" in DATABASES["default"].get("OPTIONS", {}):
        replica.setdefault("OPTIONS", {})["options"] = DATABASES["default"]["OPTIONS"]["options"]
    # The tests make no second test database: the alias reads the primary's test
    # database, which is what a replica is (tests/test_replica.py points it at the
    # real replica, where the test database arrives by replication).
    replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = replica
    DATABASE_ROUTERS = ["pacnam.ops.replica.ReplicaRouter"]
    # Before SessionMiddleware: the session is read under the request's rule too.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "pacnam.ops.replica.ReplicaMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out login before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Permissions that come with a role (reviewing the read log, the second factor).
    "branches.access.RolePermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after this many seconds without a request (sliding window).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True

# django-axes: lock a username+address pair after repeated failures, and an
# address after LOGIN_IP_FAILURE_LIMIT failures across all usernames (password
# spraying); higher, because a commune office's staff share one address.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "pacnam.security.lockout.LockoutHandler"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# The proxies (addresses or networks, comma-separated) whose X-Forwarded-For is
# believed: the lockout counts the client behind them, not the proxy itself.
TRUSTED_PROXIES = [
    ipaddress.ip_network(n.strip(), strict=False) for n in env.list("TRUSTED_PROXIES", default=[])
]
AXES_CLIENT_IP_CALLABLE = "pacnam.security.lockout.client_address"

# Second factor (pacnam.security.second_factor): required for administrators and for roles
# with the permission pacnam.second_factor_required when on; on unless DEBUG.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = "Pác Nặm"

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "pacnam" / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
# dd/mm/yyyy in every form and page, English interface included (pacnam/formats).
FORMAT_MODULE_PATH = ["pacnam.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (a commune's own template of the report upward): kept out of the code.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            # Hashed, compressed names in production (after collectstatic);
            # plain names in development and tests, which run no collectstatic.
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests run with DEBUG off but without collectstatic: let WhiteNoise find files.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# Content-Security-Policy (Django 6's own middleware): everything from us, no inline code.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Production hardening; `manage.py check --deploy` is clean with DEBUG off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
# Only sent when SECURE_HSTS_SECONDS > 0 (behind TLS). The registry has its own host
# name; set these to 0 if other, plain-HTTP sites share its domain.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Background jobs: Django's own django.tasks, with the database backend of
# django-tasks-db: the queue is a table of the configured database, so nothing new is
# served. `manage.py db_worker` runs the tasks (make run starts one beside runserver;
# production runs one beside gunicorn, see the README). Tests run them at once
# (TASKS_BACKEND=django.tasks.backends.immediate.ImmediateBackend).
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    },
}

# A running job's lease: the worker stamps the job's row (heartbeat_at)
# at least every JOB_HEARTBEAT_SECONDS; a job not stamped for JOB_LEASE_SECONDS is
# taken for dead (the worker was killed, the machine stopped) and failed by the
# sweep (members.io.jobs.import_jobs_sweep), so that its page stops waiting.
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=5)
JOB_LEASE_SECONDS = env.float("JOB_LEASE_SECONDS", default=90)

# Uploads: a registry import larger than this is refused with a message.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Checked before a file is parsed (pacnam.io.spreadsheets). A 100,000-row member
# workbook written by openpyxl unpacks to about 75 MB at a ratio of 13; Excel's
# own are smaller. 100 is the ratio Apache POI refuses above (ZipSecureFile).
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=200 * 1024 * 1024)
IMPORT_MAX_COMPRESSION_RATIO = env.int("IMPORT_MAX_COMPRESSION_RATIO", default=100)
# The most row errors (and notes) an import keeps and lists; the rest are counted.
IMPORT_MAX_ERRORS = env.int("IMPORT_MAX_ERRORS", default=500)
# An import that would change the names of more members than this needs an explicit
# confirmation (a checkbox on the page, --allow-mass-update on the command): a file
# read in the wrong character set once renamed 1,741 members.
IMPORT_MASS_NAME_CHANGES = env.int("IMPORT_MASS_NAME_CHANGES", default=5)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Domain settings (DOMAIN.md marks these figures configurable) ---
# Public holidays (YYYY-MM-DD) skipped when counting working days for deadlines.
HOLIDAYS = env.list(
    "HOLIDAYS",
    default=[
        # 2019: New Year, Tết, Hùng Kings, 30/4, 1/5, National Day.
        "2019-01-01",
        "2019-02-04",
        "2019-02-05",
        "2019-02-06",
        "2019-02-07",
        "2019-02-08",
        "2019-04-15",
        "2019-04-29",
        "2019-04-30",
        "2019-05-01",
        "2019-09-02",
        "2025-01-01",
        "2025-01-27",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-04-07",
        "2025-04-30",
        "2025-05-01",
        "2025-09-01",
        "2025-09-02",
        "2026-01-01",
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2026-02-20",
        "2026-04-27",
        "2026-04-30",
        "2026-05-01",
        "2026-09-02",
    ],
)
TRANSFER_LETTER_DEADLINE_WORKING_DAYS = env.int("TRANSFER_LETTER_DEADLINE_WORKING_DAYS", default=30)
TRANSFER_START_DEADLINE_WORKING_DAYS = env.int("TRANSFER_START_DEADLINE_WORKING_DAYS", default=60)
MEETING_QUORUM = env.float("MEETING_QUORUM", default=0.5)
THEMATIC_MEETING_EVERY_MONTHS = env.int("THEMATIC_MEETING_EVERY_MONTHS", default=3)
# Party dues (configurable, DOMAIN.md): the category of a member who has no dues
# profile yet (most of a rural district's members are farmers), and where a member
# attached temporarily to another branch pays: "temporary" (the branch they attend
# while away) or "official" (their home branch). Not confirmed against the text.
DUES_DEFAULT_CATEGORY = env.str("DUES_DEFAULT_CATEGORY", default="rural")
DUES_TEMPORARY_PAYS_AT = env.str("DUES_TEMPORARY_PAYS_AT", default="temporary")
PROBATION_MONTHS = 12
AWARENESS_CERTIFICATE_VALID_MONTHS = 60
ADMISSION_CEREMONY_WORKING_DAYS = 30
MINIMUM_ADMISSION_AGE = 18

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
