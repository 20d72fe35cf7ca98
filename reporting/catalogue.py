"""Every report a chama can ask for by name, what it takes and who may ask: one list for the stored
reports (`reporting.generation`), their command, their API route and their back-office form.

A report's parameters come in as text (a form, a query, a command line) and are checked here, each
with a message naming what is wrong: `as_of` (a day, default today), `start` and `end` (a period,
default this year to today), `channel` (cash, bank or mpesa), `membership` (a member of the chama)
and `cycle` (one of the chama's savings cycles). `build(chama, parameters, progress)` returns the
report's tables; `progress(done, total)` is told as a long report goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from finance.models import SavingsCycle
from groups.models import Chama, Membership
from reporting import registers, statements
from reporting.models import GeneratedReport
from reporting.tables import Table

Progress = Callable[[int, int], None]
FORMATS = tuple(GeneratedReport.Format.values)


@dataclass(frozen=True)
class Report:
    name: str  # as the API and the command spell it
    title: str
    takes: tuple[str, ...]  # of "as_of", "period", "channel", "membership", "cycle"
    build: Callable[[Chama, dict[str, Any], Progress], list[Table]]
    # Who may ask, beside the officers who read the books: the member whose statement it is.
    own_statement: bool = False


def _one(make: Callable[..., Table]) -> Callable[[Chama, dict[str, Any], Progress], list[Table]]:
    def build(chama, parameters, progress):
        table = make(chama, parameters)
        progress(1, 1)
        return [table]

    return build


def _every_members_statement(chama: Chama, parameters: dict[str, Any], progress: Progress) -> list[Table]:
    """One statement per member, in member-number order (the long one: told member by member)."""
    members = list(chama.memberships.select_related("user", "chama").order_by("member_number"))
    tables = []
    for done, membership in enumerate(members, start=1):
        tables.append(
            statements.member_statement(membership=membership, start=parameters["start"], end=parameters["end"])
        )
        progress(done, len(members))
    return tables


REPORTS = {
    report.name: report
    for report in [
        Report(
            "trial-balance",
            "Trial balance",
            ("as_of",),
            _one(lambda chama, p: statements.trial_balance(chama=chama, as_of=p["as_of"])),
        ),
        Report(
            "balance-sheet",
            "Balance sheet",
            ("as_of",),
            _one(lambda chama, p: statements.balance_sheet(chama=chama, as_of=p["as_of"])),
        ),
        Report(
            "income-statement",
            "Income statement",
            ("period",),
            _one(lambda chama, p: statements.income_statement(chama=chama, start=p["start"], end=p["end"])),
        ),
        Report(
            "cash-book",
            "Cash book",
            ("channel", "period"),
            _one(
                lambda chama, p: statements.cash_book(chama=chama, channel=p["channel"], start=p["start"], end=p["end"])
            ),
        ),
        Report(
            "members-funds",
            "Members' funds",
            ("as_of",),
            _one(lambda chama, p: statements.members_funds(chama=chama, as_of=p["as_of"])),
        ),
        Report("compliance", "Contribution compliance", (), _one(lambda chama, p: statements.compliance(chama=chama))),
        Report(
            "loan-portfolio",
            "Loan portfolio",
            ("as_of",),
            _one(lambda chama, p: statements.loan_portfolio(chama=chama, as_of=p["as_of"])),
        ),
        Report(
            "attendance",
            "Attendance",
            ("period",),
            _one(lambda chama, p: registers.attendance(chama=chama, start=p["start"], end=p["end"])),
        ),
        Report(
            "welfare",
            "Welfare fund",
            ("period",),
            _one(lambda chama, p: registers.welfare(chama=chama, start=p["start"], end=p["end"])),
        ),
        Report("share-out", "Share-out", ("cycle",), _one(lambda chama, p: registers.share_out(cycle=p["cycle"]))),
        Report(
            "member-statement",
            "Member's statement",
            ("membership", "period"),
            _one(
                lambda chama, p: statements.member_statement(membership=p["membership"], start=p["start"], end=p["end"])
            ),
            own_statement=True,
        ),
        Report("member-statements", "Every member's statement", ("period",), _every_members_statement),
    ]
}


def title_of(name: str) -> str:
    """A report's title by its name (the name itself for one no longer in the catalogue)."""
    return REPORTS[name].title if name in REPORTS else name


def report_or_error(name: str) -> Report:
    if name not in REPORTS:
        raise ValidationError({"report": f"No report {name!r}: one of {', '.join(REPORTS)}."})
    return REPORTS[name]


def _day(raw: dict[str, Any], name: str, default: date) -> date:
    value = raw.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError({name: "Give a date as YYYY-MM-DD."}) from None


def _row_id(raw: dict[str, Any], name: str, what: str) -> int:
    value = raw.get(name)
    if value in (None, ""):
        raise ValidationError({name: f"Say which {what}."})
    try:
        return int(getattr(value, "pk", value))
    except (TypeError, ValueError):
        raise ValidationError({name: f"Give the {what}'s number."}) from None


def period(chama: Chama, raw: dict[str, Any]) -> dict[str, date]:
    """`start` and `end` read from `raw` (default: this year to the chama's today)."""
    start, end = statements.year_bounds(chama.today())
    start, end = _day(raw, "start", start), _day(raw, "end", end)
    if end < start:
        raise ValidationError({"end": "The period ends before it starts."})
    return {"start": start, "end": end}


def build_one(name: str, chama: Chama, raw: dict[str, Any]) -> Table:
    """Report `name` of a single table, its parameters read from `raw` (a query), built now."""
    report = REPORTS[name]
    return report.build(chama, parse(report, chama, raw), lambda done, total: None)[0]


def parse(report: Report, chama: Chama, raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` (text or values) checked and read for `report`: dates as dates, rows as rows."""
    today = chama.today()
    parameters: dict[str, Any] = {}
    if "as_of" in report.takes:
        parameters["as_of"] = _day(raw, "as_of", today)
    if "period" in report.takes:
        parameters.update(period(chama, raw))
    if "channel" in report.takes:
        parameters["channel"] = raw.get("channel") or "cash"
        if parameters["channel"] not in statements.CHANNELS:
            raise ValidationError({"channel": "Pick cash, bank or mpesa."})
    if "membership" in report.takes:
        pk = _row_id(raw, "membership", "member")
        parameters["membership"] = Membership.objects.select_related("user", "chama").filter(chama=chama, pk=pk).first()
        if parameters["membership"] is None:
            raise ValidationError({"membership": "No such member in this chama."})
    if "cycle" in report.takes:
        pk = _row_id(raw, "cycle", "savings cycle")
        parameters["cycle"] = SavingsCycle.objects.filter(chama=chama, pk=pk).first()
        if parameters["cycle"] is None:
            raise ValidationError({"cycle": "No such savings cycle in this chama."})
        if parameters["cycle"].status != SavingsCycle.Status.CLOSED:
            raise ValidationError({"cycle": "This cycle has not been shared out yet."})
    return parameters


def stored(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parsed parameters as JSON keeps them: dates as text, rows by their ids."""
    return {
        name: value.isoformat() if isinstance(value, date) else getattr(value, "pk", value)
        for name, value in parameters.items()
    }
