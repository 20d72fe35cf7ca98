"""Rescheduling an outstanding loan: asked for by one officer, approved by a second."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from chama import authority
from chama.money import ZERO
from finance.locking import lock_loan
from finance.models import Installment, Loan, LoanApproval
from finance.selectors.loans import current_installments, outstanding_principal
from finance.services.loans.common import write_schedule
from groups import signatures

if TYPE_CHECKING:
    from chama.models import User


def loan_reschedule(
    *,
    loan: Loan,
    by: User,
    installments: int,
    interest_rate: Decimal | None = None,
    start: date | None = None,
    reason: str = "",
) -> Loan:
    """Ask for the outstanding principal to be re-amortised over a new schedule. A reschedule
    always needs a second officer (`reschedule_approve`); until then the loan runs as before."""
    with transaction.atomic():
        loan = lock_loan(loan.pk)
        authority.require(by, "reschedule_loan", loan)
        _check_reschedulable(loan, installments, interest_rate)
        loan.reschedule_requested_by, loan.reschedule_installments = by, installments
        loan.reschedule_interest_rate, loan.reschedule_start, loan.reschedule_reason = (
            interest_rate,
            start,
            reason or "",
        )
        loan.save(update_fields=[*RESCHEDULE_REQUEST, "updated_date"])
        rate = loan.interest_rate if interest_rate is None else interest_rate
        signatures.ask(
            loan,
            "approve_reschedule",
            asked_by=by,
            key=f"reschedule-{loan.pk}-{loan.schedule_version}",
            what=f"rescheduling loan #{loan.pk} ({loan.membership.member_number}) over {installments} "
            f"installment(s) at {rate}%",
        )
    return loan


RESCHEDULE_REQUEST = [
    "reschedule_requested_by",
    "reschedule_installments",
    "reschedule_interest_rate",
    "reschedule_start",
    "reschedule_reason",
]


def _check_reschedulable(loan: Loan, installments: object, interest_rate: Decimal | None) -> None:
    if loan.status not in Loan.OUTSTANDING_STATUSES:
        raise ValidationError("Only an outstanding loan can be rescheduled.")
    if not isinstance(installments, int) or installments < 1:
        raise ValidationError({"installments": "At least one installment."})
    if interest_rate is not None and interest_rate < 0:
        raise ValidationError({"interest_rate": "The interest rate cannot be negative."})
    if outstanding_principal(loan=loan) <= 0:
        raise ValidationError("Nothing is left to reschedule.")


def _clear_reschedule_request(loan: Loan) -> None:
    loan.reschedule_requested_by = loan.reschedule_installments = loan.reschedule_interest_rate = None
    loan.reschedule_start, loan.reschedule_reason = None, ""


def reschedule_reject(*, loan: Loan, by: User) -> Loan:
    with transaction.atomic():
        loan = lock_loan(loan.pk)
        authority.require(by, "approve_reschedule", loan)
        if loan.reschedule_requested_by_id is None:
            raise ValidationError("No reschedule has been asked for on this loan.")
        _clear_reschedule_request(loan)
        loan.save(update_fields=[*RESCHEDULE_REQUEST, "updated_date"])
    return loan


def reschedule_approve(*, loan: Loan, by: User) -> Loan:
    """A second officer approves the reschedule asked for. The old schedule stays in history;
    interest, fees and penalties due and unpaid on it move to the first new installment."""
    with transaction.atomic():
        loan = lock_loan(loan.pk)
        chama = loan.chama
        authority.require(by, "approve_reschedule", loan)
        if loan.reschedule_requested_by_id is None:
            raise ValidationError("No reschedule has been asked for on this loan.")
        authority.require_distinct(by, [loan.reschedule_requested_by_id], "reschedule")
        installments, interest_rate = loan.reschedule_installments, loan.reschedule_interest_rate
        _check_reschedulable(loan, installments, interest_rate)
        start = loan.reschedule_start or chama.today()
        principal = outstanding_principal(loan=loan)
        carried = defaultdict(lambda: ZERO)
        old_rows = list(current_installments(loan=loan).filter(status__in=Installment.OPEN_STATUSES))
        for row in old_rows:
            for component in ("interest", "fee", "penalty"):
                if component != "interest" or row.due_date <= start:
                    carried[component] += row.owed(component)
        Installment.objects.filter(pk__in=[row.pk for row in old_rows]).update(status=Installment.Status.RESCHEDULED)
        loan.schedule_version += 1
        if interest_rate is not None:
            loan.interest_rate = interest_rate
        loan.installments_count = installments
        write_schedule(loan, principal, installments, start, carried=carried)
        LoanApproval.objects.create(
            chama=chama,
            loan=loan,
            officer=by,
            decision=LoanApproval.Decision.RESCHEDULE,
            comment=loan.reschedule_reason,
        )
        _clear_reschedule_request(loan)
        loan.status, loan.classification, loan.days_in_arrears = Loan.Status.ACTIVE, Loan.Classification.CURRENT, 0
        loan.save()
    return loan
