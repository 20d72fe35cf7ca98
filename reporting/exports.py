"""The back office's "Export" actions, offered on every list: the selected rows, with the columns the
list shows, as Excel, CSV or PDF. The rows are those the list gave the officer (scoped to their
chamas, filtered, searched), so an export shows nothing the list did not; a larger set is a
generated report's work (see `reporting.generation`)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import label_for_field, lookup_field
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import capfirst, slugify

from chama.uploads import content_type
from reporting.models import GeneratedReport
from reporting.tables import Table, render

EXPORT_LIMIT = 10_000  # rows: more is a background job's, not a request's


def _columns(modeladmin, request) -> list[str]:
    return [name for name in modeladmin.get_list_display(request) if name != "action_checkbox"]


def _cell(value: object) -> object:
    """A value as the list shows it, but money stays a number and links become their text."""
    if isinstance(value, bool):  # before the numbers: a bool is an int
        return "yes" if value else "no"
    if value is None or isinstance(value, (Decimal, int, float)) or hasattr(value, "isoformat"):
        return value
    return strip_tags(str(value))


def changelist_table(modeladmin, request, queryset) -> Table:
    """The selected rows as a table of the list's own columns."""
    names = _columns(modeladmin, request)
    rows = []
    for row in queryset:
        cells = []
        for name in names:
            try:
                _, _, value = lookup_field(name, row, modeladmin)
            except (AttributeError, ValueError):
                value = None
            cells.append(_cell(value))
        rows.append(cells)
    opts = modeladmin.model._meta
    return Table(
        title=str(opts.verbose_name_plural).capitalize(),
        columns=[capfirst(str(label_for_field(name, modeladmin.model, modeladmin))) for name in names],
        rows=rows,
        notes=[f"{len(rows)} row(s) as listed in the back office on {timezone.localtime():%d %b %Y at %H:%M}."],
    )


def _export(format: str):
    def export(modeladmin, request, queryset):
        if queryset.count() > EXPORT_LIMIT:
            modeladmin.message_user(
                request,
                f"Select at most {EXPORT_LIMIT:,} rows to export (filter the list), or ask for a generated report.",
                messages.ERROR,
            )
            return None
        table = changelist_table(modeladmin, request, queryset)
        content = render(table, format, generated_by=request.user.get_full_name(), generated_at=timezone.localtime())
        response = HttpResponse(content, content_type=content_type(f"export.{format}"))
        response["Content-Disposition"] = f'attachment; filename="{slugify(table.title)}.{format}"'
        response["Cache-Control"] = "private, no-store"
        return response

    export.__name__ = f"export_{format}"
    label = GeneratedReport.Format(format).label
    return admin.action(description=f"Export selected %(verbose_name_plural)s as {label}", permissions=["view"])(export)


def register(site) -> None:
    for format in GeneratedReport.Format.values:
        site.add_action(_export(format), f"export_{format}")
