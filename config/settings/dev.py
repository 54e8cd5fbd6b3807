"""Local development and the demo served by the README's first command."""

import copy

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
LOG_FORMAT = env.str("XH_LOG_FORMAT", default="text")
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405  (base keeps its own)
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # type: ignore[index]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WHITENOISE_USE_FINDERS = True
# The demo's admin logs in with a password only (README); production enforces 2FA.
XH_2FA_ENFORCE = env.bool("XH_2FA_ENFORCE", default=False)
WHITENOISE_AUTOREFRESH = True
