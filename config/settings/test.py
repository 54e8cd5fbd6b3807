"""Test settings: fast hashing, immediate tasks, no manifest for static files."""

import copy

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-insecure-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
TASKS = {
    "default": {
        "BACKEND": env.str(
            "XH_TASKS_BACKEND", default="django_tasks.backends.immediate.ImmediateBackend"
        )
    }
}
LOG_FORMAT = "text"
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405  (base keeps its own)
LOGGING["handlers"]["console"]["formatter"] = "text"  # type: ignore[index]
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
