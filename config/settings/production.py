"""Production: everything secret or deployment-specific comes from the environment.

Run behind a TLS-terminating reverse proxy (nginx) with gunicorn; see docs/operations.md.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_SSL_REDIRECT = env.bool("XH_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("XH_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("XH_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Two-factor login for system administrators and a 90-day password rotation (MLPS 2.0).
XH_2FA_ENFORCE = env.bool("XH_2FA_ENFORCE", default=True)
XH_PASSWORD_MAX_AGE_DAYS = env.int("XH_PASSWORD_MAX_AGE_DAYS", default=90)
