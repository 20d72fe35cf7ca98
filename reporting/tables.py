"""A report as a table: what every statement returns, and what the exports write (CSV, Excel, PDF)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.html import escape
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable


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


Tables = Table | list[Table]


def _many(tables: Tables) -> list[Table]:
    return [tables] if isinstance(tables, Table) else list(tables)


def to_csv(tables: Tables) -> bytes:
    """Each table: its title and notes, the header, the rows and totals; a blank line between tables."""
    out = io.StringIO()
    writer = csv.writer(out)
    for n, table in enumerate(_many(tables)):
        if n:
            writer.writerow([])
        writer.writerow([table.title])
        for note in table.notes:
            writer.writerow([note])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([_plain(value) for value in row])
        if table.totals:
            writer.writerow([_plain(value) for value in table.totals])
    return out.getvalue().encode("utf-8")


# Characters a sheet's name may not hold, and its longest length (Excel's rules).
_NOT_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", " "))
_SHEET_NAME_LENGTH = 31


def to_xlsx(tables: Tables) -> bytes:
    """A sheet per table: the title and notes, the header in bold, money as numbers with two decimals."""
    book = Workbook()
    book.remove(book.active)
    tables = _many(tables)
    for n, table in enumerate(tables, start=1):
        name = table.title.translate(_NOT_IN_SHEET_NAMES)
        if len(tables) > 1:  # sheet names are unique: numbered when there are several
            name = f"{n} {name}"
        _write_sheet(book.create_sheet(name[:_SHEET_NAME_LENGTH]), table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(sheet, table: Table) -> None:
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


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)  # a spreadsheet number; the cents survive (two places, well inside a double)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def to_pdf(tables: Tables, *, generated_by: str, generated_at: datetime) -> bytes:
    """The report on A4 (landscape when a table is wide): each table from a new page with its title,
    the chama and period (its notes), when and by whom it was generated, the table with its header
    on every page and its totals in bold, and the page number at the foot of each page."""
    tables = _many(tables)
    buffer = io.BytesIO()
    size = landscape(A4) if max(len(table.columns) for table in tables) > 4 else A4
    document = SimpleDocTemplate(
        buffer, pagesize=size, title=tables[0].title, author=generated_by, leftMargin=36, rightMargin=36
    )
    story = []
    for n, table in enumerate(tables):
        if n:
            story.append(PageBreak())
        story += _pdf_story(table, generated_by=generated_by, generated_at=generated_at)

    def page_number(canvas, doc):
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(size[0] - 36, 20, f"Page {doc.page}")

    document.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buffer.getvalue()


def _pdf_story(table: Table, *, generated_by: str, generated_at: datetime) -> list:
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(table.title), styles["Title"])]
    story += [Paragraph(escape(note), styles["Normal"]) for note in table.notes]
    story.append(
        Paragraph(escape(f"Generated on {generated_at:%d %b %Y at %H:%M} by {generated_by}."), styles["Normal"])
    )
    story.append(Spacer(1, 12))
    body = [[_shown(value) for value in row] for row in table.rows]
    data = [table.columns, *body, *([[_shown(value) for value in table.totals]] if table.totals else [])]
    grid = PdfTable(data, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.whitesmoke]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for column, value in enumerate(table.rows[0] if table.rows else []):
        if isinstance(value, Decimal) or value is None:
            style.append(("ALIGN", (column, 1), (column, -1), "RIGHT"))
    if table.totals:
        style += [
            ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black),
        ]
    grid.setStyle(TableStyle(style))
    story.append(grid)
    return story


def render(tables: Tables, format: str, *, generated_by: str, generated_at: datetime) -> bytes:
    """The tables as a file of `format` (pdf, xlsx or csv)."""
    if format == "pdf":
        return to_pdf(tables, generated_by=generated_by, generated_at=generated_at)
    return {"xlsx": to_xlsx, "csv": to_csv}[format](tables)


def _shown(value: object) -> str:
    """A cell as printed: money with thousands separators, dates as 01 Mar 2027, nothing as blank."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if hasattr(value, "strftime"):
        return value.strftime("%d %b %Y")
    return str(value)
