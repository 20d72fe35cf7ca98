"""Member import from CSV or Excel: every row is validated, then all rows are imported or none.

A row for a person already registered on the platform never enrols them: it becomes an invitation,
and they join when they accept it (their consent). New people are created and admitted.

The file is checked before it is parsed: its size (and an Excel file's unpacked size), then its
rows as they stream in (reading stops one row past the limit), and each cell's length. Excel XML is
read through defusedxml (openpyxl uses it when installed), so a workbook with a DTD or entities is
refused rather than expanded."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from defusedxml import DefusedXmlException
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from phonenumber_field.formfields import PhoneNumberField

from chama import authority
from chama.forms import DateFormField
from chama.roles import MembershipStatus, Role
from groups import services
from groups.models import Chama, Invitation, Membership

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from chama.models import User

COLUMNS = ["first_name", "last_name", "phone_number", "email", "id_number", "role", "member_number", "joined_date"]
REQUIRED_COLUMNS = ["first_name", "last_name", "phone_number"]
MAX_ROWS = 5000
MAX_BLANK_ROWS = 1000  # blank lines are skipped, but not without end
MAX_COLUMNS = 50  # columns past these are ignored
MAX_CELL_LENGTH = 255
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an .xlsx is a zip: what it unpacks to, not what it weighs
FILE_HELP = f"A .csv or .xlsx file with a header row; at most {MAX_ROWS} members."


class MemberRowForm(forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    phone_number = PhoneNumberField()
    email = forms.EmailField(required=False)
    id_number = forms.CharField(max_length=20, required=False)
    role = forms.ChoiceField(choices=Role.choices, required=False)
    member_number = forms.CharField(max_length=20, required=False)
    joined_date = DateFormField(required=False, input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"])


@dataclass
class Row:
    line: int
    raw: dict
    data: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)


@dataclass
class ImportReport:
    rows: list
    imported: list = field(default_factory=list)  # memberships of people new to the platform
    invited: list = field(default_factory=list)  # invitations to people already registered

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0


def _normalise_header(name: object) -> str:
    return str(name or "").strip().lower().replace(" ", "_")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores typed numbers (IDs, member numbers) as floats
    return str(value).strip()


UNSAFE_XLSX = (
    "This workbook contains a document type definition (DTD) or XML entities, which are refused for safety. "
    "Open it in Excel, save it again as .xlsx (or export it as CSV) and upload it again."
)


def _check_size(uploaded: UploadedFile) -> None:
    limit = settings.MEMBER_IMPORT_MAX_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise ValidationError(
            f"The file is {filesizeformat(uploaded.size)}; import files are at most "
            f"{filesizeformat(limit)}. Split the list into smaller files."
        )


def _xlsx_rows(uploaded: UploadedFile) -> Iterator[list[str]]:
    try:
        with zipfile.ZipFile(uploaded) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationError("This file is not a readable Excel (.xlsx) workbook.") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationError(
            f"This workbook unpacks to {filesizeformat(unpacked)}; at most "
            f"{filesizeformat(MAX_UNPACKED_BYTES)}. Export the list as CSV and upload that."
        )
    uploaded.seek(0)
    try:
        sheet = load_workbook(uploaded, read_only=True, data_only=True).worksheets[0]
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            yield [_cell(value) for value in row]
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError) as exc:
        raise ValidationError(
            UNSAFE_XLSX if _defused(exc) else "This file is not a readable Excel (.xlsx) workbook."
        ) from exc


def _defused(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML (openpyxl wraps its error in its own)."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _csv_rows(uploaded: UploadedFile) -> Iterator[list[str]]:
    try:
        text = uploaded.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("Save the CSV file as UTF-8 and upload it again.") from exc
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            yield [cell.strip() for cell in row[:MAX_COLUMNS]]
    except csv.Error as exc:  # e.g. a cell past the csv module's 128 KB limit, or a quote never closed
        raise ValidationError(
            f"Line {reader.line_num} of the file cannot be read: a cell is far too long "
            f"(at most {MAX_CELL_LENGTH} characters) or a quote is not closed."
        ) from exc


def _limited(rows: Iterable[list[str]]) -> list[list[str]]:
    """The non-blank rows, stopping one past the limit (header + MAX_ROWS members) without reading on."""
    table, blank = [], 0
    for row in rows:
        if not any(row):
            blank += 1
            if blank > MAX_BLANK_ROWS:
                raise ValidationError(
                    f"The file has more than {MAX_BLANK_ROWS} blank rows; remove them and upload it again."
                )
            continue
        table.append(row)
        if len(table) > MAX_ROWS + 1:
            raise ValidationError(f"The file has more than {MAX_ROWS} rows; import at most {MAX_ROWS} at a time.")
    return table


def read_table(uploaded: UploadedFile) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the first sheet of an .xlsx file or of a .csv file."""
    name = (uploaded.name or "").lower()
    if name.endswith(".xlsx"):
        _check_size(uploaded)
        table = _limited(_xlsx_rows(uploaded))
    elif name.endswith(".csv"):
        _check_size(uploaded)
        table = _limited(_csv_rows(uploaded))
    else:
        raise ValidationError("Upload a .csv or an .xlsx file.")
    if not table:
        raise ValidationError("The file is empty.")
    header = [_normalise_header(name) for name in table[0]]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationError(f"The first row must name the columns; missing: {', '.join(missing)}.")
    body = table[1:]
    if not body:
        raise ValidationError("The file has a header row but no members.")
    return header, body


def validate_rows(chama: Chama, header: list[str], body: list[list[str]]) -> list[Row]:
    """Check every row on its own, against the other rows, and against the chama's register."""
    rows = []
    for number, values in enumerate(body, start=2):
        raw = {column: (values[i] if i < len(values) else "") for i, column in enumerate(header) if column in COLUMNS}
        row = Row(line=number, raw=raw)
        too_long = [column for column, value in raw.items() if len(value) > MAX_CELL_LENGTH]
        if too_long:
            row.raw = {
                column: value[:MAX_CELL_LENGTH] + "…" if column in too_long else value for column, value in raw.items()
            }
            row.errors = [
                f"{column.replace('_', ' ')}: {len(raw[column]):,} characters; at most {MAX_CELL_LENGTH}."
                for column in too_long
            ]
            rows.append(row)
            continue
        form = MemberRowForm(raw)
        if form.is_valid():
            row.data = {**form.cleaned_data, "role": form.cleaned_data["role"] or Role.MEMBER}
        else:
            row.errors = [
                f"{name.replace('_', ' ')}: {' '.join(errors)}" if name != "__all__" else " ".join(errors)
                for name, errors in form.errors.items()
            ]
        rows.append(row)

    _flag_repeats(rows, "phone_number", "appears again in row")
    _flag_repeats(rows, "email", "appears again in row")
    _flag_repeats(rows, "member_number", "appears again in row")

    valid = [row for row in rows if row.data]
    phones = [row.data["phone_number"] for row in valid]
    current = dict(
        Membership.objects.filter(chama=chama, user__phone_number__in=phones)
        .exclude(status=MembershipStatus.EXITED)
        .values_list("user__phone_number", "status")
    )
    numbers_taken = set(
        Membership.objects.filter(
            chama=chama, member_number__in=[r.data["member_number"] for r in valid if r.data["member_number"]]
        ).values_list("member_number", flat=True)
    )
    for row in valid:
        status = current.get(row.data["phone_number"])
        if status:
            row.errors.append(f"{row.data['phone_number']} is already a member of {chama} ({status}).")
        if row.data["member_number"] in numbers_taken:
            row.errors.append(f"Member number {row.data['member_number']} is already in use in {chama}.")
    return rows


def _flag_repeats(rows: list[Row], name: str, message: str) -> None:
    first_seen = {}
    for row in rows:
        value = row.data.get(name)
        if not value:
            continue
        key = str(value).lower()
        if key in first_seen:
            row.errors.append(f"{name.replace('_', ' ')} {value} {message} {first_seen[key]}.")
        else:
            first_seen[key] = row.line


def import_members(*, chama: Chama, by: User, uploaded: UploadedFile) -> ImportReport:
    """Validate the file; import every row in one transaction only if no row has a problem."""
    header, body = read_table(uploaded)
    report = ImportReport(rows=validate_rows(chama, header, body))
    if report.has_errors:
        return report
    try:
        with transaction.atomic():
            for row in report.rows:
                current = row
                added = services.member_add(chama=chama, by=by, **row.data)
                (report.invited if isinstance(added, Invitation) else report.imported).append(added)
    except (ValidationError, authority.Refused) as exc:  # e.g. an officer row the importer may not appoint
        current.errors.extend(exc.messages)
        report.imported, report.invited = [], []
    return report
