"""Settings shared by every environment, read from the environment (and an optional `.env`)."""

from datetime import timedelta
from pathlib import Path

import environ
import redis
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# No fallback written here: a key in the code would sign sessions and JWTs that anyone can forge.
# A missing key is a deployment mistake, so the process fails at start, not at the first login;
# config.settings.local makes a random key of the checkout's own for development (DEBUG on only).
SECRET_KEY = env.str("SECRET_KEY")
if not SECRET_KEY.strip():
    raise ImproperlyConfigured("SECRET_KEY is empty: set it to a long random string.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "chama.apps.ChamaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "auditlog",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "django_tasks_rq",
    "pgtrigger",
    "chama",
    "groups",
    "finance",
    "meetings",
    "welfare",
    "reporting",
]

MIDDLEWARE = [
    "chama.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
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
            ],
        },
    },
]

# SQLite is the embedded default so the project runs on a bare machine; production sets
# DATABASE_URL=postgres://... (psycopg 3).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run` has two processes on the file (the server and the task worker): WAL lets one read
    # while the other writes, and a writer takes its lock when its transaction begins and waits
    # for the other's rather than failing half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The ledger's triggers (django-pgtrigger) first ask whether this session ignores them; with the
    # setting absent that question is answered by catching an error, a subtransaction on every
    # journal and entry written. Present and empty, it is a plain read.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c pgtrigger.ignore={}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DATABASE_POOL", default=False):
    # psycopg 3's pool, built into Django 5.1+; persistent connections must be off with it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "chama.User"
AUTHENTICATION_BACKENDS = [
    "chama.backends.PhoneOrEmailBackend",
    "chama.backends.RolePermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Lockout after repeated failed logins (admin and API alike).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="Africa/Nairobi")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Uploaded documents (constitutions, receipts, collateral, minutes) live here under random names
# and leave only through the access-checked download view (chama.downloads): there is no
# MEDIA_URL, and no web server may serve this folder.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
# A larger document is refused with a message: 413 in the API, a form error in the back office.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# Uploads above this are spooled to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The form fields of one request, files not counted (those are limited above): a JSON body or a form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Member import (CSV or Excel): a larger file is refused before it is read.
MEMBER_IMPORT_MAX_BYTES = env.int("MEMBER_IMPORT_MAX_BYTES", default=2 * 1024 * 1024)

PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", default="KE")
PHONENUMBER_DB_FORMAT = "E164"

DEFAULT_CURRENCY = "KES"

# Safaricom Daraja (STK push). The sandbox by default; production: https://api.safaricom.co.ke
MPESA_BASE_URL = env("MPESA_BASE_URL", default="https://sandbox.safaricom.co.ke")
MPESA_CONSUMER_KEY = env("MPESA_CONSUMER_KEY", default="")
MPESA_CONSUMER_SECRET = env("MPESA_CONSUMER_SECRET", default="")
MPESA_PASSKEY = env("MPESA_PASSKEY", default="")
MPESA_CALLBACK_BASE_URL = env("MPESA_CALLBACK_BASE_URL", default="http://127.0.0.1:8000")
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)
# Days a generated report's file is kept for download (then `expire_reports` deletes it).
REPORT_RETENTION_DAYS = env.int("REPORT_RETENTION_DAYS", default=7)

# Notifications: email through Django's backend, SMS through ours (both print to the console by default).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Chama Back Office <noreply@chama.local>")
SMS_BACKEND = env("SMS_BACKEND", default="chama.sms.ConsoleBackend")

# Background jobs (README: "Background jobs and the schedule"): the Django tasks API. The database
# backend needs nothing more than the database (worker: `manage.py db_worker`); production sets
# TASKS_BACKEND=rq and REDIS_URL, and runs
# `manage.py rqworker default --with-scheduler --job-class django_tasks_rq.Job`.
TASKS_BACKEND = env("TASKS_BACKEND", default="database")
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
}
if TASKS_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND={TASKS_BACKEND!r}: give one of {', '.join(TASK_BACKENDS)}.")
TASKS = {"default": TASK_BACKENDS[TASKS_BACKEND]}
# No django-rq dashboard in the admin: any staff user (officers too) could read and requeue every
# chama's jobs there. `manage.py rqstats` shows the queues to platform staff.
RQ_SHOW_ADMIN_LINK = False


def rq_queue(url: str, *, timeout: int) -> dict:
    """An RQ_QUEUES entry whose Redis connections come from one pool per process: given a URL,
    django-rq would open a new connection for every job enqueued (about a millisecond each, on
    every payment's receipt). The pool reads host, port, database and password from `url`."""
    pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=2)
    where = pool.connection_kwargs
    return {
        "HOST": where.get("host", "127.0.0.1"),
        "PORT": where.get("port", 6379),
        "DB": where.get("db", 0),
        "REDIS_CLIENT_KWARGS": {"connection_pool": pool},
        "DEFAULT_TIMEOUT": timeout,
    }


RQ_QUEUES = {"default": rq_queue(REDIS_URL, timeout=env.int("TASK_TIMEOUT_SECONDS", default=600))}
# Seconds before each retry of a failing task (an SMS provider down): four retries over about an
# hour and a half, then a dead letter in the back office.
TASK_RETRY_DELAYS = env.list("TASK_RETRY_DELAYS", cast=int, default=[60, 300, 1200, 3600])
# When each periodic job runs (chama.jobs): cron's fields in TIME_ZONE; `manage.py run_scheduler`
# enqueues them, `run_scheduler --crontab` prints them for cron instead.
SCHEDULE = {
    "generate_dues": {"minute": 5, "hour": 0},
    "apply_penalties": {"minute": 20, "hour": 0},
    "update_loan_arrears": {"minute": 35, "hour": 0},
    "schedule_meetings": {"minute": 50, "hour": 0, "weekday": 1},
    "send_meeting_reminders": {"minute": 0},
    "close_proposals": {"minute": [0, 15, 30, 45]},
    "send_rosca_reminders": {"minute": 0, "hour": 7},
    "take_snapshots": {"minute": 0, "hour": 2, "day": 1},
    "expire_reports": {"minute": 30, "hour": 3},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "chama.api.authentication.AuditedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "chama.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "chama.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "chama.api.schema.ChamaAutoSchema",
    "EXCEPTION_HANDLER": "chama.api.exceptions.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # Requests per client on the routes a stranger could hammer (counted in the shared cache: Redis in
    # production): logins and token refreshes per address, M-Pesa pushes per person, Safaricom's
    # callbacks per address. A 429 says when to try again (Retry-After).
    "DEFAULT_THROTTLE_RATES": {
        "login": env("THROTTLE_LOGIN", default="30/min"),
        "mpesa_push": env("THROTTLE_MPESA_PUSH", default="10/min"),
        "mpesa_callback": env("THROTTLE_MPESA_CALLBACK", default="600/min"),
    },
    # The proxies in front of the application (1 behind nginx): the client's address is then read
    # from X-Forwarded-For, never trusted from it otherwise.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Said outright: JWTs are signed with this process's SECRET_KEY and nothing else.
    "SIGNING_KEY": SECRET_KEY,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chama Back Office API",
    "DESCRIPTION": "Members' API of the chama back office: profile, chamas, members, join requests "
    "and invitations. Authenticate with a JWT from /api/v1/auth/token/. Money is a string.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from our own static files, so the docs work without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "chama.api.schema.close_shapes"],
    "ENUM_NAME_OVERRIDES": {
        "MembershipStatusEnum": "chama.roles.MembershipStatus",
        "ChamaStatusEnum": "groups.models.Chama.Status",
        "JoinRequestStatusEnum": "groups.models.JoinRequest.Status",
        "InvitationStatusEnum": "groups.models.Invitation.Status",
        "PaymentMethodEnum": "finance.models.PaidThrough",
        "ChamaKindEnum": "groups.models.Chama.Kind",
        "JournalKindEnum": "finance.models.Journal.Kind",
        "CashbookStatusEnum": "finance.models.books.CashbookRecord.Status",
        "BackdatingApprovalStatusEnum": "finance.models.BackdatingApproval.Status",
        "DueKindEnum": "finance.models.Due.Kind",
        "ChargeKindEnum": "finance.models.LoanProduct.ChargeKind",
        "FrequencyEnum": "groups.models.Policy.Frequency",
        "ReportFileFormatEnum": "reporting.models.GeneratedReport.Format",
        "MeetingFormatEnum": "meetings.models.Meeting.Format",
        "RatePeriodEnum": "groups.models.Policy.RatePeriod",
        "PassThresholdEnum": "groups.models.Policy.PassThreshold",
        "MeetingStatusEnum": "meetings.models.Meeting.Status",
        "MeetingKindEnum": "meetings.models.Meeting.Kind",
        "AttendanceStatusEnum": "meetings.models.Attendance.Status",
        "ProposalStatusEnum": "meetings.models.Proposal.Status",
        "ProposalKindEnum": "meetings.models.Proposal.Kind",
        "NotificationKindEnum": "chama.models.Notification.Kind",
        "RosterChangeKindEnum": "finance.models.RosterChange.Kind",
    },
}

AUDITLOG_INCLUDE_ALL_MODELS = True
AUDITLOG_EXCLUDE_TRACKING_MODELS = (
    "sessions",
    "admin.logentry",
    "token_blacklist",
    "contenttypes",
    "django_tasks_database",  # the queue's own rows: a result per task run, not a change by a person
    # Money rows are their own audit trail: a journal is append-only and names who posted it
    # (created_by) and when; its entries and due allocations hang off it, and a due's paid and
    # waived amounts move only with them. Notifications are the app's own messages.
    "finance.journal",
    "finance.entry",
    "finance.dueallocation",
    "chama.notification",
)
AUDITLOG_EXCLUDE_TRACKING_FIELDS = (
    "last_login",
    "updated_date",
    "failed_login_attempts",
    # Reverse one-to-one accessors: not columns of the logged row, and each would cost a query per save.
    "policy",
    "mpesa_channel",
    "expense",
    "income",
    "investment_movement",
    "waiver",
    "withdrawal",
)
AUDITLOG_MASK_TRACKING_FIELDS = ("password",)
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    # Setting or rotating an M-Pesa callback secret is logged with who did it, never the secret's hash.
    {
        "model": "finance.mpesachannel",
        "mask_fields": ["callback_secret_hash"],
        "mask_callable": "finance.models.mpesa.hide_secret_hash",
    },
    {
        "model": "finance.stkrequest",
        "mask_fields": ["callback_token_hash"],
        "mask_callable": "finance.models.mpesa.hide_secret_hash",
    },
)

# Log lines: `text` for a person at a terminal, `json` (production's default) one object a line for
# a log collector. Both carry the request id (chama.request_id).
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_callback_secrets": {"()": "finance.log_filters.RedactCallbackSecrets"},
        "request_id": {"()": "chama.request_id.RequestIdFilter"},
    },
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "django.server",
            "level": "INFO",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # M-Pesa callback URLs carry a secret in their path: the request logs write it as ***.
        "django.request": {"filters": ["redact_callback_secrets"]},
        # Django's own runserver logging, restated with the filter added.
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_callback_secrets"],
        },
    },
}

# /healthz runs these checks, each named by its function (chama/health.py says how to add one).
HEALTH_CHECKS = ["chama.health.database", "chama.health.cache", "chama.health.queue"]

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
