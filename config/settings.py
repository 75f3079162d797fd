"""Safqa settings: one module, every deployment-specific value from the environment.

Environment variables (documented in README.md):
    DEBUG            "1" for development (default), "0" in production.
    SECRET_KEY       required when DEBUG=0; in development a key is generated once into var/.
    DATABASE_URL     default: the embedded SQLite file var/safqa.sqlite3.
    DATABASE_REPLICA_URLS  comma-separated read replicas of DATABASE_URL; unset: none.
    REDIS_URL        unset: Celery runs tasks in-process, cache in local memory.
    ALLOWED_HOSTS    comma-separated host names.
    EMAIL_URL        e.g. smtp://user:pass@host:587/?tls=True; default console (DEBUG) or localhost SMTP.
    TIME_ZONE        server default time zone, default Asia/Riyadh.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)


def _secret_key() -> str:
    """Return SECRET_KEY from the environment, or a development key kept in var/.

    Production must never run on a generated key: sessions and tokens signed with
    it would silently break on every redeploy of a fresh container.
    """
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(a long random string) before starting Safqa with DEBUG=0."
        )
    from django.core.management.utils import get_random_secret_key

    # var/ is part of the checkout (var/.gitkeep): settings create no directories.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "core",
    "accounts",
    "crm",
    "pipeline",
    "analytics",
    "notifications",
    "webhooks",
    "transfers",
    "search",
    "workspace",
    "surveys",
    "assistant",
    "cases",
    # The benchmark's commands (bench/): in development, and in production only when asked for.
    *(["bench"] if env.bool("SAFQA_BENCH", default=DEBUG) else []),
]

MIDDLEWARE = [
    # First, so it counts every query of the request; inert unless SAFQA_BENCH_QUERY_HEADER=1.
    "core.middleware.QueryCountHeaderMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Read replicas (core/db_router.py): marks the replica-served views, keeps read-your-writes; only with replicas.
    "core.db_router.ReplicaRoutingMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages (text/html only, never the API) gzip-compressed; above everything that writes a body.
    "core.middleware.HtmlGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.UserLanguageMiddleware",
    # Bodies sent without Content-Length: over the limit 413, else read whole (core/request_limits.py).
    "core.request_limits.ChunkedBodyMiddleware",
    "core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The services' ValidationError / StaleVersionError a page let through: 400 / 409, never a 500.
    "core.middleware.ServiceErrorMiddleware",
    # Last, so the lockout page is rendered in the language the middlewares above activated.
    "axes.middleware.AxesMiddleware",
]

# The benchmark (bench/) reads each response's SQL query count from a header; off in production.
BENCH_QUERY_HEADER = env.bool("SAFQA_BENCH_QUERY_HEADER", default=False)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
            ],
        },
    },
]

# Database: the embedded SQLite file (in var/, which the checkout has) unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'safqa.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A kept connection the database closed meanwhile is replaced instead of failing the request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# Read replicas (core/db_router.py): DATABASE_REPLICA_URLS, comma-separated PostgreSQL streaming
# replicas of DATABASE_URL. Unset: no replica alias, no router, no middleware; everything on the primary.
# Set: the dashboards, lists, search, exports and sync feeds below read from a replica; every write,
# and every read of a request that wrote, stays on the primary.
DATABASE_REPLICAS = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _replica = env.db_url_config(_url)
    _replica.setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["ATOMIC_REQUESTS"] = False
    # Tests: a replica alias reads the test database (through the real replica when one runs), never creates one.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_number}")
DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"] if DATABASE_REPLICAS else []
# Read-your-writes across requests: after a request that wrote, the same browser (or cookie-keeping
# API client) reads from the primary for this many seconds; above the replicas' usual lag. 0: off.
DATABASE_REPLICA_LAG_GUARD_SECONDS = env.int("DATABASE_REPLICA_LAG_GUARD_SECONDS", default=10)
DATABASE_REPLICA_GUARD_COOKIE = "safqa_wrote"
# A replica that refused a connection is not tried again for this long (its reads go to the primary).
DATABASE_REPLICA_RETRY_SECONDS = env.float("DATABASE_REPLICA_RETRY_SECONDS", default=30)
# The views whose reads a replica serves (URL names): dashboards, lists, search, exports, sync feeds.
# Their POSTs (an API list's create) and any request that wrote use the primary all the same.
DATABASE_REPLICA_VIEWS = frozenset(
    {
        "workspace:home",
        "analytics:dashboard",
        "analytics:drilldown",
        "crm:company_list",
        "crm:contact_list",
        "crm:follow_up_list",
        "crm:company_options",
        "crm:contact_options",
        "crm:people_options",
        "pipeline:deal_list",
        "pipeline:board",
        "pipeline:board_pipeline",
        "search:results",
        "transfers:export",
        "api-company-list",
        "api-contact-list",
        "api-activity-list",
        "api-follow-up-list",
        "api-deal-list",
        "api-company-changes",
        "api-contact-changes",
        "api-deal-changes",
    }
)
# Read from the primary even in those views: who is signed in and with which token (a revocation
# or a deactivation counts at once, not once the replica has caught up).
DATABASE_REPLICA_PRIMARY_MODELS = ["accounts.User", "accounts.ApiToken", "sessions.Session"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# The team membership model the kernel's visibility and ownership rules read (core.querysets.membership_model),
# named here as AUTH_USER_MODEL is, so core/ imports no domain app.
MEMBERSHIP_MODEL = "accounts.Membership"
# django-axes first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workspace:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalization: Arabic first, English one click away.
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Riyadh")
LANGUAGE_COOKIE_NAME = "safqa_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Phone numbers typed without a country code are read in this region.
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="SA")
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="SAR")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Redis: broker and cache when REDIS_URL is set; otherwise everything in-process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",  # Django's, keeping its client objects (core/cache.py)
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "safqa",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Two queues, so a long batch job never delays what people wait for: "realtime" carries reminders,
# digests, webhook deliveries and survey sending; "batch" imports, rollups, exports, model training
# and scoring, the nightly jobs. Routed by task name pattern (first match), so an app's new tasks land
# with its others; a task no pattern names goes to "batch". A worker started without -Q consumes both
# (make run, make worker); docker-compose.yml runs one worker per queue.
# Each queue with its own exchange and routing key (a bare Queue("realtime") would be bound to the
# default queue's exchange and key, "batch").
CELERY_TASK_QUEUES = (
    Queue("realtime", Exchange("realtime", type="direct"), routing_key="realtime"),
    Queue("batch", Exchange("batch", type="direct"), routing_key="batch"),
)
CELERY_TASK_DEFAULT_QUEUE = "batch"
CELERY_TASK_DEFAULT_EXCHANGE = "batch"
CELERY_TASK_DEFAULT_ROUTING_KEY = "batch"
CELERY_TASK_ROUTES = (
    [
        ("notifications.tasks.*", {"queue": "realtime"}),
        ("webhooks.tasks.*", {"queue": "realtime"}),
        ("surveys.*", {"queue": "realtime"}),
        ("transfers.*", {"queue": "batch"}),
        ("analytics.*", {"queue": "batch"}),
        ("assistant.*", {"queue": "batch"}),
        ("pipeline.tasks.*", {"queue": "batch"}),
        ("core.tasks.*", {"queue": "batch"}),
    ],
)

# Email.
if "EMAIL_URL" in env:
    _email = env.email_url("EMAIL_URL")  # e.g. smtp+tls://user:password@host:587
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
    EMAIL_PORT = _email.get("EMAIL_PORT") or 25
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
    if _email.get("EMAIL_FILE_PATH"):
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Safqa <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds an SMTP connection may block: a reminder is sent while its row is locked.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10)

# Reminders, notifications and the morning digest (notifications/services.py).
# Links in emails point here (scheme and host, no trailing slash).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Most reminders one dispatcher run claims (it runs every minute; a full batch queues the next run at once).
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", default=100)
# Claimed reminders one delivery task sends, one after another over one SMTP connection.
REMINDER_SEND_CHUNK = env.int("REMINDER_SEND_CHUNK", default=20)
# A reminder claimed this long ago and not being sent any more is claimed again.
REMINDER_LEASE_SECONDS = env.float("REMINDER_LEASE_SECONDS", default=300)
# Delivery attempts before a reminder is marked failed and shown as such.
REMINDER_MAX_ATTEMPTS = env.int("REMINDER_MAX_ATTEMPTS", default=5)
# Wait after the first failed attempt; it doubles after each further failure.
REMINDER_RETRY_SECONDS = env.float("REMINDER_RETRY_SECONDS", default=60)
# Local hour of the morning digest; a digest missed at that hour (workers down) is
# still sent until DIGEST_LATEST_HOUR, never later: it is a morning email.
DIGEST_HOUR = env.int("DIGEST_HOUR", default=8)
DIGEST_LATEST_HOUR = env.int("DIGEST_LATEST_HOUR", default=11)

# The assistant's win probability (assistant/): the model is used only with at least this many
# closed deals (and when it beats the stage percentage on the holdout); the newest share of
# closed deals is the time-based holdout it is judged on.
ASSISTANT_MIN_CLOSED_DEALS = env.int("ASSISTANT_MIN_CLOSED_DEALS", default=200)
ASSISTANT_HOLDOUT_SHARE = env.float("ASSISTANT_HOLDOUT_SHARE", default=0.2)

# Support cases (cases/): hours within which a case of each priority must get its first
# response; a case's "respond by" time is its creation time plus these hours.
CASE_RESPONSE_HOURS = {
    "urgent": env.int("CASE_RESPONSE_HOURS_URGENT", default=4),
    "high": env.int("CASE_RESPONSE_HOURS_HIGH", default=8),
    "normal": env.int("CASE_RESPONSE_HOURS_NORMAL", default=24),
    "low": env.int("CASE_RESPONSE_HOURS_LOW", default=72),
}

# Incremental sync (core/sync.py): deletions are kept this many days; an older sync token answers 410.
SYNC_TOMBSTONE_RETENTION_DAYS = env.int("SYNC_TOMBSTONE_RETENTION_DAYS", default=90)
# Webhooks (webhooks/): by default a URL that resolves to a loopback, private, link-local
# or reserved address is refused (SSRF guard); set to 1 only on a closed network.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)
# Attempts before a delivery is failed; the wait after the n-th failure is base × 2^n seconds.
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=8)
WEBHOOKS_RETRY_BASE_SECONDS = env.float("WEBHOOKS_RETRY_BASE_SECONDS", default=30)
# Seconds a receiver may take to answer.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10)

# Customer satisfaction surveys (surveys/): at most one survey per contact in this many days;
# a survey link works for SURVEY_LINK_DAYS days; the public survey page answers at most
# SURVEY_PAGE_RATE requests per IP address per minute (GET and POST together).
SURVEY_MIN_DAYS = env.int("SURVEY_MIN_DAYS", default=30)
SURVEY_LINK_DAYS = env.int("SURVEY_LINK_DAYS", default=30)
SURVEY_PAGE_RATE = env.int("SURVEY_PAGE_RATE", default=30)
# The seller's name customers see on survey pages and emails (empty: the team's name).
COMPANY_NAME = env.str("COMPANY_NAME", default="")

# REST API (the endpoints themselves arrive with the API issue; the base lives in core.api).
# A list filter left empty means every value: said in words, not django-filter's "---------".
FILTERS_EMPTY_CHOICE_LABEL = _("All")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="600/minute")},
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only, size-limited, for every API view: no operation offers form or multipart bodies
    # (the web pages are plain Django views with their own forms, not DRF).
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.LimitedJSONParser"],
    # Every API view documents the shared headers and the one error shape (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.SafqaAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "PAGE_SIZE": 100,
}
# Largest API request body in bytes; larger ones answer 413 (a 1,000-contact bulk upsert fits easily).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=2_621_440)
# Largest import file (bytes) and number of rows one import may hold.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# What an uploaded file may hold once read (transfers/readers.py checks each as the rows come):
# columns per row, characters per cell (Excel's own limit) and per row, and the text a file
# may hold once unpacked (an .xlsx is a zip: a 100 KB file can unpack to gigabytes).
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
IMPORT_MAX_CELL_CHARS = env.int("IMPORT_MAX_CELL_CHARS", default=32_767)
IMPORT_MAX_LINE_CHARS = env.int("IMPORT_MAX_LINE_CHARS", default=128 * 1024)
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=128 * 1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Safqa API",
    "DESCRIPTION": "Sales CRM API: contacts, companies, deals and their changes.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No online-validator badge: an image from validator.swagger.io, which the Content-Security-Policy
    # refuses, and it would hand the schema's address to a third party.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Separate request and response components (Contact / ContactRequest / PatchedContactRequest): a request
    # body lists only what a client may send, read-only fields appear in responses only.
    "COMPONENT_SPLIT_REQUEST": True,
    # Choices whose field name another model's choices also use ("status"): named here, not by a hash.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.CaseStatus",
        "CasePriorityEnum": "cases.models.CasePriority",
        "SurveyKindEnum": "surveys.models.SurveyKind",
        "SurveyStatusEnum": "surveys.models.SurveyStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.postprocess_schema",
    ],
}

# Security: strict by default when DEBUG is off; `check --deploy` passes with
# production values (DEBUG=0, SECRET_KEY, ALLOWED_HOSTS).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the form, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# Sign-in lockout (django-axes, database handler): LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address lock that pair out for LOGIN_COOLOFF_MINUTES. The pair, not the
# username alone: locking a username would let anyone lock any colleague out by typing their name;
# nor the address alone: a whole office behind one address would be locked out by one typo-prone
# member. Unlock early: `manage.py axes_reset_username NAME` or the admin's "Access attempts".
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "accounts.lockout.login_locked_out"
# Behind a reverse proxy REMOTE_ADDR is the proxy's: TRUSTED_PROXY_COUNT=N reads the client's
# address from the N-th X-Forwarded-For entry counted from the right (set only behind N proxies).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip_address"

# Content-Security-Policy (django-csp 4; Django 5.2 has no built-in CSP): scripts and styles only
# from our own static files, no inline script or style, no foreign origins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # The service worker (/sw.js) and the web app manifest (/manifest.webmanifest) are our own.
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# HSTS preloading is a commitment for the whole domain that a deployment makes on
# purpose (SECURE_HSTS_PRELOAD=1); it is not a safe default, so its reminder is silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
