"""Excel in and out: export (anyone who may see the version); the 编办's import as a
draft, publish or discard a draft; a department's or township's import of an edited
file as change requests."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import DomainError
from xianghu.core.http import XhRequest

from . import selectors, services
from .forms_keeper import ChangeImportForm, ImportForm
from .io import ImportFailed, check_upload, export_version_xlsx, read_upload
from .models import Catalogue, ListVersion, ScopeLevel
from .views import _filer, _no_list


def version_export(request: XhRequest, pk: int) -> HttpResponse:
    """The version as the official Excel table (public for published versions)."""
    version = access.get_visible(
        request.actor, ListVersion.objects.select_related("catalogue"), pk=pk
    )
    response = HttpResponse(
        export_version_xlsx(version=version),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"catalogue-{version.catalogue_id}-v{version.number}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def version_import(request: XhRequest, catalogue_id: int) -> HttpResponse:
    """Upload an Excel/CSV list; a valid file becomes a draft, an invalid one is
    reported problem by problem and nothing is saved."""
    catalogue = access.get_visible(request.actor, Catalogue.objects.all(), pk=catalogue_id)
    access.require(request.actor, "manage", catalogue)
    problems = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        county = catalogue.region if catalogue.level == ScopeLevel.COUNTY else None
        try:
            # Size and type from the upload's metadata, before a byte of it is read.
            check_upload(filename=upload.name or "", size=upload.size or 0)
            specs = read_upload(filename=upload.name, data=upload.read(), county=county)
            draft = services.version_import(
                catalogue=catalogue,
                specs=specs,
                title=form.cleaned_data["title"],
                actor=request.actor,
            )
        except ImportFailed as exc:
            problems = exc.detail
            form.add_error(None, str(exc.message))
        except DomainError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("The file was imported as a draft version."))
            return redirect("catalog:version_draft", pk=draft.pk)
    return render(
        request,
        "catalog/keeper/import.html",
        {"catalogue": catalogue, "form": form, "problems": problems},
        status=422 if problems else 200,
    )


@login_required
def version_draft(request: XhRequest, pk: int) -> HttpResponse:
    """A draft (or any version) with what it changes against the version in force."""
    version = access.get_visible(
        request.actor, ListVersion.objects.select_related("catalogue", "based_on"), pk=pk
    )
    current = selectors.version_in_force(catalogue=version.catalogue)
    diff = (
        selectors.version_diff(old=current, new=version)
        if current is not None and current.pk != version.pk
        else None
    )
    return render(
        request,
        "catalog/keeper/draft.html",
        {
            "version": version,
            "current": current,
            "diff": diff,
            "items": selectors.version_items(version=version),
            "can_manage": access.can(request.actor, "manage", version),
        },
    )


@login_required
@require_POST
def version_publish(request: XhRequest, pk: int) -> HttpResponse:
    version = access.get_visible(request.actor, ListVersion.objects.all(), pk=pk)
    access.require(request.actor, "manage", version)
    try:
        services.version_publish(version=version, actor=request.actor)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("catalog:version_draft", pk=version.pk)
    messages.success(request, _("The version is now in force."))
    return redirect("catalog:version_draft", pk=version.pk)


@login_required
@require_POST
def version_discard(request: XhRequest, pk: int) -> HttpResponse:
    version = access.get_visible(
        request.actor, ListVersion.objects.select_related("catalogue"), pk=pk
    )
    access.require(request.actor, "manage", version)
    catalogue_id = version.catalogue_id
    try:
        services.version_discard(version=version, actor=request.actor)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("catalog:version_draft", pk=version.pk)
    messages.success(request, _("The draft has been discarded."))
    return redirect("catalog:version_import", catalogue_id=catalogue_id)


@login_required
def change_requests_import(request: XhRequest) -> HttpResponse:
    """Upload an edited list file: its new and changed rows are filed as change requests
    against the version in force (all or none); problems are listed, nothing is filed."""
    organisation = _filer(request)
    county = organisation.county
    version = selectors.county_version_in_force(county=county) if county else None
    if version is None or county is None:
        return _no_list(request, organisation)
    problems = None
    refused: list[dict[str, str]] | None = None
    form = ChangeImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            check_upload(filename=upload.name or "", size=upload.size or 0)
            specs = read_upload(filename=upload.name, data=upload.read(), county=county)
            filed = services.change_requests_from_file(
                actor=request.actor,
                organisation=organisation,
                version=version,
                specs=specs,
                reason=form.cleaned_data["reason"],
                legal_basis=form.cleaned_data["legal_basis"],
            )
        except ImportFailed as exc:
            problems = exc.detail
            form.add_error(None, str(exc.message))
        except DomainError as exc:
            if isinstance(exc.detail, list):
                refused = exc.detail
            form.add_error(None, str(exc.message))
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d change request has been sent to the establishment office.",
                    "%(count)d change requests have been sent to the establishment office.",
                    len(filed),
                )
                % {"count": len(filed)},
            )
            return redirect("catalog:my_requests")
    return render(
        request,
        "catalog/change_request_import.html",
        {
            "organisation": organisation,
            "version": version,
            "form": form,
            "problems": problems,
            "refused": refused,
        },
        status=422 if problems or refused else 200,
    )
