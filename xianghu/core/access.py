"""The one place that answers "may this actor do X to this object?" and "which objects
may this actor see?".

Each domain app registers a policy per model (`@register(Model)`); views, API
endpoints and services call `can`, `require`, `visible` and `get_visible` here and
never test roles themselves. An unregistered model is denied to everyone, so a new
model is invisible until someone writes its policy.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet

from .actor import Actor
from .errors import NotFound, PermissionDenied

M = TypeVar("M", bound=Model)


class Policy(Protocol):
    def can(self, actor: Actor, action: str, obj: Any) -> bool: ...

    def scope(self, actor: Actor, qs: QuerySet[Any], action: str) -> QuerySet[Any]: ...


_policies: dict[type[Model], Policy] = {}


def register(model: type[Model]) -> Any:
    def decorator(policy_cls: type[Policy]) -> type[Policy]:
        _policies[model] = policy_cls()
        return policy_cls

    return decorator


def _policy_for(model: type[Model]) -> Policy | None:
    for klass in model.__mro__:
        if klass in _policies:
            return _policies[klass]
    return None


def can(actor: Actor, action: str, obj: Model) -> bool:
    policy = _policy_for(type(obj))
    if policy is None:
        return False
    return bool(policy.can(actor, action, obj))


def require(actor: Actor, action: str, obj: Model) -> None:
    """Raise `PermissionDenied` unless the actor may perform `action` on a visible `obj`.

    Objects the actor may not even see raise `NotFound` instead, so that the answer
    never reveals that they exist.
    """
    if action != "view" and not can(actor, "view", obj):
        raise NotFound()
    if not can(actor, action, obj):
        if action == "view":
            raise NotFound()
        raise PermissionDenied()


def visible(actor: Actor, qs: QuerySet[M], action: str = "view") -> QuerySet[M]:
    policy = _policy_for(qs.model)
    if policy is None:
        return qs.none()
    return policy.scope(actor, qs, action)


def get_visible(actor: Actor, qs: QuerySet[M], action: str = "view", **lookup: Any) -> M:
    """Fetch one object the actor may see; absent and forbidden look the same (404)."""
    try:
        return visible(actor, qs, action).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def registered_models() -> list[type[Model]]:
    return list(_policies)


def may_see_audit(actor: Actor) -> bool:
    """Whether the actor opens the security audit log (`/audit/`): superusers, and security
    auditors and system administrators of a county (`audit.audit_events` keeps the events
    of their counties)."""
    from .audit import audit_scope_rule

    return audit_scope_rule(actor) is not None
