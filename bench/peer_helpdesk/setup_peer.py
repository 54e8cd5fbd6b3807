"""Run by bench/intake.py with the peer's Python, after migrate: a staff user with an
API token and a queue for the tickets; prints them as JSON. Idempotent."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_helpdesk.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from helpdesk.models import Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

user, _created = get_user_model().objects.get_or_create(
    username="bench", defaults={"is_staff": True, "is_superuser": True}
)
queue, _created = Queue.objects.get_or_create(
    slug="intake", defaults={"title": "乡呼县应", "allow_public_submission": False}
)
token, _created = Token.objects.get_or_create(user=user)
print(json.dumps({"queue": queue.pk, "token": token.key}))
