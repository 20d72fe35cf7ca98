"""`?format=csv`, `?format=xlsx` and `?format=pdf` on a report route: the report as a file. The
views hand the renderers the report's `Table`; anything else (an error) is written as JSON text."""

import json

from django.utils import timezone
from rest_framework.renderers import BaseRenderer

from reporting.tables import Table, to_csv, to_pdf, to_xlsx


class _TableRenderer(BaseRenderer):
    charset = None

    def write(self, table, request):
        raise NotImplementedError

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, Table):
            response = renderer_context["response"]
            name = f"{data.title.lower().replace(' ', '-')[:80]}.{self.format}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return self.write(data, renderer_context["request"])
        return json.dumps(data, default=str).encode()


class CSVRenderer(_TableRenderer):
    media_type = "text/csv"
    format = "csv"

    def write(self, table, request):
        return to_csv(table)


class XLSXRenderer(_TableRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"

    def write(self, table, request):
        return to_xlsx(table)


class PDFRenderer(_TableRenderer):
    media_type = "application/pdf"
    format = "pdf"

    def write(self, table, request):
        return to_pdf(table, generated_by=request.user.get_full_name(), generated_at=timezone.localtime())
