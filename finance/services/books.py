"""Expenses, other income and investments: each movement is a journal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from chama import authority
from chama.locking import lock_row
from chama.money import ZERO, positive_money, shown, to_money
from chama.transitions import locked_in_status, move
from finance.models import Account, Expense, Income, Investment, InvestmentMovement, Journal
from finance.models.books import CashbookRecord
from finance.services import ledger, value_dates
from groups import signatures
from groups.locking import lock_chama

if TYPE_CHECKING:
    from django.core.files import File

    from chama.models import User
    from groups.models import Chama, Membership

A = Account.Purpose


def _accounts(record: CashbookRecord) -> tuple[Account, Account]:
    """(debit, credit) of a cashbook record's journal."""
    chama = record.chama
    if isinstance(record, Expense):
        return ledger.expense_account(chama, record.category), ledger.method_account(
            chama, record.paid_through, field="paid_through"
        )
    purpose = A.INTEREST_INCOME if record.category == Income.Category.BANK_INTEREST else A.OTHER_INCOME
    return ledger.method_account(chama, record.received_through, field="received_through"), ledger.chama_account(
        chama, purpose
    )


def _in_window(record: CashbookRecord) -> Decimal:
    """What else went to the same member (or, paid to no member, was recorded by the same officer)
    in the approval window, not rejected."""
    others = type(record).objects.filter(
        chama=record.chama, created_date__date__gte=signatures.window_start(record.chama)
    )
    if getattr(record, "payee_id", None):
        others = others.filter(payee_id=record.payee_id)
    else:
        others = others.filter(recorded_by=record.recorded_by)
        if isinstance(record, Expense):
            others = others.filter(payee__isnull=True)
    return others.exclude(status=CashbookRecord.Status.REJECTED).aggregate(total=Sum("amount"))["total"] or ZERO


def _post(record: CashbookRecord, approved_by: User) -> None:
    debit, credit = _accounts(record)
    chama = record.chama
    record.journal = ledger.post_journal(
        chama=chama,
        kind=Journal.Kind.EXPENSE if isinstance(record, Expense) else Journal.Kind.INCOME,
        value_date=record.value_date,
        memo=f"{record._meta.verbose_name.capitalize()}: {record.description}",
        created_by=approved_by,
        lines=[(debit, record.amount), (credit, -record.amount)],
        # The backdating window counts from the day the record was made, not from its approval.
        recorded_on=value_dates.recorded_day(chama, record.created_date) if record.created_date else None,
    )
    record.approved_by = approved_by
    record.status = CashbookRecord.Status.POSTED


def _cashbook(record: CashbookRecord, by: User) -> CashbookRecord:
    """Post `record` at once up to the threshold; above it, keep it for a second officer."""
    chama = record.chama
    record.amount = positive_money(record.amount)
    if record.category not in type(record).Category.values:
        raise ValidationError({"category": f"Unknown category {record.category!r}."})
    payee = getattr(record, "payee", None)
    if payee is not None and payee.chama_id != chama.pk:
        raise ValidationError({"payee": "Pick a member of this chama."})
    authority.require(by, "record_expense", record)
    _accounts(record)  # an unknown payment method is refused before anything is saved
    # Checked now, not only when posted: a record above the threshold waits for a second officer.
    record.value_date = value_dates.check(chama, record.value_date or chama.today())
    record.receipt = record.receipt or ""
    with transaction.atomic():
        # One officer's (or one payee's) records are added up one at a time.
        lock_chama(chama.pk)
        if signatures.needs_second(chama, record.amount, _in_window(record)):
            record.status = CashbookRecord.Status.PENDING
            record.save()
            signatures.ask(
                record,
                "approve_expense",
                asked_by=by,
                key=f"{record._meta.model_name}-{record.pk}",
                what=f"{record._meta.verbose_name} of {shown(record.amount, chama.currency)} ({record.description})",
            )
            return record
        _post(record, by)
        record.save()
    return record


def expense_record(
    *,
    chama: Chama,
    category: str,
    amount: Decimal,
    description: str,
    by: User,
    paid_through: str = "cash",
    value_date: date | None = None,
    receipt: File | None = None,
    payee: Membership | None = None,
) -> Expense:
    """Dr the category's expense account, Cr where the money was paid from; above the chama's
    threshold (for one payee, or one recording officer, over the window) it waits for a second officer."""
    return _cashbook(
        Expense(
            chama=chama,
            category=category,
            amount=amount,
            description=description,
            value_date=value_date,
            receipt=receipt,
            recorded_by=by,
            paid_through=paid_through,
            payee=payee,
        ),
        by,
    )


def income_record(
    *,
    chama: Chama,
    category: str,
    amount: Decimal,
    description: str,
    by: User,
    received_through: str = "cash",
    value_date: date | None = None,
    receipt: File | None = None,
) -> Income:
    """Dr where the money was received, Cr interest income (bank interest) or other income."""
    return _cashbook(
        Income(
            chama=chama,
            category=category,
            amount=amount,
            description=description,
            value_date=value_date,
            receipt=receipt,
            recorded_by=by,
            received_through=received_through,
        ),
        by,
    )


def _locked_pending(record: CashbookRecord, by: User) -> CashbookRecord:
    return locked_in_status(
        type(record).objects.select_related("chama__policy"),
        pk=record.pk,
        allowed=CashbookRecord.Status.PENDING,
        by=by,
        action="approve_expense",
    )


def cashbook_approve(*, record: CashbookRecord, by: User) -> CashbookRecord:
    """The second officer approves a pending expense or income through their own login: it is posted."""
    with transaction.atomic():
        record = _locked_pending(record, by)
        authority.require_distinct(by, [record.recorded_by_id], record._meta.verbose_name)
        _post(record, by)
        record.save(update_fields=["journal", "approved_by", "status", "updated_date"])
    return record


def cashbook_reject(*, record: CashbookRecord, by: User, reason: str) -> CashbookRecord:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why it is rejected."})
    with transaction.atomic():
        record = _locked_pending(record, by)
        move(record, CashbookRecord.Status.REJECTED, approved_by=by, decided_reason=reason)
    return record


def book_value(investment: Investment) -> Decimal:
    """Money invested plus revaluations, less what reversals took back (from the movements)."""
    movements = investment.movements.exclude(kind=InvestmentMovement.Kind.RETURN).exclude(
        journal__reversals__isnull=False
    )
    return movements.aggregate(total=Sum("amount"))["total"] or ZERO


def _movement(
    investment: Investment,
    kind: str,
    *,
    amount: Decimal,
    by: User,
    value_date: date,
    note: str,
    memo: str,
    lines: list[tuple[Account, Decimal]],
    valuation: Decimal | None = None,
) -> InvestmentMovement:
    """Post the movement's journal (none when `lines` is empty: a valuation that changes nothing)
    and record the movement beside it. The caller holds the transaction."""
    chama = investment.chama
    journal = None
    if lines:
        journal = ledger.post_journal(
            chama=chama, kind=Journal.Kind.INVESTMENT, value_date=value_date, memo=memo, created_by=by, lines=lines
        )
    return InvestmentMovement.objects.create(
        chama=chama,
        investment=investment,
        kind=kind,
        amount=amount,
        valuation=valuation,
        value_date=value_date,
        note=note,
        recorded_by=by,
        journal=journal,
    )


def investment_add_funds(
    *,
    investment: Investment,
    amount: Decimal,
    by: User,
    paid_through: str = "cash",
    value_date: date | None = None,
    note: str = "",
) -> InvestmentMovement:
    chama = investment.chama
    authority.require(by, "record_expense", chama=chama)
    amount = positive_money(amount)
    with transaction.atomic():
        return _movement(
            investment,
            InvestmentMovement.Kind.PURCHASE,
            amount=amount,
            by=by,
            value_date=value_date or chama.today(),
            note=note,
            memo=f"Invested in {investment}",
            lines=[
                (ledger.chama_account(chama, A.INVESTMENTS), amount),
                (ledger.method_account(chama, paid_through, field="paid_through"), -amount),
            ],
        )


def investment_revalue(
    *, investment: Investment, value: Decimal, by: User, value_date: date | None = None, note: str = ""
) -> InvestmentMovement:
    """Record a valuation; the change in book value goes to unrealised gains (or comes out of them)."""
    chama = investment.chama
    authority.require(by, "record_expense", chama=chama)
    value = to_money(value)
    if value < 0:
        raise ValidationError({"value": "A valuation cannot be negative."})
    value_date = value_dates.check(chama, value_date or chama.today())  # an unchanged value posts nothing
    with transaction.atomic():
        lock_row(Investment.objects.all(), pk=investment.pk)
        change = value - book_value(investment)
        return _movement(
            investment,
            InvestmentMovement.Kind.VALUATION,
            amount=change,
            valuation=value,
            by=by,
            value_date=value_date,
            note=note,
            memo=f"Revaluation of {investment} to {shown(value)}",
            lines=[
                (ledger.chama_account(chama, A.INVESTMENTS), change),
                (ledger.chama_account(chama, A.UNREALISED_GAIN), -change),
            ]
            if change
            else [],
        )


def investment_return(
    *,
    investment: Investment,
    amount: Decimal,
    by: User,
    received_through: str = "bank",
    value_date: date | None = None,
    note: str = "",
) -> InvestmentMovement:
    chama = investment.chama
    authority.require(by, "record_expense", chama=chama)
    amount = positive_money(amount)
    with transaction.atomic():
        return _movement(
            investment,
            InvestmentMovement.Kind.RETURN,
            amount=amount,
            by=by,
            value_date=value_date or chama.today(),
            note=note,
            memo=f"Return from {investment}",
            lines=[
                (ledger.method_account(chama, received_through, field="received_through"), amount),
                (ledger.chama_account(chama, A.INVESTMENT_INCOME), -amount),
            ],
        )
