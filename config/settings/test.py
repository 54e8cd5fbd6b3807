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
TASKS_BACKENDS = {**TASKS_BACKENDS, "immediate": "django_tasks.backends.immediate.ImmediateBackend"}  # noqa: F405
_tasks_backend = env.str("XH_TASKS_BACKEND", default="immediate")
TASKS = {"default": {"BACKEND": TASKS_BACKENDS.get(_tasks_backend, _tasks_backend)}}
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

# A replica alias that mirrors the test database, so that the router's tests
# (tests/core/test_replica.py) read through a second connection; routing to it is off
# unless a test turns it on (XH_REPLICA_DATABASE = "replica").
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
XH_REPLICA_DATABASE = ""

# The RQ engine's tests (tests/core/test_tasks_rq.py) use a Redis database of their own,
# emptied by them: never the default database 0 of a developer's Redis.
RQ_QUEUES = {"default": {"URL": env.str("XH_TEST_REDIS_URL", default="redis://127.0.0.1:6379/12")}}
