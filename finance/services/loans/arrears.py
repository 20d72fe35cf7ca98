"""Arrears: overdue installments, penalties, aging buckets and default."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F

from chama.money import to_money
from finance.locking import lock_loans
from finance.models import Installment, Loan, LoanProduct
from finance.selectors.loans import BUCKETS
from finance.services import value_dates

if TYPE_CHECKING:
    from groups.models import Chama


def classify(days: int) -> str:
    for limit, bucket in BUCKETS:
        if days <= limit:
            return bucket
    return Loan.Classification.OVER_180


def update_arrears(
    *, as_of: date | None = None, chama: Chama | None = None, dry_run: bool = False
) -> list[tuple[Loan, int, str, list[Decimal]]]:
    """Mark overdue installments, charge each product penalty once per installment, classify
    loans by their oldest overdue installment and put them in default after the policy's days,
    as of `as_of` (default: each chama's today; never a day still to come there).
    Returns [(loan, days, bucket, penalties charged)]; a handful of queries, whatever the size.
    The loans are locked while this runs, so a repayment or payoff in between is never overwritten."""
    with transaction.atomic():
        return _update_arrears(as_of, chama, dry_run)


def _update_arrears(
    as_of: date | None, chama: Chama | None, dry_run: bool
) -> list[tuple[Loan, int, str, list[Decimal]]]:
    loans = Loan.objects.filter(status__in=Loan.OUTSTANDING_STATUSES).select_related("product", "chama__policy")
    if chama is not None:
        loans = loans.filter(chama=chama)
    if not dry_run:
        loans = lock_loans(loans)
    loans = {loan.pk: loan for loan in loans}
    days_of = {}  # chama id → the day arrears are judged on there
    for loan in loans.values():
        if loan.chama_id not in days_of:
            days_of[loan.chama_id] = value_dates.check_not_future(loan.chama, as_of) if as_of else loan.chama.today()
    rows = list(
        Installment.objects.filter(
            loan__in=loans.keys(), status__in=Installment.OPEN_STATUSES, version=F("loan__schedule_version")
        ).order_by("loan", "n")
    )
    oldest, penalised, changed_rows = {}, defaultdict(list), []
    for row in rows:
        loan = loans[row.loan_id]
        day = days_of[loan.chama_id]
        if row.due_date >= day:
            continue
        oldest.setdefault(loan.pk, row.due_date)
        row.status = Installment.Status.OVERDUE
        if row.penalty_charged_date is None and row.due_date + timedelta(days=loan.product.penalty_grace_days) < day:
            overdue = row.owed("principal") + row.owed("interest") + row.owed("fee")
            product = loan.product
            penalty = (
                to_money(product.penalty_value)
                if product.penalty_kind == LoanProduct.ChargeKind.FLAT
                else to_money(overdue * product.penalty_value / 100)
            )
            if penalty > 0:
                row.penalty += penalty
                row.penalty_charged_date = day
                penalised[loan.pk].append(penalty)
        changed_rows.append(row)
    report, changed_loans = [], []
    for loan in loans.values():
        days = (days_of[loan.chama_id] - oldest[loan.pk]).days if loan.pk in oldest else 0
        bucket = classify(days)
        status = Loan.Status.DEFAULTED if days >= loan.chama.policy.loan_default_days else loan.status
        report.append((loan, days, bucket, penalised[loan.pk]))
        if (loan.days_in_arrears, loan.classification, loan.status) != (days, bucket, status):
            loan.days_in_arrears, loan.classification, loan.status = days, bucket, status
            changed_loans.append(loan)
    if not dry_run:
        Installment.objects.bulk_update(changed_rows, ["status", "penalty", "penalty_charged_date"], batch_size=500)
        Loan.objects.bulk_update(changed_loans, ["days_in_arrears", "classification", "status"], batch_size=500)
    return report
