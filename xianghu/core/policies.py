"""Base class for access policies whose every rule is a query filter.

Writing a rule once, as a `Q`, answers both questions of `xianghu.core.access`: the
list scope filters with it, and the single-object check asks the database whether the
object is inside that filter. The two can never disagree.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q, QuerySet

from .actor import Actor

ALL = Q()
NOTHING = Q(pk__in=[])


class QueryPolicy:
    #: A rule that follows a to-many relation joins one row per related row, so the scope
    #: removes duplicates; a policy whose rules only follow foreign keys (or use
    #: subqueries) says so, and its lists stay plain index scans (no DISTINCT sort).
    distinct = True

    def rule(self, actor: Actor, action: str) -> Q:
        raise NotImplementedError

    def scope(self, actor: Actor, qs: QuerySet[Any], action: str) -> QuerySet[Any]:
        rule = self.rule(actor, action)
        if rule is NOTHING:
            return qs.none()
        if rule is ALL:
            return qs
        return qs.filter(rule).distinct() if self.distinct else qs.filter(rule)

    def can(self, actor: Actor, action: str, obj: Model) -> bool:
        if obj.pk is None:
            return False
        rule = self.rule(actor, action)
        if rule is ALL:
            return True
        if rule is NOTHING:
            return False
        return type(obj)._default_manager.filter(rule, pk=obj.pk).exists()
