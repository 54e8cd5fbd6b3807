"""Settings shared by every environment.

Every value that differs between deployments comes from the environment (see
docs/operations.md); nothing secret lives in the repository.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    # Two-factor login (TOTP) and one-time recovery codes (docs/security.md).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "ninja",
    # Domain apps, in dependency order (docs/architecture.md).
    "xianghu.core",
    "xianghu.accounts",
    "xianghu.regions",
    "xianghu.notify",
    "xianghu.catalog",
    "xianghu.calls",
    "xianghu.assessment",
    "xianghu.routing",
    "xianghu.participation",
    "xianghu.integrations",
    "xianghu.workbench",
    "xianghu.oversight",
    "xianghu.demo",
    "xianghu.training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "xianghu.core.middleware.RequestIdMiddleware",
    # Prepared statements for the request, custom plans for the aggregation views.
    "xianghu.core.prepared.PreparedStatementsMiddleware",
    # Outside the rest: sees their refusals, writes held-back audit events at the end.
    "xianghu.core.audit.AuditMiddleware",
    "xianghu.core.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "xianghu.accounts.middleware.SessionExpiryMiddleware",
    "xianghu.accounts.middleware.SessionBindingMiddleware",
    "xianghu.regions.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the actor and messages: 2FA enrolment and password rotation redirects.
    "xianghu.accounts.middleware.TwoFactorMiddleware",
    "xianghu.accounts.middleware.PasswordExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Sends the reads of dashboards and public pages to the replica, when there is one.
    "xianghu.core.replica.ReplicaReadsMiddleware",
    "xianghu.core.middleware.DomainErrorMiddleware",
    # Last, so that it sees failures of the authentication backends above it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "xianghu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "xianghu.workbench.context_processors.workbench",
                "xianghu.notify.context_processors.unread",
                "xianghu.training.context_processors.training",
            ],
        },
    }
]

# Prepared statements (docs/adr/0005-server-side-binding.md, xianghu/core/prepared.py):
# with N above 0, PostgreSQL binds the parameters and a request's statement run N times on
# a connection is prepared, so that the server stops planning it on every run; the
# dashboards, public pages and assessment aggregations keep custom plans (generic plans
# made them 45-70 % slower). 0 keeps Django's client-side binding, nothing prepared (for
# PgBouncer before 1.21 in transaction mode).
XH_DB_PREPARE_THRESHOLD = env.int("XH_DB_PREPARE_THRESHOLD", default=5)
PG_OPTIONS: dict[str, object] = {"server_side_binding": True} if XH_DB_PREPARE_THRESHOLD > 0 else {}
# Embedded default: SQLite in the repository's var/ folder. Production: DATABASE_URL.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'xianghu.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL + a busy timeout let the web process and the task worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).update(PG_OPTIONS)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# An optional read replica (a streaming standby of the primary): the dashboards and public
# pages of XH_REPLICA_VIEWS read from it (xianghu/core/replica.py, docs/deployment.md).
if env.str("XH_REPLICA_DATABASE_URL", default=""):
    DATABASES["replica"] = env.db_url("XH_REPLICA_DATABASE_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"].get("CONN_MAX_AGE", 0)
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    if "postgresql" in DATABASES["replica"]["ENGINE"]:
        DATABASES["replica"].setdefault("OPTIONS", {}).update(PG_OPTIONS)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
XH_REPLICA_DATABASE = "replica"
DATABASE_ROUTERS = ["xianghu.core.replica.ReplicaRouter"]
XH_REPLICA_VIEWS = env.list(
    "XH_REPLICA_VIEWS",
    default=[
        "open:*",
        "open311:*",
        "assessment:dashboard",
        "assessment:domains",
        "assessment:departments",
        "assessment:townships",
        "assessment:steps",
        "assessment:rankings",
        "assessment:subject",
        "oversight:home",
        "oversight:region",
        "oversight:rollout",
        "workbench:overview",
    ],
)
# The views that keep custom plans under PreparedStatementsMiddleware: the aggregations.
XH_CUSTOM_PLAN_VIEWS = env.list(
    "XH_CUSTOM_PLAN_VIEWS",
    default=[
        "open:*",
        "open311:*",
        "assessment:*",
        "oversight:*",
        "workbench:overview",
        "routing:acceptance",
        "routing:gaps",
    ],
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "xianghu.accounts.backends.SystemAdminPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "xianghu.accounts.validators.CharacterClassValidator"},
    {"NAME": "xianghu.accounts.validators.PasswordHistoryValidator"},
]

# Two-factor login (docs/security.md "Two-factor login and passwords"). When enforced,
# holders of these roles (and superusers) must enrol a TOTP device and verify it at login.
XH_2FA_ENFORCE = env.bool("XH_2FA_ENFORCE", default=False)
XH_2FA_REQUIRED_ROLES = env.list("XH_2FA_REQUIRED_ROLES", default=["system_admin"])
OTP_TOTP_ISSUER = env.str("XH_2FA_ISSUER", default="xianghu")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Password rotation: days a staff password is valid (0: no expiry) and how many former
# passwords a new one may not repeat.
XH_PASSWORD_MAX_AGE_DAYS = env.int("XH_PASSWORD_MAX_AGE_DAYS", default=0)
XH_PASSWORD_HISTORY = env.int("XH_PASSWORD_HISTORY", default=5)
# Sessions are bound to the browser (User-Agent); with this, also to the client's network
# (IPv4 /24, IPv6 /64) — off by default, mobile clients change networks.
XH_SESSION_BIND_IP = env.bool("XH_SESSION_BIND_IP", default=False)

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workbench:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions: a working day at most, and logged out after an idle period.
SESSION_COOKIE_AGE = env.int("XH_SESSION_MAX_AGE", default=8 * 3600)
SESSION_IDLE_TIMEOUT = env.int("XH_SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "xianghu.core.views.csrf_failure"

# Lockout (django-axes): 5 failures per user and IP lock the pair for 30 minutes.
AXES_FAILURE_LIMIT = env.int("XH_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("XH_LOGIN_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "xianghu.accounts.views.lockout_response"
AXES_VERBOSE = False
# Reverse proxies in front, each appending to X-Forwarded-For: the client's address for
# the lockout, the logs and the rate limits (core/client_address.py).
XH_PROXY_COUNT = env.int("XH_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "xianghu.core.client_address.client_address"

# Security headers.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("XH_STATIC_ROOT", default=BASE_DIR / "var" / "static")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "xianghu" / "static"]
MEDIA_ROOT = env.path("XH_MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Tasks API: database backend on one machine (docs/adr/0001-stack.md).
# The task engine: "db" (django-tasks' database backend, the embedded default, one
# machine) or "rq" (RQ on Redis, several machines; `manage.py worker` runs either), or the
# dotted path of another django-tasks backend. The same task code runs on each.
TASKS_BACKENDS = {
    "db": "django_tasks_db.DatabaseBackend",
    "rq": "xianghu.core.tasks_rq.RQBackend",
}
_tasks_backend = env.str("XH_TASKS_BACKEND", default="db")
XH_REDIS_URL = env.str("XH_REDIS_URL", default="redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": XH_REDIS_URL, "DEFAULT_TIMEOUT": 900}}
# django-rq's admin dashboard and its stats API are not exposed (the authorization
# matrix knows no such pages); `rqinfo` on a worker machine shows the queues.
RQ_SHOW_ADMIN_LINK = False
TASKS = {
    "default": {
        "BACKEND": TASKS_BACKENDS.get(_tasks_backend, _tasks_backend),
    }
}
# The worker writes a heartbeat this often; /healthz calls it stale after 3 missed beats.
# The security audit log keeps events this many days (at least 180, the Cybersecurity
# Law's six months; `manage.py audit_purge` deletes older ones).
XH_AUDIT_RETENTION_DAYS = env.int("XH_AUDIT_RETENTION_DAYS", default=180)

# An event's outbox row older than this is taken to be orphaned by a dead process and
# relayed by the worker (its effects are idempotent, so an early relay is harmless).
XH_OUTBOX_GRACE_SECONDS = env.int("XH_OUTBOX_GRACE_SECONDS", default=30)
XH_WORKER_HEARTBEAT_SECONDS = env.int("XH_WORKER_HEARTBEAT_SECONDS", default=10)
# Tasks the worker enqueues periodically: (dotted path of a task taking no arguments,
# interval in seconds). Each is enqueued only when no unfinished result of it is queued
# and none was enqueued within the interval, so several workers never pile up copies. An
# empty list schedules nothing.
XH_PERIODIC_TASKS = [
    (
        "xianghu.calls.tasks.supervision_sweep",
        env.int("XH_SUPERVISION_SWEEP_SECONDS", default=60),
    ),
    # Webhook retries that could not be deferred, or were lost with a worker.
    (
        "xianghu.notify.tasks.retry_due_webhooks",
        env.int("XH_WEBHOOK_RETRY_SWEEP_SECONDS", default=60),
    ),
    # Photo files no attachment references (older than a day): once a day.
    (
        "xianghu.calls.tasks.attachments_cleanup",
        env.int("XH_ATTACHMENTS_CLEANUP_SECONDS", default=24 * 3600),
    ),
    # Routing models of counties with a new list version or enough new decisions: nightly.
    (
        "xianghu.routing.tasks.routing_retrain_due",
        env.int("XH_ROUTING_RETRAIN_SECONDS", default=24 * 3600),
    ),
    # Personal data whose retention ran out, anonymised (docs/privacy.md): daily.
    (
        "xianghu.core.privacy.tasks.privacy_purge",
        env.int("XH_PRIVACY_PURGE_SECONDS", default=24 * 3600),
    ),
    # After-commit effects (notifications, webhooks) of events whose process died
    # between the commit and those effects (the event outbox, docs/reliability.md).
    (
        "xianghu.calls.tasks.outbox_relay",
        env.int("XH_OUTBOX_RELAY_SECONDS", default=60),
    ),
]

# Retention of personal data (PIPL; docs/privacy.md): days after the end of the purpose
# (the report or ticket closed, the profile switched off, …) before `privacy_purge`
# anonymises the values; 0 keeps them.
XH_RETENTION_REPORT_CONTACT_DAYS = env.int("XH_RETENTION_REPORT_CONTACT_DAYS", default=365)
XH_RETENTION_HOTLINE_CALLER_DAYS = env.int("XH_RETENTION_HOTLINE_CALLER_DAYS", default=365)
XH_RETENTION_STAKEHOLDER_CONTACT_DAYS = env.int(
    "XH_RETENTION_STAKEHOLDER_CONTACT_DAYS", default=365
)
XH_RETENTION_APPLICATION_CONTACT_DAYS = env.int(
    "XH_RETENTION_APPLICATION_CONTACT_DAYS", default=365
)
XH_RETENTION_VERIFICATION_ADDRESS_DAYS = env.int(
    "XH_RETENTION_VERIFICATION_ADDRESS_DAYS", default=30
)

NINJA_PAGINATION_PER_PAGE = 50

# Responsibility-list uploads (Excel/CSV) larger than this are refused before parsing.
XH_CATALOG_MAX_UPLOAD_BYTES = env.int("XH_CATALOG_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)

# Notifications (docs/notifications.md). Links in e-mails and SMS start with XH_SITE_URL.
XH_SITE_URL = env.str("XH_SITE_URL", default="")
# E-mail: off until a mail server is named (or another Django mail backend is chosen).
EMAIL_BACKEND = env.str("XH_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("XH_EMAIL_HOST", default="")
EMAIL_PORT = env.int("XH_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("XH_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("XH_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("XH_EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("XH_EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("XH_EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("XH_EMAIL_FROM", default="xianghu@localhost")
# SMS and WeChat are off until configured; an unconfigured channel records "skipped".
XH_SMS_GATEWAY_URL = env.str("XH_SMS_GATEWAY_URL", default="")
XH_SMS_GATEWAY_TOKEN = env.str("XH_SMS_GATEWAY_TOKEN", default="")
XH_WECHAT_APP_ID = env.str("XH_WECHAT_APP_ID", default="")
XH_WECHAT_APP_SECRET = env.str("XH_WECHAT_APP_SECRET", default="")
XH_WECHAT_TEMPLATE_ID = env.str("XH_WECHAT_TEMPLATE_ID", default="")
# Outgoing HTTP (webhooks, SMS gateway): short timeouts, no redirects.
XH_HTTP_TIMEOUT_SECONDS = env.float("XH_HTTP_TIMEOUT_SECONDS", default=5.0)
# Seconds to wait after the 1st, 2nd, … failed webhook attempt; after the last: failed.
XH_WEBHOOK_RETRY_SCHEDULE = env.list(
    "XH_WEBHOOK_RETRY_SCHEDULE", cast=int, default=[60, 300, 1800, 7200]
)

LOG_FORMAT = env.str("XH_LOG_FORMAT", default="json")
LOG_LEVEL = env.str("XH_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "xianghu.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

XH_SITE_NAME = _("Xianghu — township calls, county responds")

# Evidence photos of calls (docs/workflow.md): the largest file accepted, in bytes.
XH_ATTACHMENT_MAX_BYTES = env.int("XH_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# The steps that need at least one photo with them: an action, or "action:mode" for one mode
# of a response (docs/workflow.md, "Evidence"); empty: none.
XH_EVIDENCE_REQUIRED = env.list("XH_EVIDENCE_REQUIRED", default=["respond:on_site", "complete"])
