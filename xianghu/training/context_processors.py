"""The guided-steps panel on every page while a trainee plays a practice identity.

Only a session marked by the switch (`SESSION_KEY`, set by `views.switch`) costs queries; every other
page view reads nothing, so the pages' pinned query counts do not move."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import selectors, services
from .models import PracticeRole
from .steps import STEPS

SESSION_KEY = "xh_training"


def training(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or not user.is_authenticated or session is None:
        return {}
    marker = session.get(SESSION_KEY)
    if not marker:
        return {}
    identity = services.identity_of(user_id=user.pk)
    if (
        identity is None
        or identity.sandbox.retired_at is not None
        or identity.sandbox.trainee_id != marker.get("trainee")
    ):
        return {}
    progress = selectors.practice_progress(sandbox=identity.sandbox)
    current = progress.current
    step = current.step if current else None
    return {
        "training_guide": {
            "identity": identity,
            "progress": progress,
            "call": current.call if current else None,
            "step": step,
            "step_number": (current.done + 1) if current else len(STEPS),
            "step_count": len(STEPS),
            "step_role_label": PracticeRole(step["role"]).label if step else "",
            "my_turn": step is not None and step["role"] == identity.role,
        }
    }
