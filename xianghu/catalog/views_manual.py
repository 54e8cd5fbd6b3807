"""The printed manual (说明书) of a list item: a print-friendly page, its PDF, and the
manuals of every item of a version as one PDF. Whoever may see the version may print
them (published versions are public, drafts are their 编办's)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from xianghu.core import access
from xianghu.core.errors import NotFound
from xianghu.core.http import XhRequest

from . import selectors
from .manual import (
    ItemManual,
    clock_note,
    item_manual,
    manual_context,
    manual_filename,
    manual_items,
    manual_pdf,
    version_manuals_pdf,
)
from .models import ListVersion


def _version(request: XhRequest, pk: int) -> ListVersion:
    return access.get_visible(
        request.actor,
        ListVersion.objects.select_related("catalogue", "catalogue__region"),
        pk=pk,
    )


def _manual(request: XhRequest, pk: int, code: str) -> ItemManual:
    version = _version(request, pk)
    item = selectors.item_get(version=version, code=code)
    if item is None:
        raise NotFound()
    return item_manual(version=version, item=item)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def item_manual_page(request: XhRequest, pk: int, code: str) -> HttpResponse:
    """The manual as a page made for paper (A4 print styles)."""
    manual = _manual(request, pk, code)
    return render(
        request,
        "catalog/manual.html",
        {
            "manual": manual,
            "version": manual.version,
            "item": manual.item,
            "clock_note": clock_note(manual),
        },
    )


def item_manual_pdf(request: XhRequest, pk: int, code: str) -> HttpResponse:
    manual = _manual(request, pk, code)
    return _pdf(manual_pdf(manual), manual_filename(manual.item.code))


def version_manuals_pdf_download(request: XhRequest, pk: int) -> HttpResponse:
    """Every item's manual of the version in one PDF (the list's order)."""
    version = _version(request, pk)
    context = manual_context(version=version)
    manuals = [
        item_manual(version=version, item=item, context=context)
        for item in manual_items(version=version)
    ]
    return _pdf(
        version_manuals_pdf(version=version, manuals=manuals),
        f"manuals-{version.catalogue_id}-v{version.number}.pdf",
    )
