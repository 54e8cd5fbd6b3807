"""Machine-readable twins of the open pages: the same content as JSON or CSV.

Every open page builds its content once as `Twin` (a title, the rows of its main table
with their columns, and for detail pages the object itself); the page renders it as HTML,
`?format=json` as a JSON document and `?format=csv` as a CSV file (UTF-8 with a byte
order mark, so that spreadsheet programs read the Chinese text). Lists are paginated in
all three forms alike: the JSON document says which page it is and links the next one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput
from xianghu.core.http import XhRequest

FORMATS = ("json", "csv")


@dataclass
class Twin:
    """What a page shows, in a form that serialises: `rows` are flat dicts whose keys
    are the `columns`; `obj` is the object of a detail page (nested data allowed)."""

    title: str
    columns: Sequence[str] = ()
    rows: list[dict[str, Any]] = field(default_factory=list)
    obj: dict[str, Any] | None = None
    page: Page[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def requested_format(request: XhRequest) -> str:
    """'html', 'json' or 'csv'; anything else is refused with a clear message."""
    value = (request.GET.get("format") or "html").strip().lower()
    if value in ("html", *FORMATS):
        return value
    raise InvalidInput(
        _("Unknown format “%(format)s”: use format=json or format=csv.") % {"format": value[:20]},
        code="open.format_invalid",
    )


def twin_url(request: XhRequest, fmt: str, **params: Any) -> str:
    """The current URL with `format` (and `params`) set."""
    query = request.GET.copy()
    query["format"] = fmt
    for key, value in params.items():
        query[key] = str(value)
    return f"{request.path}?{query.urlencode()}"


def _page_meta(request: XhRequest, page: Page[Any]) -> dict[str, Any]:
    nxt = twin_url(request, "json", page=page.next_page_number()) if page.has_next() else None
    prev = (
        twin_url(request, "json", page=page.previous_page_number()) if page.has_previous() else None
    )
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "next": request.build_absolute_uri(nxt) if nxt else None,
        "previous": request.build_absolute_uri(prev) if prev else None,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return "；".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def as_json(request: XhRequest, twin: Twin) -> JsonResponse:
    doc: dict[str, Any] = {"title": twin.title}
    doc.update(twin.extra)
    if twin.obj is not None:
        doc["object"] = twin.obj
    if twin.page is not None:
        doc.update(_page_meta(request, twin.page))
    if twin.columns or twin.rows:
        doc["columns"] = list(twin.columns)
        doc["results"] = twin.rows
    response = JsonResponse(doc, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response


def as_csv(twin: Twin, filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    columns = list(twin.columns)
    if twin.rows or columns:
        writer.writerow(columns)
        for row in twin.rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    elif twin.obj is not None:
        writer.writerow(["field", "value"])
        for key, value in twin.obj.items():
            writer.writerow([key, _cell(value)])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Access-Control-Allow-Origin"] = "*"
    return response


def respond(
    request: XhRequest,
    twin: Twin,
    *,
    template: str,
    context: dict[str, Any],
    filename: str,
) -> HttpResponse:
    """The page as HTML, or its JSON or CSV twin (`?format=`)."""
    fmt = requested_format(request)
    if fmt == "json":
        return as_json(request, twin)
    if fmt == "csv":
        return as_csv(twin, filename)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {
        **context,
        "page_q": query.urlencode(),
        "twin": twin,
        "json_url": twin_url(request, "json"),
        "csv_url": twin_url(request, "csv"),
    }
    return render(request, template, context)
