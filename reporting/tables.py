"""A report as a table: what every statement returns, and what the exports write (CSV, Excel)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    totals: list[object] | None = None
    notes: list[str] = field(default_factory=list)  # the period, who asked, when, what ties to what

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": [[_plain(value) for value in row] for row in self.rows],
            "totals": [_plain(value) for value in self.totals] if self.totals else None,
            "notes": self.notes,
        }


def _plain(value: object) -> object:
    """Money and dates as strings (the API's rule); everything else as it is."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([table.title])
    for note in table.notes:
        writer.writerow([note])
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_plain(value) for value in row])
    if table.totals:
        writer.writerow([_plain(value) for value in table.totals])
    return out.getvalue().encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """One sheet: the title and notes, the header in bold, money as numbers with two decimals."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=13)
    for note in table.notes:
        sheet.append([note])
    sheet.append(table.columns)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in [*table.rows, *([table.totals] if table.totals else [])]:
        sheet.append([_cell(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    if table.totals:
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)  # a spreadsheet number; the cents survive (two places, well inside a double)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value
