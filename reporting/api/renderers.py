"""`?format=csv` and `?format=xlsx` on a report route: the report as a file. The views hand the
renderers the report's `Table`; anything else (an error) is written as JSON text."""

import json

from rest_framework.renderers import BaseRenderer

from reporting.tables import Table, to_csv, to_xlsx


class _TableRenderer(BaseRenderer):
    charset = None

    def write(self, table):
        raise NotImplementedError

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, Table):
            response = renderer_context["response"]
            name = f"{data.title.lower().replace(' ', '-')[:80]}.{self.format}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return self.write(data)
        return json.dumps(data, default=str).encode()


class CSVRenderer(_TableRenderer):
    media_type = "text/csv"
    format = "csv"

    def write(self, table):
        return to_csv(table)


class XLSXRenderer(_TableRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"

    def write(self, table):
        return to_xlsx(table)
