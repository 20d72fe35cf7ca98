"""The meeting collection sheet: what every member handed in at one meeting (contribution, shares,
fines, a loan repayment), posted together or not at all. The admin's sheet and the treasurer's
phone (the API) both call `collection_sheet_post` with plain rows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from chama import authority
from chama.money import ZERO, to_money
from chama.roles import MembershipStatus
from finance.models import Journal, Loan
from finance.receivers import receipts_together
from finance.selectors import loans as loan_reads
from finance.services import dues, ledger, loans, savings, value_dates
from groups.locking import lock_memberships

if TYPE_CHECKING:
    from chama.models import User
    from groups.models import Chama, Membership

# The cells of one row, in the order they are posted.
AMOUNTS = ("contribution", "fines", "repayment")


class SheetRefused(ValidationError):
    """The sheet was refused and nothing was posted. `rows` maps a row's index to
    {cell: [messages]}; `general` maps a field of the whole sheet (method, value date, key) to
    its messages."""

    def __init__(
        self,
        *,
        rows: Mapping[int, Mapping[str, list[str]]] | None = None,
        general: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.rows = {index: dict(cells) for index, cells in (rows or {}).items()}
        self.general = dict(general or {})
        flat = {name: list(messages) for name, messages in self.general.items()}
        if self.rows:
            flat["rows"] = [
                f"Row {index + 1}: {message}"
                for index, cells in sorted(self.rows.items())
                for messages in cells.values()
                for message in messages
            ]
        super().__init__(flat)


@dataclass
class SheetResult:
    journals: list = field(default_factory=list)
    replayed: bool = False
    replays: list = field(default_factory=list, repr=False)

    @property
    def total(self) -> Decimal:
        return sum((journal.amount for journal in self.journals), ZERO)


def _sheet_prefix(client_key: str) -> str:
    """The client's key is digested, not cut, so that the postings' keys fit their column
    whatever its length and two keys stay two sheets."""
    return f"sheet-{hashlib.sha256(client_key.encode()).hexdigest()}-"


def _row_key(client_key: str, membership_id: int, cell: str) -> str:
    """A posting's own key, derived from the sheet's: a retry of the sheet replays each posting."""
    return f"{_sheet_prefix(client_key)}{membership_id}-{cell}" if client_key else ""


def _checked_rows(
    chama: Chama, rows: Sequence[Mapping[str, Any]]
) -> tuple[dict[int, Membership], dict[int, dict[str, list[str]]]]:
    """Each row's cells read as numbers, and the refusals that need no posting to find."""
    refused, members = {}, {}
    active = {
        m.pk: m
        for m in chama.memberships.filter(
            status=MembershipStatus.ACTIVE,
            pk__in=[row.get("membership") for row in rows if isinstance(row.get("membership"), int)],
        ).select_related("user")
    }
    for membership in active.values():
        membership.chama = chama  # one chama (and policy) read for the whole sheet
    first_row_of = {}
    for index, row in enumerate(rows):
        errors = {}
        membership_id = row.get("membership")
        if membership_id in first_row_of:
            errors["membership"] = [
                f"{active[membership_id]} is listed twice (also in row {first_row_of[membership_id] + 1}); "
                "put all they handed in on one row."
            ]
        elif membership_id not in active:
            errors["membership"] = [f"No active member {membership_id!r} in {chama}."]
        else:
            first_row_of[membership_id] = index
            members[index] = active[membership_id]
        for cell in AMOUNTS:
            if (row.get(cell) or ZERO) < 0:
                errors[cell] = ["Must not be negative."]
        shares = row.get("shares") or 0
        if not isinstance(shares, int) or shares < 0:
            errors["shares"] = ["Shares must be a whole number."]
        if errors:
            refused[index] = errors
    return members, refused


def collection_sheet_post(
    *, chama: Chama, day: date, rows: Sequence[Mapping[str, Any]], method: str, by: User, client_key: str = ""
) -> SheetResult:
    """Post a meeting's collections, dated `day`: `rows` are dicts of `membership` (an id),
    `contribution`, `fines`, `repayment` (Decimals, None or 0 for nothing) and `shares` (an int).

    Contributions settle the member's oldest contributions and levies, fines settle fines (the
    rest of either is kept as an advance); shares are bought at the share price; a repayment goes
    to the member's oldest outstanding loan. Every row is posted or none: any refusal raises
    `SheetRefused` with the messages of each refused row. With `client_key`, sending the same
    sheet again posts nothing and returns the first journals (`replayed`); the key sent with a
    different sheet is refused. The members' receipts are queued together, as one task."""
    authority.require(by, "record_payment", chama=chama)
    general = {}
    if method not in ledger.METHOD_ACCOUNTS:
        general["method"] = ["Pick how the money was received."]
    problem = value_dates.problem(chama, day)
    if problem:
        general["value_date"] = [problem]
    members, refused = _checked_rows(chama, rows)
    if general or refused:
        raise SheetRefused(rows=refused, general=general)
    loan_of = loan_reads.oldest_outstanding_loans(chama=chama, membership_ids=[m.pk for m in members.values()])
    # Members in id order, as every posting locks them: two sheets saved at once queue, never deadlock.
    ordered = sorted(enumerate(rows), key=lambda pair: pair[1]["membership"])
    post = dict(loan_of=loan_of, method=method, by=by, day=day, client_key=client_key)
    with receipts_together():
        result = _post_sheet_once(chama, ordered, members, post)
    result.replayed = bool(result.journals) and all(result.replays)
    return result


def _post_sheet_once(
    chama: Chama, ordered: Sequence[tuple[int, Mapping[str, Any]]], members: Mapping[int, Membership], post: dict
) -> SheetResult:
    loan_of = post["loan_of"]
    try:
        # The sheet as it nearly always is: every cell posts, in one transaction without savepoints,
        # its members and their accounts locked up front and the balances moved once at the end.
        repaid = [
            loan_of[row["membership"]].pk for _, row in ordered if row.get("repayment") and row["membership"] in loan_of
        ]
        with ledger.all_or_nothing(chama, [member.pk for member in members.values()], repaid):
            result = _post_sheet(chama, ordered, members, post, stop_at_refusal=True)
    except _Refused:
        # A cell was refused: post again cell by cell (each in a savepoint) to name every refusal,
        # then refuse the sheet. Nothing is kept.
        with transaction.atomic():
            # Every member of the sheet first, in id order, before any posting takes an account: a
            # payment locks its member then the accounts, so a sheet that held the cash account
            # while waiting for a member would deadlock with it.
            lock_memberships(sorted(member.pk for member in members.values()))
            result = _post_sheet(chama, ordered, members, post, stop_at_refusal=False)
    return result


class _Refused(Exception):
    """A cell of the sheet was refused in its first, savepoint-free pass."""


def _post_sheet(
    chama: Chama,
    ordered: Sequence[tuple[int, Mapping[str, Any]]],
    members: Mapping[int, Membership],
    post: Mapping[str, Any],
    *,
    stop_at_refusal: bool,
) -> SheetResult:
    result = SheetResult()
    refused = {}
    for index, row in ordered:
        errors = _post_row(
            members[index],
            row,
            posted=result.journals,
            replays=result.replays,
            stop_at_refusal=stop_at_refusal,
            **post,
        )
        if errors:
            refused[index] = errors
    if refused:
        raise SheetRefused(rows=refused)
    if post["client_key"]:
        _check_replay(chama, post["client_key"], result.journals, result.replays)
    return result


def _check_replay(chama: Chama, client_key: str, journals: list[Journal], replays: list[bool]) -> None:
    """A key names one sheet: sent again, it must repeat every posting and add none."""
    earlier = Journal.objects.filter(chama=chama, idempotency_key__startswith=_sheet_prefix(client_key))
    if any(replays) and (not all(replays) or earlier.count() != len(journals)):
        raise SheetRefused(
            general={
                "Idempotency-Key": [
                    "This key was already used for a different collection sheet; send this one with a new key."
                ]
            }
        )


def _post_row(
    membership: Membership,
    row: Mapping[str, Any],
    loan_of: Mapping[int, Loan],
    *,
    method: str,
    by: User,
    day: date,
    client_key: str,
    posted: list[Journal],
    replays: list[bool],
    stop_at_refusal: bool,
) -> dict[str, list[str]]:
    """Post one row's cells; returns {cell: [messages]} of the cells refused. With
    `stop_at_refusal` the first refusal raises `_Refused` (no savepoint is taken per cell)."""
    key = lambda cell: _row_key(client_key, membership.pk, cell)  # noqa: E731
    contribution, fines, repayment = (to_money(row.get(cell) or 0) for cell in AMOUNTS)
    shares = row.get("shares") or 0

    def paying(kinds: str, amount: Decimal, suffix: str, memo: str) -> Callable[[], Journal]:
        return lambda: dues.payment_record(
            membership=membership,
            amount=amount,
            method=method,
            by=by,
            value_date=day,
            kinds=dues.DUE_KINDS[kinds],
            idempotency_key=key(suffix),
            memo=f"{memo} at meeting {day}",
        )

    operations = []
    if contribution:
        operations.append(("contribution", paying("contributions", contribution, "c", "Contribution")))
    if shares:
        operations.append(
            (
                "shares",
                lambda: savings.share_purchase(
                    membership=membership, shares=shares, method=method, by=by, value_date=day, idempotency_key=key("s")
                ),
            )
        )
    if fines:
        operations.append(("fines", paying("fines", fines, "f", "Fines paid")))
    errors = {}
    if repayment and membership.pk not in loan_of:
        if stop_at_refusal:
            raise _Refused
        errors["repayment"] = ["This member has no loan to repay."]
    elif repayment:
        operations.append(
            (
                "repayment",
                lambda: loans.loan_repay(
                    loan=loan_of[membership.pk],
                    amount=repayment,
                    method=method,
                    by=by,
                    value_date=day,
                    idempotency_key=key("r"),
                ),
            )
        )
    for cell, operation in operations:
        try:
            if stop_at_refusal:
                journal = operation()
            else:
                with transaction.atomic():
                    journal = operation()
        except (ValidationError, authority.Refused) as exc:
            if stop_at_refusal:
                raise _Refused from exc
            errors.setdefault(cell, []).extend(exc.messages)
        else:
            posted.append(journal)
            replays.append(getattr(journal, "replayed", False))
    return errors
