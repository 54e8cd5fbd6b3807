"""Guidance changes to adopt (指导目录更新的采纳), mounted at /catalog/adoption/.

The county's 编办 sees each change of a new guidance version with what adopting it
would do to the list in force, adopts one or several (one new version) or declines one
with a reason, and follows the progress and the history. Province and city users (and
the county's platform and assessors) see the same page read-only, and an overview of
every county in their remit. Rules: `adoption` and docs/catalog.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.access import is_system_admin

from . import adoption, selectors
from .access import adoption_catalogues, is_overseer, may_decide_adoption
from .models import AdoptionTask, Catalogue
from .views import FIELD_LABELS, FieldRow, _display

# What adopting a task does to the list, as the page says it.
_FIT_TEXT: dict[str, Any] = {
    "add": gettext_lazy("Adopting adds the item to the list."),
    "modify": gettext_lazy("Adopting changes the list's item %(codes)s."),
    "remove": gettext_lazy("Adopting removes the list's item %(codes)s."),
    "remove_split": gettext_lazy("Adopting removes the list's finer items %(codes)s."),
}


@dataclass
class TaskRow:
    task: AdoptionTask
    fields: list[FieldRow]
    fit: adoption.Fit | None
    fit_text: str
    error: str = ""


def _rows(
    tasks: list[AdoptionTask], fits: dict[int, adoption.Fit], errors: dict[int, str] | None = None
) -> list[TaskRow]:
    errors = errors or {}
    out = []
    for task in tasks:
        fit = fits.get(task.pk)
        text = ""
        if fit is not None:
            text = fit.message or str(_FIT_TEXT.get(fit.action, "")) % {
                "codes": "、".join(fit.codes)
            }
        out.append(
            TaskRow(
                task=task,
                fields=[
                    FieldRow(
                        field=str(c.get("field")),
                        label=str(FIELD_LABELS.get(str(c.get("field")), c.get("field"))),
                        old=_display(str(c.get("field")), c.get("old")),
                        new=_display(str(c.get("field")), c.get("new")),
                    )
                    for c in task.changes
                ],
                fit=fit,
                fit_text=text,
                error=errors.get(task.pk, ""),
            )
        )
    return out


def _catalogue(request: XhRequest, catalogue_id: int) -> Catalogue:
    """A list whose adoption the user follows; 404 otherwise (as for another county)."""
    return access.get_visible(request.actor, adoption_catalogues(request.actor), pk=catalogue_id)


def _page(
    request: XhRequest,
    catalogue: Catalogue,
    *,
    errors: dict[int, str] | None = None,
    error: str = "",
    problems: Any = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.actor
    tasks = list(access.visible(actor, selectors.adoption_tasks(catalogue=catalogue)))
    open_tasks = [t for t in tasks if t.is_open]
    decided = sorted(
        (t for t in tasks if not t.is_open), key=lambda t: (t.decided_at, t.pk), reverse=True
    )
    in_force = selectors.version_in_force(catalogue=catalogue)
    fits = adoption.fits(open_tasks, in_force)
    groups: dict[int, dict[str, Any]] = {}
    for row in _rows(open_tasks, fits, errors):
        update = row.task.update
        groups.setdefault(update.pk, {"update": update, "rows": []})["rows"].append(row)
    return render(
        request,
        "catalog/adoption.html",
        {
            "catalogue": catalogue,
            "progress": selectors.guidance_adoption_statuses(catalogues=[catalogue])[0],
            "groups": list(groups.values()),
            "history": _rows(decided, {}),
            "in_force": in_force,
            "can_decide": may_decide_adoption(actor, catalogue),
            "oversees": is_system_admin(actor) or is_overseer(actor),
            "errors": errors or {},
            "error": error,
            "problems": problems,
        },
        status=status,
    )


@login_required
def overview(request: XhRequest) -> HttpResponse:
    """Per county: open, adopted and declined changes of the guidance (province and city
    users, system admins); a county's own 编办 goes straight to its list's page."""
    catalogues = list(adoption_catalogues(request.actor))
    if not catalogues:
        raise PermissionDenied()
    actor = request.actor
    if len(catalogues) == 1 and not (is_system_admin(actor) or is_overseer(actor)):
        return redirect("catalog:adoption", catalogue_id=catalogues[0].pk)
    rows = selectors.guidance_adoption_statuses(catalogues=catalogues)
    return render(
        request,
        "catalog/adoption_overview.html",
        {
            "rows": rows,
            "open": sum(r.open for r in rows),
            "adopted": sum(r.adopted for r in rows),
            "declined": sum(r.declined for r in rows),
        },
    )


@login_required
def tasks_page(request: XhRequest, catalogue_id: int) -> HttpResponse:
    """The changes to adopt of one list, their progress and history."""
    return _page(request, _catalogue(request, catalogue_id))


def _require_decider(request: XhRequest, catalogue: Catalogue) -> None:
    if not may_decide_adoption(request.actor, catalogue):
        raise PermissionDenied(
            _("Only a reviewer of the county's establishment office (编办) can decide this."),
            code="catalog.not_a_reviewer",
        )


@login_required
@require_POST
def adopt(request: XhRequest, catalogue_id: int) -> HttpResponse:
    """Adopt the chosen changes (`task`, one or several) into one new version."""
    catalogue = _catalogue(request, catalogue_id)
    _require_decider(request, catalogue)
    try:
        ids = sorted({int(v) for v in request.POST.getlist("task")})
    except ValueError as exc:
        raise NotFound() from exc
    tasks = list(
        access.visible(request.actor, AdoptionTask.objects.filter(catalogue=catalogue, pk__in=ids))
    )
    if len(tasks) != len(ids):
        raise NotFound()
    try:
        before = selectors.version_in_force(catalogue=catalogue)
        result = adoption.adoption_adopt(
            actor=request.actor, tasks=tasks, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        return _page(
            request,
            catalogue,
            error=str(exc.message),
            problems=exc.detail if isinstance(exc.detail, list) else None,
            status=409 if isinstance(exc, Conflict) else 400,
        )
    count = len(tasks)
    if before is not None and result.pk != before.pk:
        messages.success(
            request,
            ngettext(
                "%(count)d change adopted; %(title)s is now in force.",
                "%(count)d changes adopted; %(title)s is now in force.",
                count,
            )
            % {"count": count, "title": result.title},
        )
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d change adopted; the list already said so.",
                "%(count)d changes adopted; the list already said so.",
                count,
            )
            % {"count": count},
        )
    return redirect("catalog:adoption", catalogue_id=catalogue.pk)


@login_required
@require_POST
def decline(request: XhRequest, pk: int) -> HttpResponse:
    """Decline one change, with the reason."""
    task = access.get_visible(
        request.actor, AdoptionTask.objects.select_related("catalogue__region"), pk=pk
    )
    catalogue = _catalogue(request, task.catalogue_id)
    _require_decider(request, catalogue)
    try:
        adoption.adoption_decline(
            actor=request.actor, task=task, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        return _page(
            request,
            catalogue,
            errors={task.pk: str(exc.message)},
            status=409 if isinstance(exc, Conflict) else 400,
        )
    messages.success(
        request,
        _("The change to %(code)s has been declined; the reason is recorded.")
        % {"code": task.item_code},
    )
    return redirect("catalog:adoption", catalogue_id=catalogue.pk)
