"""SSA Ops settings: every value comes from the environment, and the defaults run with none.

With nothing set: SQLite in var/, Celery tasks run eagerly, email to the console, DEBUG on.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SSA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production-0123456789"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off SSA Ops needs a long random SECRET_KEY "
            "in the environment (see .env.example)."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is not set. With DEBUG off list the host names SSA Ops serves, "
            "comma-separated, in ALLOWED_HOSTS (see .env.example)."
        )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Personal information (ssa_ops/personal_data.py): AES-GCM keys, the first encrypts and all
# decrypt (rotation), and the HMAC key of the lookup hashes. DEBUG generates development keys
# under var/ and says so; with DEBUG off missing keys stop start-up (a system check) and any use.
PERSONAL_DATA_KEYS = env_list("PERSONAL_DATA_KEYS")
PERSONAL_DATA_HASH_KEY = os.environ.get("PERSONAL_DATA_HASH_KEY", "").strip()
if DEBUG and not (PERSONAL_DATA_KEYS and PERSONAL_DATA_HASH_KEY):
    from ssa_ops.personal_data_keys import development_keys

    _keys, _hash_key = development_keys(VAR_DIR)
    PERSONAL_DATA_KEYS = PERSONAL_DATA_KEYS or _keys
    PERSONAL_DATA_HASH_KEY = PERSONAL_DATA_HASH_KEY or _hash_key
else:
    import ssa_ops.personal_data_keys  # noqa: F401 (registers the start-up check)
# Days a closed record keeps its personal information, by kind of record; apps register their
# kinds with a default (personal_records_register), these override it. "claim=1095,...".
try:
    PERSONAL_DATA_RETENTION_DAYS = {
        kind.strip(): int(days)
        for kind, _sep, days in (
            item.partition("=") for item in env_list("PERSONAL_DATA_RETENTION_DAYS")
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(
        "PERSONAL_DATA_RETENTION_DAYS: write kind=days pairs, comma-separated "
        "(e.g. program_application=1095,claim=1095)."
    ) from error
# A kind registered without a period of its own keeps personal information this long.
PERSONAL_DATA_RETENTION_DEFAULT_DAYS = int(
    os.environ.get("PERSONAL_DATA_RETENTION_DEFAULT_DAYS", str(3 * 365))
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "ssa_ops",
    "dealers",
    "claims",
    "programs",
    "quota",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ssa_ops.middleware.UserLanguageMiddleware",
    "ssa_ops.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ssa_ops.urls"
WSGI_APPLICATION = "ssa_ops.wsgi.application"

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
                "ssa_ops.navigation.navigation",
            ],
        },
    },
]

# Database: SQLite in var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ssa_ops.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default under concurrent writes: a write transaction takes the write lock
    # when it begins (not halfway, where SQLite can only fail with "database is locked") and
    # waits up to 20 s for it; WAL lets readers carry on while one request writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "ssa_ops.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
# Reset links asked for per address and per client address within the window; beyond them
# the answer is the same page and nothing is sent. Counted in the Django cache.
PASSWORD_RESET_LIMIT_PER_ADDRESS = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_ADDRESS", "3"))
PASSWORD_RESET_LIMIT_PER_CLIENT = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_CLIENT", "10"))
PASSWORD_RESET_LIMIT_WINDOW_MINUTES = int(
    os.environ.get("PASSWORD_RESET_LIMIT_WINDOW_MINUTES", "60")
)

# Failed-login throttling: 5 failures for a username from one address locks it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# ...and this many failures from one address, whatever the usernames, lock the address.
AXES_ADDRESS_FAILURE_LIMIT = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "30"))
AXES_HANDLER = "ssa_ops.accounts.SignInLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ssa_ops.views.lockout_response"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# Internationalisation: Simplified Chinese first, English second; UTC stored, Shanghai shown.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "ssa_ops.storage.PrivateStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Attachments: what an upload may be.
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
ATTACHMENT_MAX_PIXELS = int(os.environ.get("ATTACHMENT_MAX_PIXELS", str(40_000_000)))
ATTACHMENT_MAX_PDF_PAGES = int(os.environ.get("ATTACHMENT_MAX_PDF_PAGES", "200"))
# Imports (.xlsx, .xls, .csv): refused before any row is read when over these.
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "100000"))
IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_BYTES", str(200 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Email: console by default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
    )
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SSA Ops <ssa-ops@example.com>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
EMAIL_MAX_ATTEMPTS = int(os.environ.get("EMAIL_MAX_ATTEMPTS", "5"))

# Celery: eager (in-process) without a broker; Redis when CELERY_BROKER_URL is set.
# Eager tasks still build a (never used) producer: kombu's in-memory transport keeps that
# from pointing at an AMQP server on localhost.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
# A job's unexpected error fails the job for its viewers and is logged; tests raise it instead.
JOBS_RAISE_UNEXPECTED = env_bool("JOBS_RAISE_UNEXPECTED", False)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers keep LOGGING as configured here, with its personal-data filter, instead of Celery's
# own root handler (which would log ID and phone numbers in clear).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_TIME_LIMIT = 60 * 30
CELERY_TASK_SOFT_TIME_LIMIT = 60 * 25
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat copies these into its database schedule at start; later issues add their reports here.
CELERY_BEAT_SCHEDULE = {
    "fail-stale-background-jobs": {
        "task": "ssa_ops.tasks.fail_stale_background_jobs",
        "schedule": 10 * 60,
    },
    "erase-personal-data-past-retention": {
        "task": "ssa_ops.tasks.personal_data_retention",
        "schedule": 24 * 60 * 60,
    },
    "sweep-orphan-attachment-files": {
        "task": "ssa_ops.tasks.sweep_orphan_attachment_files",
        "schedule": 6 * 60 * 60,
    },
    "remind-program-approvers": {
        "task": "programs.tasks.remind_approvers",
        "schedule": 60 * 60,
    },
    "expire-program-applications": {
        "task": "programs.tasks.expire_applications",
        "schedule": 60 * 60,
    },
    "expire-claims-preapplications": {
        "task": "claims.tasks.expire_preapplications",
        "schedule": 60 * 60,
    },
    "remind-claims-resets": {
        "task": "claims.tasks.remind_resets",
        "schedule": 24 * 60 * 60,
    },
    "reject-unanswered-claims-resets": {
        "task": "claims.tasks.reject_unanswered_resets",
        "schedule": 24 * 60 * 60,
    },
    "requeue-stale-invoice-readings": {
        "task": "claims.tasks.requeue_stale_invoice_readings",
        "schedule": 15 * 60,
    },
}
# seed_demo: pre-applications and claims of the other dealers' history, bulk-inserted (0: none;
# the test suite seeds without them except where the demo itself is tested).
DEMO_BULK_RECORDS = int(os.environ.get("DEMO_BULK_RECORDS", "1920"))
# Emailed decision links (ssa_ops.links) work this many days; approvers who have not decided
# are reminded after PROGRAM_APPROVAL_REMINDER_DAYS.
DECISION_LINK_TTL_DAYS = int(os.environ.get("DECISION_LINK_TTL_DAYS", "7"))
PROGRAM_APPROVAL_REMINDER_DAYS = int(os.environ.get("PROGRAM_APPROVAL_REMINDER_DAYS", "2"))
# A claim reset to the dealer must be answered within this many days (reminded this many days
# before), else the daily check rejects it.
CLAIM_RESET_ANSWER_DAYS = int(os.environ.get("CLAIM_RESET_ANSWER_DAYS", "14"))
CLAIM_RESET_REMIND_DAYS_BEFORE = int(os.environ.get("CLAIM_RESET_REMIND_DAYS_BEFORE", "3"))

# An API token is replaced by each successful POST to the token endpoint and expires this
# many hours after it was issued.
API_TOKEN_TTL_HOURS = int(os.environ.get("API_TOKEN_TTL_HOURS", "24"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ssa_ops.api_request.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only, whatever the Accept header asks: an error is always {"code", "detail"}.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "ssa_ops.api_request.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ssa_ops.permissions.DenyAll"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "ssa_ops.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SSA Ops API",
    "DESCRIPTION": "Corporate & Special Sales operations platform",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "DealerStatusEnum": "dealers.models.Dealer.Status",
        "ChangeRequestStatusEnum": "dealers.models.DealerChangeRequest.Status",
        "JobStatusEnum": "ssa_ops.models.BackgroundJob.Status",
        "AccountStatusEnum": "programs.models.CorporateAccount.Status",
        "ApplicationStatusEnum": "programs.models.SpecialApplication.Status",
        "ApprovalStepStatusEnum": "programs.models.ApprovalStep.Status",
        "QualificationStatusEnum": "programs.models.Qualification.Status",
        "PreApplicationStatusEnum": "claims.models.PreApplication.Status",
        "ClaimStatusEnum": "claims.models.Claim.Status",
    },
}

# Security: strict when DEBUG is off (manage.py check --deploy reports nothing).
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Resident ID numbers, mobile numbers and the values of personal fields never reach a log.
    "filters": {"personal_data": {"()": "ssa_ops.logging.PersonalDataFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["personal_data"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "celery": {"level": "WARNING"}},
}
