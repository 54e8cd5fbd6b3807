"""A minimal Django project around django-helpdesk, the peer of the intake benchmark
(bench/intake.py). Production-like as the platform runs in the bench: DEBUG off,
PostgreSQL with persistent connections, no mail leaves the machine, its REST API with
DRF's token authentication (HTTP basic auth would hash the password on every request)."""

import os

SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peer_helpdesk.urls"
WSGI_APPLICATION = "peer_helpdesk.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The same persistence of connections as the platform's DATABASE_CONN_MAX_AGE default.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PEER_DB_NAME"],
        "HOST": os.environ.get("PEER_DB_HOST", "/var/run/postgresql"),
        "USER": os.environ.get("PEER_DB_USER", ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
}

# helpdesk mails the submitter and the queue's addresses; nothing may leave the machine.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@localhost"
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_API_ENABLED = True

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("PEER_STATIC_ROOT", "/tmp/peer-helpdesk-static")  # noqa: S108
MEDIA_ROOT = os.environ.get("PEER_MEDIA_ROOT", "/tmp/peer-helpdesk-media")  # noqa: S108
LOGIN_URL = "helpdesk:login"
