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
# The suite's flows predate the evidence rule and act without photos; the rule's own tests
# (tests/calls/test_bad_input.py) turn it on. XH_EVIDENCE_REQUIRED=respond:on_site,complete
# runs the suite with the production default.
XH_EVIDENCE_REQUIRED = env.list("XH_EVIDENCE_REQUIRED", default=[])
WHITENOISE_USE_FINDERS = True
# The suite logs admins in with force_login; the 2FA tests (tests/accounts/) turn it on.
XH_2FA_ENFORCE = env.bool("XH_2FA_ENFORCE", default=False)
WHITENOISE_AUTOREFRESH = True
